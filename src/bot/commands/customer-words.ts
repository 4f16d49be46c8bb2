import { inert } from '../../cards/inert-text';
import type { CustomerCardData, CustomerListCardData, Fact } from '../../cards/render';
import { ADMIN_AGENTS, DEFAULT_GDAP_ROLE_IDS, LINKS, roleName } from '../../checks/microsoft';
import type { CustomerRecord, CustomerVerdict, RelationshipEvidence } from '../../store/customers';

/**
 * The customer cards' words: a verdict in words, the fix a partner admin can follow in Partner
 * Center, and each GDAP relationship as evidence. Everything quoted from Microsoft or Partner
 * Center (names, statuses, groups) goes through `inert()` in markdown; fact values are made inert
 * by the renderer.
 */

/** The verdict in words, each with its mark (never a mark alone). */
export const VERDICT_WORDS: Readonly<Record<CustomerVerdict, string>> = {
  manageable: '✅ Manageable',
  pending: '⏳ Not manageable yet: the GDAP relationship is not active yet',
  'no-access': '❌ Not manageable: no access assignment gives the service account the roles',
  'missing-roles': '❌ Not manageable: the GDAP relationship lacks roles the platform needs',
  expired: '❌ Not manageable: the GDAP relationship has ended',
  terminated: '❌ Not manageable: the GDAP relationship was terminated',
  none: '❌ Not manageable: no GDAP relationship',
};

/** Short verdicts for lists and the message extension. */
export const VERDICT_SHORT: Readonly<Record<CustomerVerdict, string>> = {
  manageable: '✅ manageable',
  pending: '⏳ relationship not active yet',
  'no-access': '❌ no access assignment',
  'missing-roles': '❌ missing roles',
  expired: '❌ relationship ended',
  terminated: '❌ relationship terminated',
  none: '❌ no GDAP relationship',
};

const WHERE = 'in Partner Center under **Customers → Admin relationships**';

// Made once: toLocaleDateString with options builds a new formatter on every call (the card has a date per relationship).
const DAY = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' });

/** 12 Oct 2026 (UTC). */
export function dayText(iso: string | Date): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : DAY.format(d);
}

const rolesText = (ids: readonly string[]) => ids.map(roleName).join(', ');

/** The relationships that decide the verdict (those whose own verdict it is), newest end first. */
function deciding(c: CustomerRecord): RelationshipEvidence[] {
  return c.evidence.filter((e) => e.verdict === c.verdict).sort((a, b) => String(b.endDateTime ?? '').localeCompare(String(a.endDateTime ?? '')));
}

/** The exact fix for the verdict, in Partner Center's words; '' when the customer is manageable. */
export function fixText(c: CustomerRecord, roleIds: readonly string[] = DEFAULT_GDAP_ROLE_IDS): string {
  const needed = rolesText(roleIds);
  const r = deciding(c)[0];
  const named = r?.name ? ` **${inert(r.name)}**` : '';
  switch (c.verdict) {
    case 'manageable': return '';
    case 'none':
      return `There is no GDAP relationship with this customer: create one ${WHERE} (**Request admin relationship**) with the roles ${needed}, and send the customer the approval link.`;
    case 'expired':
      return `The relationship${named} ended${r?.endDateTime ? ` on ${dayText(r.endDateTime)}` : ''}: create a new one ${WHERE} with the roles ${needed}. An ended relationship cannot be renewed; turn on auto-extend on the new one so it does not end again.`;
    case 'terminated':
      return `The relationship${named} was terminated (by you or the customer): create a new one ${WHERE} with the roles ${needed}; the customer approves it.`;
    case 'missing-roles': {
      const have = new Set(r?.roles ?? []);
      const missing = roleIds.filter((id) => !have.has(id.toLowerCase()));
      const readOnly = r?.name.toUpperCase().startsWith('MLT_') ? ' It is a Microsoft-led (MLT_) relationship, which is read-only.' : '';
      return `The relationship${named} does not hold ${rolesText(missing)}.${readOnly} Roles cannot be added to an approved relationship: create a new one ${WHERE} with the roles ${needed}; the customer approves it.`;
    }
    case 'no-access': {
      const missing = missingAssignedRoles(r, roleIds);
      return `No access assignment gives ${ADMIN_AGENTS} (or another group that holds the service account) the roles ${rolesText(missing)}: open the relationship${named} ${WHERE}, then **Assign roles**: pick ${ADMIN_AGENTS} and those roles. Microsoft takes minutes to hours to apply it; then press **Check again**.`;
    }
    case 'pending':
      return r && r.status.toLowerCase() === 'activating'
        ? `The customer approved the relationship${named}; Microsoft is still activating it (minutes to hours). Press **Check again** later.`
        : `The relationship${named} waits for the customer's approval (status: ${inert(r?.status ?? 'pending')}): send the customer the approval link from ${WHERE.replace('in Partner Center under ', '')} in Partner Center. Once approved, press **Check again**.`;
  }
}

/** Needed roles no active assignment reaching the service account gives, in this relationship. */
function missingAssignedRoles(r: RelationshipEvidence | undefined, roleIds: readonly string[]): string[] {
  if (!r) return [...roleIds];
  const given = new Set(r.assignments.filter((a) => a.reachesAccount).flatMap((a) => a.roles));
  const missing = roleIds.filter((id) => !given.has(id.toLowerCase()));
  return missing.length > 0 ? missing : [...roleIds];
}

function autoExtendText(duration: string | null): string {
  if (!duration || duration === 'PT0S') return 'off';
  const days = /^P(\d+)D$/.exec(duration)?.[1];
  return days ? `on (every ${days} days)` : `on (${duration})`;
}

