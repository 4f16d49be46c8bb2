import assert from 'node:assert/strict';
import {
  BatchRequestContent, BatchResponseContent, Client, PageIterator, type AuthenticationProvider, type PageCollection,
} from '@microsoft/microsoft-graph-client';
import type { Claims } from './jwt';
import {
  ADMIN_AGENTS_GROUP_ID, APP_ID, APP_SECRET_KEY_ID, APP_SECRET_VALUE, APP_SERVICE_PRINCIPAL_ID, CUSTOMER_TENANT_ID,
  GLOBAL_ADMIN_TEMPLATE_ID, GRAPH_APP_ROLES, GRAPH_RESOURCE_APP_ID, HELPDESK_USER_ID, MLT_RELATIONSHIP_ID,
  PARTNER_CENTER_RESOURCE_APP_ID, PARTNER_TENANT_ID, READ_ONLY_GDAP_ROLES, REQUIRED_APP_ROLES, SERVICE_ACCOUNT_ID,
  SERVICE_ACCOUNT_UPN, STANDARD_GDAP_ROLES, CUSTOMER_DOMAIN,
} from './scenarios/ids';
import { startSimulator, type Simulator } from './server';
import { graphOutbox, graphService } from './services/graph';

type Body = Record<string, unknown> & { value?: Array<Record<string, unknown>> };

const HEALTHY_APP_ROLES = [...REQUIRED_APP_ROLES];

function token(sim: Simulator, claims: Claims): string {
  const now = Math.floor(sim.now() / 1000);
  return sim.signer.sign({ aud: 'https://graph.microsoft.com', tid: PARTNER_TENANT_ID, iat: now, nbf: now, exp: now + 3600, ...claims });
}

/** What client credentials with the partner's app would get: its granted app roles. */
function appToken(sim: Simulator, roles: string[] = HEALTHY_APP_ROLES, claims: Claims = {}): string {
  return token(sim, { appid: APP_ID, oid: APP_SERVICE_PRINCIPAL_ID, idtyp: 'app', roles, ...claims });
}

function userToken(sim: Simulator, scp: string, claims: Claims = {}): string {
  return token(sim, { appid: APP_ID, oid: SERVICE_ACCOUNT_ID, upn: SERVICE_ACCOUNT_UPN, amr: ['pwd', 'mfa'], idtyp: 'user', scp, ...claims });
}

async function call(sim: Simulator, path: string, bearerToken: string | undefined, init: RequestInit = {}): Promise<{ status: number; body: Body; headers: Headers }> {
  const headers = new Headers(init.headers);
  if (bearerToken) headers.set('authorization', `Bearer ${bearerToken}`);
  if (init.body) headers.set('content-type', 'application/json');
  const res = await fetch(`${sim.baseUrl}/graph/${path.replace(/^\//, '')}`, { ...init, headers });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Body) : {}, headers: res.headers };
}

function errorCode(body: Body): string | undefined {
  return (body.error as { code?: string } | undefined)?.code;
}

function graphClient(sim: Simulator, getToken: () => string): Client {
  const authProvider: AuthenticationProvider = { getAccessToken: async () => getToken() };
  // customHosts holds host *names*: the client strips the port before comparing.
  return Client.initWithMiddleware({ baseUrl: `${sim.baseUrl}/graph`, customHosts: new Set(['127.0.0.1']), authProvider });
}

