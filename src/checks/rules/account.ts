import type { Facts, GroupRef, RoleAssignment, ServiceAccount } from '../facts';
import { ADMIN_AGENTS, GLOBAL_ADMIN_ROLE_ID, LINKS, roleName } from '../microsoft';
import type { Outcome, RuleContext } from '../types';
import { day, groupsLine, known, listNames, parseDate, sameId, unknownOutcome } from './util';

/** The service account's value, or the outcome to return when it is missing, unknown or absent. */
function account(facts: Facts, what: string): { ok: true; value: ServiceAccount } | { ok: false; outcome: Outcome } {
  const a = known(facts.serviceAccount);
  if (!a.ok) return { ok: false, outcome: unknownOutcome(what, a.unknown, LINKS.user()) };
  if (a.value === null) {
    return { ok: false, outcome: { status: 'unknown', evidence: `${what}: the service account was not found, so this cannot be judged`, fix: { text: 'Fix "Service account exists" first.', link: LINKS.user() } } };
  }
  return { ok: true, value: a.value };
}

export function serviceAccountExists(facts: Facts): Outcome {
  const a = known(facts.serviceAccount);
  if (!a.ok) return unknownOutcome('Service account', a.unknown, LINKS.user());
  if (a.value === null) return { status: 'fail', evidence: 'no user with that sign-in name in the partner tenant' };
  if (a.value.userType && a.value.userType.toLowerCase() === 'guest') {
    return { status: 'fail', evidence: `${a.value.userPrincipalName} is a guest in this tenant, not a member`, fix: { text: 'Use a member account created in the partner tenant (its UPN ends in one of the tenant\'s domains), not a guest.', link: LINKS.user() } };
  }
  return { status: 'pass', evidence: `${a.value.userPrincipalName} found` };
}

export function serviceAccountEnabled(facts: Facts): Outcome {
  const a = account(facts, 'Sign-in status');
  if (!a.ok) return a.outcome;
  return a.value.accountEnabled
    ? { status: 'pass', evidence: 'sign-in allowed (accountEnabled)' }
    : { status: 'fail', evidence: `${a.value.userPrincipalName} is disabled (sign-in blocked)`, fix: { text: 'Open the user, **Edit properties → Settings**, tick **Account enabled** and save. Then sign in again: disabling revoked the consent.', link: LINKS.user(a.value.id) } };
}

export function passwordNeverExpires(facts: Facts): Outcome {
  const a = account(facts, 'Password expiry');
  if (!a.ok) return a.outcome;
  const policies = (a.value.passwordPolicies ?? '').split(',').map((p) => p.trim().toLowerCase());
  if (policies.includes('disablepasswordexpiration')) return { status: 'pass', evidence: 'password never expires (DisablePasswordExpiration)' };
  const domain = known(facts.domainPasswordNeverExpires);
  if (domain.ok && domain.value) return { status: 'pass', evidence: 'password never expires (the domain\'s password policy)' };
  if (domain.ok) {
    return { status: 'fail', evidence: 'password expires (no DisablePasswordExpiration; the domain\'s passwords expire)' };
  }
  return { status: 'warn', evidence: `no DisablePasswordExpiration on the account; the domain's policy could not be read (${domain.unknown?.unknown ?? 'not checked'})` };
}

/** Group id → name, to say which group a role comes through. */
function groupNames(groups: readonly GroupRef[]): Map<string, string> {
  return new Map(groups.map((g) => [g.id.toLowerCase(), g.displayName]));
}

// The assignment facts are already the account's own (filtered by principal, transitively), so a
// principal that is not the user is one of its groups, named when the groups are known.
function isTenantWideGlobalAdmin(a: RoleAssignment): boolean {
  return sameId(a.roleDefinitionId, GLOBAL_ADMIN_ROLE_ID) && (a.directoryScopeId ?? '/') === '/';
}

export function globalAdministrator(facts: Facts, ctx: RuleContext): Outcome {
  const a = account(facts, 'Global Administrator');
  if (!a.ok) return a.outcome;
  const user = a.value;
  const assignments = known(facts.roleAssignments);
  if (!assignments.ok) return unknownOutcome('Active role assignments', assignments.unknown, LINKS.userRoles(user.id));
  const groups = known(facts.serviceAccountGroups);
  const names = groupNames(groups.ok ? groups.value : []);
  const path = (x: RoleAssignment) => (sameId(x.principalId, user.id) ? 'direct'
    : `through ${names.has(x.principalId.toLowerCase()) ? `group ${names.get(x.principalId.toLowerCase())}` : 'a group'}`);
  const directFirst = (x: RoleAssignment, y: RoleAssignment) => Number(!sameId(x.principalId, user.id)) - Number(!sameId(y.principalId, user.id));

  const active = assignments.value.filter(isTenantWideGlobalAdmin).sort(directFirst);
  if (active.length) {
    // An activated PIM assignment ends; the connection would lose its rights when it does.
    const permanent = active.find((x) => !parseDate(x.endDateTime));
    if (permanent) return { status: 'pass', evidence: `active Global Administrator (${path(permanent)})` };
    const via = path(active[0]!);
    const ends = active.map((x) => parseDate(x.endDateTime)!).sort((x, y) => y.getTime() - x.getTime())[0]!;
    if (ends.getTime() <= ctx.now.getTime()) {
      return { status: 'fail', evidence: `Global Administrator activation ended on ${day(ends)} (${via})`, fix: PIM_FIX };
    }
    return { status: 'warn', evidence: `Global Administrator active only until ${day(ends)} (a PIM activation, ${via})`, fix: PIM_FIX };
  }

  const held = assignments.value.map((x) => roleName(x.roleDefinitionId));
  const holds = held.length ? `holds: ${listNames(held)}` : 'holds no directory role';
  const eligible = known(facts.roleEligibilities);
  if (!eligible.ok) {
    const why = eligible.unknown?.unknown ?? 'not checked';
    return { status: 'fail', evidence: `no active Global Administrator assignment (${holds}); PIM eligibility unknown: ${why}` };
  }
  if (eligible.value.some(isTenantWideGlobalAdmin)) {
    return { status: 'fail', evidence: 'Global Administrator is eligible only (PIM), not active', fix: PIM_FIX };
  }
  return { status: 'fail', evidence: `not a Global Administrator (${holds})` };
}

const PIM_FIX = {
  text: 'In **Privileged Identity Management → Microsoft Entra roles → Global Administrator → Assignments**, give the service account an **active**, **permanent** assignment (an eligible one, or an activation that ends, leaves the connection without rights when it lapses). '
    + 'Or assign the role directly on the user\'s **Assigned roles** page.',
  link: LINKS.pimRoles,
} as const;

export function inAdminAgents(facts: Facts): Outcome {
  const a = account(facts, 'AdminAgents membership');
  if (!a.ok) return a.outcome;
  const groups = known(facts.serviceAccountGroups);
  if (!groups.ok) return unknownOutcome('AdminAgents membership', groups.unknown, LINKS.userGroups(a.value.id));
  const hit = groups.value.find((g) => g.displayName.toLowerCase() === ADMIN_AGENTS.toLowerCase());
  if (hit) return { status: 'pass', evidence: 'member of AdminAgents' };
  return { status: 'fail', evidence: `not a member — ${groupsLine(groups.value)}` };
}