function relationshipFacts(r: RelationshipEvidence): Fact[] {
  const reaching = r.assignments.filter((a) => a.reachesAccount);
  return [
    { label: 'Status', value: `${r.status}${r.verdict === 'manageable' ? ' (gives the service account what it needs)' : ` (${VERDICT_SHORT[r.verdict].replace(/^\S+ /, '')})`}` },
    { label: 'Ends', value: r.endDateTime ? dayText(r.endDateTime) : 'no end date' },
    { label: 'Auto-extend', value: autoExtendText(r.autoExtendDuration) },
    { label: 'Roles', value: r.roles.length > 0 ? rolesText(r.roles) : 'none' },
    ...(r.assignments.length === 0 ? [{ label: 'Access assignments', value: 'none' }] : r.assignments.map((a) => ({
      label: 'Access assignment',
      value: `${a.groupName ?? 'a group the service account is not in'}: ${a.roles.length > 0 ? rolesText(a.roles) : 'no roles'} (${a.status}; ${a.reachesAccount ? 'reaches the service account' : 'does not reach the service account'})`,
    }))),
    ...(r.assignments.length > 0 && reaching.length === 0 ? [{ label: 'Reaches the service account', value: 'no assignment' }] : []),
  ];
}

/** The customer's card data. `notice`: a line for now (Microsoft did not answer a Check again). */
export function customerCardData(c: CustomerRecord, notice?: string, roleIds: readonly string[] = DEFAULT_GDAP_ROLE_IDS): CustomerCardData {
  const fix = fixText(c, roleIds);
  const read = c.checkedAt ? `checked again ${dayText(c.checkedAt)} ${c.checkedAt.toISOString().slice(11, 16)} UTC` : `last sync, ${dayText(c.updatedAt)}`;
  const noEvidence = c.evidence.length === 0 && c.relationshipIds.length > 0;
  return {
    title: inert(c.companyName || c.domain || c.customerTenantId),
    verdictText: VERDICT_WORDS[c.verdict],
    verdictColor: c.verdict === 'manageable' ? 'Good' : c.verdict === 'pending' ? 'Default' : 'Attention',
    ...(notice ? { notice } : {}),
    facts: [
      { label: 'Domain', value: c.domain ?? 'none listed' },
      { label: 'Customer tenant', value: c.customerTenantId },
      { label: 'Read from', value: read },
    ],
    fix,
    fixUrl: fix ? LINKS.gdapRelationships : '',
    evidenceTitle: noEvidence
      ? `GDAP relationships: ${c.relationshipIds.length}, their details were not read yet: press Check again`
      : c.evidence.length === 0 ? 'GDAP relationships: none' : `GDAP relationships (${c.evidence.length})`,
    relationships: [...c.evidence].sort((a, b) => rankOf(a.verdict) - rankOf(b.verdict)).map((r) => ({
      title: `${inert(r.name || r.id)}`,
      facts: relationshipFacts(r),
    })),
    customerTenantId: c.customerTenantId,
  };
}

const ORDER: readonly CustomerVerdict[] = ['manageable', 'pending', 'no-access', 'missing-roles', 'expired', 'terminated', 'none'];
const rankOf = (v: CustomerVerdict) => ORDER.indexOf(v);

/** One line of a list: name, domain, verdict. */
export function customerLine(c: CustomerRecord): string {
  return `**${inert(c.companyName || c.customerTenantId)}**${c.domain ? ` · ${inert(c.domain)}` : ''} · ${VERDICT_SHORT[c.verdict]}`;
}

/** A button title is shown as it is (no markdown): the name, cut short. */
export function buttonTitle(c: CustomerRecord): string {
  const name = c.companyName || c.domain || c.customerTenantId;
  return name.length > 40 ? `${name.slice(0, 39)}…` : name;
}

/** Several customers match what was typed: pick one. */
export function pickListData(text: string, matches: readonly CustomerRecord[], more: boolean): CustomerListCardData {
  return {
    title: `${matches.length}${more ? '+' : ''} customers match “${inert(text)}”`,
    text: 'Pick one to see why it can or cannot be managed.',
    facts: [], itemsTitle: 'Customers',
    items: matches.map((c) => ({ line: customerLine(c), button: 'Open', customerTenantId: c.customerTenantId })),
    note: more ? 'More match: type more of the name or domain to narrow it down.' : '',
  };
}

export const PAGE_SIZE = 8;

/** `customers`: the counts by verdict, and one page of the unmanageable, worst first. */
export function overviewData(counts: Record<CustomerVerdict, number>, page: number, items: readonly CustomerRecord[]): CustomerListCardData {
  const total = ORDER.reduce((n, v) => n + counts[v], 0);
  const unmanageable = total - counts.manageable;
  const pages = Math.max(1, Math.ceil(unmanageable / PAGE_SIZE));
  return {
    title: `Your customers: ${unmanageable} of ${total} cannot be managed`,
    text: total === 0 ? 'No customers are synced yet: type **sync** to read them from Partner Center.' : '',
    facts: ORDER.filter((v) => counts[v] > 0).map((v) => ({ label: VERDICT_SHORT[v], value: String(counts[v]) })),
    itemsTitle: `Not manageable, worst first (page ${page + 1} of ${pages})`,
    items: items.map((c) => ({ line: customerLine(c), button: 'Open', customerTenantId: c.customerTenantId })),
    note: unmanageable > 0 ? 'Type **customer** and a name or domain to look one up.' : '',
    ...(page > 0 ? { previousPage: page - 1 } : {}),
    ...(page + 1 < pages ? { nextPage: page + 1 } : {}),
  };
}
