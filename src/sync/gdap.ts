import type { GdapRelationship } from '../checks/facts';
import type { RelationshipEvidence } from '../store/customers';

/**
 * Whether the partner can manage a customer, from its GDAP relationships (pure; the sync reads
 * them). A customer is manageable through a relationship that is active, not past its end, holds
 * every role the platform needs, and has an active access assignment for those roles whose
 * security group holds the service account. Judged by roles, never by a relationship's name.
 * https://learn.microsoft.com/en-us/graph/api/resources/delegatedadminrelationship
 */

export type NotManageableReason = 'pending' | 'no-access' | 'missing-roles' | 'expired' | 'terminated' | 'none';

/** Best first: a customer's verdict is its best relationship's. */
export const RANK: Readonly<Record<NotManageableReason | 'manageable', number>> = {
  manageable: 0, pending: 1, 'no-access': 2, 'missing-roles': 3, expired: 4, terminated: 5, none: 6,
};

export const REASON_WORDS: Readonly<Record<NotManageableReason, string>> = {
  none: 'no GDAP relationship',
  expired: 'GDAP relationship expired',
  terminated: 'GDAP relationship terminated',
  'missing-roles': 'GDAP relationship lacks the needed roles',
  'no-access': 'no access assignment reaches the service account',
  pending: 'GDAP relationship not active yet',
};

export interface GdapContext {
  /** Role template ids the platform needs (operator config). */
  readonly roleIds: readonly string[];
  /** Security groups the service account is in (transitively), lower-case ids. */
  readonly accountGroupIds: ReadonlySet<string>;
  readonly now: Date;
}

const TERMINATED = new Set(['terminated', 'terminating', 'terminationrequested']);
const lower = (s: string) => s.toLowerCase();

export function relationshipVerdict(r: GdapRelationship, ctx: GdapContext): NotManageableReason | 'manageable' {
  const status = lower(r.status);
  if (TERMINATED.has(status)) return 'terminated';
  if (status === 'expired' || (r.endDateTime !== null && new Date(r.endDateTime).getTime() <= ctx.now.getTime())) return 'expired';
  if (status !== 'active') return 'pending';
  const roles = new Set(r.accessDetails.unifiedRoles.map((x) => lower(x.roleDefinitionId)));
  const needed = ctx.roleIds.map(lower);
  if (!needed.every((x) => roles.has(x))) return 'missing-roles';
  const reaches = (role: string) => r.accessAssignments.some((a) => lower(a.status) === 'active'
    && ctx.accountGroupIds.has(lower(a.accessContainer.accessContainerId))
    && a.accessDetails.unifiedRoles.some((x) => lower(x.roleDefinitionId) === role));
  return needed.every(reaches) ? 'manageable' : 'no-access';
}

/**
 * A relationship as the chat shows it: its own verdict, its roles, and each access assignment with
 * whether it reaches the service account (active, to a group the account is in). `groupNames`:
 * the account's groups, lower-case id → name.
 */
export function relationshipEvidence(r: GdapRelationship, ctx: GdapContext, groupNames: ReadonlyMap<string, string>): RelationshipEvidence {
  return {
    id: r.id, name: r.displayName, status: r.status, endDateTime: r.endDateTime, autoExtendDuration: r.autoExtendDuration ?? null,
    roles: r.accessDetails.unifiedRoles.map((x) => lower(x.roleDefinitionId)),
    verdict: relationshipVerdict(r, ctx),
    assignments: r.accessAssignments.map((a) => {
      const groupId = lower(a.accessContainer.accessContainerId);
      return {
        id: a.id, status: a.status, groupId, groupName: groupNames.get(groupId) ?? null,
        reachesAccount: lower(a.status) === 'active' && ctx.accountGroupIds.has(groupId),
        roles: a.accessDetails.unifiedRoles.map((x) => lower(x.roleDefinitionId)),
      };
    }),
  };
}
