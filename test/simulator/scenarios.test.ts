import assert from 'node:assert/strict';
import { customerAt, manageableCount } from './customers';
import { listScenarios, loadScenario, resolveWhen, type Scenario } from './scenario';
import {
  ADMIN_AGENTS_GROUP_ID, APP_ID, CUSTOMER_ADMIN_UPN, CUSTOMER_DOMAIN, CUSTOMER_TENANT_ID, DIRECTORY_ROLE_TEMPLATES,
  GRAPH_APP_ROLES, GRAPH_SCOPES, PARTNER_TENANT_ID, READ_ONLY_GDAP_ROLES, REQUIRED_APP_ROLES, REQUIRED_SCOPES,
  SERVICE_ACCOUNT_ID, SERVICE_ACCOUNT_UPN,
} from './scenarios/ids';

type Plain = Record<string, unknown>;

/** Paths (`tenants.0.users.0.roles`) where two parsed scenarios differ; arrays of scalars compare whole. */
function diff(a: unknown, b: unknown, path = ''): string[] {
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  const scalarArray = (v: unknown) => Array.isArray(v) && v.every((x) => x === null || typeof x !== 'object');
  if (Array.isArray(a) && Array.isArray(b) && !scalarArray(a) && !scalarArray(b)) {
    return Array.from({ length: Math.max(a.length, b.length) }, (_, i) => diff(a[i], b[i], `${path}${i}.`)).flat();
  }
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].flatMap((k) => diff((a as Plain)[k], (b as Plain)[k], `${path}${k}.`));
  }
  return [path.replace(/\.$/, '')];
}

const partner = (s: Scenario) => s.tenants[0]!;
const admin = (s: Scenario) => partner(s).users.find((u) => u.id === SERVICE_ACCOUNT_ID);
const app = (s: Scenario) => partner(s).applications[0]!;
const now = Date.now();

