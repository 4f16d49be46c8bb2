import assert from 'node:assert/strict';
import { catalog, CHECK_IDS, type CheckId } from '../../src/checks/catalog';
import type { Facts } from '../../src/checks/facts';
import { evaluate, evidenceLine, summarize, type CheckResult } from '../../src/checks/run';
import { daysFromNow, gdap, HEALTHY, HELPDESK_AGENTS, NOW, OPTIONS } from './table';

const AMR_NO_MFA: readonly string[] = ['pwd'];
const app = HEALTHY.application as Exclude<Facts['application'], null | undefined | { unknown: string }>;
const ROLE_MGMT = '9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8';
const failing = (results: readonly CheckResult[]) => results.filter((r) => r.status === 'fail').map((r) => r.id).sort();
/** As the gatherer maps a licence refusal (checks/gather/map.ts): waiting will not change it. */
const noP1 = { unknown: 'Graph answered 403 (needs Entra ID P1/P2)', needs: 'Microsoft Entra ID P1 or P2', lasting: true };

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

describe('checks: evaluate and summarize', () => {
  it('the catalog has every check once, each with a title, group, facts and an https fix', () => {
    const defs = catalog();
    assert.deepEqual(defs.map((d) => d.id), [...CHECK_IDS]);
    for (const d of defs) {
      assert.ok(d.title && d.group && d.facts.length > 0, d.id);
      assert.match(d.fix(HEALTHY, { now: NOW, gdapRoleIds: [] }).link, /^https:\/\//, d.id);
      assert.ok(d.outcomes.includes('pass') && d.outcomes.includes('unknown'), `${d.id} can pass and be unknown`);
    }
  });

  it('the healthy partner passes every check', () => {
    const results = evaluate(HEALTHY, OPTIONS);
    assert.equal(results.length, CHECK_IDS.length);
    for (const r of results) assert.equal(r.status, 'pass', evidenceLine(r));
    assert.deepEqual(summarize(results), {
      verdict: 'passed', stopsJourney: false, blockingFailures: [], blockingUnknown: [], advisories: [],
      counts: { pass: CHECK_IDS.length, warn: 0, fail: 0, unknown: 0 },
    });
  });

  it('is pure: same facts and time, same results; facts are not touched; time comes from `now`', () => {
    const facts = deepFreeze(structuredClone(HEALTHY));
    assert.deepEqual(evaluate(facts, OPTIONS), evaluate(facts, OPTIONS));
    const later = evaluate(facts, { ...OPTIONS, now: new Date(Date.parse(daysFromNow(690))), only: ['secret.app'] })[0]!;
    assert.equal(later.status, 'warn');
  });

  // One cause each, as the simulator's failure scenarios have them: only that blocking check fails.
  const SCENARIOS: { scenario: string; facts: Partial<Facts>; blocking: CheckId[]; advisory?: CheckId[] }[] = [
    { scenario: 'not-global-admin', facts: { roleAssignments: [] }, blocking: ['account.global-admin'] },
    // AdminAgents is also the group GDAP access is assigned to: that advisory follows.
    { scenario: 'not-in-adminagents', facts: { serviceAccountGroups: [HELPDESK_AGENTS] }, blocking: ['account.admin-agents'], advisory: ['gdap.assignments'] },
    { scenario: 'app-not-in-adminagents', facts: { appServicePrincipalGroups: [] }, blocking: ['app.admin-agents'] },
    {
      scenario: 'permission-missing',
      facts: {
        application: { ...app, requiredResourceAccess: app.requiredResourceAccess.map((r) => ({ ...r, resourceAccess: r.resourceAccess.filter((a) => a.id !== ROLE_MGMT) })) },
        appRoleAssignments: (HEALTHY.appRoleAssignments as { appRoleId: string; resourceId: string }[]).filter((a) => a.appRoleId !== ROLE_MGMT),
      },
      blocking: ['app.permissions-requested'],
    },
    { scenario: 'admin-consent-missing', facts: { appRoleAssignments: [], delegatedGrants: [] }, blocking: ['app.permissions-granted'] },
    { scenario: 'secret-expired', facts: { application: { ...app, passwordCredentials: [{ keyId: 'k', hint: 'Qd7', endDateTime: daysFromNow(-5) }] } }, blocking: ['secret.app'] },
    { scenario: 'third-party-mfa', facts: { consentTokenAmr: AMR_NO_MFA }, blocking: ['mfa.token'] },
    { scenario: 'gdap-readonly', facts: { gdapRelationships: [gdap(1, { accessDetails: { unifiedRoles: [{ roleDefinitionId: '88d8e3e3-8f55-4a1e-953a-9b9898b8876b' }] } })] }, blocking: [], advisory: ['gdap.roles'] },
  ];
  for (const s of SCENARIOS) {
    it(`${s.scenario}: fails ${[...s.blocking, ...(s.advisory ?? [])].join(', ') || 'nothing'} and nothing else`, () => {
      const results = evaluate({ ...HEALTHY, ...s.facts }, OPTIONS);
      assert.deepEqual(failing(results), [...s.blocking, ...(s.advisory ?? [])].sort());
      const summary = summarize(results);
      assert.deepEqual(summary.blockingFailures.map((r) => r.id), s.blocking);
      assert.equal(summary.stopsJourney, s.blocking.length > 0);
    });
  }

  it('blocking failures stop the journey; advisory ones do not', () => {
    const blocked = summarize(evaluate({ ...HEALTHY, serviceAccountGroups: [HELPDESK_AGENTS] }, OPTIONS));
    assert.equal(blocked.verdict, 'blocked');
    assert.equal(blocked.stopsJourney, true);
    assert.deepEqual(blocked.advisories.map((r) => r.id), ['gdap.assignments']);
    const advisory = summarize(evaluate({ ...HEALTHY, gdapRelationships: [] }, OPTIONS));
    assert.equal(advisory.verdict, 'passed-with-advisories');
    assert.equal(advisory.stopsJourney, false);
  });

  it('the app-in-AdminAgents severity is operator config, blocking by default', () => {
    const facts = { ...HEALTHY, appServicePrincipalGroups: [] };
    const byDefault = summarize(evaluate(facts, OPTIONS));
    assert.equal(byDefault.stopsJourney, true);
    assert.equal(byDefault.blockingFailures[0]!.severity, 'blocking');
    const relaxed = summarize(evaluate(facts, { ...OPTIONS, appInAdminAgentsSeverity: 'advisory' }));
    assert.equal(relaxed.stopsJourney, false);
    assert.equal(relaxed.advisories[0]!.id, 'app.admin-agents');
    assert.equal(relaxed.advisories[0]!.status, 'fail');
  });

  it('no Entra ID P1/P2: licence-gated facts are unknown with the reason, never a failure', () => {
    // Security defaults on (as such tenants usually have): no conditional access can be enforced,
    // so only the registration report stays unseen, and it is advisory.
    const withDefaults = evaluate({ ...HEALTHY, mfaRegistration: noP1, conditionalAccessPolicies: noP1, roleEligibilities: noP1 }, OPTIONS);
    assert.deepEqual(failing(withDefaults), []);
    assert.deepEqual(withDefaults.filter((r) => r.status === 'unknown').map((r) => r.id), ['mfa.registered']);
    assert.equal(summarize(withDefaults).verdict, 'passed-with-advisories');
    // Security defaults off, per-user MFA enforced: the sign-in frequency cannot be judged without
    // conditional access, and waiting will not change that: listed with what it needs, not waited for.
    const results = evaluate({ ...HEALTHY, securityDefaultsEnabled: false, perUserMfaState: 'enforced', mfaRegistration: noP1, conditionalAccessPolicies: noP1, roleEligibilities: noP1 }, OPTIONS);
    assert.deepEqual(failing(results), []);
    const unknown = results.filter((r) => r.status === 'unknown');
    assert.deepEqual(unknown.map((r) => r.id).sort(), ['mfa.registered', 'mfa.sign-in-frequency']);
    for (const r of unknown) {
      assert.match(r.evidence, /needs Microsoft Entra ID P1 or P2/);
      assert.equal(r.lasting, true);
    }
    const s = summarize(results);
    assert.equal(s.verdict, 'passed-with-advisories');
    assert.equal(s.stopsJourney, false);
    // The same check unseen because Graph did not answer is waited for: incomplete, the journey holds.
    const outage = summarize(evaluate({ ...HEALTHY, securityDefaultsEnabled: false, perUserMfaState: 'enforced', conditionalAccessPolicies: { unknown: 'Graph did not answer: HTTP 503' } }, OPTIONS));
    assert.equal(outage.verdict, 'incomplete');
    assert.equal(outage.stopsJourney, true);
  });

  it('an outage gives unknown everywhere, naming it: never a crash, never a pass', () => {
    const outage = { unknown: 'Microsoft Graph did not answer (3 tries, timeout)' };
    const facts = Object.fromEntries(Object.keys(HEALTHY).map((k) => [k, outage])) as Facts;
    const results = evaluate(facts, OPTIONS);
    assert.equal(results.length, CHECK_IDS.length);
    for (const r of results) {
      assert.notEqual(r.status, 'pass', evidenceLine(r));
      assert.ok(r.fix, r.id);
    }
    assert.ok(results.filter((r) => r.status === 'unknown').every((r) => /did not answer|cannot be read|not found|not known|first/.test(r.evidence)));
    assert.equal(summarize(results).verdict, 'incomplete');
  });

  it('nothing gathered yet (before the sign-in): unknown, never a pass', () => {
    for (const r of evaluate({}, OPTIONS)) assert.equal(r.status, 'unknown', evidenceLine(r));
  });

  it('a fact in a shape the rule does not expect gives unknown, not a crash', () => {
    const broken = { ...HEALTHY, application: { appId: 'x' } } as unknown as Facts;
    const [r] = evaluate(broken, { ...OPTIONS, only: ['app.permissions-requested'] });
    assert.equal(r!.status, 'unknown');
    assert.equal(r!.evidence, 'the facts had an unexpected shape (TypeError)');
  });

  it('one stable evidence line per result', () => {
    const [r] = evaluate({ ...HEALTHY, serviceAccountGroups: [HELPDESK_AGENTS] }, { ...OPTIONS, only: ['account.admin-agents'] });
    assert.equal(evidenceLine(r!), 'FAIL account.admin-agents — Service account in AdminAgents: not a member — member of: HelpdeskAgents');
    const [ok] = evaluate(HEALTHY, { ...OPTIONS, only: ['account.admin-agents'] });
    assert.equal(evidenceLine(ok!), 'PASS account.admin-agents — Service account in AdminAgents: member of AdminAgents');
  });

  it('evidence stays one line and short, whatever the tenant names its groups', () => {
    const groups = Array.from({ length: 50 }, (_, i) => ({ id: `g${i}`, displayName: `Group\nwith a long name number ${i} ${'x'.repeat(40)}` }));
    const [r] = evaluate({ ...HEALTHY, serviceAccountGroups: groups }, { ...OPTIONS, only: ['account.admin-agents'] });
    assert.doesNotMatch(r!.evidence, /\n/);
    assert.ok(r!.evidence.length <= 240);
    assert.match(r!.evidence, /and 47 more/);
  });
});
