import type { Facts } from '../facts';
import { LINKS } from '../microsoft';
import type { Fix, Outcome, RuleContext } from '../types';
import { known, sameId, unknownOutcome } from './util';

/** Partner Center's answer turned into the reason and the fix (codes: 900421 MFA, 2032 not enrolled). */
function refusal(call: string, a: { httpStatus: number; code?: number }): Outcome {
  const code = a.code !== undefined ? `, code ${a.code}` : '';
  const evidence = `${call}: HTTP ${a.httpStatus}${code}`;
  let fix: Fix;
  if (a.code === 900421 || (a.httpStatus === 401 && a.code === undefined)) {
    fix = { text: 'Partner Center needs MFA in the token: register Microsoft Authenticator for the service account, then sign in again.', link: LINKS.partnerCenterMfa };
    return { status: 'fail', evidence: `${evidence} — the token has no MFA`, fix };
  }
  if (a.code === 2032) {
    fix = { text: 'This tenant is not enrolled in Partner Center (CSP). Sign in with the partner tenant that is, or finish the enrolment.', link: LINKS.partnerCenterEnroll };
    return { status: 'fail', evidence: `${evidence} — tenant not enrolled in Partner Center`, fix };
  }
  if (a.httpStatus === 403) {
    fix = { text: 'The service account needs Global Administrator or Admin Agent in Partner Center, in the partner tenant (not a customer tenant). Sign in again with it.', link: LINKS.partnerCenterProfile };
    return { status: 'fail', evidence: `${evidence} — access denied`, fix };
  }
  if (a.httpStatus === 429 || a.httpStatus >= 500) {
    return { status: 'unknown', evidence: `${evidence} — Partner Center did not answer in time`, fix: { text: 'Re-run the checks in a few minutes.', link: LINKS.partnerCenterProfile } };
  }
  return { status: 'fail', evidence, fix: { text: 'Sign in again with the service account; if it persists, ask support.', link: LINKS.partnerCenterProfile } };
}

export function partnerCenterWorks(facts: Facts): Outcome {
  const profile = known(facts.partnerCenterProfile);
  if (!profile.ok) return unknownOutcome('Partner Center', profile.unknown, LINKS.partnerCenterProfile);
  if (!profile.value.ok) return refusal('organization profile', profile.value);
  const customers = known(facts.partnerCenterCustomers);
  if (!customers.ok) return unknownOutcome('Partner Center customers', customers.unknown, LINKS.partnerCenterProfile);
  if (!customers.value.ok) return refusal('customers', customers.value);
  const page = customers.value.value;
  const name = profile.value.value.companyName;
  if (page.count === 0) {
    return { status: 'warn', evidence: `profile "${name}" read; no customers listed`, fix: { text: 'Nothing to sync yet. If you do have customers, check that this is the Partner Center account that holds them.', link: LINKS.partnerCenterProfile } };
  }
  return { status: 'pass', evidence: `profile "${name}" read; customers listed (${page.count}${page.hasMore ? '+' : ''} on the first page)` };
}

const INDIRECT_RESELLER = new Set(['valueaddedresellerpartnerdelegatedadmin', 'valueaddedresellerpartnerdelegatedsupport']);

export function partnerTenant(facts: Facts, ctx: RuleContext): Outcome {
  const org = known(facts.organization);
  if (!org.ok) return unknownOutcome('Partner tenant', org.unknown, LINKS.partnerCenterProfile);
  const o = org.value;
  if (ctx.tenantId && !sameId(o.id, ctx.tenantId)) {
    return { status: 'fail', evidence: `signed in to "${o.displayName}" (${o.id}), not the partner tenant entered (${ctx.tenantId})` };
  }
  if (!o.partnerTenantType) {
    return { status: 'fail', evidence: `"${o.displayName}" is not a partner tenant (no partnerTenantType): a customer tenant?` };
  }
  if (INDIRECT_RESELLER.has(o.partnerTenantType.toLowerCase())) {
    return { status: 'warn', evidence: `"${o.displayName}" is an indirect reseller tenant (${o.partnerTenantType}): Partner Center APIs are for direct-bill partners and indirect providers`, fix: { text: 'Connect the tenant of your direct-bill or indirect-provider Partner Center account, or ask support.', link: LINKS.partnerCenterProfile } };
  }
  return { status: 'pass', evidence: `"${o.displayName}" is a partner tenant (${o.partnerTenantType})` };
}

export function countryRecorded(facts: Facts, ctx: RuleContext): Outcome {
  const profile = known(facts.partnerCenterProfile);
  const org = known(facts.organization);
  const pcCountry = profile.ok && profile.value.ok ? profile.value.value.country : null;
  const orgCountry = org.ok ? org.value.countryLetterCode : null;
  const country = pcCountry ?? orgCountry;
  if (!country) {
    if (!profile.ok && !org.ok) return unknownOutcome('Country', profile.unknown ?? org.unknown, LINKS.partnerCenterProfile);
    if (!profile.ok || (profile.ok && !profile.value.ok)) {
      return { status: 'unknown', evidence: 'Country: Partner Center profile not read and the tenant records none', fix: { text: 'Fix "Partner Center works", then re-run the checks.', link: LINKS.partnerCenterProfile } };
    }
    return { status: 'fail', evidence: 'no country in the Partner Center profile or the tenant' };
  }
  const source = pcCountry ? 'Partner Center' : 'tenant';
  if (ctx.companyCountry && country.toUpperCase() !== ctx.companyCountry.toUpperCase()) {
    return { status: 'warn', evidence: `${source} country ${country.toUpperCase()} differs from the company's ${ctx.companyCountry.toUpperCase()}`, fix: { text: 'Make the company country in the bot and the Partner Center legal profile agree.', link: LINKS.partnerCenterProfile } };
  }
  return { status: 'pass', evidence: `country ${country.toUpperCase()} (${source})` };
}