/** Each failure scenario: where it may differ from healthy, and what the difference must mean. */
const FAILURES: Array<{ name: string; changes: string[]; check(s: Scenario): void }> = [
  {
    name: 'no-mfa', changes: ['tenants.0.users.0.mfaMethods', 'tenants.0.users.0.mfaEnforced'],
    check: (s) => { assert.deepEqual(admin(s)?.mfaMethods, []); assert.equal(admin(s)?.mfaEnforced, false); },
  },
  {
    name: 'third-party-mfa', changes: ['tenants.0.users.0.mfaMethods'],
    check: (s) => assert.deepEqual(admin(s)?.mfaMethods, ['thirdParty']),
  },
  {
    name: 'not-global-admin', changes: ['tenants.0.users.0.roles'],
    check: (s) => { assert.deepEqual(admin(s)?.roles, []); assert.deepEqual(admin(s)?.groups, ['AdminAgents']); },
  },
  {
    name: 'not-in-adminagents', changes: ['tenants.0.users.0.groups'],
    check: (s) => { assert.deepEqual(admin(s)?.groups, []); assert.deepEqual(admin(s)?.roles, ['Global Administrator']); },
  },
  {
    name: 'app-not-in-adminagents', changes: ['tenants.0.applications.0.servicePrincipalGroups'],
    check: (s) => assert.deepEqual(app(s).servicePrincipalGroups, []),
  },
  {
    name: 'permission-missing', changes: ['tenants.0.applications.0.requestedAppRoles', 'tenants.0.applications.0.grantedAppRoles'],
    check: (s) => {
      assert.ok(!app(s).requestedAppRoles.includes('RoleManagement.ReadWrite.Directory'));
      assert.equal(app(s).requestedAppRoles.length, REQUIRED_APP_ROLES.length - 1);
    },
  },
  {
    name: 'admin-consent-missing', changes: ['tenants.0.applications.0.grantedAppRoles', 'tenants.0.applications.0.grantedScopes'],
    check: (s) => {
      assert.deepEqual(app(s).requestedAppRoles, [...REQUIRED_APP_ROLES]);
      assert.deepEqual(app(s).grantedAppRoles, []);
      assert.deepEqual(app(s).grantedScopes, []);
    },
  },
  {
    name: 'secret-expired', changes: ['tenants.0.applications.0.secrets.0.startDateTime', 'tenants.0.applications.0.secrets.0.endDateTime'],
    check: (s) => assert.ok(resolveWhen(app(s).secrets[0]!.endDateTime, now).getTime() < now),
  },
  {
    name: 'secret-expiring', changes: ['tenants.0.applications.0.secrets.0.startDateTime', 'tenants.0.applications.0.secrets.0.endDateTime'],
    check: (s) => {
      const days = (resolveWhen(app(s).secrets[0]!.endDateTime, now).getTime() - now) / 86_400_000;
      assert.ok(days > 0 && days <= 14, `expires in ${days} days`);
    },
  },
  {
    name: 'wrong-tenant', changes: ['tenants.0.users', 'tenants.1'],
    check: (s) => {
      assert.equal(admin(s), undefined);
      assert.ok(!partner(s).users.some((u) => u.userPrincipalName === SERVICE_ACCOUNT_UPN));
      const customer = s.tenants[1]!;
      assert.equal(customer.id, CUSTOMER_TENANT_ID);
      assert.equal(customer.partnerCenter.enrolled, false);
      assert.deepEqual(customer.users.map((u) => [u.userPrincipalName, u.roles]), [[CUSTOMER_ADMIN_UPN, ['Global Administrator']]]);
    },
  },
  {
    name: 'not-enrolled', changes: ['tenants.0.partnerCenter', 'tenants.0.partnerTenantType', 'tenants.0.customers'],
    check: (s) => { assert.equal(partner(s).partnerCenter.enrolled, false); assert.equal(partner(s).customers.count, 0); },
  },
  {
    name: 'gdap-readonly', changes: ['tenants.0.gdapRelationships'],
    check: (s) => {
      const rels = partner(s).gdapRelationships;
      assert.equal(rels.length, 1);
      assert.match(rels[0]!.displayName, /^MLT_/);
      assert.deepEqual(rels[0]!.roles, [...READ_ONLY_GDAP_ROLES]);
      assert.ok(!rels[0]!.roles.includes(DIRECTORY_ROLE_TEMPLATES['Global Administrator']));
    },
  },
  {
    name: 'gdap-mixed', changes: ['tenants.0.customers.count', 'tenants.0.gdapRelationships'],
    check: (s) => {
      assert.equal(partner(s).customers.count, 7);
      const rels = partner(s).gdapRelationships;
      const of = (i: number) => rels.filter((r) => r.customerTenantId === customerAt(partner(s).customers, i).tenantId);
      assert.deepEqual(of(0).map((r) => r.status), ['active']);
      assert.deepEqual(of(1).map((r) => r.status).sort(), ['expired', 'terminated']);
      assert.deepEqual(of(2).map((r) => r.status), ['terminated']);
      assert.deepEqual(of(3), [], 'customer #3 has none');
      assert.deepEqual(of(4)[0]!.roles, [...READ_ONLY_GDAP_ROLES]);
      assert.deepEqual(of(5)[0]!.accessAssignments.map((a) => a.groupDisplayName), ['HelpdeskAgents']);
      assert.deepEqual(of(6).map((r) => r.status), ['approvalPending']);
    },
  },
  {
    name: 'no-premium', changes: ['tenants.0.entraLicense'],
    check: (s) => {
      assert.equal(partner(s).entraLicense, 'free');
      assert.equal(partner(s).securityDefaultsEnabled, true, 'security defaults need no licence');
    },
  },
  {
    name: 'large', changes: ['tenants.0.customers.count', 'tenants.0.partnerCenter.nextLinkStyle'],
    check: (s) => {
      assert.equal(partner(s).customers.count, 20_000);
      assert.equal(partner(s).partnerCenter.nextLinkStyle, 'versioned', 'the other links.next.uri form the docs show');
    },
  },
  {
    name: 'throttled', changes: ['throttling.graph.every', 'throttling.partnerCenter.every'],
    check: (s) => {
      assert.deepEqual(s.throttling.graph, { every: 5, randomRate: 0.03, retryAfterSeconds: 1, perSecond: 0 });
      assert.deepEqual(s.throttling.partnerCenter, { every: 3, randomRate: 0.03, retryAfterSeconds: 1, perSecond: 0 });
    },
  },
];

