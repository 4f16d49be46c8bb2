import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CHECK_IDS, type CheckId } from '../../src/checks/catalog';
import type { Facts } from '../../src/checks/facts';
import { gatherFacts, roleAssignmentsFact, type GatherResult } from '../../src/checks/gather/gather';
import {
  mapApplication, mapCustomersPage, mapGroup, mapOrganization, mapServiceAccount, mapServicePrincipal, refusedFact,
} from '../../src/checks/gather/map';
import { GLOBAL_ADMIN_ROLE_ID } from '../../src/checks/microsoft';
import { evaluate, evidenceLine, type CheckResult } from '../../src/checks/run';
import { MicrosoftHttpClient, type AccessTokenFunction } from '../../src/microsoft/http';
import { APP_ID, APP_SECRET_VALUE, PARTNER_TENANT_ID, SERVICE_ACCOUNT_UPN } from '../simulator/scenarios/ids';
import { loadScenario, type Scenario } from '../simulator/scenario';
import { startSimulator, type Simulator } from '../simulator/server';
import { partnerCenterRequests } from '../simulator/services/partner-center';

/** Client credentials against the simulator's Entra ID with the partner app's id and secret. */
function appOnlyTokens(sim: Simulator, secret = APP_SECRET_VALUE): AccessTokenFunction {
  return async (scopes, { signal }) => {
    const res = await fetch(`${sim.baseUrl}/${PARTNER_TENANT_ID}/oauth2/v2.0/token`, {
      method: 'POST', signal,
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: APP_ID, client_secret: secret, scope: scopes[0]! }),
    });
    const body = await res.json() as { access_token?: string; error?: string; error_codes?: number[] };
    if (!res.ok || !body.access_token) throw new Error(`token request refused: ${body.error ?? res.status} AADSTS${body.error_codes?.[0] ?? '?'}`);
    return body.access_token;
  };
}

interface Counts { graph: number; partnerCenter: number }

function clients(sim: Simulator, counts: Counts, graphBase = `${sim.baseUrl}/graph`) {
  const tokens = appOnlyTokens(sim);
  const common = { maxRetries: 4, baseDelayMs: 10, timeoutMs: 5_000 };
  return {
    graph: new MicrosoftHttpClient({
      ...common, baseUrl: graphBase, tokenProvider: tokens, scopes: ['https://graph.microsoft.com/.default'], requestIds: 'graph',
      onAttempt: () => { counts.graph += 1; },
    }),
    partnerCenter: new MicrosoftHttpClient({
      ...common, baseUrl: `${sim.baseUrl}/partnercenter`, tokenProvider: tokens, scopes: ['https://api.partnercenter.microsoft.com/.default'],
      requestIds: 'partner-center', onAttempt: () => { counts.partnerCenter += 1; },
    }),
  };
}

async function gather(sim: Simulator, graphBase?: string): Promise<GatherResult & { counted: Counts; results: CheckResult[] }> {
  const counted = { graph: 0, partnerCenter: 0 };
  const now = new Date(sim.now());
  const out = await gatherFacts({
    ...clients(sim, counted, graphBase), serviceAccountUpn: SERVICE_ACCOUNT_UPN, appId: APP_ID, secretHint: APP_SECRET_VALUE.slice(0, 3), now,
  });
  const results = evaluate(out.facts as Facts, { now, appId: APP_ID, tenantId: PARTNER_TENANT_ID });
  return { ...out, counted, results };
}

const ids = (results: readonly CheckResult[], status: CheckResult['status']) => results.filter((r) => r.status === status).map((r) => r.id).sort();

/** Checks an app-only token cannot settle: they need the consent token, the partner's answer, or permissions the platform does not ask for. */
const APP_ONLY_UNKNOWN: CheckId[] = [
  'consent.fresh', // the stored consent: after the sign-in
  'gdap.assignments', 'gdap.expiry', 'gdap.global-admin', 'gdap.roles', // needs DelegatedAdminRelationship.Read.All
  'mfa.enforced', 'mfa.sign-in-frequency', // security defaults and CA need Policy.Read.All
  'mfa.registered', // registration report needs AuditLog.Read.All
  'mfa.remember-devices', // the partner's own answer
  'mfa.token', // the consent token's amr
  'partner-center.works', // the organization profile needs App+User: not asked before the sign-in
  'partner-center.billing', // invoices are read with the service account's token, after the sign-in
  'secret.partner-center', // entered by the partner
];
const APP_ONLY_PASS = CHECK_IDS.filter((id) => !APP_ONLY_UNKNOWN.includes(id));