describe('Graph simulator', function () {
  this.timeout(60_000);
  let sim: Simulator;
  before(async () => { sim = await startSimulator({ services: [graphService], randomThrottling: false }); });
  after(async () => { await sim.stop(); });
  beforeEach(async () => { await sim.loadScenario('healthy'); });

  describe('authentication and permissions', () => {
    it('401 without a token, with a foreign audience, and once the token has expired', async () => {
      const none = await call(sim, 'v1.0/users', undefined);
      assert.equal(none.status, 401);
      assert.equal(errorCode(none.body), 'InvalidAuthenticationToken');
      const foreign = await call(sim, 'v1.0/users', appToken(sim, HEALTHY_APP_ROLES, { aud: 'https://api.partnercenter.microsoft.com' }));
      assert.equal(foreign.status, 401);
      assert.match(JSON.stringify(foreign.body), /Invalid audience/);
      const t = appToken(sim);
      sim.advanceClock(2 * 3600_000);
      const expired = await call(sim, 'v1.0/users', t);
      assert.equal(expired.status, 401);
      assert.match(JSON.stringify(expired.body), /Lifetime validation failed, the token is expired/);
    });

    it('403 Authorization_RequestDenied when the app lacks the permission', async () => {
      const res = await call(sim, 'v1.0/users', appToken(sim, ['Mail.Send']));
      assert.equal(res.status, 403);
      assert.equal(errorCode(res.body), 'Authorization_RequestDenied');
      assert.equal((res.body.error as { message: string }).message, 'Insufficient privileges to complete the operation.');
      // The audience's application id is accepted like the App ID URI.
      const ok = await call(sim, 'v1.0/users', appToken(sim, HEALTHY_APP_ROLES, { aud: GRAPH_RESOURCE_APP_ID }));
      assert.equal(ok.status, 200);
    });

    it('answers for the token tenant only', async () => {
      await sim.loadScenario('wrong-tenant');
      const res = await call(sim, 'v1.0/users', appToken(sim, HEALTHY_APP_ROLES, { tid: CUSTOMER_TENANT_ID }));
      assert.deepEqual(res.body.value?.map((u) => u.userPrincipalName), ['admin@willowfoods1.onmicrosoft.com']);
      const partner = await call(sim, `v1.0/users/${SERVICE_ACCOUNT_UPN}`, appToken(sim));
      assert.equal(partner.status, 404);
    });

    it('/me needs a delegated token; User.Read reads only the caller', async () => {
      const me = await call(sim, 'v1.0/me', userToken(sim, 'User.Read'));
      assert.equal(me.status, 200);
      assert.equal(me.body.userPrincipalName, SERVICE_ACCOUNT_UPN);
      const other = await call(sim, `v1.0/users/${HELPDESK_USER_ID}`, userToken(sim, 'User.Read'));
      assert.equal(other.status, 403);
      const appMe = await call(sim, 'v1.0/me', appToken(sim));
      assert.equal(appMe.status, 400);
    });
  });

  describe('users, groups and roles', () => {
    it('hides accountEnabled and passwordPolicies unless selected, like Graph', async () => {
      const t = appToken(sim);
      const plain = await call(sim, `v1.0/users/${SERVICE_ACCOUNT_UPN}`, t);
      assert.equal(plain.status, 200);
      assert.equal(plain.body.id, SERVICE_ACCOUNT_ID);
      assert.match(String(plain.body['@odata.context']), /\$metadata#users\/\$entity$/);
      assert.equal('accountEnabled' in plain.body, false);
      const selected = await call(sim, `v1.0/users/${SERVICE_ACCOUNT_ID}?$select=id,accountEnabled,passwordPolicies`, t);
      assert.deepEqual({ ...selected.body, '@odata.context': undefined },
        { '@odata.context': undefined, id: SERVICE_ACCOUNT_ID, accountEnabled: true, passwordPolicies: 'DisablePasswordExpiration' });
      const bad = await call(sim, `v1.0/users/${SERVICE_ACCOUNT_ID}?$select=shoeSize`, t);
      assert.equal(bad.status, 400);
      const missing = await call(sim, 'v1.0/users/nobody@contosopartner.onmicrosoft.com', t);
      assert.equal(missing.status, 404);
      assert.equal(errorCode(missing.body), 'Request_ResourceNotFound');
    });

    it('lists transitive memberships with @odata.type, groups and directory roles alike', async () => {
      const res = await call(sim, `v1.0/users/${SERVICE_ACCOUNT_ID}/transitiveMemberOf`, appToken(sim));
      const types = res.body.value?.map((v) => [v['@odata.type'], v.displayName]);
      assert.deepEqual(types, [['#microsoft.graph.group', 'AdminAgents'], ['#microsoft.graph.directoryRole', 'Global Administrator']]);
      assert.equal(res.body.value?.[1]?.roleTemplateId, GLOBAL_ADMIN_TEMPLATE_ID);
    });

    it('checkMemberGroups for users and service principals, and what the failure scenarios change', async () => {
      const t = appToken(sim);
      const ask = (path: string) => call(sim, path, t, { method: 'POST', body: JSON.stringify({ groupIds: [ADMIN_AGENTS_GROUP_ID] }) });
      assert.deepEqual((await ask(`v1.0/users/${SERVICE_ACCOUNT_ID}/checkMemberGroups`)).body.value, [ADMIN_AGENTS_GROUP_ID]);
      assert.deepEqual((await ask(`v1.0/servicePrincipals/${APP_SERVICE_PRINCIPAL_ID}/checkMemberGroups`)).body.value, [ADMIN_AGENTS_GROUP_ID]);
      await sim.loadScenario('not-in-adminagents');
      assert.deepEqual((await ask(`v1.0/users/${SERVICE_ACCOUNT_ID}/checkMemberGroups`)).body.value, []);
      await sim.loadScenario('app-not-in-adminagents');
      assert.deepEqual((await ask(`v1.0/servicePrincipals/${APP_SERVICE_PRINCIPAL_ID}/checkMemberGroups`)).body.value, []);
      const tooMany = await call(sim, `v1.0/users/${SERVICE_ACCOUNT_ID}/checkMemberGroups`, t,
        { method: 'POST', body: JSON.stringify({ groupIds: Array.from({ length: 21 }, () => ADMIN_AGENTS_GROUP_ID) }) });
      assert.equal(tooMany.status, 400);
    });

    it('adds the app to AdminAgents through members/$ref (the automated fix)', async () => {
      await sim.loadScenario('app-not-in-adminagents');
      const t = appToken(sim);
      const ref = { '@odata.id': `https://graph.microsoft.com/v1.0/directoryObjects/${APP_SERVICE_PRINCIPAL_ID}` };
      const add = await call(sim, `v1.0/groups/${ADMIN_AGENTS_GROUP_ID}/members/$ref`, t, { method: 'POST', body: JSON.stringify(ref) });
      assert.equal(add.status, 204);
      const again = await call(sim, `v1.0/groups/${ADMIN_AGENTS_GROUP_ID}/members/$ref`, t, { method: 'POST', body: JSON.stringify(ref) });
      assert.equal(again.status, 400);
      const members = await call(sim, `v1.0/groups/${ADMIN_AGENTS_GROUP_ID}/members`, t);
      assert.deepEqual(members.body.value?.map((m) => [m['@odata.type'], m.id]),
        [['#microsoft.graph.user', SERVICE_ACCOUNT_ID], ['#microsoft.graph.servicePrincipal', APP_SERVICE_PRINCIPAL_ID]]);
      const readOnly = await call(sim, `v1.0/groups/${ADMIN_AGENTS_GROUP_ID}/members/$ref`, appToken(sim, ['Directory.Read.All']),
        { method: 'POST', body: JSON.stringify(ref) });
      assert.equal(readOnly.status, 403);
    });

    it('filters groups by displayName and rejects filters it does not support', async () => {
      const t = appToken(sim);
      const res = await call(sim, "v1.0/groups?$filter=displayName eq 'AdminAgents'", t);
      assert.deepEqual(res.body.value?.map((g) => g.id), [ADMIN_AGENTS_GROUP_ID]);
      const unsupported = await call(sim, "v1.0/groups?$filter=createdDateTime eq '2020-01-01'", t);
      assert.equal(unsupported.status, 400);
      assert.equal(errorCode(unsupported.body), 'Request_UnsupportedQuery');
    });

    it('lists Global Administrators by role template', async () => {
      const path = `v1.0/directoryRoles(roleTemplateId='${GLOBAL_ADMIN_TEMPLATE_ID}')/members`;
      const res = await call(sim, path, appToken(sim));
      assert.deepEqual(res.body.value?.map((m) => m.id), [SERVICE_ACCOUNT_ID]);
      const role = await call(sim, `v1.0/directoryRoles(roleTemplateId='${GLOBAL_ADMIN_TEMPLATE_ID}')`, appToken(sim));
      const byId = await call(sim, `v1.0/directoryRoles/${String(role.body.id)}/members`, appToken(sim));
      assert.deepEqual(byId.body.value?.map((m) => m.id), [SERVICE_ACCOUNT_ID]);
      await sim.loadScenario('not-global-admin');
      assert.deepEqual((await call(sim, path, appToken(sim))).body.value, []);
    });
  });

  describe('the app registration and its consent', () => {
    it('shows requested permissions with real ids and secrets by hint only', async () => {
      const res = await call(sim, `v1.0/applications(appId='${APP_ID}')`, appToken(sim));
      assert.equal(res.status, 200);
      const rra = res.body.requiredResourceAccess as Array<{ resourceAppId: string; resourceAccess: Array<{ id: string; type: string }> }>;
      const graph = rra.find((r) => r.resourceAppId === GRAPH_RESOURCE_APP_ID)!;
      assert.deepEqual(graph.resourceAccess, [
        { id: '19dbc75e-c2e2-444c-a770-ec69d8559fc7', type: 'Role' },
        { id: '62a82d76-70ea-41e2-9197-370581804d09', type: 'Role' },
        { id: '9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8', type: 'Role' },
        { id: '741f803b-c850-494e-b5df-cde7c675a1ca', type: 'Role' },
        { id: 'e1fe6dd8-ba31-4d61-89e7-88639da4683d', type: 'Scope' },
      ]);
      assert.ok(rra.some((r) => r.resourceAppId === PARTNER_CENTER_RESOURCE_APP_ID));
      const [secret] = res.body.passwordCredentials as Array<Record<string, unknown>>;
      assert.equal(secret?.keyId, APP_SECRET_KEY_ID);
      assert.equal(secret?.hint, APP_SECRET_VALUE.slice(0, 3));
      assert.equal(secret?.secretText, null);
      assert.ok(!JSON.stringify(res.body).includes(APP_SECRET_VALUE));
      const days = (Date.parse(String(secret?.endDateTime)) - sim.now()) / 86_400_000;
      assert.ok(days > 699 && days <= 700, String(days));
      assert.deepEqual(res.body.web && (res.body.web as { redirectUris: string[] }).redirectUris, ['http://localhost:3978/auth/callback', 'http://localhost:3978/auth/adminconsent/callback']);

      await sim.loadScenario('permission-missing');
      const missing = await call(sim, `v1.0/applications(appId='${APP_ID}')?$select=requiredResourceAccess`, appToken(sim));
      assert.ok(!JSON.stringify(missing.body).includes(GRAPH_APP_ROLES['RoleManagement.ReadWrite.Directory']));
      await sim.loadScenario('secret-expired');
      const expired = await call(sim, `v1.0/applications(appId='${APP_ID}')?$select=passwordCredentials`, appToken(sim));
      const end = (expired.body.passwordCredentials as Array<{ endDateTime: string }>)[0]!.endDateTime;
      assert.ok(Date.parse(end) < sim.now());
    });

    it('shows granted app roles as appRoleAssignments and delegated consent as oauth2PermissionGrants', async () => {
      const t = appToken(sim);
      const assignments = await call(sim, `v1.0/servicePrincipals(appId='${APP_ID}')/appRoleAssignments`, t);
      assert.deepEqual(assignments.body.value?.map((a) => a.appRoleId), REQUIRED_APP_ROLES.map((r) => GRAPH_APP_ROLES[r]));
      const graphSp = await call(sim, `v1.0/servicePrincipals(appId='${GRAPH_RESOURCE_APP_ID}')?$select=id,appRoles`, t);
      assert.ok(assignments.body.value?.every((a) => a.resourceId === graphSp.body.id && a.principalId === APP_SERVICE_PRINCIPAL_ID));
      const grants = await call(sim, `v1.0/oauth2PermissionGrants?$filter=clientId eq '${APP_SERVICE_PRINCIPAL_ID}'`, t);
      assert.deepEqual(grants.body.value?.map((g) => [g.consentType, g.scope]), [['AllPrincipals', 'User.Read'], ['AllPrincipals', 'user_impersonation']]);
      assert.equal(grants.body.value?.[0]?.resourceId, graphSp.body.id);

      await sim.loadScenario('admin-consent-missing');
      const none = await call(sim, `v1.0/servicePrincipals/${APP_SERVICE_PRINCIPAL_ID}/appRoleAssignments`, appToken(sim, ['Application.Read.All']));
      assert.deepEqual(none.body.value, []);
    });
  });

  describe('MFA, policies and the organization', () => {
    it('reports MFA registration with AuditLog.Read.All only', async () => {
      const denied = await call(sim, 'v1.0/reports/authenticationMethods/userRegistrationDetails', appToken(sim));
      assert.equal(denied.status, 403);
      const t = appToken(sim, ['AuditLog.Read.All']);
      const res = await call(sim, `v1.0/reports/authenticationMethods/userRegistrationDetails/${SERVICE_ACCOUNT_ID}`, t);
      assert.equal(res.body.isMfaRegistered, true);
      assert.deepEqual(res.body.methodsRegistered, ['microsoftAuthenticatorPush']);
      assert.equal(res.body.isAdmin, true);
      await sim.loadScenario('no-mfa');
      const none = await call(sim, `v1.0/reports/authenticationMethods/userRegistrationDetails?$filter=userPrincipalName eq '${SERVICE_ACCOUNT_UPN}'`, t);
      assert.deepEqual(none.body.value?.map((u) => [u.isMfaRegistered, u.methodsRegistered]), [[false, []]]);
      await sim.loadScenario('third-party-mfa');
      const duo = await call(sim, `v1.0/reports/authenticationMethods/userRegistrationDetails/${SERVICE_ACCOUNT_ID}`, t);
      assert.equal(duo.body.isMfaRegistered, false);
      // The record is keyed by the user's object id; a UPN in its place finds nothing.
      const byUpn = await call(sim, `v1.0/reports/authenticationMethods/userRegistrationDetails/${SERVICE_ACCOUNT_UPN}`, t);
      assert.equal(byUpn.status, 404);
      const required = await call(sim, `beta/users/${SERVICE_ACCOUNT_ID}/authentication/requirements`, appToken(sim, ['Policy.Read.All']));
      assert.equal(required.body.perUserMfaState, 'disabled', 'MFA enforced by security defaults or CA is not legacy per-user MFA');
      sim.scenario.tenants[0]!.users[0]!.perUserMfaState = 'enforced';
      const perUser = await call(sim, `beta/users/${SERVICE_ACCOUNT_ID}/authentication/requirements`, appToken(sim, ['Policy.Read.All']));
      assert.equal(perUser.body.perUserMfaState, 'enforced');
      const notInV1 = await call(sim, `v1.0/users/${SERVICE_ACCOUNT_ID}/authentication/requirements`, appToken(sim, ['Policy.Read.All']));
      assert.equal(notInV1.status, 400);
    });

    it('security defaults and conditional access need Policy.Read.All', async () => {
      const denied = await call(sim, 'v1.0/policies/identitySecurityDefaultsEnforcementPolicy', appToken(sim));
      assert.equal(denied.status, 403);
      const t = appToken(sim, ['Policy.Read.All']);
      const sd = await call(sim, 'v1.0/policies/identitySecurityDefaultsEnforcementPolicy', t);
      assert.deepEqual([sd.body.id, sd.body.isEnabled], ['00000000-0000-0000-0000-000000000005', true]);
      const ca = await call(sim, 'v1.0/identity/conditionalAccess/policies', t);
      assert.deepEqual(ca.body.value, []);
    });

    it('organization: verified domains, and partnerTenantType as its real value (no Prefer header needed)', async () => {
      const t = appToken(sim);
      const plain = await call(sim, 'v1.0/organization', t);
      const org = plain.body.value?.[0];
      assert.equal(org?.id, PARTNER_TENANT_ID);
      assert.equal(org?.partnerTenantType, 'resellerPartnerDelegatedAdmin');
      assert.deepEqual((org?.verifiedDomains as Array<{ name: string; isInitial: boolean }>).map((d) => [d.name, d.isInitial]),
        [['contosopartner.onmicrosoft.com', true], ['contosopartner.com', false]]);
      const preferred = await call(sim, 'v1.0/organization', t, { headers: { Prefer: 'include-unknown-enum-members' } });
      assert.equal(preferred.body.value?.[0]?.partnerTenantType, 'resellerPartnerDelegatedAdmin');
    });
  });

  describe('roles, PIM, grants, licences and advanced queries', () => {
    const ROLE_READ = ['RoleManagement.Read.Directory'];
    const GA = GLOBAL_ADMIN_TEMPLATE_ID;
    const ROLE_GROUP = 'a0a0a0a0-3333-4333-8333-0000000000aa';

    /** Helpdesk is Global Administrator through a role-assignable group; the service account only eligible. */
    function pimTenant(): void {
      const t = sim.scenario.tenants[0]!;
      t.groups.push({ id: ROLE_GROUP, displayName: 'Tier0 Admins', isAssignableToRole: true, roles: ['Global Administrator'] });
      const helpdesk = t.users.find((u) => u.id === HELPDESK_USER_ID)!;
      helpdesk.groups.push('Tier0 Admins');
      const svc = t.users.find((u) => u.id === SERVICE_ACCOUNT_ID)!;
      svc.roles = [];
      svc.eligibleRoles = ['Global Administrator'];
    }

    it('lists role assignments, with beta transitiveRoleAssignments expanding role-assignable groups', async () => {
      pimTenant();
      const t = appToken(sim, ROLE_READ);
      const direct = await call(sim, `v1.0/roleManagement/directory/roleAssignments?$filter=roleDefinitionId eq '${GA}'`, t);
      assert.equal(direct.status, 200, JSON.stringify(direct.body));
      assert.deepEqual(direct.body.value?.map((a) => a.principalId), [ROLE_GROUP]);
      assert.equal(direct.body.value?.[0]?.directoryScopeId, '/');
      const path = `beta/roleManagement/directory/transitiveRoleAssignments?$filter=principalId eq '${HELPDESK_USER_ID}'`;
      const eventual = { headers: { ConsistencyLevel: 'eventual' } };
      // The header, $count=true and $filter are all required; without the header Graph answers 404.
      const noHeader = await call(sim, `${path}&$count=true`, t);
      assert.equal(noHeader.status, 404);
      const noCount = await call(sim, path, t, eventual);
      assert.equal(noCount.status, 400);
      assert.equal(errorCode(noCount.body), 'Request_UnsupportedQuery');
      const noPrincipal = await call(sim, `beta/roleManagement/directory/transitiveRoleAssignments?$filter=roleDefinitionId eq '${GA}'&$count=true`, t, eventual);
      assert.equal(noPrincipal.status, 400);
      // Held through a role-assignable group: listed under the group's id, as the docs' example shows.
      const transitive = await call(sim, `${path}&$count=true`, t, eventual);
      assert.equal(transitive.status, 200, JSON.stringify(transitive.body));
      assert.deepEqual(transitive.body.value?.map((a) => [a.principalId, a.roleDefinitionId]), [[ROLE_GROUP, GA]]);
      assert.equal(transitive.body['@odata.count'], 1);
      const byRole = await call(sim, `${path} and roleDefinitionId eq '${GA}'&$count=true`, t, eventual);
      assert.equal(byRole.body.value?.length, 1);
      const notInV1 = await call(sim, `v1.0/roleManagement/directory/transitiveRoleAssignments?$filter=principalId eq '${HELPDESK_USER_ID}'&$count=true`, t, eventual);
      assert.equal(notInV1.status, 400);
    });

    it('domains: passwordValidityPeriodInDays null when unset (90 days), 2147483647 when passwords never expire', async () => {
      const t = appToken(sim);
      const unset = await call(sim, 'v1.0/domains/contosopartner.com', t);
      assert.equal(unset.status, 200, JSON.stringify(unset.body));
      assert.equal(unset.body.id, 'contosopartner.com');
      assert.equal(unset.body.passwordValidityPeriodInDays, null);
      sim.scenario.tenants[0]!.passwordValidityPeriodInDays = 2147483647;
      const never = await call(sim, 'v1.0/domains/contosopartner.onmicrosoft.com', t);
      assert.equal(never.body.passwordValidityPeriodInDays, 2147483647);
      assert.equal((await call(sim, 'v1.0/domains/unknown.example', t)).status, 404);
      assert.equal((await call(sim, 'v1.0/domains/contosopartner.com', appToken(sim, ['Mail.Send']))).status, 403);
    });

    it('an eligible, inactive Global Administrator is in roleEligibilitySchedules but not in memberOf or directoryRoles', async () => {
      pimTenant();
      const t = appToken(sim, [...ROLE_READ, ...HEALTHY_APP_ROLES]);
      const eligible = await call(sim, `v1.0/roleManagement/directory/roleEligibilitySchedules?$filter=principalId eq '${SERVICE_ACCOUNT_ID}'`, t);
      assert.equal(eligible.status, 200, JSON.stringify(eligible.body));
      assert.deepEqual(eligible.body.value?.map((e) => [e.roleDefinitionId, e.status, e.memberType]), [[GA, 'Provisioned', 'Direct']]);
      const memberOf = await call(sim, `v1.0/users/${SERVICE_ACCOUNT_ID}/memberOf`, t);
      assert.ok(!memberOf.body.value?.some((o) => o.roleTemplateId === GA), 'eligible role shows up in memberOf');
      const members = await call(sim, `v1.0/directoryRoles(roleTemplateId='${GA}')/members`, t);
      assert.ok(!members.body.value?.some((m) => m.id === SERVICE_ACCOUNT_ID));
      const viaGroup = await call(sim, `v1.0/users/${HELPDESK_USER_ID}/transitiveMemberOf`, t);
      assert.ok(viaGroup.body.value?.some((o) => o.roleTemplateId === GA), 'a role-assignable group role is transitive');
      const plain = await call(sim, `v1.0/users/${HELPDESK_USER_ID}/transitiveMemberOf/microsoft.graph.group`, t);
      assert.equal(plain.status, 400, 'an OData cast is an advanced query: ConsistencyLevel and $count are required');
      assert.equal(errorCode(plain.body), 'Request_UnsupportedQuery');
      const cast = await call(sim, `v1.0/users/${HELPDESK_USER_ID}/transitiveMemberOf/microsoft.graph.group?$count=true`, t, { headers: { ConsistencyLevel: 'eventual' } });
      assert.ok(cast.body.value?.length);
      assert.equal(cast.body['@odata.count'], cast.body.value?.length);
      assert.ok(cast.body.value?.every((g) => g.securityEnabled === true && g.roleTemplateId === undefined));
      assert.ok(cast.body.value?.some((g) => g.id === ROLE_GROUP && g.isAssignableToRole === true));
    });

    it('/me/transitiveMemberOf/microsoft.graph.directoryRole: active roles only (a group\'s too), User.Read enough, ConsistencyLevel and $count required', async () => {
      pimTenant();
      const PRA = 'e8611ab8-c189-46e8-94e1-60213ab1f814';
      sim.scenario.tenants[0]!.users.find((u) => u.id === HELPDESK_USER_ID)!.roles = ['Privileged Role Administrator'];
      const path = 'v1.0/me/transitiveMemberOf/microsoft.graph.directoryRole?$select=roleTemplateId&$count=true';
      const eventual = { headers: { ConsistencyLevel: 'eventual' } };
      const helpdesk = userToken(sim, 'User.Read', { oid: HELPDESK_USER_ID, upn: 'helpdesk@contosopartner.onmicrosoft.com' });
      const roles = await call(sim, path, helpdesk, eventual);
      assert.equal(roles.status, 200, JSON.stringify(roles.body));
      assert.deepEqual(roles.body.value?.map((r) => r.roleTemplateId).sort(), [GA, PRA].sort(), 'direct and through the role-assignable group');
      assert.ok(roles.body.value?.every((r) => r['@odata.type'] === undefined && Object.keys(r).join() === 'roleTemplateId'));
      const direct = await call(sim, path.replace('transitiveMemberOf', 'memberOf'), helpdesk, eventual);
      assert.deepEqual(direct.body.value?.map((r) => r.roleTemplateId), [PRA], 'memberOf is not transitive');
      const eligibleOnly = await call(sim, path, userToken(sim, 'User.Read'), eventual);
      assert.equal(eligibleOnly.status, 200);
      assert.deepEqual(eligibleOnly.body.value, [], 'an eligible Global Administrator who has not activated holds no role');
      const noHeader = await call(sim, path, helpdesk);
      assert.equal(noHeader.status, 400);
      assert.equal(errorCode(noHeader.body), 'Request_UnsupportedQuery');
      const noCount = await call(sim, path.replace('&$count=true', ''), helpdesk, eventual);
      assert.equal(noCount.status, 400);
    });

    it('licences: no-premium answers 403 for registration reports and CA, AadPremiumLicenseRequired for PIM, and reads security defaults', async () => {
      await sim.loadScenario('no-premium');
      const t = appToken(sim, ['AuditLog.Read.All', 'Policy.Read.All', ...ROLE_READ]);
      const reports = await call(sim, 'v1.0/reports/authenticationMethods/userRegistrationDetails', t);
      assert.equal(reports.status, 403);
      assert.equal(errorCode(reports.body), 'Authentication_RequestFromNonPremiumTenantOrB2CTenant');
      const ca = await call(sim, 'v1.0/identity/conditionalAccess/policies', t);
      assert.equal(ca.status, 403);
      const pim = await call(sim, 'v1.0/roleManagement/directory/roleEligibilitySchedules', t);
      assert.equal(errorCode(pim.body), 'AadPremiumLicenseRequired');
      const defaults = await call(sim, 'v1.0/policies/identitySecurityDefaultsEnforcementPolicy', t);
      assert.equal(defaults.status, 200);
      assert.equal(defaults.body.isEnabled, true);
      await sim.loadScenario('healthy');
      assert.equal((await call(sim, 'v1.0/identity/conditionalAccess/policies', t)).status, 200);
    });

    it('shows a sign-in frequency session control on a conditional access policy', async () => {
      sim.scenario.tenants[0]!.conditionalAccessPolicies.push({
        id: 'a0a0a0a0-6666-4666-8666-0000000000f1', displayName: 'Admins: sign in every 12 h', state: 'enabled', requiresMfa: true,
        excludesServiceProviderUsers: false, signInFrequency: { value: 12, type: 'hours' },
      });
      const res = await call(sim, 'v1.0/identity/conditionalAccess/policies', appToken(sim, ['Policy.Read.All']));
      const freq = (res.body.value?.[0]?.sessionControls as { signInFrequency?: Record<string, unknown> } | null)?.signInFrequency;
      assert.deepEqual([freq?.value, freq?.type, freq?.isEnabled], [12, 'hours', true]);
    });

    it('lists a service principal\'s oauth2PermissionGrants, AllPrincipals and Principal alike', async () => {
      sim.scenario.tenants[0]!.applications[0]!.principalGrants.push({ principalId: HELPDESK_USER_ID, scopes: ['Directory.Read.All'] });
      const res = await call(sim, `v1.0/servicePrincipals/${APP_SERVICE_PRINCIPAL_ID}/oauth2PermissionGrants`, appToken(sim, ['Directory.Read.All']));
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const kinds = res.body.value?.map((g) => [g.consentType, g.principalId]);
      assert.deepEqual(kinds, [['AllPrincipals', null], ['AllPrincipals', null], ['Principal', HELPDESK_USER_ID]]);
    });

    it('lists Principal grants per user and resource (Graph, Partner Center) as sign-in consent records them', async () => {
      const app = sim.scenario.tenants[0]!.applications[0]!;
      app.principalGrants.push(
        { principalId: SERVICE_ACCOUNT_ID, resource: 'graph', scopes: ['Policy.Read.All', 'RoleManagement.Read.Directory'] },
        { principalId: SERVICE_ACCOUNT_ID, resource: 'partnerCenter', scopes: ['user_impersonation'] },
      );
      const t = appToken(sim, ['Directory.Read.All']);
      const sps = await call(sim, 'v1.0/servicePrincipals', t);
      const spOf = (appId: string) => sps.body.value?.find((sp) => sp.appId === appId)?.id;
      assert.ok(spOf(GRAPH_RESOURCE_APP_ID) && spOf(PARTNER_CENTER_RESOURCE_APP_ID));
      const res = await call(sim, `v1.0/oauth2PermissionGrants?$filter=consentType eq 'Principal' and principalId eq '${SERVICE_ACCOUNT_ID}'`, t);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const grants = res.body.value ?? [];
      assert.deepEqual(grants.map((g) => [g.clientId, g.resourceId, g.scope]), [
        [APP_SERVICE_PRINCIPAL_ID, spOf(GRAPH_RESOURCE_APP_ID), 'Policy.Read.All RoleManagement.Read.Directory'],
        [APP_SERVICE_PRINCIPAL_ID, spOf(PARTNER_CENTER_RESOURCE_APP_ID), 'user_impersonation'],
      ]);
      assert.notEqual(grants[0]!.id, grants[1]!.id);
    });

    it('needs ConsistencyLevel: eventual for $count and $search', async () => {
      const t = appToken(sim);
      const count = await call(sim, 'v1.0/users?$count=true', t);
      assert.equal(count.status, 400);
      const search = await call(sim, 'v1.0/users?$search="displayName:helpdesk"', t);
      assert.equal(search.status, 400);
      const ok = await call(sim, 'v1.0/users?$count=true&$search="displayName:helpdesk"', t, { headers: { ConsistencyLevel: 'eventual' } });
      assert.equal(ok.status, 200);
      assert.equal(ok.body['@odata.count'], 1);
      assert.deepEqual(ok.body.value?.map((u) => u.id), [HELPDESK_USER_ID]);
    });

    it('findTenantInformationByDomainName resolves a domain to a tenant id and display name', async () => {
      const t = appToken(sim, ['CrossTenantInformation.ReadBasic.All']);
      const own = await call(sim, `v1.0/tenantRelationships/findTenantInformationByDomainName(domainName='contosopartner.com')`, t);
      assert.equal(own.status, 200, JSON.stringify(own.body));
      assert.deepEqual([own.body.tenantId, own.body.displayName, own.body.defaultDomainName], [PARTNER_TENANT_ID, 'Contoso Partner', 'contosopartner.com']);
      const customer = await call(sim, `v1.0/tenantRelationships/findTenantInformationByDomainName(domainName='${CUSTOMER_DOMAIN}')`, t);
      assert.equal(customer.body.tenantId, CUSTOMER_TENANT_ID);
      const unknown = await call(sim, `v1.0/tenantRelationships/findTenantInformationByDomainName(domainName='nosuch.example')`, t);
      assert.equal(unknown.status, 404);
      const denied = await call(sim, `v1.0/tenantRelationships/findTenantInformationByDomainName(domainName='contosopartner.com')`, appToken(sim));
      assert.equal(denied.status, 403);
    });

    it('answers a few percent of requests with 429 at random unless turned off', async () => {
      sim.setRandomThrottling(true);
      try {
        let throttled = 0;
        for (let i = 0; i < 200; i++) {
          const res = await call(sim, 'v1.0/organization', appToken(sim));
          if (res.status === 429) {
            throttled += 1;
            assert.equal(errorCode(res.body), 'TooManyRequests');
            assert.ok(res.headers.get('retry-after'));
          } else assert.equal(res.status, 200);
        }
        assert.ok(throttled >= 1 && throttled <= 20, `${throttled} of 200`);
      } finally {
        sim.setRandomThrottling(false);
      }
    });
  });

  describe('GDAP relationships', () => {
    const GDAP_ROLE = ['DelegatedAdminRelationship.Read.All'];

    it('pages by $top up to 300 and shows each relationship with its status, end date and auto-extension', async () => {
      const t = appToken(sim, GDAP_ROLE);
      assert.equal((await call(sim, 'v1.0/tenantRelationships/delegatedAdminRelationships?$top=300', t)).status, 200);
      assert.equal((await call(sim, 'v1.0/tenantRelationships/delegatedAdminRelationships?$top=301', t)).status, 400);
      const tenant = sim.scenario.tenants[0]!;
      const base = { displayName: 'x', customerTenantId: CUSTOMER_TENANT_ID, roles: [GLOBAL_ADMIN_TEMPLATE_ID], autoExtendDuration: 'PT0S', accessAssignments: [] };
      tenant.gdapRelationships = [
        { ...base, id: 'rel-expired', status: 'expired', endDateTime: { daysFromNow: -3 } },
        { ...base, id: 'rel-terminated', status: 'terminated', endDateTime: { daysFromNow: 30 } },
      ];
      const res = await call(sim, 'v1.0/tenantRelationships/delegatedAdminRelationships', t);
      assert.deepEqual(res.body.value?.map((r) => [r.id, r.status, r.autoExtendDuration]), [['rel-expired', 'expired', 'PT0S'], ['rel-terminated', 'terminated', 'PT0S']]);
      assert.ok(Date.parse(String(res.body.value?.[0]?.endDateTime)) < Date.now());
    });

    it('derives one active standard relationship per manageable customer, paged', async () => {
      const t = appToken(sim, GDAP_ROLE);
      const denied = await call(sim, 'v1.0/tenantRelationships/delegatedAdminRelationships', appToken(sim));
      assert.equal(denied.status, 403);
      const first = await call(sim, 'v1.0/tenantRelationships/delegatedAdminRelationships?$top=10&$count=true', t);
      assert.equal(first.body['@odata.count'], 23);
      assert.equal(first.body.value?.length, 10);
      const next = String(first.body['@odata.nextLink']);
      assert.ok(next.startsWith(`${sim.baseUrl}/graph/v1.0/tenantRelationships/delegatedAdminRelationships?`), next);
      assert.match(next, /\$skiptoken=/);
      const rel = first.body.value![0]!;
      assert.equal(rel.status, 'active');
      assert.equal(rel.autoExtendDuration, 'P180D');
      assert.deepEqual((rel.accessDetails as { unifiedRoles: Array<{ roleDefinitionId: string }> }).unifiedRoles.map((r) => r.roleDefinitionId), [...STANDARD_GDAP_ROLES]);
      assert.equal((rel.customer as { tenantId: string }).tenantId, CUSTOMER_TENANT_ID);
      const one = await call(sim, `v1.0/tenantRelationships/delegatedAdminRelationships/${String(rel.id)}/accessAssignments`, t);
      const assignment = one.body.value?.[0];
      assert.deepEqual([assignment?.status, (assignment?.accessContainer as { accessContainerId: string }).accessContainerId], ['active', ADMIN_AGENTS_GROUP_ID]);
      const badToken = await call(sim, 'v1.0/tenantRelationships/delegatedAdminRelationships?$skiptoken=garbage', t);
      assert.equal(badToken.status, 400);
    });

    it('gdap-readonly has a single read-only MLT_ relationship', async () => {
      await sim.loadScenario('gdap-readonly');
      const res = await call(sim, 'v1.0/tenantRelationships/delegatedAdminRelationships', appToken(sim, GDAP_ROLE));
      assert.equal(res.body.value?.length, 1);
      const rel = res.body.value![0]!;
      assert.equal(rel.displayName, `MLT_${MLT_RELATIONSHIP_ID}`);
      assert.deepEqual((rel.accessDetails as { unifiedRoles: Array<{ roleDefinitionId: string }> }).unifiedRoles.map((r) => r.roleDefinitionId), [...READ_ONLY_GDAP_ROLES]);
    });

    it('pages the large scenario without building it', async () => {
      await sim.loadScenario('large');
      const started = Date.now();
      const res = await call(sim, 'v1.0/tenantRelationships/delegatedAdminRelationships?$top=300&$count=true', appToken(sim, GDAP_ROLE));
      assert.equal(res.body['@odata.count'], 18_000);
      assert.equal(res.body.value?.length, 300);
      assert.ok(Date.now() - started < 2000);
    });
  });

  describe('sendMail', () => {
    it('accepts mail with Mail.Send and records it in the outbox', async () => {
      const body = {
        message: {
          subject: 'Your verification code', body: { contentType: 'Text', content: '123456' },
          toRecipients: [{ emailAddress: { address: 'primary@fabrikam.example' } }],
        },
        saveToSentItems: false,
      };
      const denied = await call(sim, `v1.0/users/${SERVICE_ACCOUNT_ID}/sendMail`, appToken(sim), { method: 'POST', body: JSON.stringify(body) });
      assert.equal(denied.status, 403);
      const sent = await call(sim, `v1.0/users/${SERVICE_ACCOUNT_UPN}/sendMail`, appToken(sim, ['Mail.Send']), { method: 'POST', body: JSON.stringify(body) });
      assert.equal(sent.status, 202);
      assert.deepEqual(graphOutbox(sim).map((m) => [m.from, m.to, m.subject, m.content]),
        [[SERVICE_ACCOUNT_UPN, ['primary@fabrikam.example'], 'Your verification code', '123456']]);
      const control = await fetch(`${sim.baseUrl}/_sim/graph/outbox`);
      assert.equal(((await control.json()) as { value: unknown[] }).value.length, 1);
      const noRecipients = await call(sim, `v1.0/users/${SERVICE_ACCOUNT_UPN}/sendMail`, appToken(sim, ['Mail.Send']),
        { method: 'POST', body: JSON.stringify({ message: { subject: 'x', toRecipients: [] } }) });
      assert.equal(noRecipients.status, 400);
    });
  });

  describe('throttling', () => {
    it('answers every Nth request with 429, Retry-After and TooManyRequests', async () => {
      await sim.loadScenario('throttled');
      const t = appToken(sim);
      const statuses: number[] = [];
      for (let i = 0; i < 10; i++) {
        const res = await call(sim, 'v1.0/organization', t);
        statuses.push(res.status);
        if (res.status === 429) {
          assert.equal(res.headers.get('retry-after'), '1');
          assert.equal(errorCode(res.body), 'TooManyRequests');
        }
      }
      assert.deepEqual(statuses, [200, 200, 200, 200, 429, 200, 200, 200, 200, 429]);
    });
  });

  describe('$batch', () => {
    it('rejects more than 20 requests', async () => {
      const requests = Array.from({ length: 21 }, (_, i) => ({ id: String(i + 1), method: 'GET', url: '/organization' }));
      const res = await call(sim, 'v1.0/$batch', appToken(sim), { method: 'POST', body: JSON.stringify({ requests }) });
      assert.equal(res.status, 400);
    });

    it('routes items relative to the version, with dependsOn and per-item errors', async () => {
      const requests = [
        { id: 'a', method: 'GET', url: `/users/${SERVICE_ACCOUNT_ID}?$select=id,accountEnabled` },
        { id: 'b', method: 'GET', url: '/users/nobody@contosopartner.onmicrosoft.com' },
        { id: 'c', method: 'GET', url: '/organization', dependsOn: ['b'] },
      ];
      const res = await call(sim, 'v1.0/$batch', appToken(sim), { method: 'POST', body: JSON.stringify({ requests }) });
      const byId = Object.fromEntries((res.body.responses as Array<{ id: string; status: number; headers: Record<string, string>; body: Body }>)
        .map((r) => [r.id, r]));
      assert.equal(byId.a?.status, 200);
      assert.equal(byId.a?.body.accountEnabled, true);
      assert.match(byId.a?.headers['Content-Type'] ?? '', /^application\/json/);
      assert.equal(byId.b?.status, 404);
      assert.equal(byId.c?.status, 424);
    });
  });

  describe('with @microsoft/microsoft-graph-client', () => {
    it('pages with PageIterator following @odata.nextLink', async () => {
      const client = graphClient(sim, () => appToken(sim, ['DelegatedAdminRelationship.Read.All']));
      const first = (await client.api('/tenantRelationships/delegatedAdminRelationships').top(5).get()) as PageCollection;
      const tenants: string[] = [];
      const iterator = new PageIterator(client, first, (rel: { customer: { tenantId: string } }) => {
        tenants.push(rel.customer.tenantId);
        return true;
      });
      await iterator.iterate();
      assert.equal(tenants.length, 23);
      assert.equal(new Set(tenants).size, 23);
      assert.ok(sim.requests.filter((r) => r.path.endsWith('/delegatedAdminRelationships')).length >= 5);
    });

    it('refuses $batch items whose URL repeats the version, as graph-client builds them from absolute URLs', async () => {
      const client = graphClient(sim, () => appToken(sim));
      const batch = new BatchRequestContent([
        { id: '1', request: new Request(`${sim.baseUrl}/graph/v1.0/users/${SERVICE_ACCOUNT_ID}`, { method: 'GET' }) },
        { id: '2', request: new Request(`${sim.baseUrl}/graph/users/${SERVICE_ACCOUNT_ID}`, { method: 'GET' }) },
      ]);
      const content = await batch.getContent();
      assert.equal((content.requests as Array<{ url: string }>)[0]!.url, `/graph/v1.0/users/${SERVICE_ACCOUNT_ID}`);
      const response = new BatchResponseContent(await client.api('/$batch').post(content));
      const versioned = response.getResponseById('1');
      assert.equal(versioned.status, 400);
      assert.equal(((await versioned.json()) as { error: { message: string } }).error.message, "Resource not found for the segment 'v1.0'.");
      assert.equal(response.getResponseById('2').status, 200);

      const raw = await call(sim, 'v1.0/$batch', appToken(sim), { method: 'POST', body: JSON.stringify({ requests: [{ id: 'x', method: 'GET', url: '/v1.0/organization' }] }) });
      assert.equal((raw.body.responses as Array<{ status: number }>)[0]!.status, 400);
    });

    it('sends a $batch with BatchRequestContent and reads it with BatchResponseContent', async () => {
      const client = graphClient(sim, () => appToken(sim));
      // Items are relative to the version: build the Requests on the host (the simulator's /graph) without /v1.0.
      const base = `${sim.baseUrl}/graph`;
      const batch = new BatchRequestContent([
        { id: '1', request: new Request(`${base}/users/${SERVICE_ACCOUNT_ID}?$select=id,passwordPolicies`, { method: 'GET' }) },
        { id: '2', request: new Request(`${base}/groups?$filter=displayName eq 'AdminAgents'`, { method: 'GET' }) },
        { id: '3', request: new Request(`${base}/users/nobody@contosopartner.onmicrosoft.com`, { method: 'GET' }) },
        {
          id: '4',
          request: new Request(`${base}/servicePrincipals/${APP_SERVICE_PRINCIPAL_ID}/checkMemberGroups`, {
            method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ groupIds: [ADMIN_AGENTS_GROUP_ID] }),
          }),
        },
        { id: '5', request: new Request(`${base}/servicePrincipals(appId='${APP_ID}')/appRoleAssignments`, { method: 'GET' }) },
      ]);
      const response = new BatchResponseContent(await client.api('/$batch').post(await batch.getContent()));
      const user = response.getResponseById('1');
      assert.equal(user.status, 200);
      assert.equal(((await user.json()) as { passwordPolicies: string }).passwordPolicies, 'DisablePasswordExpiration');
      assert.deepEqual(((await response.getResponseById('2').json()) as Body).value?.map((g) => g.id), [ADMIN_AGENTS_GROUP_ID]);
      const missing = response.getResponseById('3');
      assert.equal(missing.status, 404);
      assert.equal(((await missing.json()) as Body & { error: { code: string } }).error.code, 'Request_ResourceNotFound');
      assert.deepEqual(((await response.getResponseById('4').json()) as Body).value, [ADMIN_AGENTS_GROUP_ID]);
      assert.equal(((await response.getResponseById('5').json()) as Body).value?.length, 4);
    });

    it('gets through a throttled cloud with the client RetryHandler (429 + Retry-After)', async () => {
      await sim.loadScenario('throttled');
      const before = sim.requests.length;
      const client = graphClient(sim, () => appToken(sim, ['DelegatedAdminRelationship.Read.All', ...HEALTHY_APP_ROLES]));
      const first = (await client.api('/tenantRelationships/delegatedAdminRelationships').top(4).get()) as PageCollection;
      let count = 0;
      await new PageIterator(client, first, () => { count += 1; return true; }).iterate();
      const me = (await client.api(`/users/${SERVICE_ACCOUNT_ID}`).select(['id', 'accountEnabled']).get()) as { accountEnabled: boolean };
      assert.equal(count, 23);
      assert.equal(me.accountEnabled, true);
      const seen = sim.requests.slice(before);
      assert.ok(seen.filter((r) => r.status === 429).length >= 1, 'no 429 was answered');
      assert.ok(seen.every((r) => r.host.startsWith('127.0.0.1:')));
    });

    it('attaches the token only to custom hosts it was given (hostname, not host:port)', async () => {
      const withPort = Client.initWithMiddleware({
        baseUrl: `${sim.baseUrl}/graph`, customHosts: new Set([new URL(sim.baseUrl).host]),
        authProvider: { getAccessToken: async () => appToken(sim) },
      });
      await assert.rejects(withPort.api('/organization').get(), (err: { statusCode?: number }) => err.statusCode === 401);
    });
  });
});