describe('simulator scenarios', () => {
  let healthy: Scenario;
  before(async () => { healthy = await loadScenario('healthy'); });

  it('every scenario file parses, and every role, permission and group it names exists', async () => {
    const names = await listScenarios();
    for (const name of ['healthy', ...FAILURES.map((f) => f.name)]) assert.ok(names.includes(name), `missing scenario ${name}`);
    for (const name of names) {
      const s = await loadScenario(name);
      assert.equal(s.name, name);
      if (name.startsWith('entra-')) continue;
      for (const t of s.tenants) {
        const groups = new Set(t.groups.map((g) => g.displayName));
        for (const u of t.users) {
          for (const r of u.roles) assert.ok(r in DIRECTORY_ROLE_TEMPLATES, `${name}: unknown role ${r}`);
          for (const g of u.groups) assert.ok(groups.has(g), `${name}: ${u.userPrincipalName} in unknown group ${g}`);
        }
        for (const a of t.applications) {
          for (const r of [...a.requestedAppRoles, ...a.grantedAppRoles]) assert.ok(r in GRAPH_APP_ROLES, `${name}: unknown app role ${r}`);
          for (const p of [...a.requestedScopes, ...a.grantedScopes]) assert.ok(p in GRAPH_SCOPES, `${name}: unknown scope ${p}`);
          for (const r of a.grantedAppRoles) assert.ok(a.requestedAppRoles.includes(r), `${name}: ${r} granted but not requested`);
          for (const g of a.servicePrincipalGroups) assert.ok(groups.has(g), `${name}: service principal in unknown group ${g}`);
        }
      }
    }
  });

  it('healthy is a partner ready to connect', () => {
    const t = partner(healthy);
    assert.equal(t.id, PARTNER_TENANT_ID);
    assert.equal(t.partnerCenter.enrolled, true);
    assert.ok(t.partnerCenter.mpnId);
    assert.equal(t.securityDefaultsEnabled, true);
    assert.deepEqual(t.groups.map((g) => g.displayName), ['AdminAgents', 'HelpdeskAgents']);
    assert.equal(t.groups[0]!.id, ADMIN_AGENTS_GROUP_ID);
    const svc = admin(healthy)!;
    assert.equal(svc.userPrincipalName, SERVICE_ACCOUNT_UPN);
    assert.deepEqual(svc.roles, ['Global Administrator']);
    assert.deepEqual(svc.groups, ['AdminAgents']);
    assert.deepEqual(svc.mfaMethods, ['microsoftAuthenticator']);
    assert.equal(svc.mfaEnforced, true);
    assert.equal(svc.passwordPolicies, 'DisablePasswordExpiration');
    const helpdesk = t.users.find((u) => u.userPrincipalName.startsWith('helpdesk@'));
    assert.deepEqual(helpdesk?.roles, []);
    const a = app(healthy);
    assert.equal(a.appId, APP_ID);
    assert.equal(a.displayName, 'Partner Onboarding Connector');
    assert.deepEqual(a.requestedAppRoles, [...REQUIRED_APP_ROLES]);
    assert.deepEqual(a.grantedAppRoles, [...REQUIRED_APP_ROLES]);
    assert.deepEqual(a.requestedScopes, [...REQUIRED_SCOPES]);
    assert.deepEqual(a.grantedScopes, [...REQUIRED_SCOPES]);
    assert.equal(a.partnerCenterConsent, true);
    assert.deepEqual(a.servicePrincipalGroups, ['AdminAgents']);
    assert.ok(a.redirectUris.includes('http://localhost:3978/auth/callback'));
    assert.equal(a.secrets.length, 1);
    assert.equal(Math.round((resolveWhen(a.secrets[0]!.endDateTime, now).getTime() - now) / 86_400_000), 700);
    assert.deepEqual(t.customers, { count: 25, seed: 1, resellerOnlyEvery: 10 });
    assert.equal(manageableCount(t.customers), 23);
    assert.deepEqual(t.gdapRelationships, [], 'healthy derives one standard GDAP relationship per manageable customer');
    assert.deepEqual(healthy.throttling.graph.every + healthy.throttling.partnerCenter.every, 0);
    assert.ok(healthy.throttling.graph.randomRate > 0 && healthy.throttling.partnerCenter.randomRate > 0, 'any call may be throttled, in every scenario');
  });

  it('the wrong-tenant customer tenant is customer #0 of the healthy partner', () => {
    const c = customerAt(partner(healthy).customers, 0);
    assert.equal(c.tenantId, CUSTOMER_TENANT_ID);
    assert.equal(c.domain, CUSTOMER_DOMAIN);
  });

  // "Set it up for me" (issue 30): setup-empty and its variants, each one change away.
  const SETUP_VARIANTS: Array<{ name: string; changes: string[] }> = [
    { name: 'setup-capped', changes: ['tenants.0.appManagementPolicy'] },
    { name: 'setup-slow', changes: ['tenants.0.replication'] },
    { name: 'setup-half', changes: ['tenants.0.applications', 'tenants.0.absentServicePrincipals', 'tenants.0.users.0.groups'] },
  ];
  it('setup-empty is the healthy partner without an app, the service account not yet in AdminAgents, no Partner Center service principal', async () => {
    const s = await loadScenario('setup-empty');
    const t = partner(s);
    assert.equal(t.id, PARTNER_TENANT_ID);
    assert.deepEqual(t.applications, []);
    assert.deepEqual(admin(s)?.groups, []);
    assert.deepEqual(admin(s)?.roles, ['Global Administrator']);
    assert.deepEqual(t.users.filter((u) => u.userType === 'Guest').map((u) => u.roles), [[]]);
    assert.equal(t.absentServicePrincipals.length, 1);
  });
  for (const v of SETUP_VARIANTS) {
    it(`${v.name} differs from setup-empty only where intended`, async () => {
      const [empty, s] = [await loadScenario('setup-empty'), await loadScenario(v.name)];
      const changed = diff({ ...empty, name: '', description: '' }, { ...s, name: '', description: '' });
      for (const p of changed) assert.ok(v.changes.some((c) => p === c || p.startsWith(c + '.')), `unexpected change at ${p}`);
      for (const c of v.changes) assert.ok(changed.some((p) => p === c || p.startsWith(c + '.')), `expected a change at ${c}`);
    });
  }

  for (const f of FAILURES) {
    it(`${f.name} differs from healthy only where intended`, async () => {
      const s = await loadScenario(f.name);
      const changed = diff({ ...healthy, name: '', description: '' }, { ...s, name: '', description: '' });
      assert.ok(changed.length > 0, 'identical to healthy');
      for (const p of changed) assert.ok(f.changes.some((c) => p === c || p.startsWith(c + '.')), `unexpected change at ${p}`);
      for (const c of f.changes) assert.ok(changed.some((p) => p === c || p.startsWith(c + '.')), `expected a change at ${c}`);
      f.check(s);
    });
  }
});
