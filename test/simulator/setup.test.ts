import assert from 'node:assert/strict';
import { CryptoProvider } from '@azure/msal-node';
import {
  ADMIN_AGENTS_GROUP_ID, APP_ID, APP_OBJECT_ID, APP_SERVICE_PRINCIPAL_ID, GRAPH_APP_ROLES, GRAPH_RESOURCE_APP_ID, GRAPH_SCOPES,
  GUEST_USER_ID, GUEST_USER_UPN, HELPDESK_USER_UPN, PARTNER_CENTER_RESOURCE_APP_ID, PARTNER_CENTER_USER_IMPERSONATION_ID,
  PARTNER_TENANT_ID, PRA_USER_UPN, REQUIRED_APP_ROLES, SERVICE_ACCOUNT_ID, SERVICE_ACCOUNT_PASSWORD, SERVICE_ACCOUNT_UPN,
  SETUP_ADMIN_UPN, SETUP_APP_TAG, SETUP_SCOPES, SIM_SETUP_APP_ID, SIM_SETUP_APP_SECRET, SIM_SETUP_REDIRECT_URIS,
} from './scenarios/ids';
import { TenantSchema } from './scenario';
import { startSimulator, type Simulator } from './server';
import { adminConsentWithoutBrowser, SignInError, signInWithoutBrowser } from './services/entra';
import { decodeJwt } from './tokens';

/**
 * "Set it up for me" (issue 30) against the simulator, over HTTP: the setup sign-in to the
 * operator's multi-tenant app, then the Graph writes a partner's Global Administrator's token may
 * make, with Microsoft's permission rules, app management policy and replication delay.
 * The contract is /work/notes/setup-contract.md; each behaviour cites its doc page in graph.ts.
 */

type Body = Record<string, unknown> & { value?: Array<Record<string, unknown>> };
interface Reply { status: number; body: Body }

const GRAPH = 'https://graph.microsoft.com';
const SETUP_SCOPE = [...SETUP_SCOPES.map((s) => `${GRAPH}/${s}`), 'openid', 'profile', 'offline_access'].join(' ');
const REDIRECT = SIM_SETUP_REDIRECT_URIS[0]!;
const CONSENT_REDIRECT = SIM_SETUP_REDIRECT_URIS[1]!;
const DAY = 86_400_000;

