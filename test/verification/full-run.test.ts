import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CheckId } from '../../src/checks/catalog';
import { evidenceLine, summarize, type CheckResult } from '../../src/checks/run';
import { secretName } from '../../src/credentials/credential-service';
import { checksOutcome } from '../../src/dialogs/checks-dialog';
import { checksPassed } from '../../src/domain/steps';
import { CheckRunner } from '../../src/verification/check-runner';
import { ConsentHarness } from '../auth/consent-harness';
import { followUpJobs, makeFollowUpDue } from '../jobs/follow-up-due';
import { SERVICE_ACCOUNT_UPN } from '../simulator/scenarios/ids';
import { partnerCenterRequests } from '../simulator/services/partner-center';

const ids = (results: readonly CheckResult[], status: CheckResult['status']) => results.filter((r) => r.status === status).map((r) => r.id).sort();

/** Graph cannot read it; the partner confirms it (advisory): unknown in every full run. */
const ALWAYS_UNKNOWN: CheckId[] = ['mfa.remember-devices'];

interface Expected {
  scenario: string;
  /** Blocking failures: the journey stops before sync on these. */
  blocking?: CheckId[];
  /** Advisory failures (they never stop the journey). */
  advisory?: CheckId[];
  warn?: CheckId[];
  unknown?: CheckId[];
  /** Why more than one check fails, where one cause fails two. */
  because?: string;
}

/** Every scenario whose service account can sign in and consent: what the full run must say. */
const FULL_RUN: Expected[] = [
  { scenario: 'healthy' },
  { scenario: 'throttled' },
  { scenario: 'app-not-in-adminagents', blocking: ['app.admin-agents'] },
  { scenario: 'not-in-adminagents', blocking: ['account.admin-agents'], advisory: ['gdap.assignments'], because: 'the GDAP roles reach the account through AdminAgents' },
  { scenario: 'permission-missing', blocking: ['app.permissions-requested'] },
  { scenario: 'secret-expiring', warn: ['secret.app'] },
  { scenario: 'gdap-readonly', advisory: ['gdap.roles'] },
  { scenario: 'no-premium', unknown: ['mfa.registered'] },
];

/** Scenarios the bot stops before any full run can exist: the sign-in refuses them, and the chat says why. */
const REFUSED_AT_SIGN_IN: { scenario: string; page: RegExp }[] = [
  { scenario: 'no-mfa', page: /without MFA/i },
  { scenario: 'third-party-mfa', page: /without MFA/i },
  { scenario: 'not-enrolled', page: /Partner Center refused access/i },
];

