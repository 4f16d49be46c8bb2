import assert from 'node:assert/strict';
import { msalCacheSecretName, PartnerTokenCacheStore } from '../../src/auth/partner-msal';
import { GRAPH_CHECK_SCOPES, PARTNER_CENTER_USER } from '../../src/credentials/scopes';
import { MicrosoftHttpClient } from '../../src/microsoft/http';
import { APP_ID, PARTNER_TENANT_ID, SERVICE_ACCOUNT_PASSWORD, SERVICE_ACCOUNT_UPN } from '../simulator/scenarios/ids';
import { completeEntraPage, ConsentHarness, pageText, PUBLIC_BASE_URL, textsOf, type TestPartner } from './consent-harness';

/**
 * The healthy path against the simulator, as a browser walks it: the link on the card, Entra's
 * sign-in page (password, MFA, consent), the callback, admin consent, and a Partner Center call
 * from the stored cache after a restart.
 */
describe('consent flow: the healthy partner', function () {
  this.timeout(60_000);
  let h: ConsentHarness;
  let p: TestPartner;
  let callback: string;

  before(async () => {
    h = await ConsentHarness.start('healthy');
    p = await h.partner();
  });
  after(() => h.stop());

  it('sends the browser to the partner tenant’s authority with code + PKCE S256, prompt=login, the service account as hint and the consent scopes', async () => {
    const link = await h.app.consent.signIn(p.tenant, p.person, p.conversationId);
    assert.match(link, /^http:\/\/localhost:3978\/auth\/start\?s=[A-Za-z0-9_.-]+$/);
    const s = new URL(link).searchParams.get('s')!;
    const start = await h.open(link);
    assert.equal(start.status, 302);
    const authorize = new URL(start.location!);
    assert.equal(`${authorize.origin}${authorize.pathname}`, `${h.sim.baseUrl}/${PARTNER_TENANT_ID}/oauth2/v2.0/authorize`);
    const q = authorize.searchParams;
    assert.equal(q.get('client_id'), APP_ID);
    assert.equal(q.get('response_type'), 'code');
    assert.equal(q.get('redirect_uri'), `${PUBLIC_BASE_URL}/auth/callback`);
    assert.equal(q.get('prompt'), 'login');
    assert.equal(q.get('login_hint'), SERVICE_ACCOUNT_UPN);
    assert.equal(q.get('code_challenge_method'), 'S256');
    assert.match(q.get('code_challenge')!, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(q.get('state'), s);
    const scopes = q.get('scope')!.split(' ');
    for (const scope of [PARTNER_CENTER_USER, 'offline_access', ...GRAPH_CHECK_SCOPES]) assert.ok(scopes.includes(scope), `scope ${scope} in ${q.get('scope')}`);
    // Opening the link again (before signing in) is fine: looking doesn't spend the state.
    assert.equal((await h.open(link)).status, 302);

    const entra = await completeEntraPage(start.location!, { upn: SERVICE_ACCOUNT_UPN, password: SERVICE_ACCOUNT_PASSWORD, mfa: true });
    assert.equal(entra.status, 302, pageText(entra.text).slice(0, 400));
    callback = entra.location!;
    assert.ok(callback.startsWith(`${PUBLIC_BASE_URL}/auth/callback?`));
  });

  it('verifies the sign-in, stores the cache, records the consent, says "done" and tells the chat', async () => {
    const done = await h.open(callback);
    assert.equal(done.status, 200, pageText(done.text));
    assert.match(pageText(done.text), /Done — go back to Teams/);
    assert.match(done.text, /href="http:\/\/localhost:3978\/auth\/adminconsent\/start\?s=/);

    const told = await p.chat.client.waitFor((entries) => textsOf(entries).find((t) => t.includes('Partner Center is connected')));
    // The chat names the Partner Center call the sign-in's token really made (no undocumented ValidateMfa verdict).
    assert.equal(told, `**Partner Center is connected.** \`${SERVICE_ACCOUNT_UPN}\` signed in with multi-factor authentication, and Partner Center accepted that sign-in: it returned your organization profile.\n\nOne step left: admin consent for your app’s Microsoft Graph permissions, on the card above.`);
    assert.match(pageText(done.text), /Partner Center accepted that sign-in: it returned your organization profile/);
    // No Continue stop: the journey's consent step carries on by itself (test/dialogs/checks.test.ts walks it).
    const transcript = await p.chat.client.transcript();
    assert.ok(!transcript.some((e) => /"title":"Continue"/.test(JSON.stringify(e.activity.attachments ?? []))), 'no Continue card');

    const partner = (await h.app.partners.get(p.tenant))!;
    assert.ok(partner.consent.at);
    assert.equal(partner.consent.account, SERVICE_ACCOUNT_UPN);
    assert.equal(partner.consent.adminConsentAt, undefined);
    assert.ok(await h.app.secrets.get(msalCacheSecretName(p.tenant)));
  });

  it('refuses the same callback a second time (replay, or a reload of the answer page): 410 on the page, the chat not told again', async () => {
    const before = (await p.chat.client.transcript()).length;
    const again = await h.open(callback);
    assert.equal(again.status, 410);
    assert.match(pageText(again.text), /That sign-in link was already used/);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await p.chat.client.transcript()).length, before, 'nothing more in the chat');
  });

  it('keeps the MSAL cache encrypted: no token text in any database table', async () => {
    const cache = JSON.parse((await new PartnerTokenCacheStore(h.app.secrets).read(p.tenant))!) as Record<string, Record<string, { secret?: string }>>;
    const tokens = ['RefreshToken', 'AccessToken', 'IdToken'].flatMap((kind) => Object.values(cache[kind] ?? {}).map((c) => c.secret!)).filter(Boolean);
    assert.ok(tokens.length >= 3, 'the cache holds a refresh token, an access token and an ID token');
    const tables = await h.app.db.query<{ tablename: string }>("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()");
    for (const { tablename } of tables) {
      const rows = await h.app.db.query<{ row: string }>(`SELECT row_to_json(t)::text AS row FROM "${tablename}" t`);
      for (const { row } of rows) {
        for (const token of tokens) {
          assert.ok(!row.includes(token) && !row.includes(token.slice(0, 40)), `token text found in table ${tablename}`);
          assert.ok(!row.includes(Buffer.from(token).toString('hex').slice(0, 80)), `token bytes found in table ${tablename}`);
        }
      }
    }
  });

  it('admin consent: the page’s link goes to the v2.0 /adminconsent with Graph’s /.default; the callback confirms the grants, records it and tells the chat', async () => {
    const partnerApp = h.partnerApp();
    partnerApp.grantedAppRoles = [];
    const link = await h.app.consent.adminConsent(p.tenant, p.person, p.conversationId);
    const s = new URL(link).searchParams.get('s')!;
    const start = await h.open(link);
    assert.equal(start.status, 302);
    const target = new URL(start.location!);
    assert.equal(`${target.origin}${target.pathname}`, `${h.sim.baseUrl}/${PARTNER_TENANT_ID}/v2.0/adminconsent`);
    assert.deepEqual([...target.searchParams.keys()].sort(), ['client_id', 'redirect_uri', 'scope', 'state']);
    assert.equal(target.searchParams.get('client_id'), APP_ID);
    assert.equal(target.searchParams.get('scope'), 'https://graph.microsoft.com/.default');
    assert.equal(target.searchParams.get('redirect_uri'), `${PUBLIC_BASE_URL}/auth/adminconsent/callback`);
    assert.equal(target.searchParams.get('state'), s);

    const entra = await completeEntraPage(start.location!, { upn: SERVICE_ACCOUNT_UPN, password: SERVICE_ACCOUNT_PASSWORD, mfa: true });
    assert.equal(entra.status, 302, pageText(entra.text).slice(0, 400));
    const back = await h.open(entra.location!);
    assert.equal(back.status, 200, pageText(back.text));
    assert.match(pageText(back.text), /Admin consent is granted/);
    assert.deepEqual(partnerApp.grantedAppRoles.length, 4);
    await p.chat.client.waitFor((entries) => textsOf(entries).includes('**Admin consent is granted.** Your app’s Microsoft Graph permissions are granted in your partner tenant.'));
    assert.ok((await h.app.partners.get(p.tenant))!.consent.adminConsentAt);
  });

  it('after a restart, the stored cache gives Partner Center tokens: cached first, then a real refresh', async () => {
    await h.restart();
    const cached = await h.app.tokens.userToken(p.tenant);
    assert.ok(cached.ok, JSON.stringify(cached));
    assert.equal(cached.redeemed, false);

    const usedBefore = (await h.app.partners.get(p.tenant))!.consent.usedAt!;
    const refreshed = await h.app.tokens.userToken(p.tenant, [PARTNER_CENTER_USER], { forceRefresh: true });
    assert.ok(refreshed.ok, JSON.stringify(refreshed));
    assert.equal(refreshed.redeemed, true);
    assert.notEqual(refreshed.accessToken, cached.accessToken);
    assert.ok((await h.app.partners.get(p.tenant))!.consent.usedAt! > usedBefore, 'a real redemption marks the consent used');

    const pc = new MicrosoftHttpClient({ baseUrl: `${h.sim.baseUrl}/partnercenter`, tokenProvider: h.app.tokens.userTokenFunction(p.tenant), scopes: [PARTNER_CENTER_USER], requestIds: 'partner-center' });
    const profile = await pc.request<{ tenantId: string }>('GET', '/v1/profiles/organization');
    assert.equal(profile.status, 200);
    assert.equal(profile.data.tenantId, PARTNER_TENANT_ID);

    // The same refresh token also gives the checks' delegated Graph scopes (consented at sign-in).
    const graph = await h.app.tokens.userToken(p.tenant, ['https://graph.microsoft.com/Policy.Read.All']);
    assert.ok(graph.ok, JSON.stringify(graph));
  });
});