describe('Simulator: "set it up for me" Graph writes', function () {
  this.timeout(60_000);
  let sim: Simulator;
  before(async () => { sim = await startSimulator({ scenario: 'setup-empty', randomThrottling: false }); });
  after(() => sim.stop());
  beforeEach(() => sim.loadScenario('setup-empty'));

  const tenant = () => sim.scenario.tenants.find((t) => t.id === PARTNER_TENANT_ID)!;
  const setupApp = () => sim.scenario.tenants.flatMap((t) => t.applications).find((a) => a.appId === SIM_SETUP_APP_ID)!;

  async function graph(path: string, bearer: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<Reply> {
    const headers: Record<string, string> = { authorization: `Bearer ${bearer}`, ...init.headers };
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${sim.baseUrl}/graph/v1.0/${path}`, {
      method: init.method ?? 'GET', headers, body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Body) : {} };
  }
  const post = (path: string, bearer: string, body: unknown) => graph(path, bearer, { method: 'POST', body });
  const patch = (path: string, bearer: string, body: unknown) => graph(path, bearer, { method: 'PATCH', body });
  const code = (r: Reply) => (r.body.error as { code?: string } | undefined)?.code;
  const message = (r: Reply) => (r.body.error as { message?: string } | undefined)?.message;

  async function tokenEndpoint(fields: Record<string, string>): Promise<Reply> {
    const res = await fetch(`${sim.baseUrl}/${PARTNER_TENANT_ID}/oauth2/v2.0/token`, { method: 'POST', body: new URLSearchParams(fields) });
    return { status: res.status, body: (await res.json()) as Body };
  }

  /** The setup sign-in: authorization code + PKCE + prompt=login to the operator's setup app, redeemed with its secret. */
  async function setupToken(upn: string, answer: { consent?: 'accept' | 'cancel'; forOrganization?: boolean } = { consent: 'accept', forOrganization: true }): Promise<string> {
    const { verifier, challenge } = await new CryptoProvider().generatePkceCodes();
    const authCode = await signInWithoutBrowser({
      sim, tenant: PARTNER_TENANT_ID, clientId: SIM_SETUP_APP_ID, redirectUri: REDIRECT, codeChallenge: challenge, scope: SETUP_SCOPE,
      prompt: 'login', state: 'setup-state', upn, password: SERVICE_ACCOUNT_PASSWORD, mfa: true, consent: answer.consent,
      consentForOrganization: answer.forOrganization,
    });
    const reply = await tokenEndpoint({
      grant_type: 'authorization_code', client_id: SIM_SETUP_APP_ID, client_secret: SIM_SETUP_APP_SECRET, code: authCode,
      redirect_uri: REDIRECT, code_verifier: verifier, scope: SETUP_SCOPE,
    });
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    return String(reply.body.access_token);
  }

  async function appOnly(appId: string, secret: string): Promise<Reply> {
    return tokenEndpoint({ grant_type: 'client_credentials', client_id: appId, client_secret: secret, scope: `${GRAPH}/.default` });
  }

  const graphSpId = async (t: string) => String((await graph(`servicePrincipals?$filter=appId eq '${GRAPH_RESOURCE_APP_ID}'`, t)).body.value![0]!.id);
  const ref = (id: string) => ({ '@odata.id': `${GRAPH}/v1.0/directoryObjects/${id}` });

  /** The application body the bot sends (issue 30 step 3). */
  const appBody = (tag = SETUP_APP_TAG) => ({
    displayName: 'Contoso Partner onboarding', tags: [tag], signInAudience: 'AzureADMyOrg',
    web: { redirectUris: [...SIM_SETUP_REDIRECT_URIS] },
    requiredResourceAccess: [
      { resourceAppId: GRAPH_RESOURCE_APP_ID, resourceAccess: [
        ...REQUIRED_APP_ROLES.map((r) => ({ id: GRAPH_APP_ROLES[r], type: 'Role' })),
        { id: GRAPH_SCOPES['User.Read'], type: 'Scope' },
      ] },
      { resourceAppId: PARTNER_CENTER_RESOURCE_APP_ID, resourceAccess: [{ id: PARTNER_CENTER_USER_IMPERSONATION_ID, type: 'Scope' }] },
    ],
  });

  describe('setup sign-in', () => {
    it('a Global Administrator consents for the organization to the five admin scopes; the token acts in the partner tenant', async () => {
      const t = await setupToken(SETUP_ADMIN_UPN);
      const claims = decodeJwt(t);
      assert.equal(claims.tid, PARTNER_TENANT_ID);
      assert.equal(claims.appid, SIM_SETUP_APP_ID);
      const scp = String(claims.scp).split(' ');
      for (const s of SETUP_SCOPES) assert.ok(scp.includes(s), `scp lacks ${s}: ${claims.scp}`);
      const me = await graph('me/memberOf', t);
      assert.equal(me.status, 200);
      assert.ok(me.body.value?.some((o) => o['@odata.type'] === '#microsoft.graph.directoryRole' && o.roleTemplateId === '62e90394-69f5-4237-9190-012177145e10'));
    });

    it("consent belongs to the tenant that gave it: another tenant's Global Administrator is still asked", async () => {
      await setupToken(SETUP_ADMIN_UPN);
      assert.deepEqual(setupApp().grantedScopes, [], "the operator's own registration is untouched");
      const other = 'c0c0c0c0-1111-4111-8111-000000000001';
      sim.scenario.tenants.push(TenantSchema.parse({
        id: other, displayName: 'Other Partner', domains: ['otherpartner.onmicrosoft.com'],
        users: [{ id: 'c0c0c0c0-2222-4222-8222-000000000001', userPrincipalName: 'admin@otherpartner.onmicrosoft.com', displayName: 'Other Admin', password: SERVICE_ACCOUNT_PASSWORD, roles: ['Global Administrator'] }],
      }));
      const { challenge } = await new CryptoProvider().generatePkceCodes();
      await assert.rejects(signInWithoutBrowser({
        sim, tenant: other, clientId: SIM_SETUP_APP_ID, redirectUri: REDIRECT, codeChallenge: challenge, scope: SETUP_SCOPE, prompt: 'login',
        upn: 'admin@otherpartner.onmicrosoft.com', password: SERVICE_ACCOUNT_PASSWORD,
      }), (err: unknown) => err instanceof SignInError && err.step === 'consent');
      // The partner's members sign in without a prompt: the grant is tenant-wide there.
      assert.ok(String(decodeJwt(await setupToken(HELPDESK_USER_UPN, {})).scp).includes('Application.ReadWrite.All'));
    });

    it('the admin consent endpoint grants the setup app in the partner tenant only; sign-ins there need no prompt afterwards', async () => {
      const answer = await adminConsentWithoutBrowser({
        sim, tenant: PARTNER_TENANT_ID, clientId: SIM_SETUP_APP_ID, redirectUri: CONSENT_REDIRECT, scope: `${GRAPH}/.default`,
        upn: SETUP_ADMIN_UPN, password: SERVICE_ACCOUNT_PASSWORD, mfa: true, state: 's1',
      });
      assert.equal(answer.get('admin_consent'), 'True');
      assert.deepEqual(setupApp().grantedScopes, []);
      assert.ok(String(decodeJwt(await setupToken(SETUP_ADMIN_UPN, {})).scp).includes('GroupMember.ReadWrite.All'));
    });

    it('a Global Administrator through a role-assignable group may consent for the organization', async () => {
      const t = tenant();
      t.groups.push({ id: 'a0a0a0a0-3333-4333-8333-000000000009', displayName: 'Tier0 Admins', isAssignableToRole: true, roles: ['Global Administrator'] });
      t.users.find((u) => u.userPrincipalName === HELPDESK_USER_UPN)!.groups.push('Tier0 Admins');
      const token = await setupToken(HELPDESK_USER_UPN);
      assert.ok(String(decodeJwt(token).scp).includes('Application.ReadWrite.All'));
      assert.equal((await post('applications', token, appBody())).status, 201);
    });

    it('the admin declines consent: access_denied, error_subcode cancel, AADSTS65004 with the state; nothing is granted', async () => {
      await assert.rejects(setupToken(SETUP_ADMIN_UPN, { consent: 'cancel' }), (err: unknown) => {
        assert.ok(err instanceof SignInError);
        assert.equal(err.error, 'access_denied');
        assert.equal(err.aadsts, 65004);
        assert.equal(err.subcode, 'cancel');
        return true;
      });
      assert.deepEqual(setupApp().grantedScopes, []);
    });

    it('without an answer the page asks for consent; a user without an admin role is stopped at "Need admin approval"', async () => {
      await assert.rejects(setupToken(SETUP_ADMIN_UPN, {}), (err: unknown) => err instanceof SignInError && err.step === 'consent');
      await assert.rejects(setupToken(HELPDESK_USER_UPN), (err: unknown) => err instanceof SignInError && err.step === 'admin-approval');
    });

    it('a Privileged Role Administrator + Application Administrator may consent to delegated permissions too', async () => {
      const t = await setupToken(PRA_USER_UPN);
      assert.ok(String(decodeJwt(t).scp).includes('AppRoleAssignment.ReadWrite.All'));
    });
  });

  describe('the whole run', () => {
    it('from an empty tenant to an app that passes the checks: create, SPs, secret, consent, AdminAgents, app-only token', async () => {
      const t = await setupToken(SETUP_ADMIN_UPN);

      const none = await graph(`applications?$filter=tags/any(t:t eq '${SETUP_APP_TAG}')`, t);
      assert.deepEqual(none.body.value, []);
      const created = await post('applications', t, appBody());
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const objectId = String(created.body.id);
      const appId = String(created.body.appId);
      assert.deepEqual(created.body.tags, [SETUP_APP_TAG]);
      assert.deepEqual((created.body.web as { redirectUris: string[] }).redirectUris, [...SIM_SETUP_REDIRECT_URIS]);
      assert.deepEqual(created.body.passwordCredentials, []);
      const found = await graph(`applications?$filter=tags/any(t:t eq '${SETUP_APP_TAG}')`, t);
      assert.deepEqual(found.body.value?.map((a) => a.id), [objectId]);
      assert.deepEqual((await graph(`applications?$filter=appId eq '${appId}'`, t)).body.value?.map((a) => a.id), [objectId]);
      assert.deepEqual(found.body.value![0]!.requiredResourceAccess, appBody().requiredResourceAccess);

      // No service principal until POST /servicePrincipals.
      assert.deepEqual((await graph(`servicePrincipals?$filter=appId eq '${appId}'`, t)).body.value, []);
      const sp = await post('servicePrincipals', t, { appId });
      assert.equal(sp.status, 201);
      const spId = String(sp.body.id);
      const again = await post('servicePrincipals', t, { appId });
      assert.equal(again.status, 409);
      assert.equal(code(again), 'Request_MultipleObjectsWithSameKeyValue');

      // Microsoft's service principals: Graph is there, Partner Center is missing in setup-empty.
      assert.equal((await graph(`servicePrincipals?$filter=appId eq '${GRAPH_RESOURCE_APP_ID}'`, t)).body.value?.length, 1);
      assert.deepEqual((await graph(`servicePrincipals?$filter=appId eq '${PARTNER_CENTER_RESOURCE_APP_ID}'`, t)).body.value, []);
      const pcSp = await post('servicePrincipals', t, { appId: PARTNER_CENTER_RESOURCE_APP_ID });
      assert.equal(pcSp.status, 201);
      assert.equal((await post('servicePrincipals', t, { appId: PARTNER_CENTER_RESOURCE_APP_ID })).status, 409);

      // A secret: its value once, a hint afterwards.
      const pw = await post(`applications/${objectId}/addPassword`, t, { passwordCredential: { displayName: 'onboarding-bot', endDateTime: new Date(sim.now() + 730 * DAY).toISOString() } });
      assert.equal(pw.status, 200, JSON.stringify(pw.body));
      const secret = String(pw.body.secretText);
      assert.match(secret, /^.{3}\dQ~.{34}$/);
      assert.equal(pw.body.hint, secret.slice(0, 3));
      const listed = (await graph(`applications/${objectId}`, t)).body.passwordCredentials as Array<Record<string, unknown>>;
      assert.deepEqual(listed.map((p) => [p.keyId, p.secretText, p.hint]), [[pw.body.keyId, null, secret.slice(0, 3)]]);

      // Admin consent: one app role assignment per Graph application permission, two AllPrincipals grants.
      const graphSp = await graphSpId(t);
      for (const role of REQUIRED_APP_ROLES) {
        const a = await post(`servicePrincipals/${graphSp}/appRoleAssignedTo`, t, { principalId: spId, resourceId: graphSp, appRoleId: GRAPH_APP_ROLES[role] });
        assert.equal(a.status, 201, JSON.stringify(a.body));
        assert.equal(a.body.principalId, spId);
      }
      const dup = await post(`servicePrincipals/${graphSp}/appRoleAssignedTo`, t, { principalId: spId, resourceId: graphSp, appRoleId: GRAPH_APP_ROLES['User.ReadWrite.All'] });
      assert.equal(dup.status, 400);
      assert.equal(code(dup), 'Request_BadRequest');
      assert.equal(message(dup), 'Permission being assigned already exists on the object');
      const grant = await post('oauth2PermissionGrants', t, { clientId: spId, consentType: 'AllPrincipals', principalId: null, resourceId: graphSp, scope: 'User.Read' });
      assert.equal(grant.status, 201, JSON.stringify(grant.body));
      const pcGrant = await post('oauth2PermissionGrants', t, { clientId: spId, consentType: 'AllPrincipals', resourceId: String(pcSp.body.id), scope: 'user_impersonation' });
      assert.equal(pcGrant.status, 201);
      const twice = await post('oauth2PermissionGrants', t, { clientId: spId, consentType: 'AllPrincipals', resourceId: graphSp, scope: 'User.Read' });
      assert.equal(twice.status, 409);
      assert.equal(code(twice), 'Request_MultipleObjectsWithSameKeyValue');
      const grants = await graph(`oauth2PermissionGrants?$filter=clientId eq '${spId}'`, t);
      assert.deepEqual(grants.body.value?.map((g) => [g.consentType, g.scope]).sort(), [['AllPrincipals', 'User.Read'], ['AllPrincipals', 'user_impersonation']]);
      assert.equal((await patch(`oauth2PermissionGrants/${String(grant.body.id)}`, t, { scope: 'User.Read offline_access' })).status, 204);
      assert.ok(tenant().applications.find((a) => a.appId === appId)!.grantedScopes.includes('offline_access'));

      // AdminAgents: the app's service principal and the service account, each once.
      for (const id of [spId, SERVICE_ACCOUNT_ID]) {
        assert.equal((await post(`groups/${ADMIN_AGENTS_GROUP_ID}/members/$ref`, t, ref(id))).status, 204);
        const twiceMember = await post(`groups/${ADMIN_AGENTS_GROUP_ID}/members/$ref`, t, ref(id));
        assert.equal(twiceMember.status, 400);
        assert.match(String(message(twiceMember)), /One or more added object references already exist/);
      }

      // The new secret gets an app-only token with the granted roles, and the app reads like a hand-made one.
      const token = await appOnly(appId, secret);
      assert.equal(token.status, 200, JSON.stringify(token.body));
      const roles = decodeJwt(String(token.body.access_token)).roles as string[];
      assert.deepEqual([...roles].sort(), [...REQUIRED_APP_ROLES].sort());
      const appOnlyToken = String(token.body.access_token);
      const memberOf = await graph(`servicePrincipals(appId='${appId}')/memberOf`, appOnlyToken);
      assert.deepEqual(memberOf.body.value?.map((g) => g.id), [ADMIN_AGENTS_GROUP_ID]);
      const assignments = await graph(`servicePrincipals/${spId}/appRoleAssignments`, appOnlyToken);
      assert.equal(assignments.body.value?.length, REQUIRED_APP_ROLES.length);
      const assignedTo = await graph(`servicePrincipals/${graphSp}/appRoleAssignedTo`, t);
      assert.equal(assignedTo.body.value?.filter((a) => a.principalId === spId).length, REQUIRED_APP_ROLES.length);
      const model = tenant().applications.find((a) => a.appId === appId)!;
      assert.deepEqual({ roles: [...model.requestedAppRoles].sort(), scopes: model.requestedScopes, pc: model.partnerCenterConsent, groups: model.servicePrincipalGroups },
        { roles: [...REQUIRED_APP_ROLES].sort(), scopes: ['User.Read'], pc: true, groups: ['AdminAgents'] });

      // Rotation: a second secret, then the first one removed; the old value stops working.
      const pw2 = await post(`applications(appId='${appId}')/addPassword`, t, { passwordCredential: { displayName: 'rotated', endDateTime: new Date(sim.now() + 365 * DAY).toISOString() } });
      assert.equal(pw2.status, 200);
      assert.equal((await post(`applications/${objectId}/removePassword`, t, { keyId: pw.body.keyId })).status, 204);
      assert.equal((await post(`applications/${objectId}/removePassword`, t, { keyId: pw.body.keyId })).status, 404);
      assert.equal((await appOnly(appId, secret)).status, 401);
      assert.equal((await appOnly(appId, String(pw2.body.secretText))).status, 200);
    });

    it('an app without its service principal cannot get a token (AADSTS7000229)', async () => {
      const t = await setupToken(SETUP_ADMIN_UPN);
      const created = await post('applications', t, appBody());
      const pw = await post(`applications/${String(created.body.id)}/addPassword`, t, { passwordCredential: { endDateTime: new Date(sim.now() + 30 * DAY).toISOString() } });
      assert.equal(pw.body.displayName, null, 'no displayName given, none returned');
      const reply = await appOnly(String(created.body.appId), String(pw.body.secretText));
      assert.equal(reply.status, 401);
      assert.deepEqual(reply.body.error_codes, [7000229]);
    });

    it('a tenant without the Partner Center service principal: a Partner Center sign-in answers AADSTS500011 until POST /servicePrincipals adds it', async () => {
      const t = await setupToken(SETUP_ADMIN_UPN);
      const pcSignIn = async () => {
        const { challenge } = await new CryptoProvider().generatePkceCodes();
        return signInWithoutBrowser({
          sim, tenant: PARTNER_TENANT_ID, clientId: SIM_SETUP_APP_ID, redirectUri: REDIRECT, codeChallenge: challenge,
          scope: 'https://api.partnercenter.microsoft.com/user_impersonation', upn: SERVICE_ACCOUNT_UPN, password: SERVICE_ACCOUNT_PASSWORD,
          mfa: true, consent: 'accept',
        });
      };
      await assert.rejects(pcSignIn(), (err: unknown) => err instanceof SignInError && err.error === 'invalid_resource' && err.aadsts === 500011);
      assert.equal((await post('servicePrincipals', t, { appId: PARTNER_CENTER_RESOURCE_APP_ID })).status, 201);
      assert.match(await pcSignIn(), /.+/);
    });

    it('a tenant half set up by hand: the tagged app is found, repaired in place, nothing duplicated', async () => {
      await sim.loadScenario('setup-half');
      const t = await setupToken(SETUP_ADMIN_UPN);
      const found = await graph(`applications?$filter=tags/any(t:t eq '${SETUP_APP_TAG}')`, t);
      assert.deepEqual(found.body.value?.map((a) => [a.id, a.appId]), [[APP_OBJECT_ID, APP_ID]]);
      assert.deepEqual((found.body.value![0]!.web as { redirectUris: string[] }).redirectUris, [REDIRECT]);
      assert.deepEqual((await graph(`servicePrincipals?$filter=appId eq '${APP_ID}'`, t)).body.value?.map((s) => s.id), [APP_SERVICE_PRINCIPAL_ID]);
      assert.deepEqual((await graph(`oauth2PermissionGrants?$filter=clientId eq '${APP_SERVICE_PRINCIPAL_ID}'`, t)).body.value, []);
      assert.deepEqual((await graph(`servicePrincipals/${APP_SERVICE_PRINCIPAL_ID}/appRoleAssignments`, t)).body.value, []);
      const members = await graph(`groups/${ADMIN_AGENTS_GROUP_ID}/members`, t);
      assert.deepEqual(members.body.value?.map((m) => m.id), [SERVICE_ACCOUNT_ID]);
      assert.equal((await post(`groups/${ADMIN_AGENTS_GROUP_ID}/members/$ref`, t, ref(SERVICE_ACCOUNT_ID))).status, 400, 'already a member');

      assert.equal((await patch(`applications/${APP_OBJECT_ID}`, t, { web: { redirectUris: [REDIRECT, CONSENT_REDIRECT] } })).status, 204);
      const after = await graph(`applications(appId='${APP_ID}')`, t);
      assert.deepEqual((after.body.web as { redirectUris: string[] }).redirectUris, [REDIRECT, CONSENT_REDIRECT]);
      assert.deepEqual(after.body.tags, [SETUP_APP_TAG], 'PATCH leaves what it does not name');
      assert.equal(tenant().applications.length, 1);
    });

    it('refuses bad redirect URIs and a nameless app with 400 Request_BadRequest, changing nothing', async () => {
      const t = await setupToken(SETUP_ADMIN_UPN);
      const noName = await post('applications', t, { tags: ['x'] });
      assert.equal(noName.status, 400);
      assert.equal(code(noName), 'Request_BadRequest');
      const plainHttp = await post('applications', t, { ...appBody(), web: { redirectUris: ['http://example.com/cb'] } });
      assert.equal(plainHttp.status, 400);
      assert.equal(tenant().applications.length, 0);
      const created = await post('applications', t, appBody());
      const dup = await patch(`applications/${String(created.body.id)}`, t, { web: { redirectUris: [REDIRECT, REDIRECT] } });
      assert.equal(dup.status, 400);
      assert.equal(code(dup), 'Request_BadRequest');
      assert.deepEqual(tenant().applications[0]!.redirectUris, [...SIM_SETUP_REDIRECT_URIS]);
    });
  });

  it('the upsert by uniqueName: 201 with the app when it made one, 204 when the key existed (updated, not duplicated, even while replicating), 404 without Prefer: create-if-missing', async () => {
    await sim.loadScenario('setup-slow');
    tenant().replication!.newObjectHiddenFromLists = true;
    const t = await setupToken(SETUP_ADMIN_UPN);
    const upsert = (key: string, body: unknown, create = true) => graph(`applications(uniqueName='${key}')`, t, { method: 'PATCH', body, headers: create ? { prefer: 'create-if-missing' } : {} });
    assert.equal((await upsert('no-such-key', appBody(), false)).status, 404, 'an update only, without the Prefer header');
    assert.equal(tenant().applications.length, 0);
    const noName = await upsert('key-1', { tags: ['x'] });
    assert.equal(noName.status, 400);
    assert.equal(code(noName), 'Request_BadRequest');

    const made = await upsert('key-1', appBody());
    assert.equal(made.status, 201);
    assert.equal(made.body.uniqueName, 'key-1');
    assert.equal(made.body.displayName, 'Contoso Partner onboarding');
    // Still replicating: missing from the tag list and 404 by id, yet the key finds it and updates it.
    assert.deepEqual((await graph(`applications?$filter=tags/any(t:t eq '${SETUP_APP_TAG}')`, t)).body.value, []);
    const again = await upsert('key-1', { ...appBody(), displayName: 'Renamed' });
    assert.equal(again.status, 204);
    assert.deepEqual(again.body, {});
    assert.equal(tenant().applications.length, 1);
    assert.equal(tenant().applications[0]!.displayName, 'Renamed');
    assert.equal((await upsert('key-1', { displayName: 'Without Prefer' }, false)).status, 204, 'an existing key is updated without the header too');
    assert.equal(tenant().applications[0]!.displayName, 'Without Prefer');

    const reads = [];
    for (let i = 0; i < 3; i++) reads.push(await graph(`applications(uniqueName='key-1')`, t));
    assert.deepEqual(reads.map((r) => r.status), [404, 404, 200], 'a read by the key waits for replication like a read by id');
    assert.equal(reads[2]!.body.id, made.body.id);
    assert.equal((await graph(`applications(uniqueName='key-2')`, t)).status, 404);
  });

  it('$batch carries the writes: each item answers as it would alone', async () => {
    const t = await setupToken(SETUP_ADMIN_UPN);
    const app = await post('applications', t, appBody());
    const sp = await post('servicePrincipals', t, { appId: app.body.appId });
    const graphSp = await graphSpId(t);
    const assign = (id: string, role: keyof typeof GRAPH_APP_ROLES) => ({
      id, method: 'POST', url: `/servicePrincipals/${String(sp.body.id)}/appRoleAssignments`, headers: { 'content-type': 'application/json' },
      body: { principalId: sp.body.id, resourceId: graphSp, appRoleId: GRAPH_APP_ROLES[role] },
    });
    const batch = await post('$batch', t, { requests: [assign('1', 'User.ReadWrite.All'), assign('2', 'Group.ReadWrite.All'), assign('3', 'User.ReadWrite.All')] });
    assert.equal(batch.status, 200);
    const statuses = (batch.body.responses as Array<{ id: string; status: number }>).map((r) => [r.id, r.status]);
    assert.deepEqual(statuses, [['1', 201], ['2', 201], ['3', 400]]);
  });

  describe("Microsoft's permission rules", () => {
    it('a member without an admin role: may register an app (default user permissions) unless the tenant forbids it; 403 Authorization_RequestDenied for consent and AdminAgents', async () => {
      await setupToken(SETUP_ADMIN_UPN); // tenant-wide consent, so a member's sign-in needs no prompt
      const t = await setupToken(HELPDESK_USER_UPN, {});
      const own = await post('applications', t, appBody('helpdesk-app'));
      assert.equal(own.status, 201, 'users can register applications by default');
      assert.equal((await post(`applications/${String(own.body.id)}/addPassword`, t, {})).status, 200, 'an owner manages its app');
      const admin = await setupToken(SETUP_ADMIN_UPN);
      const adminApp = await post('applications', admin, appBody());
      const sp = await post('servicePrincipals', admin, { appId: adminApp.body.appId });
      const graphSp = await graphSpId(t);
      const denied = [
        await post(`applications/${String(adminApp.body.id)}/addPassword`, t, {}),
        await patch(`applications/${String(adminApp.body.id)}`, t, { displayName: 'mine now' }),
        await post(`servicePrincipals/${graphSp}/appRoleAssignedTo`, t, { principalId: sp.body.id, resourceId: graphSp, appRoleId: GRAPH_APP_ROLES['User.ReadWrite.All'] }),
        await post('oauth2PermissionGrants', t, { clientId: sp.body.id, consentType: 'AllPrincipals', resourceId: graphSp, scope: 'User.Read' }),
        await post(`groups/${ADMIN_AGENTS_GROUP_ID}/members/$ref`, t, ref(String(sp.body.id))),
      ];
      for (const r of denied) {
        assert.equal(r.status, 403, JSON.stringify(r.body));
        assert.equal(code(r), 'Authorization_RequestDenied');
        assert.equal(message(r), 'Insufficient privileges to complete the operation.');
      }
      const model = tenant().applications.find((a) => a.appId === adminApp.body.appId)!;
      assert.deepEqual([model.secrets.length, model.grantedAppRoles, model.grantedScopes, model.servicePrincipalGroups, model.displayName],
        [0, [], [], [], 'Contoso Partner onboarding'], 'a refusal changes nothing');
      tenant().usersCanRegisterApps = false;
      const forbidden = await post('applications', t, appBody('again'));
      assert.equal(forbidden.status, 403);
      assert.equal(code(forbidden), 'Authorization_RequestDenied');
    });

    it('Privileged Role Administrator + Application Administrator: consent yes, AdminAgents membership no', async () => {
      const t = await setupToken(PRA_USER_UPN);
      const app = await post('applications', t, appBody());
      const sp = await post('servicePrincipals', t, { appId: app.body.appId });
      assert.equal(sp.status, 201);
      const graphSp = await graphSpId(t);
      assert.equal((await post(`servicePrincipals/${graphSp}/appRoleAssignedTo`, t, { principalId: sp.body.id, resourceId: graphSp, appRoleId: GRAPH_APP_ROLES['User.ReadWrite.All'] })).status, 201);
      assert.equal((await post('oauth2PermissionGrants', t, { clientId: sp.body.id, consentType: 'AllPrincipals', resourceId: graphSp, scope: 'User.Read' })).status, 201);
      const member = await post(`groups/${ADMIN_AGENTS_GROUP_ID}/members/$ref`, t, ref(String(sp.body.id)));
      assert.equal(member.status, 403, 'group membership needs Groups Administrator, User Administrator or Directory Writers');
    });

    it('an Application Administrator alone may not grant Microsoft Graph app roles (Privileged Role Administrator is the least role)', async () => {
      tenant().users.find((u) => u.userPrincipalName === PRA_USER_UPN)!.roles = ['Application Administrator'];
      const t = await setupToken(PRA_USER_UPN);
      const app = await post('applications', t, appBody());
      const sp = await post('servicePrincipals', t, { appId: app.body.appId });
      const graphSp = await graphSpId(t);
      const r = await post(`servicePrincipals/${graphSp}/appRoleAssignedTo`, t, { principalId: sp.body.id, resourceId: graphSp, appRoleId: GRAPH_APP_ROLES['User.ReadWrite.All'] });
      assert.equal(r.status, 403);
      assert.equal((await post('oauth2PermissionGrants', t, { clientId: sp.body.id, consentType: 'AllPrincipals', resourceId: graphSp, scope: 'User.Read' })).status, 201);
    });

    it('the scopes matter too: a token without AppRoleAssignment.ReadWrite.All gets 403 even for a Global Administrator', async () => {
      const { verifier, challenge } = await new CryptoProvider().generatePkceCodes();
      const scope = `${GRAPH}/Application.ReadWrite.All ${GRAPH}/Directory.Read.All`;
      const authCode = await signInWithoutBrowser({
        sim, tenant: PARTNER_TENANT_ID, clientId: SIM_SETUP_APP_ID, redirectUri: REDIRECT, codeChallenge: challenge, scope, prompt: 'login',
        upn: SETUP_ADMIN_UPN, password: SERVICE_ACCOUNT_PASSWORD, mfa: true, consent: 'accept',
      });
      const reply = await tokenEndpoint({ grant_type: 'authorization_code', client_id: SIM_SETUP_APP_ID, client_secret: SIM_SETUP_APP_SECRET, code: authCode, redirect_uri: REDIRECT, code_verifier: verifier, scope });
      const t = String(reply.body.access_token);
      const app = await post('applications', t, appBody());
      assert.equal(app.status, 201);
      const graphSp = await graphSpId(t);
      const r = await post(`servicePrincipals/${graphSp}/appRoleAssignedTo`, t, { principalId: APP_SERVICE_PRINCIPAL_ID, resourceId: graphSp, appRoleId: GRAPH_APP_ROLES['User.ReadWrite.All'] });
      assert.equal(r.status, 403);
      assert.equal(code(r), 'Authorization_RequestDenied');
    });

    it('tells a guest from a member: userType when selected', async () => {
      const t = await setupToken(SETUP_ADMIN_UPN);
      const guest = await graph(`users/${encodeURIComponent(GUEST_USER_UPN)}?$select=id,userPrincipalName,userType,accountEnabled`, t);
      assert.equal(guest.status, 200, JSON.stringify(guest.body));
      assert.deepEqual([guest.body.id, guest.body.userType, guest.body.accountEnabled], [GUEST_USER_ID, 'Guest', true]);
      const member = await graph(`users/${SERVICE_ACCOUNT_UPN}?$select=userType`, t);
      assert.equal(member.body.userType, 'Member');
      assert.equal((await graph(`users/${SERVICE_ACCOUNT_UPN}`, t)).body.userType, undefined, 'not in the default property set');
      assert.equal((await graph('users/nobody@contosopartner.onmicrosoft.com', t)).status, 404);
    });
  });

  describe('app management policy', () => {
    it('caps secret lifetime at 180 days: the default two years and 181 days are refused with CredentialInvalidLifetimeAsPerAppPolicy, 180 days works', async () => {
      await sim.loadScenario('setup-capped');
      const t = await setupToken(SETUP_ADMIN_UPN);
      const app = await post('applications', t, appBody());
      const path = `applications/${String(app.body.id)}/addPassword`;
      for (const body of [{}, { passwordCredential: { endDateTime: new Date(sim.now() + 181 * DAY).toISOString() } }]) {
        const r = await post(path, t, body);
        assert.equal(r.status, 400);
        assert.equal(code(r), 'CredentialInvalidLifetimeAsPerAppPolicy');
        assert.match(String(message(r)), /^Credential lifetime exceeds the max value allowed as per assigned policy '[0-9a-f-]{36}'\.$/);
        assert.deepEqual((r.body.error as { details: unknown[] }).details.map((d) => (d as { code: string; target: string })), [{ code: 'InvalidKeyEndDate', message: message(r), target: 'EndDate' }]);
      }
      assert.equal(tenant().applications[0]!.secrets.length, 0, 'a refusal adds nothing');
      const ok = await post(path, t, { passwordCredential: { endDateTime: new Date(sim.now() + 180 * DAY - 60_000).toISOString() } });
      assert.equal(ok.status, 200);
      // The cap is readable with a policy permission (the setup scopes have none).
      assert.equal((await graph('policies/defaultAppManagementPolicy', t)).status, 403);
      const policyReader = sim.signer.sign({ aud: GRAPH, tid: PARTNER_TENANT_ID, roles: ['Policy.Read.All'], appid: APP_ID, idtyp: 'app', iat: Math.floor(sim.now() / 1000), exp: Math.floor(sim.now() / 1000) + 3600 });
      const policy = await graph('policies/defaultAppManagementPolicy', policyReader);
      assert.deepEqual((policy.body.applicationRestrictions as { passwordCredentials: Array<Record<string, unknown>> }).passwordCredentials.map((p) => [p.restrictionType, p.maxLifetime]),
        [['passwordLifetime', 'P180D']]);
    });
  });

  describe('replication delay', () => {
    it('setup-slow: a new app and a new service principal answer 404 Request_ResourceNotFound twice, a new secret is refused twice (AADSTS7000215)', async () => {
      await sim.loadScenario('setup-slow');
      const t = await setupToken(SETUP_ADMIN_UPN);
      const app = await post('applications', t, appBody());
      const objectId = String(app.body.id);
      const appId = String(app.body.appId);
      const reads = [await graph(`applications/${objectId}`, t), await graph(`applications(appId='${appId}')`, t), await graph(`applications/${objectId}`, t)];
      assert.deepEqual(reads.map((r) => r.status), [404, 404, 200]);
      assert.equal(code(reads[0]!), 'Request_ResourceNotFound');
      assert.match(String(message(reads[0]!)), /does not exist or one of its queried reference-property objects are not present/);

      const sp = await post('servicePrincipals', t, { appId });
      assert.equal(sp.status, 201);
      const spId = String(sp.body.id);
      const adds = [];
      for (let i = 0; i < 3; i++) adds.push((await post(`groups/${ADMIN_AGENTS_GROUP_ID}/members/$ref`, t, ref(spId))).status);
      assert.deepEqual(adds, [404, 404, 204]);

      const pw = await post(`applications/${objectId}/addPassword`, t, { passwordCredential: { endDateTime: new Date(sim.now() + 365 * DAY).toISOString() } });
      const secret = String(pw.body.secretText);
      const tries = [];
      for (let i = 0; i < 3; i++) {
        const r = await appOnly(appId, secret);
        tries.push(r.status === 200 ? 200 : `${r.status} ${String(r.body.error)} ${(r.body.error_codes as number[])[0]}`);
      }
      assert.deepEqual(tries, ['401 invalid_client 7000215', '401 invalid_client 7000215', 200]);
    });

    it('with newObjectHiddenFromLists, a replicating app is missing from $filter queries too (listing refuses nothing)', async () => {
      await sim.loadScenario('setup-slow');
      tenant().replication!.newObjectHiddenFromLists = true;
      const t = await setupToken(SETUP_ADMIN_UPN);
      const app = await post('applications', t, appBody());
      const byTag = `applications?$filter=tags/any(t:t eq '${SETUP_APP_TAG}')`;
      assert.deepEqual((await graph(byTag, t)).body.value, []);
      assert.deepEqual((await graph(byTag, t)).body.value, []);
      assert.equal((await graph(`applications/${String(app.body.id)}`, t)).status, 404);
      assert.equal((await graph(`applications/${String(app.body.id)}`, t)).status, 404);
      assert.deepEqual((await graph(byTag, t)).body.value?.map((a) => a.id), [app.body.id]);
    });

    it('a not yet replicated appId makes POST /servicePrincipals answer 400 NoBackingApplicationObject', async () => {
      await sim.loadScenario('setup-slow');
      const t = await setupToken(SETUP_ADMIN_UPN);
      const app = await post('applications', t, appBody());
      const sp = await post('servicePrincipals', t, { appId: app.body.appId });
      assert.equal(sp.status, 400);
      assert.equal(code(sp), 'Request_BadRequest');
      assert.equal((sp.body.error as { details: Array<{ code: string }> }).details[0]!.code, 'NoBackingApplicationObject');
    });

    it('by time: an object and a secret stay invisible for the configured seconds on the simulator clock', async () => {
      tenant().replication = { newObjectNotFoundReads: 0, newObjectNotFoundSeconds: 30, newSecretRefusedAttempts: 0, newSecretRefusedSeconds: 60, newObjectHiddenFromLists: false };
      const t = await setupToken(SETUP_ADMIN_UPN);
      const app = await post('applications', t, appBody());
      const objectId = String(app.body.id);
      assert.equal((await graph(`applications/${objectId}`, t)).status, 404);
      assert.equal((await graph(`applications/${objectId}`, t)).status, 404);
      sim.advanceClock(31_000);
      assert.equal((await graph(`applications/${objectId}`, t)).status, 200);
      assert.equal((await post('servicePrincipals', t, { appId: app.body.appId })).status, 201);
      sim.advanceClock(31_000);
      const pw = await post(`applications/${objectId}/addPassword`, t, { passwordCredential: { endDateTime: new Date(sim.now() + 365 * DAY).toISOString() } });
      assert.equal((await appOnly(String(app.body.appId), String(pw.body.secretText))).status, 401);
      sim.advanceClock(61_000);
      assert.equal((await appOnly(String(app.body.appId), String(pw.body.secretText))).status, 200);
    });
  });
});