async function downServer(status: number): Promise<{ url: string; server: Server }> {
  const server = createServer((_req, res) => {
    res.writeHead(status, { 'Retry-After': '0', 'Content-Type': 'application/json' });
    res.end('{"error":{"code":"ServiceUnavailable","message":"down"}}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe('checks: the full run after the consent (simulator)', function () {
  this.timeout(120_000);
  let h: ConsentHarness;
  before(async () => { h = await ConsentHarness.start('healthy'); });
  after(async () => { await h?.stop(); });

  /** A partner of `scenario` whose service account signed in through the bot; admin consent recorded; the Partner Center secret entered with its expiry. */
  async function consented(scenario: string) {
    await h.loadScenario(scenario);
    const p = await h.partner();
    const answer = await h.signIn(p);
    const partner = await h.app.partners.get(p.tenant);
    if (!partner?.consent.at) throw new Error(`${scenario}: the sign-in did not give consent: ${answer.text.slice(0, 200)}`);
    await h.app.connections.recordAdminConsent(p.tenant, 'test', 'token-roles');
    const expiresAt = new Date(Date.now() + 400 * 86_400_000).toISOString().slice(0, 10);
    await h.app.connections.saveCredentials(p.tenant, { ...partner.connection!, pcAppId: 'c0c0c0c0-1111-4111-8111-000000000001' }, {
      pcSecret: { storeName: secretName(p.tenant, 'pcSecret'), hint: 'pcS', expiresAt, setBy: p.person.aadObjectId, setAt: new Date().toISOString() },
    }, p.person.aadObjectId, 'card');
    return { p, partner: (await h.app.partners.get(p.tenant))! };
  }

  for (const e of FULL_RUN) {
    const failing = [...(e.blocking ?? []), ...(e.advisory ?? [])];
    it(`${e.scenario}: ${failing.length ? `fails ${failing.join(' and ')}${e.because ? ` (${e.because})` : ''}` : 'no check fails'}${e.warn ? `, warns ${e.warn.join(', ')}` : ''}${e.unknown ? `, cannot see ${e.unknown.join(', ')}` : ''}`, async () => {
      const { partner } = await consented(e.scenario);
      const run = await h.app.checks.full(partner, 'test');
      const lines = run.results.map(evidenceLine).join('\n');
      assert.equal(run.kind, 'full');
      assert.deepEqual(ids(run.results, 'fail'), [...failing].sort(), lines);
      assert.deepEqual(run.results.filter((r) => r.status === 'fail' && r.severity === 'blocking').map((r) => r.id).sort(), [...(e.blocking ?? [])].sort(), lines);
      assert.deepEqual(ids(run.results, 'warn'), [...(e.warn ?? [])].sort(), lines);
      assert.deepEqual(ids(run.results, 'unknown'), [...ALWAYS_UNKNOWN, ...(e.unknown ?? [])].sort(), lines);
      // The verdict is the journey's: blocking failures stop it before sync, nothing else does.
      const after = (await h.app.partners.get(partner.tenantId))!;
      assert.equal(checksPassed(after), !e.blocking?.length, `verdict ${run.verdict}`);
      assert.equal(after.checks?.verdict, run.verdict);
      console.log(`      Graph ${run.roundTrips.graph} requests, Partner Center ${run.roundTrips.partnerCenter}`);
    });
  }

  it('healthy: the evidence comes from the signed-in account (amr, policies, GDAP) and no secret is in any result', async () => {
    const { partner } = await consented('healthy');
    const run = await h.app.checks.full(partner, 'test');
    const by = (id: CheckId) => run.results.find((r) => r.id === id)!;
    assert.match(by('mfa.token').evidence, /token amr: .*mfa/);
    assert.match(by('mfa.enforced').evidence, /security defaults on/);
    assert.match(by('gdap.assignments').evidence, /reaches the needed roles in all \d+ relationships/);
    assert.match(by('partner-center.works').evidence, /profile ".+" read/);
    const text = JSON.stringify(run);
    assert.ok(!/Qd78Q~|simulated\.healthy\.secret/.test(text), 'no secret value');
    assert.ok(!/eyJ[\w-]+\.[\w-]+\./.test(text), 'no token');
  });

  for (const r of REFUSED_AT_SIGN_IN) {
    it(`${r.scenario}: refused at the sign-in (no consent, so no full run): ${r.page}`, async () => {
      await h.loadScenario(r.scenario);
      const p = await h.partner();
      const answer = await h.signIn(p);
      assert.match(answer.text, r.page);
      const partner = (await h.app.partners.get(p.tenant))!;
      assert.equal(partner.consent.at, undefined);
      const run = await h.app.checks.run(partner, 'test');
      assert.equal(run.kind, 'preflight', 'without the consent only the pre-flight runs');
    });
  }

  describe('verdicts as Microsoft documents them (issue 26)', () => {
    /** The partner tenant of the loaded scenario, changed in place after the sign-in. */
    const tenant = () => h.sim.scenario.tenants.find((t) => t.users.some((u) => u.userPrincipalName === SERVICE_ACCOUNT_UPN))!;
    const account = () => tenant().users.find((u) => u.userPrincipalName === SERVICE_ACCOUNT_UPN)!;
    const by = (results: readonly CheckResult[], id: CheckId) => results.find((r) => r.id === id)!;

    it('Global Administrator held only through a role-assignable group: passes, named through the group', async () => {
      const { partner } = await consented('healthy');
      tenant().groups.push({ id: 'a0a0a0a0-3333-4333-8333-0000000000ab', displayName: 'Tier0 Admins', description: 'role-assignable', isAssignableToRole: true, roles: ['Global Administrator'] });
      account().roles = [];
      account().groups.push('Tier0 Admins');
      const run = await h.app.checks.full(partner, 'test');
      const ga = by(run.results, 'account.global-admin');
      assert.equal(ga.status, 'pass', evidenceLine(ga));
      assert.equal(ga.evidence, 'active Global Administrator (through group Tier0 Admins)');
      assert.deepEqual(ids(run.results, 'fail'), [], run.results.map(evidenceLine).join('\n'));
    });

    it('a 2032 refusal: "Partner Center refused access" naming the roles, blocking; not called a wrong or unenrolled tenant', async () => {
      const { partner } = await consented('healthy');
      tenant().partnerCenter.enrolled = false;
      const run = await h.app.checks.full(partner, 'test');
      const works = by(run.results, 'partner-center.works');
      assert.equal(works.status, 'fail', evidenceLine(works));
      assert.equal(works.evidence, 'organization profile: HTTP 403, code 2032 — Partner Center refused access');
      assert.match(works.fix!.text, /Admin Agent.*Global Admin.*Incentives Admin/);
      assert.doesNotMatch(`${works.evidence} ${works.fix!.text}`, /wrong tenant|not enrolled/i);
      assert.equal(by(run.results, 'partner-center.partner-tenant').status, 'pass', 'Graph names the partner type: the tenant is right');
      assert.equal(by(run.results, 'partner-center.billing').status, 'warn');
      assert.equal(run.verdict, 'blocked');
    });

    it('partnerTenantType null on a real partner: passes because Partner Center answered the profile with the user token', async () => {
      const { partner } = await consented('healthy');
      tenant().partnerTenantType = undefined;
      const run = await h.app.checks.full(partner, 'test');
      const r = by(run.results, 'partner-center.partner-tenant');
      assert.equal(r.status, 'pass', evidenceLine(r));
      assert.match(r.evidence, /is a partner tenant: Partner Center answered its partner profile/);
      assert.deepEqual(ids(run.results, 'fail'), []);
    });

    it('a domain whose passwords never expire: account.password-never-expires passes without DisablePasswordExpiration', async () => {
      const { partner } = await consented('healthy');
      account().passwordPolicies = undefined;
      tenant().passwordValidityPeriodInDays = 2147483647;
      const run = await h.app.checks.full(partner, 'test');
      const r = by(run.results, 'account.password-never-expires');
      assert.equal(r.status, 'pass', evidenceLine(r));
      assert.equal(r.evidence, 'password never expires (the domain\'s password policy)');
    });

    it('every Partner Center call of the full run carries MS-Contract-Version v1, an MS-RequestId and a fresh MS-CorrelationId; the profile and invoices are read', async () => {
      const { partner } = await consented('healthy');
      const before = partnerCenterRequests(h.sim).length;
      const run = await h.app.checks.full(partner, 'test');
      const calls = partnerCenterRequests(h.sim).slice(before);
      // The bot may run its own checks after the sign-in too: every call in the window is judged, each path at least once.
      assert.deepEqual([...new Set(calls.map((c) => c.path))].sort(), ['/v1/customers', '/v1/invoices', '/v1/profiles/organization']);
      for (const c of calls) {
        assert.equal(c.contractVersion, 'v1', c.path);
        assert.match(c.requestId ?? '', /^[0-9a-f-]{36}$/);
        assert.match(c.correlationId ?? '', /^[0-9a-f-]{36}$/);
      }
      // A retry (a random 429) repeats its call's ids; every call has its own pair.
      const pairs = new Set(calls.map((c) => `${c.requestId} ${c.correlationId}`));
      assert.equal(new Set(calls.map((c) => c.correlationId)).size, pairs.size, 'a new correlation id for every call');
      assert.equal(new Set(calls.map((c) => c.requestId)).size, pairs.size, 'the request id stays with its call');
      assert.ok(pairs.size >= 3);
      assert.match(by(run.results, 'partner-center.billing').evidence, /invoices visible to the service account/);
    });
  });

  it('"Re-check in 15 minutes" survives a restart: the new process runs it when due and posts the result to the chat', async () => {
    const { p } = await consented('healthy');
    await h.app.followUps.schedule(p.tenant, p.conversationId, p.person.aadObjectId, new Date(Date.now() + 15 * 60_000));
    await h.restart();
    assert.equal(await h.app.checkFollowUps.run(), 0, 'not due yet');
    await makeFollowUpDue(h.app, p.tenant);
    assert.equal(await h.app.checkFollowUps.run(), 1);
    assert.equal(await h.app.checkFollowUps.run(), 0, 'run once, never twice');
    const said = (await p.chat.client.transcript()).map((e) => e.activity.text ?? '').join('\n');
    assert.match(said, /\*\*Re-check done\*\* .*Every blocking check passes/);
    const jobs = await followUpJobs(h.app, p.tenant);
    assert.deepEqual(jobs.map((j) => [j.state, j.output?.outcome]), [['completed', 'told']]);
    assert.ok(jobs[0]!.output?.runId, 'the run it made is linked');
  });

  describe('Microsoft down during a full run', () => {
    let down: { url: string; server: Server };
    afterEach(async () => { await new Promise<void>((resolve) => down.server.close(() => resolve())); });

    const runner = (graph: string, partnerCenter: string) => new CheckRunner({ graphBaseUrl: graph, partnerCenterBaseUrl: partnerCenter, tokens: h.app.tokens, runs: h.app.checkRuns });

    it('Graph answers 503 on every try: every Graph check unknown naming it, nothing fails or passes from Graph, the card offers a re-check', async () => {
      const { partner } = await consented('healthy');
      down = await downServer(503);
      const run = await runner(down.url, `${h.sim.baseUrl}/partnercenter`).full(partner, 'test');
      assert.deepEqual(ids(run.results, 'fail'), []);
      for (const r of run.results.filter((x) => x.id.startsWith('account.') || x.id.startsWith('app.') || x.id.startsWith('gdap.'))) {
        assert.equal(r.status, 'unknown', evidenceLine(r));
        assert.match(r.evidence, /Graph did not answer: HTTP 503/);
      }
      assert.equal(summarize(run.results).verdict, 'incomplete');
      assert.equal(checksPassed((await h.app.partners.get(partner.tenantId))!), false, 'an unseen blocking check never lets the journey on');
      const { card, message } = checksOutcome(run);
      assert.match(JSON.stringify(card.content), /Re-check in 15 minutes/);
      assert.match(JSON.stringify(card.content), /Ask support/);
      assert.match(message, /couldn't see everything/);
    });

    it('Partner Center answers 500: its checks unknown naming it; Graph checks still judged', async () => {
      const { partner } = await consented('healthy');
      down = await downServer(500);
      const run = await runner(`${h.sim.baseUrl}/graph`, down.url).full(partner, 'test');
      const pc = run.results.find((r) => r.id === 'partner-center.works')!;
      assert.equal(pc.status, 'unknown', evidenceLine(pc));
      assert.match(pc.evidence, /Partner Center did not answer: HTTP 500/);
      assert.equal(run.results.find((r) => r.id === 'account.admin-agents')!.status, 'pass');
      assert.deepEqual(ids(run.results, 'fail'), []);
    });
  });
});
