import assert from 'node:assert/strict';
import { customerAt } from './customers';
import type { Claims } from './jwt';
import {
  APP_ID, CUSTOMER_ADMIN_ID, CUSTOMER_TENANT_ID, HELPDESK_USER_ID, PARTNER_DOMAIN, PARTNER_MPN_ID, PARTNER_TENANT_ID,
  SERVICE_ACCOUNT_ID, SERVICE_ACCOUNT_UPN,
} from './scenarios/ids';
import { startSimulator, type Simulator } from './server';
import { partnerCenterRequests, partnerCenterService } from './services/partner-center';

interface Link { uri: string; method: string; headers: Array<{ key: string; value: string }> }
interface Customer { id: string; companyProfile: { tenantId: string; domain: string; companyName: string }; relationshipToPartner: string }
interface CustomerPage { totalCount: number; items: Customer[]; links: { self: Link; next?: Link }; attributes: { objectType: string } }
interface PcError { code: number; description: string; data: unknown[]; source: string }

/** What Entra issues the service account for `https://api.partnercenter.microsoft.com/user_impersonation`. */
function pcToken(sim: Simulator, claims: Claims = {}): string {
  const now = Math.floor(sim.now() / 1000);
  return sim.signer.sign({
    aud: 'https://api.partnercenter.microsoft.com', tid: PARTNER_TENANT_ID, oid: SERVICE_ACCOUNT_ID, upn: SERVICE_ACCOUNT_UPN,
    appid: APP_ID, amr: ['pwd', 'mfa'], scp: 'user_impersonation', idtyp: 'user', iat: now, nbf: now, exp: now + 3600, ...claims,
  });
}

