import assert from 'node:assert/strict';
import { ConfidentialClientApplication, CryptoProvider, PublicClientApplication, type Configuration } from '@azure/msal-node';
import type { SimRequest } from './http';
import type { Application } from './scenario';
import { startSimulator, type Simulator } from './server';
import { adminConsentWithoutBrowser, SignInError, signInWithoutBrowser } from './services/entra';
import { AUDIENCE, decodeJwt, parseScopes, verifyBearer } from './tokens';

// Ids from scenarios/entra-contract.json.
const PARTNER = 'e0000000-0000-4000-8000-000000000001';
const CUSTOMER = 'e0000000-0000-4000-8000-000000000002';
const ADMIN = { id: 'e0000000-0000-4000-8000-0000000000a1', upn: 'admin@contosopartner.onmicrosoft.com' };
const DUO = 'duo@contosopartner.onmicrosoft.com';
const PLAIN = { upn: 'plain@contosopartner.onmicrosoft.com', password: 'Plain-Passw0rd!' };
const CONNECTOR = {
  appId: 'e0000000-0000-4000-8000-0000000000b1',
  secret: 'Good~Secret.Value_0123456789abcdefghij',
  expiredSecret: 'Expired~Secret.Value_0123456789abcdefg',
  freshSecret: 'Fresh~Secret.Value_0123456789abcdefghi',
  goodSecretKeyId: 'e0000000-0000-4000-8000-0000000000c1',
  redirectUri: 'https://localhost:3978/auth/callback',
};
const PUBLIC_APP = { appId: 'e0000000-0000-4000-8000-0000000000d1', redirectUri: 'http://localhost:5000/redirect' };
const PC_SCOPE = 'https://api.partnercenter.microsoft.com/user_impersonation';
/** The delegated Graph permissions the bot asks consent for up front (extraScopesToConsent); all need admin consent. */
const BOT_GRAPH_SCOPES = ['RoleManagement.Read.Directory', 'Policy.Read.All', 'UserAuthenticationMethod.Read.All', 'DelegatedAdminRelationship.Read.All', 'Directory.Read.All'];
const BOT_GRAPH = BOT_GRAPH_SCOPES.map((s) => `https://graph.microsoft.com/${s}`);
const GRAPH_DEFAULT = 'https://graph.microsoft.com/.default';
const DAY = 86_400_000;

interface TokenReply { status: number; body: Record<string, unknown> }