describe('checks: app-only gathering (pre-flight)', function () {
  this.timeout(60_000);

  describe('mappers over plain data', () => {
    it('maps a user, a group, an organization and a customers page', () => {
      assert.deepEqual(mapServiceAccount({ id: 'u', userPrincipalName: 'a@b', accountEnabled: true, passwordPolicies: null, userType: 'Member' }),
        { id: 'u', userPrincipalName: 'a@b', accountEnabled: true, passwordPolicies: null, userType: 'Member' });
      assert.throws(() => mapServiceAccount({ id: 'u', userPrincipalName: 'a@b' }), /accountEnabled/);
      assert.deepEqual(mapGroup({ '@odata.type': '#microsoft.graph.group', id: 'g', displayName: 'AdminAgents' }), { id: 'g', displayName: 'AdminAgents' });
      assert.deepEqual(mapOrganization({ value: [{ id: 't', displayName: 'C', partnerTenantType: null, countryLetterCode: 'US' }] }),
        { id: 't', displayName: 'C', partnerTenantType: null, countryLetterCode: 'US' });
      assert.deepEqual(mapCustomersPage({ items: [{}], links: { next: { uri: '/customers?size=1&seekOperation=Next' } } }), { count: 1, hasMore: true });
      assert.deepEqual(mapCustomersPage({ items: [], links: {} }), { count: 0, hasMore: false });
    });

    it('maps the app and its service principal; an empty filter result is null (not found)', () => {
      assert.equal(mapApplication({ value: [] }), null);
      assert.equal(mapServicePrincipal({ value: [] }), null);
      const app = mapApplication({ value: [{
        appId: 'a', displayName: 'X', requiredResourceAccess: [{ resourceAppId: 'r', resourceAccess: [{ id: 'p', type: 'Role' }] }],
        passwordCredentials: [{ keyId: 'k', hint: 'Qd7', displayName: 'd', endDateTime: '2030-01-01T00:00:00Z', secretText: null }],
      }] });
      assert.deepEqual(app, {
        appId: 'a', displayName: 'X', requiredResourceAccess: [{ resourceAppId: 'r', resourceAccess: [{ id: 'p', type: 'Role' }] }],
        passwordCredentials: [{ keyId: 'k', hint: 'Qd7', displayName: 'd', endDateTime: '2030-01-01T00:00:00Z' }],
      });
      assert.deepEqual(mapServicePrincipal({ value: [{ id: 's', appId: 'a', accountEnabled: true }] }), { id: 's', appId: 'a', accountEnabled: true });
    });

    it('a refusal names the licence, or asks for the admin consent the checklist asked for (never a permission to add)', () => {
      assert.deepEqual(refusedFact(403, { error: { code: 'Authentication_RequestFromNonPremiumTenantOrB2CTenant' } }, 'Policy.Read.All'),
        {
          unknown: 'Graph answered 403 Authentication_RequestFromNonPremiumTenantOrB2CTenant (needs Entra ID P1/P2)', needs: 'Microsoft Entra ID P1 or P2', lasting: true,
          fix: 'Check it yourself in the Microsoft Entra admin center: Microsoft shows it to the bot only on tenants with Entra ID P1 or P2.',
        });
      assert.equal(refusedFact(403, { error: { code: 'Authorization_RequestDenied' } }, 'Policy.Read.All').lasting, undefined, 'a permission can be granted: not lasting');
      assert.equal(refusedFact(400, { error: { code: 'AadPremiumLicenseRequired' } }, 'x').needs, 'Microsoft Entra ID P2');
      // The checklist's permissions cover every read: a refusal asks for the consent, never for a permission to add.
      const refused = refusedFact(403, { error: { code: 'Authorization_RequestDenied' } }, 'Policy.Read.All');
      assert.equal(refused.needs, undefined);
      assert.match(refused.fix ?? '', /check every permission shows "Granted" \(else select \*\*Grant admin consent\*\*\)/);
    });

    it('role assignments: beta transitive wins; direct v1.0 counts only when it shows Global Administrator', () => {
      const ga = [{ principalId: 'u', roleDefinitionId: GLOBAL_ADMIN_ROLE_ID, directoryScopeId: '/' }];
      const down = { unknown: 'Graph answered 400' };
      assert.deepEqual(roleAssignmentsFact([], ga), []);
      assert.deepEqual(roleAssignmentsFact(down, ga), ga);
      assert.match((roleAssignmentsFact(down, []) as { unknown: string }).unknown, /transitive role assignments \(beta\) not read/);
    });
  });

  describe('against the simulator', () => {
    let sim: Simulator;
    before(async () => { sim = await startSimulator({ scenario: 'healthy', randomThrottling: false }); });
    after(async () => { await sim.stop(); });

    it('healthy: every app-only-visible check passes; the rest stay unknown with a reason; Graph ≤ 3 round-trips, Partner Center 1 (customers only)', async () => {
      await sim.loadScenario('healthy');
      const run = await gather(sim);
      for (const r of run.results) if (r.status !== 'pass') console.log(`      ${evidenceLine(r)}`);
      console.log(`      round-trips: Graph ${run.roundTrips.graph} (onAttempt ${run.counted.graph}), Partner Center ${run.roundTrips.partnerCenter} (onAttempt ${run.counted.partnerCenter})`);
      assert.deepEqual(ids(run.results, 'pass'), [...APP_ONLY_PASS].sort());
      assert.deepEqual(ids(run.results, 'unknown'), [...APP_ONLY_UNKNOWN].sort());
      assert.deepEqual({ graph: run.roundTrips.graph, partnerCenter: run.roundTrips.partnerCenter }, run.counted);
      assert.ok(run.counted.graph <= 3, `Graph round-trips ${run.counted.graph}`);
      assert.equal(run.counted.partnerCenter, 1, 'app-only: /v1/customers only');
      assert.deepEqual(run.roundTrips.waves, { graph: 2, partnerCenter: 1 }, 'the second Graph batches wait for the first; Partner Center\'s one call goes with the first');
    });

    // One cause each: exactly that check fails (or warns), nothing else does.
    const SCENARIOS: { scenario: string; fail: CheckId[]; warn?: CheckId[] }[] = [
      { scenario: 'not-in-adminagents', fail: ['account.admin-agents'] },
      { scenario: 'app-not-in-adminagents', fail: ['app.admin-agents'] },
      { scenario: 'permission-missing', fail: ['app.permissions-requested'] },
      { scenario: 'not-global-admin', fail: ['account.global-admin'] },
      { scenario: 'secret-expiring', fail: [], warn: ['secret.app'] },
      // partnerTenantType is nullable: before the sign-in Partner Center has not decided, so no failure.
      { scenario: 'not-enrolled', fail: [] },
      { scenario: 'no-premium', fail: [] },
      { scenario: 'no-mfa', fail: [] },
      { scenario: 'third-party-mfa', fail: [] },
      { scenario: 'gdap-readonly', fail: [] },
      // The named account does not live in the partner tenant: caught before the sign-in.
      { scenario: 'wrong-tenant', fail: ['account.exists'] },
    ];
    for (const s of SCENARIOS) {
      it(`${s.scenario}: ${s.fail.length ? `fails ${s.fail.join(', ')}` : 'fails nothing app-only can see'}${s.warn ? `, warns ${s.warn.join(', ')}` : ''}`, async () => {
        await sim.loadScenario(s.scenario);
        const run = await gather(sim);
        console.log(`      pass ${ids(run.results, 'pass').length}, unknown: ${ids(run.results, 'unknown').filter((id) => !APP_ONLY_UNKNOWN.includes(id)).join(', ') || 'only the app-only ones'}`);
        assert.deepEqual(ids(run.results, 'fail'), s.fail, run.results.filter((r) => r.status === 'fail').map(evidenceLine).join('\n'));
        assert.deepEqual(ids(run.results, 'warn'), s.warn ?? []);
      });
    }

    /** A scenario file, changed for one test. */
    async function variant(name: string, change: (t: Scenario['tenants'][number]) => void): Promise<Scenario> {
      const scenario = await loadScenario(name);
      change(scenario.tenants.find((t) => t.id === PARTNER_TENANT_ID)!);
      return scenario;
    }
    const serviceAccountOf = (t: Scenario['tenants'][number]) => t.users.find((u) => u.userPrincipalName === SERVICE_ACCOUNT_UPN)!;

    it('all pages of the account\'s groups: AdminAgents on the second page (1,200 groups) is found, one more Graph round-trip', async () => {
      await sim.loadScenario(await variant('healthy', (t) => {
        const many = Array.from({ length: 1200 }, (_, i) => ({
          id: `b0b0b0b0-3333-4333-8333-${String(i).padStart(12, '0')}`, displayName: `Team ${String(i).padStart(4, '0')}`,
          description: 'filler', isAssignableToRole: false, roles: [],
        }));
        const agents = t.groups.filter((g) => g.displayName === 'AdminAgents');
        t.groups = [...many, ...t.groups.filter((g) => g.displayName !== 'AdminAgents'), ...agents];
        serviceAccountOf(t).groups = [...many.map((g) => g.displayName), 'AdminAgents'];
      }));
      const run = await gather(sim);
      const groups = run.facts.serviceAccountGroups as readonly { displayName: string }[];
      assert.equal(groups.length, 1201);
      assert.equal(run.results.find((r) => r.id === 'account.admin-agents')!.status, 'pass');
      assert.equal(run.counted.graph, 4, '3 batches and the second page of groups');
      assert.deepEqual({ graph: run.roundTrips.graph, partnerCenter: run.roundTrips.partnerCenter }, run.counted);
    });

    it('Global Administrator only through a role-assignable group: beta transitiveRoleAssignments (a beta $batch) proves it', async () => {
      await sim.loadScenario(await variant('healthy', (t) => {
        t.groups.push({ id: 'a0a0a0a0-3333-4333-8333-0000000000aa', displayName: 'Tenant Admins', description: 'role-assignable', isAssignableToRole: true, roles: ['Global Administrator'] });
        const u = serviceAccountOf(t);
        u.roles = [];
        u.groups.push('Tenant Admins');
      }));
      const run = await gather(sim);
      const r = run.results.find((x) => x.id === 'account.global-admin')!;
      assert.equal(r.status, 'pass', evidenceLine(r));
      // The v1.0 direct view holds nothing for the user: the pass comes from the beta transitive view,
      // which lists the group's assignment under the group's id.
      assert.equal(r.evidence, 'active Global Administrator (through group Tenant Admins)');
      assert.equal(run.counted.graph, 3);
    });

    it('Partner Center before the sign-in: only app-only /v1/customers (never the App+User profile), with MS-Contract-Version v1 and fresh request ids', async () => {
      await sim.loadScenario('healthy');
      const run = await gather(sim);
      const calls = partnerCenterRequests(sim);
      assert.deepEqual(calls.map((c) => c.path), ['/v1/customers']);
      for (const c of calls) {
        assert.equal(c.contractVersion, 'v1');
        assert.match(c.requestId ?? '', /^[0-9a-f-]{36}$/);
        assert.match(c.correlationId ?? '', /^[0-9a-f-]{36}$/);
      }
      const works = run.results.find((r) => r.id === 'partner-center.works')!;
      assert.equal(works.status, 'unknown');
      assert.equal(works.evidence, 'Partner Center: read after the service account signs in');
      assert.equal(works.afterSignIn, true, 'the pre-flight counts it among the checks that run after the sign-in');
    });

    it('a domain whose passwords never expire (2147483647): the account passes without DisablePasswordExpiration; a domain policy left at 90 days fails it', async () => {
      await sim.loadScenario(await variant('healthy', (t) => {
        serviceAccountOf(t).passwordPolicies = undefined;
        t.passwordValidityPeriodInDays = 2147483647;
      }));
      const never = (await gather(sim)).results.find((r) => r.id === 'account.password-never-expires')!;
      assert.equal(never.status, 'pass', evidenceLine(never));
      assert.equal(never.evidence, 'password never expires (the domain\'s password policy)');
      await sim.loadScenario(await variant('healthy', (t) => { serviceAccountOf(t).passwordPolicies = undefined; }));
      const expires = (await gather(sim)).results.find((r) => r.id === 'account.password-never-expires')!;
      assert.equal(expires.status, 'fail', evidenceLine(expires));
    });

    it('partnerTenantType null on a real partner: unknown before the sign-in (Partner Center decides), never a failure', async () => {
      await sim.loadScenario(await variant('healthy', (t) => { t.partnerTenantType = undefined; }));
      const r = (await gather(sim)).results.find((x) => x.id === 'partner-center.partner-tenant')!;
      assert.equal(r.status, 'unknown', evidenceLine(r));
      assert.match(r.evidence, /Microsoft Graph names no partner type.*Partner Center decides/);
    });

    it('an app granted DelegatedAdminRelationship.Read.All also gets GDAP: healthy passes gdap.*, gdap-readonly fails gdap.roles', async () => {
      const grantGdap = (t: Scenario['tenants'][number]) => { t.applications[0]!.grantedAppRoles.push('DelegatedAdminRelationship.Read.All'); };
      await sim.loadScenario(await variant('healthy', grantGdap));
      const healthy = await gather(sim);
      const gdap = healthy.results.filter((r) => r.id.startsWith('gdap.'));
      for (const r of gdap) assert.equal(r.status, 'pass', evidenceLine(r));
      console.log(`      healthy + GDAP read: Graph ${healthy.counted.graph} round-trips (22 relationships' access assignments in 2 more batches)`);
      await sim.loadScenario(await variant('gdap-readonly', grantGdap));
      const readonly = await gather(sim);
      assert.deepEqual(ids(readonly.results, 'fail'), ['gdap.roles'], readonly.results.filter((r) => r.status === 'fail').map(evidenceLine).join('\n'));
    });

    it('admin-consent-missing: the app-only token has no roles, so Graph refuses every item: unknown naming admin consent, never a pass of what it could not see', async () => {
      await sim.loadScenario('admin-consent-missing');
      const run = await gather(sim);
      assert.deepEqual(ids(run.results, 'fail'), []);
      for (const id of ['app.permissions-granted', 'account.admin-agents', 'app.admin-agents'] as const) {
        const r = run.results.find((x) => x.id === id)!;
        assert.equal(r.status, 'unknown');
        assert.match(r.evidence, /403 Authorization_RequestDenied \(not allowed to read it: [\w.]+ not granted\)/);
        assert.match(r.fix!.text, /select \*\*Grant admin consent\*\*/, 'the fix is the consent the checklist asked for, not a new permission');
      }
    });

    it('secret-expired: Entra refuses the app-only token (AADSTS7000222): every Graph fact unknown with that reason, nothing passes from Graph', async () => {
      await sim.loadScenario('secret-expired');
      const run = await gather(sim);
      assert.deepEqual(ids(run.results, 'fail'), []);
      const app = run.results.find((r) => r.id === 'secret.app')!;
      assert.equal(app.status, 'unknown');
      assert.match(app.evidence, /Graph did not answer: .*7000222/);
      assert.deepEqual(ids(run.results, 'pass'), []);
    });

    it('a Graph outage (503 on every try): unknown naming it, no throw, no false pass; Partner Center still answers', async () => {
      await sim.loadScenario('healthy');
      const down = createServer((_req, res) => { res.writeHead(503, { 'Retry-After': '0', 'Content-Type': 'application/json' }); res.end('{"error":{"code":"ServiceUnavailable","message":"down"}}'); });
      await new Promise<void>((resolve) => down.listen(0, '127.0.0.1', resolve));
      try {
        const run = await gather(sim, `http://127.0.0.1:${(down.address() as AddressInfo).port}`);
        assert.deepEqual(ids(run.results, 'fail'), []);
        const graphChecks = run.results.filter((r) => r.id.startsWith('account.') || r.id.startsWith('app.') || r.id === 'partner-center.partner-tenant');
        for (const r of graphChecks) {
          assert.equal(r.status, 'unknown', evidenceLine(r));
          assert.match(r.evidence, /Graph did not answer: HTTP 503 ServiceUnavailable after 5 tries/);
        }
        assert.deepEqual(run.facts.partnerCenterCustomers, { ok: true, value: { count: 1, hasMore: true } });
        assert.equal(run.counted.graph, 5, 'one batch: the first try and 4 retries, then no second wave');
        assert.equal(run.roundTrips.graph, 5);
      } finally {
        await new Promise<void>((resolve) => down.close(() => resolve()));
      }
    });

    it('a Graph host that is not there (closed port): unknown naming a network failure', async () => {
      const probe = createServer();
      await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
      const port = (probe.address() as AddressInfo).port;
      await new Promise<void>((resolve) => probe.close(() => resolve()));
      const run = await gather(sim, `https://127.0.0.1:${port}`);
      assert.deepEqual(ids(run.results, 'fail'), []);
      const r = run.results.find((x) => x.id === 'account.exists')!;
      assert.equal(r.status, 'unknown');
      assert.match(r.evidence, /Graph did not answer: network/);
    });

    it('with random throttling on, and a throttling cloud, every fact still arrives', async () => {
      sim.setRandomThrottling(true);
      try {
        for (const scenario of ['healthy', 'throttled']) {
          await sim.loadScenario(scenario);
          const run = await gather(sim);
          assert.deepEqual(ids(run.results, 'pass'), [...APP_ONLY_PASS].sort(), scenario);
          assert.deepEqual(ids(run.results, 'unknown'), [...APP_ONLY_UNKNOWN].sort(), scenario);
          console.log(`      ${scenario} with throttling: Graph ${run.counted.graph}, Partner Center ${run.counted.partnerCenter} round-trips`);
        }
      } finally {
        sim.setRandomThrottling(false);
      }
    });
  });
});
