import type { Facts, GdapRelationship } from '../facts';
import { GLOBAL_ADMIN_ROLE_ID, LINKS, roleName } from '../microsoft';
import type { Outcome, RuleContext } from '../types';
import { count, DAY_MS, day, EXPIRY_WARN_DAYS, known, listNames, parseDate, unknownOutcome } from './util';

const LIVE = new Set(['active', 'expiring']);
const isLive = (r: GdapRelationship) => LIVE.has(r.status.toLowerCase());
const rolesOf = (x: { accessDetails: { unifiedRoles: readonly { roleDefinitionId: string }[] } }) =>
  new Set(x.accessDetails.unifiedRoles.map((u) => u.roleDefinitionId.toLowerCase()));
const customer = (r: GdapRelationship) => r.customer.displayName || r.customer.tenantId;
/** "PT0S", "P0D" or nothing: the relationship will not extend itself. */
export const autoExtends = (r: Pick<GdapRelationship, 'autoExtendDuration'>) => !!r.autoExtendDuration && !/^P(T0S|0D|T0H|T0M)$/i.test(r.autoExtendDuration);

function relationships(facts: Facts): { ok: true; value: readonly GdapRelationship[] } | { ok: false; outcome: Outcome } {
  const r = known(facts.gdapRelationships);
  if (!r.ok) return { ok: false, outcome: unknownOutcome('GDAP relationships', r.unknown, LINKS.gdapRelationships) };
  return { ok: true, value: r.value };
}

/** Active relationships hold the roles the platform needs (by role id; the name means nothing). */
export function gdapRoles(facts: Facts, ctx: RuleContext): Outcome {
  const all = relationships(facts);
  if (!all.ok) return all.outcome;
  const live = all.value.filter(isLive);
  if (!live.length) return { status: 'fail', evidence: all.value.length ? `no active relationship (${count(all.value.length, 'relationship')} ended or pending)` : 'no GDAP relationships: no customer can be managed' };
  const needed = ctx.gdapRoleIds.map((x) => x.toLowerCase());
  const lacking = live.map((r) => ({ r, missing: needed.filter((x) => !rolesOf(r).has(x)) })).filter((x) => x.missing.length);
  if (lacking.length === live.length) {
    const missing = [...new Set(lacking.flatMap((x) => x.missing))].map(roleName);
    return { status: 'fail', evidence: `no active relationship holds the needed roles — missing: ${listNames(missing)}` };
  }
  if (lacking.length) {
    return { status: 'warn', evidence: `${lacking.length} of ${live.length} active relationships lack needed roles: ${listNames(lacking.map((x) => customer(x.r)))}` };
  }
  return { status: 'pass', evidence: `${count(live.length, 'active relationship')} ${live.length === 1 ? 'holds' : 'hold'} the needed roles` };
}

/** Relationships that end within 30 days without auto-extend. */
export function gdapExpiry(facts: Facts, ctx: RuleContext): Outcome {
  const all = relationships(facts);
  if (!all.ok) return all.outcome;
  const live = all.value.filter(isLive);
  if (!live.length) return { status: 'unknown', evidence: 'GDAP expiry: no active relationship to judge', fix: { text: 'Fix "GDAP roles" first.', link: LINKS.gdapRelationships } };
  const horizon = ctx.now.getTime() + EXPIRY_WARN_DAYS * DAY_MS;
  const ending = live.filter((r) => !autoExtends(r)).map((r) => ({ r, end: parseDate(r.endDateTime) }))
    .filter((x): x is { r: GdapRelationship; end: Date } => !!x.end && x.end.getTime() < horizon);
  const ended = ending.filter((x) => x.end.getTime() <= ctx.now.getTime());
  if (ended.length) return { status: 'fail', evidence: `ended without auto-extend: ${listNames(ended.map((x) => `${customer(x.r)} (${day(x.end)})`))}` };
  if (ending.length) {
    const first = ending.sort((a, b) => a.end.getTime() - b.end.getTime())[0]!;
    return { status: 'warn', evidence: `${count(ending.length, 'relationship')} ${ending.length === 1 ? 'ends' : 'end'} within ${EXPIRY_WARN_DAYS} days without auto-extend, first: ${customer(first.r)} on ${day(first.end)}` };
  }
  return { status: 'pass', evidence: `no active relationship ends within ${EXPIRY_WARN_DAYS} days without auto-extend` };
}

