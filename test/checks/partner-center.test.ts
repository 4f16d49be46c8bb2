import { CUSTOMER_TENANT_ID } from '../simulator/scenarios/ids';
import { daysFromNow, table } from './table';

const org = { id: 'a0a0a0a0-1111-4111-8111-000000000001', displayName: 'Contoso Partner', partnerTenantType: 'resellerPartnerDelegatedAdmin', countryLetterCode: 'US' };
const profile = (country: string | null) => ({ ok: true as const, value: { companyName: 'Contoso Partner Ltd', country } });

describe('checks: Partner Center', () => {
  table('partner-center.works', [
    { name: 'profile and first customer page', facts: {}, status: 'pass', evidence: /^profile "Contoso Partner Ltd" read; customers listed \(25 on the first page\)$/ },
    { name: 'more pages', facts: { partnerCenterCustomers: { ok: true, value: { count: 500, hasMore: true } } }, status: 'pass', evidence: /500\+ on the first page/ },
    { name: 'no customers yet', facts: { partnerCenterCustomers: { ok: true, value: { count: 0, hasMore: false } } }, status: 'warn', evidence: /no customers listed/ },
    { name: 'MFA missing (900421)', facts: { partnerCenterProfile: { ok: false, httpStatus: 401, code: 900421 } }, status: 'fail', evidence: /organization profile: HTTP 401, code 900421 — the token has no MFA/, fix: /Microsoft Authenticator/ },
    // 2032 is a plain 403 "Access denied" in Partner Center's error-code table: a role refusal, not a wrong tenant.
    { name: '2032 access denied', facts: { partnerCenterProfile: { ok: false, httpStatus: 403, code: 2032 } }, status: 'fail', evidence: /^organization profile: HTTP 403, code 2032 — Partner Center refused access$/, fix: /Admin Agent.*Global Admin.*Incentives Admin/ },
    { name: 'a 403 without a code', facts: { partnerCenterProfile: { ok: false, httpStatus: 403 } }, status: 'fail', evidence: /^organization profile: HTTP 403 — Partner Center refused access$/, fix: /User management/ },
    { name: 'customers refused', facts: { partnerCenterCustomers: { ok: false, httpStatus: 403, code: 3000 } }, status: 'fail', evidence: /customers: HTTP 403, code 3000 — Partner Center refused access/, fix: /Admin Agent/ },
    { name: 'a 401 without 900421 is not called missing MFA', facts: { partnerCenterProfile: { ok: false, httpStatus: 401 } }, status: 'fail', evidence: /^organization profile: HTTP 401 — Partner Center did not accept the sign-in$/, fix: /Sign in again/ },
    { name: 'outage: unknown, not a fail', facts: { partnerCenterProfile: { ok: false, httpStatus: 503 } }, status: 'unknown', evidence: /did not answer in time/, fix: /Re-run/ },
    { name: 'call failed', facts: { partnerCenterProfile: { unknown: 'Partner Center did not answer (timeout after 3 tries)' } }, status: 'unknown', evidence: /Partner Center: Partner Center did not answer/ },
    { name: 'no consent yet', facts: { partnerCenterCustomers: { unknown: 'not consented yet', needs: 'the Partner Center consent' } }, status: 'unknown', evidence: /needs the Partner Center consent/ },
  ]);

  table('partner-center.partner-tenant', [
    { name: 'a reseller partner tenant', facts: {}, status: 'pass', evidence: /is a partner tenant \(resellerPartnerDelegatedAdmin\)/ },
    { name: 'an indirect reseller', facts: { organization: { ...org, partnerTenantType: 'valueAddedResellerPartnerDelegatedAdmin' } }, status: 'warn', evidence: /indirect reseller/ },
    { name: 'a customer tenant', facts: { organization: { ...org, id: CUSTOMER_TENANT_ID, displayName: 'Willow Foods', partnerTenantType: null } }, status: 'fail', evidence: /signed in to "Willow Foods".*not the partner tenant entered/, fix: /Microsoft ID/ },
    // partnerTenantType is nullable: Partner Center answering the profile with the user token decides.
    { name: 'no partnerTenantType, Partner Center answered the profile', facts: { organization: { ...org, partnerTenantType: null } }, status: 'pass', evidence: /is a partner tenant: Partner Center answered its partner profile \("Contoso Partner Ltd"\)/ },
    { name: 'no partnerTenantType, before the sign-in', facts: { organization: { ...org, partnerTenantType: null }, partnerCenterProfile: { unknown: 'read after the service account signs in' } }, status: 'unknown', evidence: /names no partner type.*Partner Center decides, once the service account has signed in/ },
    { name: 'no partnerTenantType, Partner Center refused (2032)', facts: { organization: { ...org, partnerTenantType: null }, partnerCenterProfile: { ok: false, httpStatus: 403, code: 2032 } }, status: 'unknown', evidence: /Partner Center did not answer the partner profile/, fix: /Partner Center answers/ },
    { name: 'organization unreadable', facts: { organization: { unknown: 'Graph did not answer' } }, status: 'unknown', evidence: /Partner tenant: Graph did not answer/ },
  ]);

  table('partner-center.billing', [
    { name: 'invoices read with the service account\'s token', facts: {}, status: 'pass', evidence: /^invoices visible to the service account \(the first page read\)$/ },
    { name: 'no invoice yet', facts: { partnerCenterInvoices: { ok: true, value: { count: 0, totalCount: 0 } } }, status: 'pass', evidence: /none issued yet/ },
    { name: 'the role is missing', facts: { partnerCenterInvoices: { ok: false, httpStatus: 403, code: 2032 } }, status: 'warn', evidence: /^billing not visible: Partner Center refused the invoices \(HTTP 403, code 2032\)$/, fix: /Global Admin.*Billing admin/ },
    { name: 'before the sign-in', facts: { partnerCenterInvoices: { unknown: 'read after the service account signs in', needs: 'the service account\'s sign-in (next step)' } }, status: 'unknown', evidence: /Invoices: read after the service account signs in/ },
    { name: 'throttled', facts: { partnerCenterInvoices: { ok: false, httpStatus: 429 } }, status: 'unknown', evidence: /did not answer in time/ },
  ]);

  table('partner-center.country', [
    { name: 'from Partner Center', facts: {}, status: 'pass', evidence: /^country US \(Partner Center\)$/ },
    { name: 'from the tenant when Partner Center has none', facts: { partnerCenterProfile: profile(null) }, status: 'pass', evidence: /^country US \(tenant\)$/ },
    { name: 'differs from the company form', facts: {}, options: { companyCountry: 'DE' }, status: 'warn', evidence: /Partner Center country US differs from the company's DE/ },
    { name: 'recorded nowhere', facts: { partnerCenterProfile: profile(null), organization: { ...org, countryLetterCode: null } }, status: 'fail', evidence: /no country/ },
    { name: 'profile refused and tenant has none', facts: { partnerCenterProfile: { ok: false, httpStatus: 403 }, organization: { ...org, countryLetterCode: null } }, status: 'unknown', evidence: /Partner Center profile not read/ },
    { name: 'neither readable', facts: { partnerCenterProfile: { unknown: 'timeout' }, organization: { unknown: 'timeout' } }, status: 'unknown', evidence: /Country: timeout/ },
  ]);

  table('consent.fresh', [
    { name: 'refreshed yesterday', facts: {}, status: 'pass', evidence: /^last refreshed on 2026-11-29 \(1 day ago\)$/ },
    { name: 'consented today, never refreshed', facts: { consent: { consentedAt: daysFromNow(-0.1), lastRefreshAt: null } }, status: 'pass', evidence: /last consented on 2026-11-30 \(today\)/ },
    { name: 'keep-alive has not run for 8 days', facts: { consent: { consentedAt: daysFromNow(-30), lastRefreshAt: daysFromNow(-8) } }, status: 'warn', evidence: /8 days ago\): the keep-alive has not run/ },
    { name: 'unused for 90 days', facts: { consent: { consentedAt: daysFromNow(-120), lastRefreshAt: daysFromNow(-90) } }, status: 'fail', evidence: /refresh token has lapsed/, fix: /Sign in again/ },
    { name: 'the last refresh failed', facts: { consent: { consentedAt: daysFromNow(-30), lastRefreshAt: daysFromNow(-1), lastRefreshError: 'AADSTS50173' } }, status: 'fail', evidence: /last token refresh failed \(AADSTS50173\)/ },
    { name: 'no consent yet', facts: { consent: null }, status: 'unknown', evidence: /has not signed in yet/ },
    { name: 'store unreadable', facts: { consent: { unknown: 'the token cache could not be read' } }, status: 'unknown', evidence: /Consent: the token cache could not be read/ },
  ]);
});