describe('Partner Center simulator', function () {
  this.timeout(60_000);
  let sim: Simulator;
  let base: string;
  before(async () => {
    sim = await startSimulator({ services: [partnerCenterService], randomThrottling: false });
    base = `${sim.baseUrl}/partnercenter/v1`;
  });
  after(async () => { await sim.stop(); });
  beforeEach(async () => { await sim.loadScenario('healthy'); });

  async function get<T>(url: string, token: string | undefined, headers: Record<string, string> = {}): Promise<{ status: number; body: T; headers: Headers }> {
    const res = await fetch(url, { headers: { Accept: 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}), ...headers } });
    return { status: res.status, body: (await res.json()) as T, headers: res.headers };
  }

  /** `links.next.uri` comes with or without the version: `/v1/customers?…` or `/customers?…` (relative to `{base}/v1`). */
  const resolveLink = (uri: string): string => (/^\/v1\//i.test(uri) ? `${sim.baseUrl}/partnercenter${uri}` : `${base}${uri}`);

  /** Follows links.next the way a client must: normalised uri, with the link's headers sent verbatim. */
  async function allCustomers(size: number, token: string): Promise<{ customers: Customer[]; pages: number }> {
    const customers: Customer[] = [];
    let page = await get<CustomerPage>(`${base}/customers?size=${size}`, token);
    let pages = 1;
    for (;;) {
      assert.equal(page.status, 200, JSON.stringify(page.body));
      customers.push(...page.body.items);
      const next = page.body.links.next;
      if (!next) break;
      const headers = Object.fromEntries(next.headers.map((h) => [h.key, h.value]));
      page = await get<CustomerPage>(resolveLink(next.uri), token, headers);
      pages += 1;
    }
    return { customers, pages };
  }

  it('returns the organization and MPN profiles', async () => {
    const org = await get<Record<string, unknown>>(`${base}/profiles/organization`, pcToken(sim), { 'MS-CorrelationId': 'corr-1' });
    assert.equal(org.status, 200);
    assert.equal(org.body.tenantId, PARTNER_TENANT_ID);
    assert.equal(org.body.companyName, 'Contoso Partner Ltd');
    assert.equal(org.body.domain, PARTNER_DOMAIN);
    assert.equal(org.body.profileType, 'OrganizationProfile');
    assert.equal(org.headers.get('ms-correlationid'), 'corr-1');
    const mpn = await get<Record<string, unknown>>(`${base}/profiles/mpn`, pcToken(sim));
    assert.equal(mpn.body.mpnId, PARTNER_MPN_ID);
  });

  it('pages customers with links.next and the MS-ContinuationToken header', async () => {
    const first = await get<CustomerPage>(`${base}/customers?size=10`, pcToken(sim));
    assert.equal(first.body.totalCount, 10);
    assert.equal(first.body.attributes.objectType, 'Collection');
    assert.equal(first.body.links.next?.uri, '/customers?size=10&seekOperation=Next');
    assert.equal(first.body.links.next?.headers[0]?.key, 'MS-ContinuationToken');
    const c0 = first.body.items[0]!;
    const expected = customerAt({ count: 25, seed: 1, resellerOnlyEvery: 10 }, 0);
    assert.deepEqual([c0.id, c0.companyProfile.tenantId, c0.companyProfile.domain, c0.companyProfile.companyName, c0.relationshipToPartner],
      [CUSTOMER_TENANT_ID, CUSTOMER_TENANT_ID, expected.domain, expected.companyName, 'reseller']);
    const { customers, pages } = await allCustomers(10, pcToken(sim));
    assert.equal(pages, 3);
    assert.equal(new Set(customers.map((c) => c.id)).size, 25);
    const one = await get<Customer>(`${base}/customers/${CUSTOMER_TENANT_ID}`, pcToken(sim));
    assert.equal(one.body.companyProfile.companyName, expected.companyName);
    assert.equal((await get<PcError>(`${base}/customers/${PARTNER_TENANT_ID}`, pcToken(sim))).status, 404);
  });

  it('pages all 20,000 customers of the large scenario at size=500', async () => {
    await sim.loadScenario('large');
    const started = Date.now();
    const { customers, pages } = await allCustomers(500, pcToken(sim));
    assert.equal(pages, 40);
    assert.equal(customers.length, 20_000);
    assert.equal(new Set(customers.map((c) => c.id)).size, 20_000);
    assert.equal(new Set(customers.map((c) => c.companyProfile.domain)).size, 20_000);
    assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);
    const capped = await get<CustomerPage>(`${base}/customers?size=1000`, pcToken(sim));
    assert.equal(capped.body.items.length, 500, 'size is capped at 500');
  });

  it('rejects a tampered, missing or expired continuation token with 400', async () => {
    const t = pcToken(sim);
    const first = await get<CustomerPage>(`${base}/customers?size=5`, t);
    const token = first.body.links.next!.headers[0]!.value;
    const tampered = await get<PcError>(`${base}/customers?size=5&seekOperation=Next`, t, { 'MS-ContinuationToken': token.slice(0, -2) + 'xx' });
    assert.equal(tampered.status, 400);
    assert.equal(tampered.body.code, 800002);
    assert.match(tampered.body.description, /continuation token/);
    const missing = await get<PcError>(`${base}/customers?size=5&seekOperation=Next`, t);
    assert.equal(missing.status, 400);
    sim.advanceClock(2 * 3600_000);
    const expired = await get<PcError>(`${base}/customers?size=5&seekOperation=Next`, pcToken(sim), { 'MS-ContinuationToken': token });
    assert.equal(expired.status, 400);
  });

  it('401 with the numeric code 900421 when an app+user token carries no mfa in amr; app-only only where documented', async () => {
    const noMfa = await get<PcError>(`${base}/customers?size=10`, pcToken(sim, { amr: ['pwd'] }));
    assert.equal(noMfa.status, 401);
    assert.equal(noMfa.body.code, 900421);
    assert.equal(noMfa.body.source, 'PartnerFD');
    assert.deepEqual(noMfa.body.data, []);
    const appOnlyToken = pcToken(sim, { scp: undefined, idtyp: 'app', roles: [], oid: APP_ID, amr: undefined, upn: undefined });
    const appOnlyCustomers = await get<CustomerPage>(`${base}/customers?size=10`, appOnlyToken);
    assert.equal(appOnlyCustomers.status, 200, 'GET /v1/customers accepts app-only tokens, and they are not subject to the MFA rule');
    assert.equal(appOnlyCustomers.body.items.length, 10);
    const appOnly = await get<PcError>(`${base}/profiles/organization`, appOnlyToken);
    assert.equal(appOnly.status, 401);
    assert.match(appOnly.body.description, /App\+User/);
    const graphToken = await get<PcError>(`${base}/profiles/organization`, pcToken(sim, { aud: 'https://graph.microsoft.com' }));
    assert.equal(graphToken.status, 401);
    const none = await get<PcError>(`${base}/profiles/organization`, undefined);
    assert.equal(none.status, 401);
  });

  it('lists invoices with App or App+User credentials; a user without a billing role is refused', async () => {
    interface InvoicePage { totalCount: number; items: Array<{ id: string; currencyCode: string }>; attributes: { objectType: string } }
    const admin = await get<InvoicePage>(`${base}/invoices?size=1&offset=0`, pcToken(sim));
    assert.equal(admin.status, 200, JSON.stringify(admin.body));
    assert.deepEqual([admin.body.totalCount, admin.body.items.length, admin.body.attributes.objectType], [1, 1, 'Collection']);
    const appOnlyToken = pcToken(sim, { scp: undefined, idtyp: 'app', roles: [], oid: APP_ID, amr: undefined, upn: undefined });
    assert.equal((await get<InvoicePage>(`${base}/invoices?size=1`, appOnlyToken)).status, 200);
    const helpdesk = await get<PcError>(`${base}/invoices?size=1`, pcToken(sim, { oid: HELPDESK_USER_ID }));
    assert.equal(helpdesk.status, 403, 'an Admin Agent or Helpdesk Agent alone sees no billing');
  });

  it('records MS-Contract-Version, MS-RequestId and MS-CorrelationId of every call as received', async () => {
    await get(`${base}/customers?size=1`, pcToken(sim), { 'MS-Contract-Version': 'v1', 'MS-RequestId': 'req-1', 'MS-CorrelationId': 'corr-1' });
    await get(`${base}/profiles/organization`, pcToken(sim));
    assert.deepEqual(partnerCenterRequests(sim).map((r) => [r.method, r.path, r.contractVersion, r.requestId, r.correlationId]), [
      ['GET', '/v1/customers', 'v1', 'req-1', 'corr-1'],
      ['GET', '/v1/profiles/organization', undefined, undefined, undefined],
    ]);
    await sim.loadScenario('healthy');
    assert.deepEqual(partnerCenterRequests(sim), [], 'a scenario load starts a new log');
  });

  it('403 when the tenant is not enrolled, or the user holds no Partner Center role', async () => {
    await sim.loadScenario('not-enrolled');
    const notEnrolled = await get<PcError>(`${base}/profiles/organization`, pcToken(sim));
    assert.equal(notEnrolled.status, 403);
    await sim.loadScenario('wrong-tenant');
    const customerTenant = await get<PcError>(`${base}/customers?size=10`, pcToken(sim, { tid: CUSTOMER_TENANT_ID, oid: CUSTOMER_ADMIN_ID }));
    assert.equal(customerTenant.status, 403);
    await sim.loadScenario('healthy');
    const helpdesk = await get<CustomerPage>(`${base}/customers?size=10`, pcToken(sim, { oid: HELPDESK_USER_ID }));
    assert.equal(helpdesk.status, 200, 'HelpdeskAgents members may list customers');
    const stranger = await get<PcError>(`${base}/customers?size=10`, pcToken(sim, { oid: '00000000-0000-4000-8000-000000000000' }));
    assert.equal(stranger.status, 403);
    assert.equal(stranger.body.description, 'The supplied role does not have the rights to perform the requested operation');
  });

  it('throttles every 3rd request of the throttled scenario with 429, Retry-After and the documented body', async () => {
    await sim.loadScenario('throttled');
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await get<Record<string, unknown>>(`${base}/customers?size=5`, pcToken(sim));
      statuses.push(res.status);
      if (res.status === 429) {
        assert.equal(res.headers.get('retry-after'), '1');
        assert.deepEqual(res.body, { statusCode: 429, message: 'Rate limit is exceeded. Try again in 1 seconds.' });
      }
    }
    assert.deepEqual(statuses, [200, 200, 429, 200, 200, 429]);
  });

  it('a rate limit (perSecond): a one-second burst, then 429 with Retry-After until the bucket refills', async () => {
    sim.scenario.throttling.partnerCenter.perSecond = 5;
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await get<Record<string, unknown>>(`${base}/customers?size=5`, pcToken(sim))).status);
    assert.deepEqual(statuses.slice(0, 5), [200, 200, 200, 200, 200], 'the burst');
    assert.ok(statuses.slice(5).includes(429), statuses.join());
    const limited = await get<Record<string, unknown>>(`${base}/customers?size=5`, pcToken(sim));
    if (limited.status === 429) assert.equal(limited.headers.get('retry-after'), '1');
    await new Promise((r) => setTimeout(r, 1100));
    assert.equal((await get(`${base}/customers?size=5`, pcToken(sim))).status, 200, 'refilled after a second');
  });

  it('has no ValidateMfa / isMfaCompliant exchange (not in the header reference): MFA is the token’s amr, its lack 401 with 900421', async () => {
    const ok = await get<Record<string, unknown>>(`${base}/profiles/organization`, pcToken(sim), { ValidateMfa: 'true' });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('ismfacompliant'), null);
    assert.equal('isMfaCompliant' in ok.body, false);
    const refused = await get<PcError>(`${base}/profiles/organization`, pcToken(sim, { amr: ['pwd'] }), { ValidateMfa: 'true' });
    assert.equal(refused.status, 401);
    assert.equal(refused.body.code, 900421);
    assert.equal(refused.headers.get('ismfacompliant'), null);
  });

  it('hands out continuation tokens with / = , + that only work sent back verbatim', async () => {
    const t = pcToken(sim);
    const first = await get<CustomerPage>(`${base}/customers?size=5`, t);
    const token = first.body.links.next!.headers[0]!.value;
    for (const c of ['/', '=', ',', '+']) assert.ok(token.includes(c), `token has no ${c}: ${token}`);
    const next = `${base}/customers?size=5&seekOperation=Next`;
    assert.equal((await get<PcError>(next, t, { 'MS-ContinuationToken': encodeURIComponent(token) })).status, 400);
    assert.equal((await get<PcError>(next, t, { 'MS-ContinuationToken': token.replace(/\+/g, ' ') })).status, 400);
    assert.equal((await get<CustomerPage>(next, t, { 'MS-ContinuationToken': token })).status, 200);
  });

  it('writes links.next.uri with the version in one scenario and without it in another', async () => {
    const relative = await get<CustomerPage>(`${base}/customers?size=10`, pcToken(sim));
    assert.match(relative.body.links.next!.uri, /^\/customers\?/);
    await sim.loadScenario('large');
    const versioned = await get<CustomerPage>(`${base}/customers?size=10`, pcToken(sim));
    assert.match(versioned.body.links.next!.uri, /^\/v1\/customers\?/);
  });

  it('answers a few percent of requests with 429 at random in every scenario, unless turned off', async () => {
    const random = await startSimulator({ services: [partnerCenterService] });
    try {
      assert.equal(random.scenario.name, 'healthy');
      const statuses: number[] = [];
      for (let i = 0; i < 200; i++) {
        const res = await fetch(`${random.baseUrl}/partnercenter/v1/customers?size=1`, { headers: { Authorization: `Bearer ${pcToken(random)}` } });
        statuses.push(res.status);
        if (res.status === 429) assert.ok(Number(res.headers.get('retry-after')) >= 0);
        await res.arrayBuffer();
      }
      const throttled = statuses.filter((s) => s === 429).length;
      assert.ok(throttled >= 1 && throttled <= 20, `${throttled} of 200 throttled`);
      assert.equal(statuses.filter((s) => s !== 429 && s !== 200).length, 0);
      random.setRandomThrottling(false);
      for (let i = 0; i < 50; i++) {
        const res = await fetch(`${random.baseUrl}/partnercenter/v1/customers?size=1`, { headers: { Authorization: `Bearer ${pcToken(random)}` } });
        assert.equal(res.status, 200);
        await res.arrayBuffer();
      }
    } finally {
      await random.stop();
    }
  });
});