/** Global Administrator in a relationship: it can never auto-extend. */
export function gdapGlobalAdmin(facts: Facts): Outcome {
  const all = relationships(facts);
  if (!all.ok) return all.outcome;
  const withGa = all.value.filter(isLive).filter((r) => rolesOf(r).has(GLOBAL_ADMIN_ROLE_ID));
  if (withGa.length) return { status: 'warn', evidence: `Global Administrator in ${count(withGa.length, 'relationship')} (which cannot auto-extend): ${listNames(withGa.map(customer))}` };
  return { status: 'pass', evidence: 'no active relationship includes Global Administrator' };
}

/**
 * Each needed role that a relationship holds is given to a security group through an active access
 * assignment, the group exists, and the service account is in it.
 */
export function gdapAssignments(facts: Facts, ctx: RuleContext): Outcome {
  const all = relationships(facts);
  if (!all.ok) return all.outcome;
  const groups = known(facts.serviceAccountGroups);
  if (!groups.ok) return unknownOutcome('GDAP access: service account groups', groups.unknown, LINKS.gdapRelationships);
  const existing = known(facts.gdapAccessGroups);
  if (!existing.ok) return unknownOutcome('GDAP access: security groups', existing.unknown, LINKS.gdapRelationships);
  const mine = new Set(groups.value.map((g) => g.id.toLowerCase()));
  const exists = new Set(existing.value.map((g) => g.id.toLowerCase()));
  const needed = ctx.gdapRoleIds.map((x) => x.toLowerCase());
  const live = all.value.filter(isLive).filter((r) => needed.some((x) => rolesOf(r).has(x)));
  if (!live.length) return { status: 'unknown', evidence: 'GDAP access: no active relationship holds a needed role', fix: { text: 'Fix "GDAP roles" first.', link: LINKS.gdapRelationships } };

  const problems: { r: GdapRelationship; why: 'pending' | 'missing' }[] = [];
  for (const r of live) {
    const held = needed.filter((x) => rolesOf(r).has(x));
    const usable = (a: GdapRelationship['accessAssignments'][number]) => a.status.toLowerCase() === 'active'
      && exists.has(a.accessContainer.accessContainerId.toLowerCase()) && mine.has(a.accessContainer.accessContainerId.toLowerCase());
    const covered = held.every((role) => r.accessAssignments.some((a) => usable(a) && rolesOf(a).has(role)));
    if (covered) continue;
    const pending = held.every((role) => r.accessAssignments.some((a) => rolesOf(a).has(role)
      && a.status.toLowerCase() === 'pending' && mine.has(a.accessContainer.accessContainerId.toLowerCase())));
    problems.push({ r, why: pending ? 'pending' : 'missing' });
  }
  if (!problems.length) return { status: 'pass', evidence: `the service account reaches the needed roles in all ${count(live.length, 'relationship')}` };
  const missing = problems.filter((p) => p.why === 'missing');
  if (!missing.length) {
    return { status: 'warn', evidence: `access assignments still pending in ${count(problems.length, 'relationship')}: ${listNames(problems.map((p) => customer(p.r)))} (Microsoft takes minutes to hours)` };
  }
  const scope = missing.length === live.length ? `in any of the ${count(live.length, 'relationship')}` : `in ${missing.length} of ${live.length} relationships`;
  return { status: missing.length === live.length ? 'fail' : 'warn', evidence: `the service account reaches the needed roles through no active access assignment ${scope}: ${listNames(missing.map((p) => customer(p.r)))}` };
}