describe('Entra ID simulator', () => {
  let sim: Simulator;

  before(async () => {
    sim = await startSimulator({ scenario: 'entra-contract' });
  });
  after(() => sim.stop());
  beforeEach(() => sim.loadScenario('entra-contract'));

  const authority = (tenant = PARTNER): string => `${sim.baseUrl}/${tenant}`;
  const msalAuth = (clientId: string, tenant = PARTNER): Configuration['auth'] => ({
    clientId,
    authority: authority(tenant),
    // The simulator's host:port; without it msal asks Microsoft's instance discovery about the authority.
    knownAuthorities: [new URL(sim.baseUrl).host],
  });
  const connector = (secret = CONNECTOR.secret): ConfidentialClientApplication =>
    new ConfidentialClientApplication({ auth: { ...msalAuth(CONNECTOR.appId), clientSecret: secret } });
  /** The connector's registration in the loaded scenario (tests change its grants). */
  const connectorApp = (): Application => sim.scenario.tenants[0]!.applications.find((a) => a.appId === CONNECTOR.appId)!;

  async function pkce(): Promise<{ verifier: string; challenge: string }> {
    return new CryptoProvider().generatePkceCodes();
  }

  async function token(tenant: string, fields: Record<string, string>): Promise<TokenReply> {
    const res = await fetch(`${sim.baseUrl}/${tenant}/oauth2/v2.0/token`, { method: 'POST', body: new URLSearchParams(fields) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  /** Signs in through the form and redeems the code over plain HTTP. */
  async function signInAndRedeem(opts: {
    upn: string; password?: string; mfa?: boolean; registerMfa?: boolean; scope: string; clientId?: string; redirectUri?: string; secret?: string; tenant?: string;
    consent?: 'accept' | 'cancel'; consentForOrganization?: boolean;
  }): Promise<TokenReply> {
    const { verifier, challenge } = await pkce();
    const clientId = opts.clientId ?? CONNECTOR.appId;
    const redirectUri = opts.redirectUri ?? CONNECTOR.redirectUri;
    const tenant = opts.tenant ?? PARTNER;
    const code = await signInWithoutBrowser({
      sim, tenant, clientId, redirectUri, codeChallenge: challenge, scope: opts.scope, upn: opts.upn, password: opts.password, mfa: opts.mfa, registerMfa: opts.registerMfa,
      consent: opts.consent, consentForOrganization: opts.consentForOrganization,
    });
    return token(tenant, {
      grant_type: 'authorization_code', client_id: clientId, code, redirect_uri: redirectUri, code_verifier: verifier, scope: opts.scope,
      ...(clientId === CONNECTOR.appId ? { client_secret: opts.secret ?? CONNECTOR.secret } : {}),
    });
  }

  function aadsts(reply: TokenReply): number | undefined {
    const codes = reply.body.error_codes;
    return Array.isArray(codes) && typeof codes[0] === 'number' ? codes[0] : undefined;
  }

  /** Records every URL msal (or anything else) fetches while `fn` runs. */
  async function recordingFetches<T>(fn: () => Promise<T>): Promise<{ result: T; urls: string[] }> {
    const original = globalThis.fetch;
    const urls: string[] = [];
    const recording: typeof fetch = (input, init) => {
      urls.push(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
      return original(input, init);
    };
    globalThis.fetch = recording;
    try {
      return { result: await fn(), urls };
    } finally {
      globalThis.fetch = original;
    }
  }

  describe('metadata', () => {
    it('serves OpenID configuration with absolute endpoints on the simulator, by tenant id or domain', async () => {
      for (const tenant of [PARTNER, 'contoso-partner.example']) {
        const res = await fetch(`${sim.baseUrl}/${tenant}/v2.0/.well-known/openid-configuration`);
        assert.equal(res.status, 200);
        const doc = (await res.json()) as Record<string, unknown>;
        assert.equal(doc.issuer, `${sim.baseUrl}/${PARTNER}/v2.0`);
        assert.equal(doc.token_endpoint, `${sim.baseUrl}/${PARTNER}/oauth2/v2.0/token`);
        assert.equal(doc.authorization_endpoint, `${sim.baseUrl}/${PARTNER}/oauth2/v2.0/authorize`);
        for (const key of ['jwks_uri', 'end_session_endpoint', 'device_authorization_endpoint', 'userinfo_endpoint']) {
          assert.ok(String(doc[key]).startsWith(`${sim.baseUrl}/`), `${key}: ${String(doc[key])}`);
        }
      }
      const common = (await (await fetch(`${sim.baseUrl}/common/v2.0/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
      assert.equal(common.issuer, `${sim.baseUrl}/{tenantid}/v2.0`);
      assert.equal(common.token_endpoint, `${sim.baseUrl}/common/oauth2/v2.0/token`);
    });

    it('publishes the signing key, answers instance discovery, and refuses unknown tenants with AADSTS90002', async () => {
      const jwks = (await (await fetch(`${sim.baseUrl}/${PARTNER}/discovery/v2.0/keys`)).json()) as { keys: Array<{ kid: string; kty: string }> };
      assert.equal(jwks.keys[0]?.kid, sim.signer.kid);
      const host = new URL(sim.baseUrl).host;
      const authorizeUrl = encodeURIComponent(`${sim.baseUrl}/${PARTNER}/oauth2/v2.0/authorize`);
      const discovery = (await (await fetch(`${sim.baseUrl}/common/discovery/instance?api-version=1.1&authorization_endpoint=${authorizeUrl}`)).json()) as Record<string, unknown>;
      assert.equal(discovery.tenant_discovery_endpoint, `${sim.baseUrl}/${PARTNER}/v2.0/.well-known/openid-configuration`);
      assert.deepEqual(discovery.metadata, [{ preferred_network: host, preferred_cache: host, aliases: [host] }]);

      const unknown = await fetch(`${sim.baseUrl}/nosuchtenant.onmicrosoft.com/v2.0/.well-known/openid-configuration`);
      assert.equal(unknown.status, 400);
      assert.match(String(((await unknown.json()) as { error_description: string }).error_description), /^AADSTS90002: Tenant 'nosuchtenant\.onmicrosoft\.com' not found/);
    });
  });

  describe('authorization code + PKCE with msal-node', () => {
    it('signs in with MFA, redeems the code, refreshes silently, and talks to nobody but the simulator', async () => {
      const app = connector();
      const logStart = sim.requests.length;
      const { result, urls } = await recordingFetches(async () => {
        const { verifier, challenge } = await pkce();
        const authUrl = new URL(await app.getAuthCodeUrl({
          scopes: [PC_SCOPE], redirectUri: CONNECTOR.redirectUri, codeChallenge: challenge, codeChallengeMethod: 'S256', prompt: 'login', state: 'st-1',
        }));
        assert.equal(`${authUrl.origin}${authUrl.pathname}`, `${sim.baseUrl}/${PARTNER}/oauth2/v2.0/authorize`);
        assert.equal(authUrl.searchParams.get('prompt'), 'login');

        const pageRes = await fetch(authUrl);
        assert.equal(pageRes.status, 200);
        const html = await pageRes.text();
        assert.match(html, /<form method="post"/);
        assert.match(html, /admin@contosopartner\.onmicrosoft\.com/);

        const code = await signInWithoutBrowser({
          sim, tenant: PARTNER, clientId: CONNECTOR.appId, redirectUri: CONNECTOR.redirectUri, codeChallenge: challenge,
          scope: authUrl.searchParams.get('scope') ?? '', state: 'st-1', upn: ADMIN.upn, mfa: true,
        });
        const first = await app.acquireTokenByCode({ code, scopes: [PC_SCOPE], redirectUri: CONNECTOR.redirectUri, codeVerifier: verifier });
        assert.ok(first.account);
        const refreshed = await app.acquireTokenSilent({ account: first.account, scopes: [PC_SCOPE], forceRefresh: true });
        await assert.rejects(
          app.acquireTokenByCode({ code, scopes: [PC_SCOPE], redirectUri: CONNECTOR.redirectUri, codeVerifier: verifier }),
          /AADSTS54005/,
        );
        return { first, refreshed };
      });
      const { first, refreshed } = result;

      const claims = decodeJwt(first.accessToken);
      assert.equal(claims.aud, 'https://api.partnercenter.microsoft.com');
      assert.equal(claims.iss, `https://sts.windows.net/${PARTNER}/`);
      assert.equal(claims.ver, '1.0');
      assert.equal(claims.tid, PARTNER);
      assert.equal(claims.oid, ADMIN.id);
      assert.equal(claims.upn, ADMIN.upn);
      assert.equal(claims.unique_name, ADMIN.upn);
      assert.equal(claims.azp, undefined, 'azp is a v2.0 claim; v1.0 tokens carry appid');
      assert.equal(claims.appid, CONNECTOR.appId);
      assert.equal(claims.scp, 'user_impersonation');
      assert.deepEqual(claims.amr, ['pwd', 'mfa']);
      assert.equal(first.account?.homeAccountId, `${ADMIN.id}.${PARTNER}`);
      assert.equal(first.account?.username, ADMIN.upn);
      assert.equal(first.account?.tenantId, PARTNER);
      const idClaims = decodeJwt(first.idToken);
      assert.equal(idClaims.aud, CONNECTOR.appId);
      assert.equal(idClaims.ver, '2.0');
      assert.equal(idClaims.amr, undefined, 'a v2.0 ID token has no amr: MFA is read from the access token');

      assert.notEqual(refreshed.accessToken, first.accessToken);
      assert.deepEqual(decodeJwt(refreshed.accessToken).amr, ['pwd', 'mfa']);
      assert.ok(sim.signer.verify(refreshed.accessToken, sim.now()).ok);

      assert.ok(urls.length >= 4, urls.join('\n'));
      for (const url of urls) assert.ok(url.startsWith(`${sim.baseUrl}/`), `request outside the simulator: ${url}`);
      const log = sim.requests.slice(logStart);
      assert.ok(log.some((r) => r.path === `/${PARTNER}/v2.0/.well-known/openid-configuration` && r.status === 200));
      assert.ok(!log.some((r) => r.path.endsWith('/discovery/instance')), 'msal tried instance discovery');
      assert.equal(log.filter((r) => r.path === `/${PARTNER}/oauth2/v2.0/token` && r.status === 200).length, 2);
    });

    it('gives a Duo (third-party MFA) user a token without mfa in amr, through a public client', async () => {
      const app = new PublicClientApplication({ auth: msalAuth(PUBLIC_APP.appId) });
      const { verifier, challenge } = await pkce();
      const scopes = ['https://graph.microsoft.com/User.Read'];
      const authUrl = new URL(await app.getAuthCodeUrl({ scopes, redirectUri: PUBLIC_APP.redirectUri, codeChallenge: challenge, codeChallengeMethod: 'S256' }));
      const code = await signInWithoutBrowser({
        sim, tenant: PARTNER, clientId: PUBLIC_APP.appId, redirectUri: PUBLIC_APP.redirectUri, codeChallenge: challenge,
        scope: authUrl.searchParams.get('scope') ?? '', upn: DUO, mfa: true,
      });
      const result = await app.acquireTokenByCode({ code, scopes, redirectUri: PUBLIC_APP.redirectUri, codeVerifier: verifier });
      const claims = decodeJwt(result.accessToken);
      assert.equal(claims.aud, 'https://graph.microsoft.com');
      assert.deepEqual(claims.amr, ['pwd']);
      assert.equal(claims.appidacr, '0');
      assert.ok(claims.scp?.split(' ').includes('User.Read'));
    });

    it('binds the nonce into the id token when msal sends one', async () => {
      const app = connector();
      const { verifier, challenge } = await pkce();
      const scopes = [PC_SCOPE];
      const authUrl = new URL(await app.getAuthCodeUrl({ scopes, redirectUri: CONNECTOR.redirectUri, codeChallenge: challenge, codeChallengeMethod: 'S256', nonce: 'n-0S6_WzA2Mj' }));
      const code = await signInWithoutBrowser({
        sim, tenant: PARTNER, clientId: CONNECTOR.appId, redirectUri: CONNECTOR.redirectUri, codeChallenge: challenge,
        scope: authUrl.searchParams.get('scope') ?? '', nonce: authUrl.searchParams.get('nonce') ?? undefined, upn: ADMIN.upn, mfa: true,
      });
      const result = await app.acquireTokenByCode({ code, scopes, redirectUri: CONNECTOR.redirectUri, codeVerifier: verifier, nonce: 'n-0S6_WzA2Mj' });
      assert.equal(decodeJwt(result.idToken).nonce, 'n-0S6_WzA2Mj');
    });

    it('accepts common: the token belongs to the tenant of whoever signed in', async () => {
      const reply = await signInAndRedeem({ tenant: 'common', upn: 'admin@fabrikamcustomer.onmicrosoft.com', mfa: true, scope: 'openid profile offline_access User.Read' });
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      assert.equal(decodeJwt(String(reply.body.access_token)).tid, CUSTOMER);
      assert.equal(decodeJwt(String(reply.body.id_token)).tid, CUSTOMER);
      assert.equal(typeof reply.body.refresh_token, 'string');
      assert.equal(JSON.parse(Buffer.from(String(reply.body.client_info), 'base64url').toString('utf8')).utid, CUSTOMER);
    });
  });

  describe('sign-in failures', () => {
    const base = { tenant: PARTNER, clientId: CONNECTOR.appId, redirectUri: CONNECTOR.redirectUri, codeChallenge: 'x'.repeat(43), scope: PC_SCOPE };
    const cases: Array<[string, { upn: string; password?: string; mfa?: boolean }, string, number]> = [
      ['unknown account', { upn: 'nobody@contosopartner.onmicrosoft.com' }, 'page', 50034],
      ['wrong password', { upn: ADMIN.upn, password: 'nope', mfa: true }, 'page', 50126],
      ['disabled account', { upn: 'disabled@contosopartner.onmicrosoft.com' }, 'page', 50057],
      ['account from another tenant', { upn: 'admin@fabrikamcustomer.onmicrosoft.com', mfa: true }, 'page', 50020],
    ];
    for (const [what, user, error, code] of cases) {
      it(`${what} → AADSTS${code}`, async () => {
        await assert.rejects(signInWithoutBrowser({ sim, ...base, ...user }), (err: unknown) => {
          assert.ok(err instanceof SignInError);
          assert.equal(err.error, error);
          assert.equal(err.aadsts, code);
          assert.match(err.message, new RegExp(`AADSTS${code}: `));
          return true;
        });
      });
    }

    it('asks for the second factor on the sign-in page, never as an error on the redirect URI', async () => {
      const fields = {
        client_id: CONNECTOR.appId, redirect_uri: CONNECTOR.redirectUri, response_type: 'code', scope: PC_SCOPE, state: 'keep-me',
        code_challenge: 'x'.repeat(43), code_challenge_method: 'S256', upn: ADMIN.upn, password: 'Passw0rd!',
      };
      const url = `${sim.baseUrl}/${PARTNER}/oauth2/v2.0/authorize`;
      const asked = await fetch(url, { method: 'POST', redirect: 'manual', body: new URLSearchParams(fields) });
      assert.equal(asked.status, 200);
      assert.equal(asked.headers.get('location'), null);
      const html = await asked.text();
      assert.match(html, /data-step="mfa"/);
      assert.match(html, /name="mfa"/);
      const approved = await fetch(url, { method: 'POST', redirect: 'manual', body: new URLSearchParams({ ...fields, mfa: 'on' }) });
      assert.equal(approved.status, 302);
      const location = new URL(approved.headers.get('location') ?? '');
      assert.equal(location.searchParams.get('error'), null);
      assert.ok(location.searchParams.get('code'));
      assert.equal(location.searchParams.get('state'), 'keep-me');

      await assert.rejects(signInWithoutBrowser({ sim, ...base, upn: ADMIN.upn, mfa: false }),
        (err: unknown) => err instanceof SignInError && err.error === 'page' && err.step === 'mfa' && err.aadsts === undefined);
    });

    it('makes a user without a method register one on the page, then signs in with mfa in amr', async () => {
      sim.scenario.tenants[0]!.users.find((u) => u.userPrincipalName === PLAIN.upn)!.mfaEnforced = true;
      await assert.rejects(signInWithoutBrowser({ sim, ...base, ...PLAIN, scope: 'openid offline_access User.Read', mfa: true }),
        (err: unknown) => err instanceof SignInError && err.step === 'mfa-registration');
      const reply = await signInAndRedeem({ ...PLAIN, scope: 'openid offline_access User.Read', mfa: true, registerMfa: true });
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      assert.deepEqual(decodeJwt(String(reply.body.access_token)).amr, ['pwd', 'mfa']);
    });

    it('refuses a redirect URI that is not registered, on the page', async () => {
      const res = await fetch(`${sim.baseUrl}/${PARTNER}/oauth2/v2.0/authorize?client_id=${CONNECTOR.appId}&redirect_uri=${encodeURIComponent('https://evil.example/cb')}&response_type=code&scope=openid&code_challenge=abc&code_challenge_method=S256`, { redirect: 'manual' });
      assert.equal(res.status, 200);
      assert.match(await res.text(), /AADSTS50011/);
    });

    it('requires PKCE', async () => {
      const res = await fetch(`${sim.baseUrl}/${PARTNER}/oauth2/v2.0/authorize?client_id=${CONNECTOR.appId}&redirect_uri=${encodeURIComponent(CONNECTOR.redirectUri)}&response_type=code&scope=openid&state=s`, { redirect: 'manual' });
      assert.equal(res.status, 302);
      const location = new URL(res.headers.get('location') ?? '');
      assert.equal(location.searchParams.get('error'), 'invalid_request');
      assert.match(location.searchParams.get('error_description') ?? '', /code_challenge/);
    });
  });

  describe('code redemption', () => {
    async function codeFor(challenge: string): Promise<string> {
      return signInWithoutBrowser({ sim, tenant: PARTNER, clientId: CONNECTOR.appId, redirectUri: CONNECTOR.redirectUri, codeChallenge: challenge, scope: PC_SCOPE, upn: ADMIN.upn, mfa: true });
    }
    const redeem = (code: string, verifier: string, extra: Record<string, string> = {}): Promise<TokenReply> => token(PARTNER, {
      grant_type: 'authorization_code', client_id: CONNECTOR.appId, client_secret: CONNECTOR.secret, code,
      redirect_uri: CONNECTOR.redirectUri, code_verifier: verifier, scope: `${PC_SCOPE} offline_access`, ...extra,
    });

    it('checks the code verifier, the redirect URI, and the ten-minute lifetime', async () => {
      const { verifier, challenge } = await pkce();
      const other = await pkce();
      const wrongVerifier = await redeem(await codeFor(challenge), other.verifier);
      assert.equal(wrongVerifier.body.error, 'invalid_grant');
      assert.equal(aadsts(wrongVerifier), 501481);

      const wrongRedirect = await redeem(await codeFor(challenge), verifier, { redirect_uri: 'https://localhost:3978/other' });
      assert.equal(aadsts(wrongRedirect), 500112);

      const late = await codeFor(challenge);
      sim.advanceClock(11 * 60_000);
      const expired = await redeem(late, verifier);
      assert.equal(expired.status, 400);
      assert.equal(aadsts(expired), 70008);
      assert.match(String(expired.body.error_description), /^AADSTS70008: /);
      assert.equal(typeof expired.body.trace_id, 'string');
      assert.equal(typeof expired.body.correlation_id, 'string');
    });

    it('needs the secret of a confidential client', async () => {
      const { verifier, challenge } = await pkce();
      const reply = await token(PARTNER, {
        grant_type: 'authorization_code', client_id: CONNECTOR.appId, code: await codeFor(challenge),
        redirect_uri: CONNECTOR.redirectUri, code_verifier: verifier, scope: PC_SCOPE,
      });
      assert.equal(reply.status, 401);
      assert.equal(reply.body.error, 'invalid_client');
      assert.equal(aadsts(reply), 7000218);
    });
  });

  describe('client credentials', () => {
    it('issues an app-only Graph token carrying the granted app roles', async () => {
      const result = await connector().acquireTokenByClientCredential({ scopes: [GRAPH_DEFAULT] });
      assert.ok(result);
      const claims = decodeJwt(result.accessToken);
      assert.equal(claims.aud, 'https://graph.microsoft.com');
      assert.equal(claims.tid, PARTNER);
      assert.equal(claims.appid, CONNECTOR.appId);
      assert.equal(claims.idtyp, 'app');
      assert.equal(claims.oid, 'e0000000-0000-4000-8000-0000000000b3');
      assert.deepEqual(claims.roles, ['Directory.ReadWrite.All', 'User.ReadWrite.All']);
      assert.equal(claims.scp, undefined);
    });

    it('maps the simulator Graph base URL to the real Graph audience', async () => {
      const reply = await token(PARTNER, { grant_type: 'client_credentials', client_id: CONNECTOR.appId, client_secret: CONNECTOR.secret, scope: `${sim.baseUrl}/graph/.default` });
      assert.equal(reply.status, 200);
      assert.equal(decodeJwt(String(reply.body.access_token)).aud, 'https://graph.microsoft.com');
      assert.deepEqual(Object.keys(reply.body).sort(), ['access_token', 'expires_in', 'ext_expires_in', 'token_type']);
    });

    const secretCases: Array<[string, () => string, number]> = [
      ['a secret with a trailing space', () => `${CONNECTOR.secret} `, 7000215],
      ["the secret's key id instead of its value", () => CONNECTOR.goodSecretKeyId, 7000215],
      ['an expired secret', () => CONNECTOR.expiredSecret, 7000222],
      ['a secret not replicated yet', () => CONNECTOR.freshSecret, 7000215],
    ];
    for (const [what, secret, code] of secretCases) {
      it(`refuses ${what} (AADSTS${code}) through msal-node`, async () => {
        await assert.rejects(connector(secret()).acquireTokenByClientCredential({ scopes: [GRAPH_DEFAULT] }), (err: unknown) => {
          assert.ok(err instanceof Error);
          assert.match(err.message, new RegExp(`AADSTS${code}`));
          assert.equal((err as { errorCode?: unknown }).errorCode, 'invalid_client');
          return true;
        });
      });
    }

    it('accepts a fresh secret once it has replicated', async () => {
      const before = await token(PARTNER, { grant_type: 'client_credentials', client_id: CONNECTOR.appId, client_secret: CONNECTOR.freshSecret, scope: GRAPH_DEFAULT });
      assert.equal(aadsts(before), 7000215);
      sim.advanceClock(121_000);
      const after = await token(PARTNER, { grant_type: 'client_credentials', client_id: CONNECTOR.appId, client_secret: CONNECTOR.freshSecret, scope: GRAPH_DEFAULT });
      assert.equal(after.status, 200);
    });

    it('names unknown tenants (90002), unknown clients (700016) and non-.default scopes (1002012)', async () => {
      const unknownTenant = await token('nosuch.onmicrosoft.com', { grant_type: 'client_credentials', client_id: CONNECTOR.appId, client_secret: CONNECTOR.secret, scope: GRAPH_DEFAULT });
      assert.equal(unknownTenant.status, 400);
      assert.equal(unknownTenant.body.error, 'invalid_request');
      assert.equal(aadsts(unknownTenant), 90002);

      const unknownClient = await token(PARTNER, { grant_type: 'client_credentials', client_id: 'e0000000-0000-4000-8000-00000000ffff', client_secret: 'x', scope: GRAPH_DEFAULT });
      assert.equal(unknownClient.body.error, 'unauthorized_client');
      assert.equal(aadsts(unknownClient), 700016);

      const appInOtherTenant = await token(CUSTOMER, { grant_type: 'client_credentials', client_id: CONNECTOR.appId, client_secret: CONNECTOR.secret, scope: GRAPH_DEFAULT });
      assert.equal(aadsts(appInOtherTenant), 700016);

      const namedScope = await token(PARTNER, { grant_type: 'client_credentials', client_id: CONNECTOR.appId, client_secret: CONNECTOR.secret, scope: 'https://graph.microsoft.com/User.Read.All' });
      assert.equal(namedScope.body.error, 'invalid_scope');
      assert.equal(aadsts(namedScope), 1002012);
    });
  });

  describe('refresh tokens', () => {
    async function signedInApp(): Promise<{ app: ConfidentialClientApplication; account: NonNullable<Awaited<ReturnType<ConfidentialClientApplication['acquireTokenByCode']>>['account']> }> {
      const app = connector();
      const { verifier, challenge } = await pkce();
      const scopes = [PC_SCOPE];
      const authUrl = new URL(await app.getAuthCodeUrl({ scopes, redirectUri: CONNECTOR.redirectUri, codeChallenge: challenge, codeChallengeMethod: 'S256' }));
      const code = await signInWithoutBrowser({
        sim, tenant: PARTNER, clientId: CONNECTOR.appId, redirectUri: CONNECTOR.redirectUri, codeChallenge: challenge,
        scope: authUrl.searchParams.get('scope') ?? '', upn: ADMIN.upn, mfa: true,
      });
      const result = await app.acquireTokenByCode({ code, scopes, redirectUri: CONNECTOR.redirectUri, codeVerifier: verifier });
      assert.ok(result.account);
      return { app, account: result.account };
    }

    it('dies after 90 days unused (AADSTS700082), but lives as long as it is used', async () => {
      const { app, account } = await signedInApp();
      sim.advanceClock(80 * DAY);
      await app.acquireTokenSilent({ account, scopes: [PC_SCOPE], forceRefresh: true });
      sim.advanceClock(80 * DAY);
      await app.acquireTokenSilent({ account, scopes: [PC_SCOPE], forceRefresh: true });
      sim.advanceClock(91 * DAY);
      await assert.rejects(app.acquireTokenSilent({ account, scopes: [PC_SCOPE], forceRefresh: true }), (err: unknown) => {
        assert.ok(err instanceof Error);
        assert.equal(err.name, 'InteractionRequiredAuthError');
        assert.match(err.message, /AADSTS700082/);
        return true;
      });
    });

    it('dies when the user’s sessions are revoked (50173) or the account is disabled (50057)', async () => {
      const { app, account } = await signedInApp();
      const user = sim.scenario.tenants[0]!.users.find((u) => u.id === ADMIN.id)!;
      user.sessionsRevokedAt = new Date(sim.now() + 1000).toISOString();
      sim.advanceClock(2000);
      await assert.rejects(app.acquireTokenSilent({ account, scopes: [PC_SCOPE], forceRefresh: true }), /AADSTS50173/);

      const again = await signedInApp();
      user.accountEnabled = false;
      await assert.rejects(again.app.acquireTokenSilent({ account: again.account, scopes: [PC_SCOPE], forceRefresh: true }), /AADSTS50057/);
    });

    it('asks for MFA at the token endpoint (50076, or 50079 without a method; suberror basic_action) when MFA was enforced after sign-in', async () => {
      const refresh = (rt: unknown) => token(PARTNER, {
        grant_type: 'refresh_token', client_id: CONNECTOR.appId, client_secret: CONNECTOR.secret,
        refresh_token: String(rt), scope: 'openid offline_access User.Read',
      });
      const users = sim.scenario.tenants[0]!.users;
      const plain = await signInAndRedeem({ upn: PLAIN.upn, password: PLAIN.password, scope: 'openid offline_access User.Read' });
      assert.equal(plain.status, 200, JSON.stringify(plain.body));
      users.find((u) => u.userPrincipalName === PLAIN.upn)!.mfaEnforced = true;
      const enroll = await refresh(plain.body.refresh_token);
      assert.equal(enroll.body.error, 'invalid_grant');
      assert.equal(enroll.body.suberror, 'basic_action');
      assert.equal(aadsts(enroll), 50079);

      const admin = users.find((u) => u.id === ADMIN.id)!;
      admin.mfaEnforced = false;
      const noMfa = await signInAndRedeem({ upn: ADMIN.upn, scope: 'openid offline_access User.Read' });
      assert.deepEqual(decodeJwt(String(noMfa.body.access_token)).amr, ['pwd']);
      admin.mfaEnforced = true;
      const challenge = await refresh(noMfa.body.refresh_token);
      assert.equal(challenge.body.suberror, 'basic_action');
      assert.equal(aadsts(challenge), 50076);
    });

    it('rotates: every refresh returns a new refresh token, and the old one stays valid', async () => {
      const first = await signInAndRedeem({ upn: ADMIN.upn, mfa: true, scope: `${PC_SCOPE} offline_access` });
      const refresh = (rt: unknown) => token(PARTNER, { grant_type: 'refresh_token', client_id: CONNECTOR.appId, client_secret: CONNECTOR.secret, refresh_token: String(rt), scope: `${PC_SCOPE} offline_access` });
      const second = await refresh(first.body.refresh_token);
      assert.equal(second.status, 200);
      assert.equal(typeof second.body.refresh_token, 'string');
      assert.notEqual(second.body.refresh_token, first.body.refresh_token);
      const again = await refresh(first.body.refresh_token);
      assert.equal(again.status, 200, 'a redeemed refresh token stays valid until it expires or is revoked');
    });

    it('acquireTokenSilent keeps working across rotation: msal stores the newest refresh token', async () => {
      const { app, account } = await signedInApp();
      const rt = (): string => {
        const cache = JSON.parse(app.getTokenCache().serialize()) as { RefreshToken: Record<string, { secret: string }> };
        return Object.values(cache.RefreshToken)[0]!.secret;
      };
      const before = rt();
      const one = await app.acquireTokenSilent({ account, scopes: [PC_SCOPE], forceRefresh: true });
      const middle = rt();
      assert.notEqual(middle, before);
      sim.advanceClock(60 * DAY);
      const two = await app.acquireTokenSilent({ account, scopes: [PC_SCOPE], forceRefresh: true });
      assert.notEqual(rt(), middle);
      assert.deepEqual(decodeJwt(two.accessToken).amr, ['pwd', 'mfa']);
      assert.notEqual(one.accessToken, two.accessToken);
    });

    it('gives access tokens a random 60–90 minute lifetime (expires_in matches exp)', async () => {
      const lifetimes = new Set<number>();
      for (let i = 0; i < 12; i++) {
        const reply = await token(PARTNER, { grant_type: 'client_credentials', client_id: CONNECTOR.appId, client_secret: CONNECTOR.secret, scope: GRAPH_DEFAULT });
        const expiresIn = Number(reply.body.expires_in);
        assert.ok(expiresIn >= 3600 && expiresIn <= 5400, `expires_in ${expiresIn}`);
        const claims = decodeJwt(String(reply.body.access_token));
        assert.equal(claims.exp! - claims.iat!, expiresIn);
        assert.equal(claims.ver, '1.0');
        assert.equal(claims.iss, `https://sts.windows.net/${PARTNER}/`);
        lifetimes.add(expiresIn);
      }
      assert.ok(lifetimes.size > 1, 'every token had the same lifetime');
    });

    it('survives a password reset for a confidential client; a public client\'s token dies (50173)', async () => {
      const users = sim.scenario.tenants[0]!.users;
      const admin = users.find((u) => u.id === ADMIN.id)!;
      const confidential = await signedInApp();
      const publicApp = sim.scenario.tenants[0]!.applications.find((a) => a.appId === PUBLIC_APP.appId)!;
      publicApp.grantedScopes = ['User.Read'];
      const pub = await signInAndRedeem({ clientId: PUBLIC_APP.appId, redirectUri: PUBLIC_APP.redirectUri, upn: ADMIN.upn, mfa: true, scope: 'openid offline_access User.Read' });
      assert.equal(pub.status, 200, JSON.stringify(pub.body));
      admin.passwordChangedAt = new Date(sim.now() + 1000).toISOString();
      sim.advanceClock(2000);
      await confidential.app.acquireTokenSilent({ account: confidential.account, scopes: [PC_SCOPE], forceRefresh: true });
      const publicRefresh = await token(PARTNER, { grant_type: 'refresh_token', client_id: PUBLIC_APP.appId, refresh_token: String(pub.body.refresh_token), scope: 'openid offline_access User.Read' });
      assert.equal(aadsts(publicRefresh), 50173);
    });

    it('dies with the device (700003) and with a sign-in frequency policy (70043)', async () => {
      const tenant = sim.scenario.tenants[0]!;
      const admin = tenant.users.find((u) => u.id === ADMIN.id)!;
      const a = await signedInApp();
      admin.deviceDeletedAt = new Date(sim.now() + 1000).toISOString();
      sim.advanceClock(2000);
      await assert.rejects(a.app.acquireTokenSilent({ account: a.account, scopes: [PC_SCOPE], forceRefresh: true }), /AADSTS700003/);
      delete admin.deviceDeletedAt;

      tenant.conditionalAccessPolicies.push({
        id: 'e0000000-0000-4000-8000-0000000000f1', displayName: 'Admins sign in every 12 hours', state: 'enabled',
        requiresMfa: true, excludesServiceProviderUsers: false, signInFrequency: { value: 12, type: 'hours' },
      });
      const b = await signedInApp();
      sim.advanceClock(11 * 3_600_000);
      await b.app.acquireTokenSilent({ account: b.account, scopes: [PC_SCOPE], forceRefresh: true });
      sim.advanceClock(2 * 3_600_000);
      await assert.rejects(b.app.acquireTokenSilent({ account: b.account, scopes: [PC_SCOPE], forceRefresh: true }), /AADSTS70043/);
    });
  });

  describe('consent', () => {
    it('refuses delegated scopes the app has no consent for at the token endpoint (AADSTS65001, consent_required)', async () => {
      // The sign-in asked for what needs no consent; the code is then redeemed for more.
      const redeemFor = async (clientId: string, redirectUri: string, upn: string, password: string | undefined, scope: string): Promise<TokenReply> => {
        const { verifier, challenge } = await pkce();
        const code = await signInWithoutBrowser({ sim, tenant: PARTNER, clientId, redirectUri, codeChallenge: challenge, scope: 'openid offline_access User.Read', upn, password, mfa: true });
        return token(PARTNER, {
          grant_type: 'authorization_code', client_id: clientId, code, redirect_uri: redirectUri, code_verifier: verifier, scope,
          ...(clientId === CONNECTOR.appId ? { client_secret: CONNECTOR.secret } : {}),
        });
      };
      const pc = await redeemFor(PUBLIC_APP.appId, PUBLIC_APP.redirectUri, ADMIN.upn, undefined, `${PC_SCOPE} offline_access`);
      assert.equal(pc.status, 400);
      assert.equal(pc.body.error, 'invalid_grant');
      assert.equal(pc.body.suberror, 'consent_required');
      assert.equal(aadsts(pc), 65001);

      const graph = await redeemFor(CONNECTOR.appId, CONNECTOR.redirectUri, ADMIN.upn, undefined, 'https://graph.microsoft.com/Directory.Read.All');
      assert.equal(aadsts(graph), 65001);

      // Someone else's Principal grant is not this user's consent.
      connectorApp().principalGrants.push({ principalId: ADMIN.id, resource: 'graph', scopes: ['Directory.Read.All'] });
      const plain = await redeemFor(CONNECTOR.appId, CONNECTOR.redirectUri, PLAIN.upn, PLAIN.password, 'https://graph.microsoft.com/Directory.Read.All');
      assert.equal(aadsts(plain), 65001);
      const admin = await redeemFor(CONNECTOR.appId, CONNECTOR.redirectUri, ADMIN.upn, undefined, 'https://graph.microsoft.com/Directory.Read.All');
      assert.equal(admin.status, 200, JSON.stringify(admin.body));
    });

    it('records Partner Center consent given at sign-in with prompt=consent, for the organization when ticked', async () => {
      const { verifier, challenge } = await pkce();
      const base = { sim, tenant: PARTNER, clientId: PUBLIC_APP.appId, redirectUri: PUBLIC_APP.redirectUri, codeChallenge: challenge, scope: `${PC_SCOPE} offline_access`, prompt: 'consent', upn: ADMIN.upn, mfa: true };
      await assert.rejects(signInWithoutBrowser(base), (err: unknown) => err instanceof SignInError && err.step === 'consent');
      const code = await signInWithoutBrowser({ ...base, consent: 'accept', consentForOrganization: true });
      const publicApp = sim.scenario.tenants[0]!.applications.find((a) => a.appId === PUBLIC_APP.appId)!;
      assert.equal(publicApp.partnerCenterConsent, true);
      assert.deepEqual(publicApp.principalGrants, []);
      const reply = await token(PARTNER, { grant_type: 'authorization_code', client_id: PUBLIC_APP.appId, code, redirect_uri: PUBLIC_APP.redirectUri, code_verifier: verifier, scope: `${PC_SCOPE} offline_access` });
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
    });

    it('grants admin consent only for a Global Administrator, then app-only tokens carry every requested role', async () => {
      await assert.rejects(
        adminConsentWithoutBrowser({ sim, tenant: PARTNER, clientId: CONNECTOR.appId, redirectUri: CONNECTOR.redirectUri, upn: PLAIN.upn, password: PLAIN.password, state: 's' }),
        (err: unknown) => err instanceof SignInError && err.error === 'access_denied' && err.aadsts === 90094,
      );
      const params = await adminConsentWithoutBrowser({ sim, tenant: PARTNER, clientId: CONNECTOR.appId, redirectUri: CONNECTOR.redirectUri, upn: ADMIN.upn, mfa: true, state: 'consent-1' });
      assert.equal(params.get('admin_consent'), 'True');
      assert.equal(params.get('tenant'), PARTNER);
      assert.equal(params.get('state'), 'consent-1');
      const reply = await token(PARTNER, { grant_type: 'client_credentials', client_id: CONNECTOR.appId, client_secret: CONNECTOR.secret, scope: GRAPH_DEFAULT });
      assert.deepEqual(decodeJwt(String(reply.body.access_token)).roles, ['Directory.ReadWrite.All', 'Group.ReadWrite.All', 'RoleManagement.ReadWrite.Directory', 'User.ReadWrite.All']);
    });

    it('puts admin_consent=True on error redirects too, next to error and error_description', async () => {
      const refused = await fetch(`${sim.baseUrl}/${PARTNER}/adminconsent`, {
        method: 'POST', redirect: 'manual',
        body: new URLSearchParams({ client_id: CONNECTOR.appId, redirect_uri: CONNECTOR.redirectUri, state: 's1', upn: ADMIN.upn, password: 'Passw0rd!', mfa: 'on', decision: 'cancel' }),
      });
      const declined = new URL(refused.headers.get('location') ?? '').searchParams;
      assert.equal(declined.get('admin_consent'), 'True');
      assert.equal(declined.get('error'), 'consent_required');
      assert.match(declined.get('error_description') ?? '', /^AADSTS65004: /);
      assert.equal(declined.get('state'), 's1');

      await assert.rejects(
        adminConsentWithoutBrowser({ sim, tenant: PARTNER, clientId: CONNECTOR.appId, redirectUri: CONNECTOR.redirectUri, upn: PLAIN.upn, password: PLAIN.password }),
        (err: unknown) => err instanceof SignInError && err.error === 'access_denied' && err.aadsts === 90094,
      );
      const notAdmin = await fetch(`${sim.baseUrl}/${PARTNER}/adminconsent`, {
        method: 'POST', redirect: 'manual',
        body: new URLSearchParams({ client_id: CONNECTOR.appId, redirect_uri: CONNECTOR.redirectUri, upn: PLAIN.upn, password: PLAIN.password, decision: 'accept' }),
      });
      assert.equal(new URL(notAdmin.headers.get('location') ?? '').searchParams.get('admin_consent'), 'True');
    });

    it('requires scope on the v2.0 admin consent endpoint', async () => {
      const res = await fetch(`${sim.baseUrl}/${PARTNER}/v2.0/adminconsent?client_id=${CONNECTOR.appId}&redirect_uri=${encodeURIComponent(CONNECTOR.redirectUri)}&state=x`, { redirect: 'manual' });
      assert.equal(res.status, 302);
      const params = new URL(res.headers.get('location') ?? '').searchParams;
      assert.equal(params.get('error'), 'invalid_request');
      assert.match(params.get('error_description') ?? '', /AADSTS900144: .*'scope'/);
      assert.equal(params.get('admin_consent'), 'True');
    });

    it('v2.0 with /.default grants every statically configured permission, as v1 does, and answers admin_consent, tenant, scope and state', async () => {
      const app = connectorApp();
      app.grantedAppRoles = [];
      app.grantedScopes = [];
      app.partnerCenterConsent = false;
      const params = await adminConsentWithoutBrowser({ sim, tenant: PARTNER, clientId: CONNECTOR.appId, redirectUri: CONNECTOR.redirectUri, upn: ADMIN.upn, mfa: true, state: 'v2-state', scope: GRAPH_DEFAULT });
      assert.deepEqual([...params.keys()].sort(), ['admin_consent', 'scope', 'state', 'tenant']);
      assert.equal(params.get('admin_consent'), 'True');
      assert.equal(params.get('tenant'), PARTNER);
      assert.equal(params.get('scope'), GRAPH_DEFAULT);
      assert.equal(params.get('state'), 'v2-state');
      // "/.default … functions like the v1.0 admin consent endpoint": the Graph roles and scopes and Partner Center's user_impersonation.
      assert.deepEqual(app.grantedAppRoles, app.requestedAppRoles);
      assert.deepEqual(app.grantedScopes, app.requestedScopes);
      assert.equal(app.partnerCenterConsent, true);
    });

    it('v2.0 error redirects carry error and error_description (and state) to the exact redirect URI', async () => {
      const res = await fetch(`${sim.baseUrl}/${PARTNER}/v2.0/adminconsent`, {
        method: 'POST', redirect: 'manual',
        body: new URLSearchParams({ client_id: CONNECTOR.appId, redirect_uri: CONNECTOR.redirectUri, scope: GRAPH_DEFAULT, state: 's2', upn: ADMIN.upn, password: 'Passw0rd!', mfa: 'on', decision: 'cancel' }),
      });
      assert.equal(res.status, 302);
      const location = new URL(res.headers.get('location') ?? '');
      assert.equal(`${location.origin}${location.pathname}`, CONNECTOR.redirectUri);
      assert.equal(location.searchParams.get('error'), 'consent_required');
      assert.match(location.searchParams.get('error_description') ?? '', /^AADSTS65004: /);
      assert.equal(location.searchParams.get('state'), 's2');
      assert.deepEqual(connectorApp().grantedAppRoles, ['Directory.ReadWrite.All', 'User.ReadWrite.All'], 'nothing granted');
    });

    it('shows the admin consent page on GET', async () => {
      const res = await fetch(`${sim.baseUrl}/${PARTNER}/v2.0/adminconsent?client_id=${CONNECTOR.appId}&redirect_uri=${encodeURIComponent(CONNECTOR.redirectUri)}&scope=${encodeURIComponent(GRAPH_DEFAULT)}&state=x`);
      assert.equal(res.status, 200);
      const html = await res.text();
      assert.match(html, /name="decision" value="accept"/);
      assert.match(html, /Partner Onboarding Connector/);
    });
  });

  describe('consent at sign-in', () => {
    /** The bot's sign-in: Partner Center for the token, the Graph permissions consented up front. */
    const signInForm = (challenge: string, extra: Record<string, string> = {}): Record<string, string> => ({
      client_id: CONNECTOR.appId, redirect_uri: CONNECTOR.redirectUri, response_type: 'code', response_mode: 'query',
      scope: ['openid', 'profile', 'offline_access', PC_SCOPE, ...BOT_GRAPH].join(' '), state: 'st-consent', prompt: 'login',
      login_hint: ADMIN.upn, code_challenge: challenge, code_challenge_method: 'S256', upn: ADMIN.upn, password: 'Passw0rd!', mfa: 'on', ...extra,
    });
    const post = (fields: Record<string, string>): Promise<Response> =>
      fetch(`${sim.baseUrl}/${PARTNER}/oauth2/v2.0/authorize`, { method: 'POST', redirect: 'manual', body: new URLSearchParams(fields) });
    const noConsentYet = (): void => {
      const app = connectorApp();
      app.grantedScopes = [];
      app.partnerCenterConsent = false;
      app.principalGrants = [];
    };

    /** msal-node as the bot uses it: getAuthCodeUrl with extraScopesToConsent, prompt=login, login_hint, PKCE. */
    async function botSignIn(opts: { consent?: 'accept' | 'cancel'; consentForOrganization?: boolean } = {}) {
      const app = connector();
      const { verifier, challenge } = await pkce();
      const authUrl = new URL(await app.getAuthCodeUrl({
        scopes: [PC_SCOPE, 'offline_access'], extraScopesToConsent: BOT_GRAPH, redirectUri: CONNECTOR.redirectUri,
        codeChallenge: challenge, codeChallengeMethod: 'S256', prompt: 'login', loginHint: ADMIN.upn, state: 'st-bot',
      }));
      const code = await signInWithoutBrowser({
        sim, tenant: PARTNER, clientId: CONNECTOR.appId, redirectUri: CONNECTOR.redirectUri, codeChallenge: challenge,
        scope: authUrl.searchParams.get('scope') ?? '', state: 'st-bot', prompt: 'login', loginHint: ADMIN.upn, upn: ADMIN.upn, mfa: true, ...opts,
      });
      const result = await app.acquireTokenByCode({ code, scopes: [PC_SCOPE], redirectUri: CONNECTOR.redirectUri, codeVerifier: verifier });
      assert.ok(result.account);
      return { app, authUrl, result, account: result.account };
    }

    it('accepts scopes for several resources at /authorize (extraScopesToConsent); the token endpoint takes one (AADSTS28000)', async () => {
      const app = connector();
      const { verifier, challenge } = await pkce();
      const authUrl = new URL(await app.getAuthCodeUrl({
        scopes: [PC_SCOPE], extraScopesToConsent: BOT_GRAPH, redirectUri: CONNECTOR.redirectUri, codeChallenge: challenge, codeChallengeMethod: 'S256', prompt: 'login', loginHint: ADMIN.upn,
      }));
      const scope = authUrl.searchParams.get('scope') ?? '';
      for (const s of [PC_SCOPE, ...BOT_GRAPH]) assert.ok(scope.split(' ').includes(s), scope);
      const page = await fetch(authUrl, { redirect: 'manual' });
      assert.equal(page.status, 200, 'the sign-in page, not an error redirect');
      assert.match(await page.text(), /value="admin@contosopartner\.onmicrosoft\.com"/, 'login_hint pre-fills the account');

      const code = await signInWithoutBrowser({
        sim, tenant: PARTNER, clientId: CONNECTOR.appId, redirectUri: CONNECTOR.redirectUri, codeChallenge: challenge, scope, upn: ADMIN.upn, mfa: true, consent: 'accept',
      });
      const both = await token(PARTNER, {
        grant_type: 'authorization_code', client_id: CONNECTOR.appId, client_secret: CONNECTOR.secret, code, redirect_uri: CONNECTOR.redirectUri, code_verifier: verifier,
        scope: `${PC_SCOPE} ${BOT_GRAPH[0]!} offline_access`,
      });
      assert.equal(both.body.error, 'invalid_scope');
      assert.equal(aadsts(both), 28000);
      // Without a scope the code stands for what was asked at /authorize: several resources again.
      const { verifier: v2, challenge: c2 } = await pkce();
      const code2 = await signInWithoutBrowser({ sim, tenant: PARTNER, clientId: CONNECTOR.appId, redirectUri: CONNECTOR.redirectUri, codeChallenge: c2, scope, upn: ADMIN.upn, mfa: true });
      const unscoped = await token(PARTNER, { grant_type: 'authorization_code', client_id: CONNECTOR.appId, client_secret: CONNECTOR.secret, code: code2, redirect_uri: CONNECTOR.redirectUri, code_verifier: v2 });
      assert.equal(aadsts(unscoped), 28000);
    });

    it('shows "Permissions requested" after sign-in with prompt=login when consent is missing; nothing is issued until the user answers', async () => {
      noConsentYet();
      const { challenge } = await pkce();
      const res = await post(signInForm(challenge));
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('location'), null);
      const html = await res.text();
      assert.match(html, /data-step="consent"/);
      assert.match(html, /<h1[^>]*>Permissions requested<\/h1>/);
      assert.match(html, /Partner Onboarding Connector/);
      for (const s of [...BOT_GRAPH_SCOPES, 'user_impersonation']) assert.match(html, new RegExp(`data-scope="${s}"`), s);
      assert.match(html, /name="decision" value="accept"[^>]*>Accept</);
      assert.match(html, /name="decision" value="cancel"[^>]*>Cancel</);
      assert.match(html, /<input type="checkbox" name="consent_for_org" value="on"> Consent on behalf of your organization/, 'a Global Administrator sees the organization checkbox');
      assert.match(html, /<input type="hidden" name="upn" value="admin@contosopartner\.onmicrosoft\.com">/, 'the form carries the sign-in on');

      await assert.rejects(signInWithoutBrowser({ sim, tenant: PARTNER, clientId: CONNECTOR.appId, redirectUri: CONNECTOR.redirectUri, codeChallenge: challenge, scope: [PC_SCOPE, ...BOT_GRAPH], prompt: 'login', upn: ADMIN.upn, mfa: true }),
        (err: unknown) => err instanceof SignInError && err.error === 'page' && err.step === 'consent' && err.aadsts === undefined);
      assert.deepEqual(connectorApp().principalGrants, []);

      // Already consented (tenant-wide, as after admin consent): no page, straight to the code.
      const app = connectorApp();
      app.grantedScopes = [...BOT_GRAPH_SCOPES];
      app.partnerCenterConsent = true;
      const again = await post(signInForm(challenge));
      assert.equal(again.status, 302);
      assert.ok(new URL(again.headers.get('location') ?? '').searchParams.get('code'));
    });

    it('Accept records a Principal grant per resource for this user, and the code redeems (msal-node, the bot\'s sign-in)', async () => {
      noConsentYet();
      const { result, authUrl } = await botSignIn({ consent: 'accept' });
      assert.ok((authUrl.searchParams.get('scope') ?? '').includes(BOT_GRAPH[0]!));
      const app = connectorApp();
      assert.deepEqual(app.grantedScopes, [], 'no tenant-wide grant without the organization checkbox');
      assert.equal(app.partnerCenterConsent, false);
      const byResource = Object.fromEntries(app.principalGrants.map((g) => [g.resource ?? 'graph', g]));
      assert.equal(app.principalGrants.length, 2);
      assert.equal(byResource.graph?.principalId, ADMIN.id);
      assert.deepEqual(byResource.graph?.scopes, BOT_GRAPH_SCOPES);
      assert.equal(byResource.partnerCenter?.principalId, ADMIN.id);
      assert.deepEqual(byResource.partnerCenter?.scopes, ['user_impersonation']);
      const claims = decodeJwt(result.accessToken);
      assert.equal(claims.aud, 'https://api.partnercenter.microsoft.com');
      assert.equal(claims.scp, 'user_impersonation');
      assert.deepEqual(claims.amr, ['pwd', 'mfa']);
    });

    it('Accept with "Consent on behalf of your organization" makes the grant tenant-wide: other users sign in without a prompt', async () => {
      noConsentYet();
      await botSignIn({ consent: 'accept', consentForOrganization: true });
      const app = connectorApp();
      assert.deepEqual(app.grantedScopes, BOT_GRAPH_SCOPES);
      assert.equal(app.partnerCenterConsent, true);
      assert.deepEqual(app.principalGrants, []);
      const plain = await signInAndRedeem({ upn: PLAIN.upn, password: PLAIN.password, scope: `${BOT_GRAPH[1]!} offline_access` });
      assert.equal(plain.status, 200, JSON.stringify(plain.body));
      assert.ok(String(decodeJwt(String(plain.body.access_token)).scp).split(' ').includes('Policy.Read.All'));
    });

    it('Cancel sends access_denied, error_subcode=cancel and AADSTS65004 to the redirect URI, with the state', async () => {
      noConsentYet();
      const { challenge } = await pkce();
      const res = await post(signInForm(challenge, { decision: 'cancel' }));
      assert.equal(res.status, 302);
      const location = new URL(res.headers.get('location') ?? '');
      assert.equal(`${location.origin}${location.pathname}`, CONNECTOR.redirectUri);
      assert.equal(location.searchParams.get('error'), 'access_denied');
      assert.equal(location.searchParams.get('error_subcode'), 'cancel');
      assert.match(location.searchParams.get('error_description') ?? '', /^AADSTS65004: User declined to consent to access the app\.\r\nTrace ID: /);
      assert.equal(location.searchParams.get('state'), 'st-consent');
      assert.equal(location.searchParams.get('code'), null);

      await assert.rejects(botSignIn({ consent: 'cancel' }), (err: unknown) =>
        err instanceof SignInError && err.error === 'access_denied' && err.subcode === 'cancel' && err.aadsts === 65004);
      assert.deepEqual(connectorApp().principalGrants, []);
    });

    it('stops a non-admin at "Need admin approval" (AADSTS90094) for admin-only permissions; they can only go back (65004)', async () => {
      const base = { sim, tenant: PARTNER, clientId: CONNECTOR.appId, redirectUri: CONNECTOR.redirectUri, codeChallenge: 'x'.repeat(43), upn: PLAIN.upn, password: PLAIN.password, prompt: 'login' };
      // The connector has Partner Center consent tenant-wide; the Graph permissions need an admin.
      await assert.rejects(signInWithoutBrowser({ ...base, scope: [PC_SCOPE, ...BOT_GRAPH], consent: 'accept', consentForOrganization: true }), (err: unknown) => {
        assert.ok(err instanceof SignInError);
        assert.equal(err.error, 'page');
        assert.equal(err.step, 'admin-approval');
        assert.equal(err.aadsts, 90094);
        assert.match(err.message, /AADSTS90094: Partner Onboarding Connector needs permission to access resources in your organization that only an admin can grant/);
        return true;
      });
      const page = await post({ ...signInForm('x'.repeat(43)), upn: PLAIN.upn, password: PLAIN.password, login_hint: PLAIN.upn });
      const html = await page.text();
      assert.match(html, /<h1 data-step="admin-approval">Need admin approval<\/h1>/);
      assert.doesNotMatch(html, /value="accept"/);
      assert.doesNotMatch(html, /consent_for_org/);
      assert.match(html, /name="decision" value="cancel">Return to the application without granting consent</);
      await assert.rejects(signInWithoutBrowser({ ...base, scope: [PC_SCOPE, ...BOT_GRAPH], consent: 'cancel' }),
        (err: unknown) => err instanceof SignInError && err.error === 'access_denied' && err.subcode === 'cancel' && err.aadsts === 65004);

      // Partner Center's user_impersonation is granted by an admin too.
      noConsentYet();
      await assert.rejects(signInWithoutBrowser({ ...base, scope: `${PC_SCOPE} offline_access`, consent: 'accept' }),
        (err: unknown) => err instanceof SignInError && err.aadsts === 90094);
      assert.deepEqual(connectorApp().principalGrants, []);
    });

    it('lets a non-admin consent for themselves to a permission users may grant (no organization checkbox)', async () => {
      const mailSend = 'https://graph.microsoft.com/Mail.Send';
      const fields = { ...signInForm('x'.repeat(43)), scope: `openid offline_access ${mailSend}`, upn: PLAIN.upn, password: PLAIN.password, login_hint: PLAIN.upn };
      const html = await (await post(fields)).text();
      assert.match(html, /data-step="consent"/);
      assert.doesNotMatch(html, /consent_for_org/);
      const reply = await signInAndRedeem({ upn: PLAIN.upn, password: PLAIN.password, scope: `openid offline_access ${mailSend}`, consent: 'accept', consentForOrganization: true });
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      const plainId = sim.scenario.tenants[0]!.users.find((u) => u.userPrincipalName === PLAIN.upn)!.id;
      assert.deepEqual(connectorApp().principalGrants, [{ principalId: plainId, resource: 'graph', scopes: ['Mail.Send'] }]);
      assert.deepEqual(connectorApp().grantedScopes, ['User.Read'], 'the checkbox is not offered to a non-admin, and ignored when posted');
    });

    it('refreshes for a Graph scope consented at sign-in (multi-resource refresh token); a scope never consented is AADSTS65001', async () => {
      noConsentYet();
      const { app, account } = await botSignIn({ consent: 'accept' });
      const graph = await app.acquireTokenSilent({ account, scopes: [BOT_GRAPH[1]!] });
      const claims = decodeJwt(graph.accessToken);
      assert.equal(claims.aud, 'https://graph.microsoft.com');
      assert.equal(claims.oid, ADMIN.id);
      assert.deepEqual(claims.amr, ['pwd', 'mfa']);
      for (const s of BOT_GRAPH_SCOPES) assert.ok(String(claims.scp).split(' ').includes(s), `${s} in ${String(claims.scp)}`);
      const pc = await app.acquireTokenSilent({ account, scopes: [PC_SCOPE], forceRefresh: true });
      assert.equal(decodeJwt(pc.accessToken).aud, 'https://api.partnercenter.microsoft.com');

      await assert.rejects(app.acquireTokenSilent({ account, scopes: ['https://graph.microsoft.com/AuditLog.Read.All'] }), (err: unknown) => {
        assert.ok(err instanceof Error);
        assert.equal(err.name, 'InteractionRequiredAuthError');
        assert.match(err.message, /AADSTS65001/);
        assert.equal((err as { subError?: unknown }).subError, 'consent_required');
        return true;
      });
    });

    it('lists the Principal grants recorded at sign-in in Graph oauth2PermissionGrants', async () => {
      noConsentYet();
      const { app, account } = await botSignIn({ consent: 'accept' });
      const graph = await app.acquireTokenSilent({ account, scopes: ['https://graph.microsoft.com/Directory.Read.All'] });
      const url = `${sim.baseUrl}/graph/v1.0/servicePrincipals/e0000000-0000-4000-8000-0000000000b3/oauth2PermissionGrants`;
      let res = await fetch(url, { headers: { authorization: `Bearer ${graph.accessToken}` } });
      for (let i = 0; i < 5 && res.status === 429; i++) res = await fetch(url, { headers: { authorization: `Bearer ${graph.accessToken}` } });
      assert.equal(res.status, 200);
      const grants = ((await res.json()) as { value: Array<Record<string, unknown>> }).value;
      const principal = grants.filter((g) => g.consentType === 'Principal');
      assert.deepEqual(principal.map((g) => [g.principalId, g.scope]).sort(), [[ADMIN.id, BOT_GRAPH_SCOPES.join(' ')], [ADMIN.id, 'user_impersonation']].sort());
      assert.equal(new Set(principal.map((g) => g.resourceId)).size, 2, 'one grant per resource (Graph, Partner Center)');
      assert.deepEqual(grants.filter((g) => g.consentType === 'AllPrincipals'), []);
    });
  });

  describe('tokens for other simulated services', () => {
    const request = (authorization?: string): SimRequest => ({
      method: 'GET', url: new URL(`${sim.baseUrl}/graph/v1.0/me`), path: '/v1.0/me', body: Buffer.alloc(0), params: {},
      headers: authorization ? { authorization } : {},
    });

    it('verifyBearer accepts the right audience and answers everything else with a Graph-style 401', async () => {
      const reply = await token(PARTNER, { grant_type: 'client_credentials', client_id: CONNECTOR.appId, client_secret: CONNECTOR.secret, scope: GRAPH_DEFAULT });
      const accessToken = String(reply.body.access_token);
      const ok = verifyBearer(sim, request(`Bearer ${accessToken}`), AUDIENCE.graph);
      assert.ok(ok.ok);
      assert.equal(ok.claims.tid, PARTNER);

      const wrongAudience = verifyBearer(sim, request(`Bearer ${accessToken}`), AUDIENCE.partnerCenter);
      assert.ok(!wrongAudience.ok);
      assert.equal(wrongAudience.reply.status, 401);
      assert.equal((wrongAudience.reply.body as { error: { code: string } }).error.code, 'InvalidAuthenticationToken');

      const missing = verifyBearer(sim, request(), AUDIENCE.graph);
      assert.ok(!missing.ok);
      sim.advanceClock(2 * 3600_000);
      const expired = verifyBearer(sim, request(`Bearer ${accessToken}`), AUDIENCE.graph);
      assert.ok(!expired.ok);
      assert.match((expired.reply.body as { error: { message: string } }).error.message, /expired/);
    });

    it('parses scopes the way Entra ID does', () => {
      const parsed = parseScopes(`openid offline_access ${sim.baseUrl}/partnercenter/user_impersonation`, sim.baseUrl);
      assert.ok(parsed.ok);
      assert.equal(parsed.resource?.aud, 'https://api.partnercenter.microsoft.com');
      assert.deepEqual(parsed.names, ['user_impersonation']);
      const mixed = parseScopes(`${PC_SCOPE} https://graph.microsoft.com/User.Read`, sim.baseUrl);
      assert.ok(!mixed.ok);
      assert.equal(mixed.aadsts, 28000);
      const unknown = parseScopes('https://unknown.example/.default', sim.baseUrl);
      assert.ok(!unknown.ok);
      assert.equal(unknown.aadsts, 500011);
    });
  });
});
