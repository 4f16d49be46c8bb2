import type { Facts } from '../facts';
import { LINKS } from '../microsoft';
import type { Fix, Outcome, RuleContext } from '../types';
import { known, sameId, unknownOutcome } from './util';

/**
 * What the service account needs in Partner Center (seed 000 steps 2.7 and 2.14): Admin Agent,
 * and Global Admin or the Partner Center roles the onboarding guide names.
 */
export const PARTNER_CENTER_ROLES_FIX: Fix = {
  text: 'Partner Center refused the service account. In Partner Center → Settings → **User management**, give it **Admin Agent** and **Global Admin** (and **Incentives Admin**, as the onboarding guide asks); Admin Agent also puts it in the AdminAgents group. Then re-run the checks.',
  link: LINKS.partnerCenterUsers,
};

/**
 * Partner Center's answer turned into the reason and the fix. 900421: the token has no MFA. Every
 * 403 (2032 is a plain "Access denied" in the error-code table, and a 403 may carry no code) is
 * Partner Center refusing the account: a role question, not proof of a wrong or unenrolled
 * tenant, which only `partnerTenantType` or the tenant lookup says.
 * https://learn.microsoft.com/en-us/partner-center/developer/error-codes
 */
function refusal(call: string, a: { httpStatus: number; code?: number }): Outcome {
  const code = a.code !== undefined ? `, code ${a.code}` : '';
  const evidence = `${call}: HTTP ${a.httpStatus}${code}`;
  if (a.code === 900421) {
    const fix = { text: 'Partner Center needs MFA in the token: register Microsoft Authenticator for the service account, then sign in again.', link: LINKS.partnerCenterMfa };
    return { status: 'fail', evidence: `${evidence} — the token has no MFA`, fix };
  }
  if (a.httpStatus === 403) {
    return { status: 'fail', evidence: `${evidence} — Partner Center refused access`, fix: PARTNER_CENTER_ROLES_FIX };
  }
  if (a.httpStatus === 429 || a.httpStatus >= 500) {
    return { status: 'unknown', evidence: `${evidence} — Partner Center did not answer in time`, fix: { text: 'Re-run the checks in a few minutes.', link: LINKS.partnerCenterProfile } };
  }
  if (a.httpStatus === 401) {
    return { status: 'fail', evidence: `${evidence} — Partner Center did not accept the sign-in`, fix: { text: 'Sign in again with the service account (type **start**); if it persists, ask support.', link: LINKS.partnerCenterProfile } };
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

/** Tier 2 (indirect) resellers: no Partner Center API access of their own. The one documented value. */
const INDIRECT_RESELLER = 'valueaddedresellerpartnerdelegatedadmin';

/**
 * `partnerTenantType` names the partnership when Graph has one; it is nullable
 * (https://learn.microsoft.com/en-us/graph/api/resources/organization), so null proves nothing:
 * Partner Center answering the partner profile with the service account's token decides.
 */
export function partnerTenant(facts: Facts, ctx: RuleContext): Outcome {
  const org = known(facts.organization);
  if (!org.ok) return unknownOutcome('Partner tenant', org.unknown, LINKS.partnerCenterProfile);
  const o = org.value;
  if (ctx.tenantId && !sameId(o.id, ctx.tenantId)) {
    return { status: 'fail', evidence: `signed in to "${o.displayName}" (${o.id}), not the partner tenant entered (${ctx.tenantId})` };
  }
  if (o.partnerTenantType) {
    if (o.partnerTenantType.toLowerCase() === INDIRECT_RESELLER) {
      return { status: 'warn', evidence: `"${o.displayName}" is an indirect reseller tenant (${o.partnerTenantType}): Partner Center APIs are for direct-bill partners and indirect providers`, fix: { text: 'Connect the tenant of your direct-bill or indirect-provider Partner Center account, or ask support.', link: LINKS.partnerCenterProfile } };
    }
    return { status: 'pass', evidence: `"${o.displayName}" is a partner tenant (${o.partnerTenantType})` };
  }
  const profile = known(facts.partnerCenterProfile);
  if (profile.ok && profile.value.ok) {
    return { status: 'pass', evidence: `"${o.displayName}" is a partner tenant: Partner Center answered its partner profile ("${profile.value.value.companyName}"); Microsoft Graph names no partner type` };
  }
  const why = profile.ok ? 'Partner Center did not answer the partner profile (see "Partner Center answers")' : 'Partner Center decides, once the service account has signed in';
  return {
    status: 'unknown',
    evidence: `"${o.displayName}": Microsoft Graph names no partner type, which is common; ${why}`,
    fix: { text: 'Nothing to do yet: the check completes after the service account signs in and Partner Center answers. If Partner Center refuses, fix "Partner Center answers" first.', link: LINKS.partnerCenterProfile },
  };
}

/** Billing visible (seed 000 step 2.15): the service account's token reads the first page of invoices. */
export function billingVisible(facts: Facts): Outcome {
  const invoices = known(facts.partnerCenterInvoices);
  if (!invoices.ok) return unknownOutcome('Invoices', invoices.unknown, LINKS.partnerCenterUsers);
  const a = invoices.value;
  if (a.ok) return { status: 'pass', evidence: `invoices visible to the service account (${a.value.count ? 'the first page read' : 'none issued yet'})` };
  const code = a.code !== undefined ? `, code ${a.code}` : '';
  if (a.httpStatus === 429 || a.httpStatus >= 500) {
    return { status: 'unknown', evidence: `invoices: HTTP ${a.httpStatus}${code} — Partner Center did not answer in time`, fix: { text: 'Re-run the checks in a few minutes.', link: LINKS.partnerCenterUsers } };
  }
  return {
    status: 'warn',
    evidence: `billing not visible: Partner Center refused the invoices (HTTP ${a.httpStatus}${code})`,
    fix: { text: 'Billing data stays hidden from the platform until the service account has **Global Admin** (or **Billing admin**) in Partner Center → Settings → **User management**.', link: LINKS.partnerCenterUsers },
  };
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
