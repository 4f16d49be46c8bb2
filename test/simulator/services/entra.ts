import { createHash, randomBytes, randomInt, randomUUID, timingSafeEqual } from 'node:crypto';
import { aadError, json, readForm, Router, type SimReply, type SimRequest } from '../http';
import type { Claims } from '../jwt';
import { resolveWhen, type Application, type Tenant, type User } from '../scenario';
import { GRAPH_ADMIN_CONSENT_SCOPES } from '../scenarios/ids';
import type { ServiceFactory, SimContext, SimService } from '../server';
import { parseScopes, parseScopeSet, type ParsedScopes, type ResourceInfo, type ResourceKey, type ScopeSetParse } from '../tokens';

/**
 * Entra ID simulator (login.microsoftonline.com), mounted at the root.
 *
 *   GET  /{tenant}/v2.0/.well-known/openid-configuration      OIDC metadata
 *   GET  /{tenant}/discovery/v2.0/keys                         JWKS
 *   GET  /common/discovery/instance                            msal instance discovery
 *   GET  /{tenant}/oauth2/v2.0/authorize                       sign-in page
 *   POST /{tenant}/oauth2/v2.0/authorize                       sign-in (form below)
 *   POST /{tenant}/oauth2/v2.0/token                           authorization_code, refresh_token, client_credentials
 *   GET|POST /{tenant}[/v2.0]/adminconsent                     admin consent page / decision
 *   GET  /{tenant}/oauth2/v2.0/logout
 *
 * `{tenant}` is a tenant id, one of its verified domains, `common` or `organizations`.
 *
 * The sign-in form (POST to the authorize path, `application/x-www-form-urlencoded`) carries the
 * authorize query parameters as fields (client_id, redirect_uri, response_type, response_mode,
 * scope, state, nonce, prompt, code_challenge, code_challenge_method) plus:
 *   upn       the account's userPrincipalName
 *   password  its password (scenario `password`, default `Passw0rd!`)
 *   mfa       `on` when the second factor was completed (the page's second step asks for it when
 *             MFA is enforced; posting it with the password answers that step in advance)
 *   register  `on` when a user without a method registers one on the "More information required" step
 *   decision  `accept` | `cancel`: the answer to the consent page ("Permissions requested"), shown
 *             after sign-in when the user has not consented yet to every delegated permission in
 *             `scope` (or with `prompt=consent`); `cancel` also leaves the "Need admin approval" page
 *   consent_for_org  `on` when a Global Administrator ticks "Consent on behalf of your organization"
 * Like `mfa`, `decision` and `consent_for_org` may be posted with the password, answering in advance.
 * The admin consent form has the same user fields plus `decision` = `accept` | `cancel`.
 * {@link signInWithoutBrowser} and {@link adminConsentWithoutBrowser} post them for tests.
 */

const CODE_TTL_MS = 10 * 60_000;
/**
 * Access tokens live a random 60–90 minutes (75 on average), so clients cannot count on one number:
 * https://learn.microsoft.com/en-us/entra/identity-platform/access-tokens#token-lifetime
 */
const ACCESS_TOKEN_MIN_TTL_S = 60 * 60;
const ACCESS_TOKEN_MAX_TTL_S = 90 * 60;
/** ID tokens are valid for one hour: https://learn.microsoft.com/en-us/entra/identity-platform/id-tokens */
const ID_TOKEN_TTL_S = 3600;
/** 90 days unused → AADSTS700082: https://learn.microsoft.com/en-us/entra/identity-platform/refresh-tokens#token-lifetime */
const REFRESH_MAX_INACTIVE_MS = 90 * 86_400_000;
const GLOBAL_ADMIN = 'Global Administrator';
/**
 * Roles that may grant tenant-wide admin consent to delegated permissions (Graph's included):
 * https://learn.microsoft.com/en-us/entra/identity/enterprise-apps/grant-admin-consent#prerequisites
 */
const DELEGATED_CONSENT_ADMINS = new Set([GLOBAL_ADMIN, 'Privileged Role Administrator', 'Application Administrator', 'Cloud Application Administrator']);
/**
 * Delegated scopes the simulator lets any app have without recorded consent (a simplification:
 * real Entra ID asks for User.Read too until someone consents to it). OIDC scopes are never checked.
 */
const NO_CONSENT_NEEDED = new Set(['user.read']);
const GRAPH_ADMIN_ONLY = new Set(GRAPH_ADMIN_CONSENT_SCOPES.map((s) => s.toLowerCase()));
/** The resources whose delegated consent the simulator keeps track of. */
type ConsentResource = Extract<ResourceKey, 'graph' | 'partnerCenter'>;
const isConsentResource = (key: ResourceKey): key is ConsentResource => key === 'graph' || key === 'partnerCenter';
type ScopeSet = Extract<ScopeSetParse, { ok: true }>;

/** Delegated permissions of one resource the user is asked to consent to. */
interface ConsentGroup {
  resource: ResourceInfo & { key: ConsentResource };
  scopes: string[];
}

interface AuthCode {
  clientId: string;
  redirectUri: string;
  codeChallenge: string;
  scope: string;
  tenantId: string;
  userId: string;
  mfa: boolean;
  amr: string[];
  nonce?: string;
  authTime: number;
  expiresAt: number;
  redeemed: boolean;
}

/** What a refresh token stands for: one user's sign-in to one client. */
interface Grant {
  clientId: string;
  tenantId: string;
  userId: string;
  mfa: boolean;
  amr: string[];
  authTime: number;
  issuedAt: number;
  lastUsedAt: number;
}

interface PathTenant {
  /** As written in the path. */
  segment: string;
  /** Undefined for `common` / `organizations`. */
  tenant?: Tenant;
}

interface ClientApp {
  tenant: Tenant;
  app: Application;
}

interface SignedInUser {
  tenant: Tenant;
  user: User;
  mfa: boolean;
  amr: string[];
}

/** An error shown on the sign-in page (HTTP 200, like Entra ID) rather than sent to the client. */
interface PageError {
  kind: 'page';
  aadsts: number;
  message: string;
}

/** An error the client receives on its redirect URI. */
interface RedirectError {
  kind: 'redirect';
  error: string;
  aadsts: number;
  message: string;
  /** `error_subcode`, e.g. `cancel` when the user declined consent. */
  subcode?: string;
}

/**
 * The sign-in page's second step: the user must complete MFA (`mfa`) or register a method first
 * (`mfa-registration`, "More information required"). Entra ID asks on its page; the client sees
 * nothing until the user finishes, so this is never an error on the redirect URI.
 * https://learn.microsoft.com/en-us/entra/identity/authentication/concept-mfa-howitworks
 */
interface MfaStep {
  kind: 'mfa';
  step: 'mfa' | 'mfa-registration';
}

type Problem = PageError | RedirectError | MfaStep;

const page = (aadsts: number, message: string): PageError => ({ kind: 'page', aadsts, message });
const redirectError = (error: string, aadsts: number, message: string): RedirectError => ({ kind: 'redirect', error, aadsts, message });

const sec = (ms: number): number => Math.floor(ms / 1000);
const accessTokenTtl = (): number => ACCESS_TOKEN_MIN_TTL_S + randomInt(ACCESS_TOKEN_MAX_TTL_S - ACCESS_TOKEN_MIN_TTL_S + 1);
/**
 * Graph, Partner Center, Key Vault and the Bot Framework take v1.0 access tokens (none of them sets
 * `accessTokenAcceptedVersion: 2`), whichever endpoint (v1 or v2) issued them: issuer
 * `https://sts.windows.net/{tid}/`, `ver` 1.0, `appid`/`appidacr`, `upn`, `unique_name`, `amr`.
 * https://learn.microsoft.com/en-us/entra/identity-platform/access-tokens#token-formats
 * https://learn.microsoft.com/en-us/entra/identity-platform/access-token-claims-reference
 */
export const v1Issuer = (tenantId: string): string => `https://sts.windows.net/${tenantId}/`;
const iso = (ms: number): string => new Date(ms).toISOString();
const unique = (xs: Iterable<string>): string[] => {
  const seen = new Map<string, string>();
  for (const x of xs) if (!seen.has(x.toLowerCase())) seen.set(x.toLowerCase(), x);
  return [...seen.values()];
};

function b64urlJson(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function pkceS256(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url');
}

function sameString(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Pairwise `sub`, as Entra ID makes it: stable per user and audience, meaningless elsewhere. */
function pairwiseSub(userId: string, audience: string): string {
  return createHash('sha256').update(`${userId}|${audience}`).digest('base64url').slice(0, 43);
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

function isChecked(v: string | null): boolean {
  return v !== null && ['on', 'true', '1', 'yes'].includes(v.toLowerCase());
}

function tenantNotFound(segment: string): string {
  return `Tenant '${segment}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`;
}

function appNotFound(clientId: string, where: string): string {
  return `Application with identifier '${clientId}' was not found in the directory '${where}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`;
}

function missingParam(name: string): string {
  return `The request body must contain the following parameter: '${name}'.`;
}

/** Where the OAuth parameters of an authorize or admin consent request come from: query, then form fields. */
function oauthParams(req: SimRequest): URLSearchParams {
  const merged = new URLSearchParams(req.url.searchParams);
  if (req.method === 'POST') for (const [k, v] of readForm(req)) merged.set(k, v);
  return merged;
}

class EntraService implements SimService {
  readonly name = 'entra';
  readonly prefix = '';
  readonly router = new Router();
  private codes = new Map<string, AuthCode>();
  private grants = new Map<string, Grant>();

  constructor(private readonly ctx: SimContext) {
    const r = this.router;
    r.get('/common/discovery/instance', (req) => this.instanceDiscovery(req));
    r.get('/:tenant/v2.0/.well-known/openid-configuration', (req) => this.openidConfiguration(req));
    r.get('/:tenant/discovery/v2.0/keys', () => json(200, this.ctx.signer.jwks()));
    r.get('/:tenant/discovery/keys', () => json(200, this.ctx.signer.jwks()));
    r.get('/:tenant/oauth2/v2.0/authorize', (req) => this.authorize(req));
    r.post('/:tenant/oauth2/v2.0/authorize', (req) => this.authorize(req));
    r.post('/:tenant/oauth2/v2.0/token', (req) => this.token(req));
    r.get('/:tenant/oauth2/v2.0/logout', (req) => this.logout(req));
    r.get('/:tenant/adminconsent', (req) => this.adminConsent(req, false));
    r.post('/:tenant/adminconsent', (req) => this.adminConsent(req, false));
    r.get('/:tenant/v2.0/adminconsent', (req) => this.adminConsent(req, true));
    r.post('/:tenant/v2.0/adminconsent', (req) => this.adminConsent(req, true));
  }

  /** Token endpoint error body (AADSTS code, trace and correlation ids), with `error_uri` and an optional suberror. */
  private sts(status: number, error: string, aadsts: number, description: string, suberror?: string): SimReply {
    const reply = aadError(status, error, aadsts, description);
    const body = typeof reply.body === 'object' && reply.body !== null ? reply.body : {};
    return { ...reply, body: { ...body, error_uri: `${this.ctx.baseUrl}/error?code=${aadsts}`, ...(suberror ? { suberror } : {}) } };
  }

  reset(): void {
    this.codes.clear();
    this.grants.clear();
    this.foreignConsent.clear();
  }

  /**
   * Consent to a multi-tenant app belongs to the tenant where it was given (the app's service
   * principal there), not to the app's registration: a partner's Global Administrator consenting to
   * the operator's setup app grants nothing in another tenant.
   * https://learn.microsoft.com/en-us/entra/identity-platform/application-consent-experience
   * The registration itself keeps the home tenant's grants; other tenants get their own record here.
   */
  private readonly foreignConsent = new Map<string, Application>();

  private consentHolder(client: ClientApp, tenantId: string): Application {
    if (client.tenant.id.toLowerCase() === tenantId.toLowerCase()) return client.app;
    const key = `${tenantId.toLowerCase()}|${client.app.appId.toLowerCase()}`;
    let held = this.foreignConsent.get(key);
    if (!held) {
      const home = client.app;
      held = {
        ...home, grantedAppRoles: [], grantedScopes: [], partnerCenterConsent: false,
        // Grants a scenario file gives this tenant's users on the registration stay theirs.
        principalGrants: home.principalGrants.filter((g) => this.findUser(tenantId, g.principalId)),
      };
      this.foreignConsent.set(key, held);
    }
    return held;
  }

  // ---- lookups -------------------------------------------------------------------------------

  private pathTenant(segment: string | undefined): PathTenant | undefined {
    if (!segment) return undefined;
    const s = segment.toLowerCase();
    if (s === 'common' || s === 'organizations') return { segment: s };
    const tenant = this.ctx.tenant(segment);
    return tenant ? { segment, tenant } : undefined;
  }

  /** An app registration by appId: in `preferTenantId` if it is there, else anywhere (multi-tenant apps). */
  private findApp(appId: string, preferTenantId?: string): ClientApp | undefined {
    const id = appId.toLowerCase();
    const tenants = this.ctx.scenario.tenants;
    const ordered = preferTenantId ? [...tenants.filter((t) => t.id === preferTenantId), ...tenants.filter((t) => t.id !== preferTenantId)] : tenants;
    for (const tenant of ordered) {
      const app = tenant.applications.find((a) => a.appId.toLowerCase() === id);
      if (app) return { tenant, app };
    }
    return undefined;
  }

  private findUserByUpn(upn: string): { tenant: Tenant; user: User } | undefined {
    const key = upn.trim().toLowerCase();
    for (const tenant of this.ctx.scenario.tenants) {
      const user = tenant.users.find((u) => u.userPrincipalName.toLowerCase() === key);
      if (user) return { tenant, user };
    }
    return undefined;
  }

  private findUser(tenantId: string, userId: string): { tenant: Tenant; user: User } | undefined {
    const tenant = this.ctx.scenario.tenants.find((t) => t.id === tenantId);
    const user = tenant?.users.find((u) => u.id === userId);
    return tenant && user ? { tenant, user } : undefined;
  }

  private when(value: Parameters<typeof resolveWhen>[0]): number {
    // Relative dates are anchored at scenario load, so advancing the clock really reaches them.
    return resolveWhen(value, this.ctx.loadedAt).getTime();
  }

  // ---- discovery -----------------------------------------------------------------------------

  private instanceDiscovery(req: SimRequest): SimReply {
    const host = new URL(this.ctx.baseUrl).host;
    const endpoint = req.url.searchParams.get('authorization_endpoint');
    let tenant = 'common';
    if (endpoint) {
      let url: URL;
      try {
        url = new URL(endpoint);
      } catch {
        return this.sts(400, 'invalid_instance', 50049, 'Unknown or invalid instance.');
      }
      if (url.host.toLowerCase() !== host) return this.sts(400, 'invalid_instance', 50049, 'Unknown or invalid instance.');
      tenant = url.pathname.split('/').filter(Boolean)[0] ?? 'common';
    }
    return json(200, {
      tenant_discovery_endpoint: `${this.ctx.baseUrl}/${tenant}/v2.0/.well-known/openid-configuration`,
      'api-version': '1.1',
      metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
    });
  }

  private openidConfiguration(req: SimRequest): SimReply {
    const pt = this.pathTenant(req.params.tenant);
    if (!pt) return this.sts(400, 'invalid_tenant', 90002, tenantNotFound(req.params.tenant ?? ''));
    const b = this.ctx.baseUrl;
    const t = pt.tenant?.id ?? pt.segment;
    return json(200, {
      token_endpoint: `${b}/${t}/oauth2/v2.0/token`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      jwks_uri: `${b}/${t}/discovery/v2.0/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      issuer: `${b}/${pt.tenant?.id ?? '{tenantid}'}/v2.0`,
      request_uri_parameter_supported: false,
      userinfo_endpoint: `${b}/graph/oidc/userinfo`,
      authorization_endpoint: `${b}/${t}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${b}/${t}/oauth2/v2.0/devicecode`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      end_session_endpoint: `${b}/${t}/oauth2/v2.0/logout`,
      claims_supported: ['sub', 'iss', 'cloud_instance_name', 'cloud_instance_host_name', 'aud', 'exp', 'iat', 'auth_time', 'acr', 'nonce', 'preferred_username', 'name', 'tid', 'ver', 'at_hash', 'c_hash', 'email'],
      kerberos_endpoint: `${b}/${t}/kerberos`,
      tenant_region_scope: pt.tenant ? 'NA' : null,
      cloud_instance_name: new URL(b).host,
    });
  }

  private logout(req: SimRequest): SimReply {
    const target = req.url.searchParams.get('post_logout_redirect_uri');
    if (target && /^https?:\/\//i.test(target)) return { status: 302, headers: { location: target } };
    return { status: 200, headers: { 'content-type': 'text/html; charset=utf-8' }, body: htmlPage('Signed out', '<p>You signed out of your account.</p>') };
  }

  // ---- authorize -----------------------------------------------------------------------------

  /** Checks that hold before anyone signs in; errors before redirect_uri is trusted go on the page. */
  private validateClient(pt: PathTenant | undefined, segment: string, params: URLSearchParams): Problem | { pt: PathTenant; client: ClientApp; redirectUri: string } {
    if (!pt) return page(90002, tenantNotFound(segment));
    const clientId = params.get('client_id');
    if (!clientId) return page(900144, missingParam('client_id'));
    const client = this.findApp(clientId, pt.tenant?.id);
    if (!client) return page(700016, appNotFound(clientId, pt.tenant?.displayName ?? pt.segment));
    const redirectUri = params.get('redirect_uri') ?? '';
    const registered = client.app.redirectUris;
    const validShape = /^https?:\/\/[^/]/i.test(redirectUri);
    if (!validShape || (registered.length > 0 && !registered.includes(redirectUri))) {
      return page(50011, `The redirect URI '${redirectUri}' specified in the request does not match the redirect URIs configured for the application '${client.app.appId}'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal. Navigate to https://aka.ms/redirectUriMismatchError to learn more about how to fix this.`);
    }
    return { pt, client, redirectUri };
  }

  private validateAuthorize(pt: PathTenant | undefined, segment: string, params: URLSearchParams):
    Problem | { pt: PathTenant; client: ClientApp; redirectUri: string; scopes: ScopeSet } {
    const base = this.validateClient(pt, segment, params);
    if ('kind' in base) return base;
    const responseType = params.get('response_type');
    if (!responseType) return redirectError('invalid_request', 900144, missingParam('response_type'));
    if (responseType !== 'code') return redirectError('unsupported_response_type', 70005, `response_type '${responseType}' is not enabled for the application.`);
    const scope = params.get('scope');
    if (!scope) return redirectError('invalid_request', 900144, missingParam('scope'));
    // Several resources are fine here (consent up front, MSAL's extraScopesToConsent); the token
    // endpoint then takes one resource per request (AADSTS28000 otherwise).
    const scopes = parseScopeSet(scope, this.ctx.baseUrl, pt?.tenant?.displayName);
    if (!scopes.ok) return redirectError(scopes.error, scopes.aadsts, scopes.message);
    if (!params.get('code_challenge')) return redirectError('invalid_request', 900144, `${missingParam('code_challenge')} The simulator requires PKCE.`);
    if (params.get('code_challenge_method') !== 'S256') {
      return redirectError('invalid_request', 70011, `The provided value for the input parameter 'code_challenge_method' is not valid. Expected 'S256'.`);
    }
    if (params.get('prompt') === 'none') return redirectError('login_required', 50058, 'A silent sign-in request was sent but no user is signed in.');
    return { ...base, scopes };
  }

  private authorize(req: SimRequest): SimReply {
    const segment = req.params.tenant ?? '';
    const pt = this.pathTenant(segment);
    const params = oauthParams(req);
    const checked = this.validateAuthorize(pt, segment, params);
    if ('kind' in checked) return this.problemReply(checked, params, req, 'signin');
    if (req.method === 'GET') return this.signInPage(req, params, 'signin');

    const form = readForm(req);
    const signedIn = this.authenticate(checked.pt, form, checked.client);
    if ('kind' in signedIn) return this.problemReply(signedIn, params, req, 'signin');

    const absent = this.absentResource(signedIn.tenant, checked.scopes.resources.map((r) => r.resource));
    if (absent) return this.problemReply(redirectError('invalid_resource', 500011, absent), params, req, 'signin');
    const client = this.findApp(checked.client.app.appId, signedIn.tenant.id) ?? checked.client;
    const consent = this.consentStep(req, params, form, client, signedIn, checked.scopes);
    if (consent) return consent;
    const code = randomBytes(32).toString('base64url');
    const nonce = params.get('nonce');
    this.codes.set(code, {
      clientId: checked.client.app.appId,
      redirectUri: checked.redirectUri,
      codeChallenge: params.get('code_challenge') ?? '',
      scope: params.get('scope') ?? '',
      tenantId: signedIn.tenant.id,
      userId: signedIn.user.id,
      mfa: signedIn.mfa,
      amr: signedIn.amr,
      ...(nonce ? { nonce } : {}),
      authTime: sec(this.ctx.now()),
      expiresAt: this.ctx.now() + CODE_TTL_MS,
      redeemed: false,
    });
    return redirectTo(checked.redirectUri, params.get('response_mode'), {
      code,
      state: params.get('state') ?? undefined,
      session_state: randomUUID(),
    });
  }

  /**
   * Password, account state, tenant and MFA. `thirdParty` MFA (Duo and the like) satisfies an MFA
   * requirement but, as in real life, puts no `mfa` in `amr`.
   */
  private authenticate(pt: PathTenant, form: URLSearchParams, client: ClientApp): Problem | SignedInUser {
    const upn = (form.get('upn') ?? '').trim();
    const where = pt.tenant?.displayName ?? 'Microsoft Entra ID';
    if (!upn) return page(900144, missingParam('upn'));
    const found = this.findUserByUpn(upn);
    if (!found) {
      return page(50034, `The user account ${upn} does not exist in the '${pt.tenant?.id ?? pt.segment}' directory. To sign into this application, the account must be added to the directory.`);
    }
    const { tenant, user } = found;
    if ((form.get('password') ?? '') !== user.password) return page(50126, 'Error validating credentials due to invalid username or password.');
    if (!user.accountEnabled) return page(50057, 'The user account is disabled.');
    if (pt.tenant && pt.tenant.id !== tenant.id) {
      return page(50020, `User account '${user.userPrincipalName}' from identity provider '${this.ctx.baseUrl}/${tenant.id}/' does not exist in tenant '${where}' and cannot access the application '${client.app.appId}'(${client.app.displayName}) in that tenant. The account needs to be added as an external user in the tenant first. Sign out and sign in again with a different Microsoft Entra user account.`);
    }
    const registering = user.mfaMethods.length === 0 && user.mfaEnforced && isChecked(form.get('register'));
    // Registration on the page ("More information required") adds Microsoft Authenticator.
    if (registering) user.mfaMethods = ['microsoftAuthenticator'];
    const methods = user.mfaMethods;
    const mfa = isChecked(form.get('mfa')) && methods.length > 0;
    if (user.mfaEnforced && !mfa) return { kind: 'mfa', step: methods.length === 0 ? 'mfa-registration' : 'mfa' };
    const firstParty = methods.some((m) => m !== 'thirdParty');
    // A custom control (Duo) satisfies the policy but Entra ID does not put `mfa` in `amr`:
    // https://learn.microsoft.com/en-us/entra/identity/conditional-access/controls#custom-controls-preview
    return { tenant, user, mfa, amr: mfa && firstParty ? ['pwd', 'mfa'] : ['pwd'] };
  }

  /**
   * A resource whose service principal the tenant lacks (scenario `absentServicePrincipals`, e.g.
   * Partner Center before anyone added it): AADSTS500011, "The resource principal named … was not
   * found in the tenant". https://learn.microsoft.com/en-us/entra/identity-platform/reference-error-codes
   */
  private absentResource(tenant: Tenant, resources: ReadonlyArray<{ aud: string; appId?: string }>): string | undefined {
    const missing = resources.find((r) => r.appId && tenant.absentServicePrincipals.some((a) => a.toLowerCase() === r.appId!.toLowerCase()));
    return missing
      ? `The resource principal named ${missing.aud} was not found in the tenant named ${tenant.displayName}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`
      : undefined;
  }

  // ---- consent -------------------------------------------------------------------------------

  /**
   * Delegated scopes this user has consent for on a resource: the tenant-wide grant (AllPrincipals:
   * `grantedScopes`, `partnerCenterConsent`) plus this user's own grants (Principal).
   */
  private grantedFor(app: Application, userId: string, key: ConsentResource): Set<string> {
    const granted = new Set<string>();
    if (key === 'graph') for (const s of app.grantedScopes) granted.add(s.toLowerCase());
    if (key === 'partnerCenter' && app.partnerCenterConsent) granted.add('user_impersonation');
    for (const g of app.principalGrants) {
      if (g.principalId.toLowerCase() === userId.toLowerCase() && (g.resource ?? 'graph') === key) {
        for (const s of g.scopes) granted.add(s.toLowerCase());
      }
    }
    return granted;
  }

  /**
   * The delegated permissions a request names on a resource: `.default` stands for the permissions
   * the app registration lists (Graph `requestedScopes`); Partner Center has one, `user_impersonation`.
   */
  private wanted(app: Application, key: ConsentResource, names: readonly string[]): string[] {
    if (key === 'partnerCenter') return ['user_impersonation'];
    return unique(names.flatMap((n) => (n === '.default' ? app.requestedScopes : [n])));
  }

  /** What the sign-in must ask consent for: per resource, the scopes not granted yet (all of them with prompt=consent). */
  private consentNeeded(app: Application, userId: string, set: ScopeSet, forced: boolean): ConsentGroup[] {
    const groups: ConsentGroup[] = [];
    for (const r of set.resources) {
      const key = r.resource.key;
      if (!isConsentResource(key)) continue;
      const granted = this.grantedFor(app, userId, key);
      const scopes = this.wanted(app, key, r.names)
        .filter((n) => forced || (!NO_CONSENT_NEEDED.has(n.toLowerCase()) && !granted.has(n.toLowerCase())));
      if (scopes.length > 0) groups.push({ resource: { ...r.resource, key }, scopes });
    }
    return groups;
  }

  /**
   * Only an administrator may consent to these: Graph permissions marked "Admin consent required",
   * and Partner Center's `user_impersonation`, which a partner's admin grants to the app.
   */
  private static adminOnly(group: ConsentGroup, scope: string): boolean {
    return group.resource.key === 'partnerCenter' || GRAPH_ADMIN_ONLY.has(scope.toLowerCase());
  }

  /**
   * The consent step after a successful sign-in. Entra ID asks for consent when a requested
   * delegated permission is not granted yet for this user (their own grant or the tenant-wide one),
   * or always with `prompt=consent`:
   * https://learn.microsoft.com/en-us/entra/identity-platform/application-consent-experience
   *   - a Global Administrator sees the prompt with "Consent on behalf of your organization"
   *     (off by default): ticked → tenant-wide grant (AllPrincipals), else a grant for themselves;
   *   - anyone else consents for themselves, and is stopped at "Need admin approval" (AADSTS90094)
   *     when a permission needs admin consent;
   *   - Cancel (or "Return to the application without granting consent") sends the client
   *     `error=access_denied`, `error_subcode=cancel`, AADSTS65004 (UserDeclinedConsent).
   * Returns undefined when the sign-in may go on and issue the code.
   */
  private consentStep(req: SimRequest, params: URLSearchParams, form: URLSearchParams, client: ClientApp, signedIn: SignedInUser, set: ScopeSet): SimReply | undefined {
    const app = this.consentHolder(client, signedIn.tenant.id);
    const needed = this.consentNeeded(app, signedIn.user.id, set, params.get('prompt') === 'consent');
    if (needed.length === 0) return undefined;
    const decision = form.get('decision');
    if (decision === 'cancel') {
      return this.problemReply({ ...redirectError('access_denied', 65004, 'User declined to consent to access the app.'), subcode: 'cancel' }, params, req, 'signin');
    }
    // Active roles, direct or through a role-assignable group.
    const { user, tenant } = signedIn;
    const viaGroups = tenant.groups.filter((g) => g.isAssignableToRole && user.groups.some((n) => n.toLowerCase() === g.displayName.toLowerCase()));
    const admin = [...user.roles, ...viaGroups.flatMap((g) => g.roles)].some((r) => DELEGATED_CONSENT_ADMINS.has(r));
    if (!admin && needed.some((g) => g.scopes.some((s) => EntraService.adminOnly(g, s)))) {
      return this.consentPage(req, params, form, app, needed, 'admin-approval');
    }
    if (decision !== 'accept') return this.consentPage(req, params, form, app, needed, admin ? 'admin' : 'user');
    this.recordConsent(app, signedIn.user.id, needed, admin && isChecked(form.get('consent_for_org')));
    return undefined;
  }

  /** Accepted consent: one Principal grant per resource for this user, or the tenant-wide grant. */
  private recordConsent(app: Application, userId: string, groups: readonly ConsentGroup[], forOrganization: boolean): void {
    for (const { resource, scopes } of groups) {
      if (forOrganization) {
        if (resource.key === 'graph') app.grantedScopes = unique([...app.grantedScopes, ...scopes]);
        else app.partnerCenterConsent = true;
        continue;
      }
      const existing = app.principalGrants.find((g) => g.principalId.toLowerCase() === userId.toLowerCase() && (g.resource ?? 'graph') === resource.key);
      if (existing) existing.scopes = unique([...existing.scopes, ...scopes]);
      else app.principalGrants.push({ principalId: userId, resource: resource.key, scopes: [...scopes] });
    }
  }

  /**
   * "Permissions requested" (Accept / Cancel; the organization checkbox for a Global Administrator
   * only), or "Need admin approval" for anyone else when a permission needs an admin. The form
   * carries the sign-in fields on (the simulator keeps no session).
   */
  private consentPage(req: SimRequest, params: URLSearchParams, form: URLSearchParams, app: Application, groups: readonly ConsentGroup[], kind: 'admin' | 'user' | 'admin-approval'): SimReply {
    const keep = [...params].filter(([k]) => !['decision', 'consent_for_org'].includes(k));
    for (const k of ['upn', 'password', 'mfa', 'register']) {
      const v = form.get(k);
      if (v !== null && !keep.some(([x]) => x === k)) keep.push([k, v]);
    }
    const resourceName = (g: ConsentGroup): string => (g.resource.key === 'graph' ? 'Microsoft Graph' : 'Microsoft Partner Center');
    const list = [
      '<ul class="permissions">',
      ...groups.flatMap((g) => g.scopes.map((s) => `<li data-resource="${escapeHtml(g.resource.aud)}" data-scope="${escapeHtml(s)}">${escapeHtml(s)} <small>(${resourceName(g)}${EntraService.adminOnly(g, s) ? ', admin consent required' : ''})</small></li>`)),
      '</ul>',
    ].join('\n');
    const hidden = keep.map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`);
    const upn = form.get('upn') ?? '';
    if (kind === 'admin-approval') {
      const problem = page(90094, `${app.displayName} needs permission to access resources in your organization that only an admin can grant. Please ask an admin to grant permission to this app before you can use it.`);
      const body = [
        '<h1 data-step="admin-approval">Need admin approval</h1>',
        `<p>${escapeHtml(upn)}</p>`,
        errorBlock(problem),
        list,
        `<form method="post" action="${escapeHtml(req.url.pathname)}">`,
        ...hidden,
        '<button type="submit" name="decision" value="cancel">Return to the application without granting consent</button>',
        '</form>',
      ].join('\n');
      return { status: 200, headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }, body: htmlPage('Need admin approval', body) };
    }
    const body = [
      '<h1 data-step="consent">Permissions requested</h1>',
      `<p>${escapeHtml(upn)}</p>`,
      `<p><b>${escapeHtml(app.displayName)}</b> <small>unverified</small></p>`,
      '<p>This app would like to:</p>',
      list,
      `<form method="post" action="${escapeHtml(req.url.pathname)}">`,
      ...hidden,
      kind === 'admin' ? '<label><input type="checkbox" name="consent_for_org" value="on"> Consent on behalf of your organization</label>' : '',
      '<button type="submit" name="decision" value="cancel">Cancel</button> <button type="submit" name="decision" value="accept">Accept</button>',
      '</form>',
    ].join('\n');
    return { status: 200, headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }, body: htmlPage('Permissions requested', body) };
  }

  private problemReply(problem: Problem, params: URLSearchParams, req: SimRequest, form: 'signin' | 'consent'): SimReply {
    if (problem.kind === 'mfa') return this.mfaPage(req, params, problem);
    if (problem.kind === 'redirect') {
      const redirectUri = params.get('redirect_uri') ?? '';
      const description = `AADSTS${problem.aadsts}: ${problem.message}\r\nTrace ID: ${randomUUID()}\r\nCorrelation ID: ${randomUUID()}\r\nTimestamp: ${iso(this.ctx.now()).replace('T', ' ').slice(0, 19)}Z`;
      return redirectTo(redirectUri, form === 'signin' ? params.get('response_mode') : 'query', {
        // Admin consent errors still say admin_consent=True next to error: a callback must read
        // `error` first. https://learn.microsoft.com/en-us/entra/identity-platform/v2-admin-consent#error-response
        ...(form === 'consent' ? { admin_consent: 'True' } : {}),
        error: problem.error,
        ...(problem.subcode ? { error_subcode: problem.subcode } : {}),
        error_description: description,
        error_uri: `${this.ctx.baseUrl}/error?code=${problem.aadsts}`,
        state: params.get('state') ?? undefined,
      });
    }
    // The page can only offer the form again when the request itself was sound (a sign-in failure).
    const retry = [50034, 50126, 50057, 50020, 900144].includes(problem.aadsts) && params.get('client_id') !== null;
    return retry ? this.signInPage(req, params, form, problem) : { status: 200, headers: { 'content-type': 'text/html; charset=utf-8' }, body: htmlPage('Sign in', errorBlock(problem)) };
  }

  private signInPage(req: SimRequest, params: URLSearchParams, form: 'signin' | 'consent', problem?: PageError): SimReply {
    const hidden = [...params].filter(([k]) => !['upn', 'password', 'mfa', 'decision', 'consent_for_org'].includes(k));
    const users = this.ctx.scenario.tenants.flatMap((t) => t.users.map((u) => ({ t, u })));
    const hint = params.get('login_hint') ?? '';
    const app = this.findApp(params.get('client_id') ?? '');
    const body = [
      `<h1>${form === 'consent' ? 'Permissions requested — accept for your organization' : 'Sign in'}</h1>`,
      app ? `<p>to continue to <b>${escapeHtml(app.app.displayName)}</b></p>` : '',
      problem ? errorBlock(problem) : '',
      `<form method="post" action="${escapeHtml(req.url.pathname)}">`,
      ...hidden.map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`),
      `<label>Account <input name="upn" list="accounts" autocomplete="username" value="${escapeHtml(hint)}"></label>`,
      `<datalist id="accounts">${users.map(({ u }) => `<option value="${escapeHtml(u.userPrincipalName)}">`).join('')}</datalist>`,
      `<label>Password <input type="password" name="password" autocomplete="current-password"></label>`,
      form === 'consent'
        ? '<button type="submit" name="decision" value="accept">Accept</button> <button type="submit" name="decision" value="cancel">Cancel</button>'
        : '<button type="submit">Sign in</button>',
      '</form>',
      // Scenario passwords are fake: showing them lets a person (or Playwright) pick any account.
      '<table><caption>Accounts in this scenario</caption><tr><th>Account</th><th>Password</th><th>Name</th><th>Tenant</th><th>Roles</th><th>MFA</th></tr>',
      ...users.map(({ t, u }) => `<tr><td>${escapeHtml(u.userPrincipalName)}</td><td><code>${escapeHtml(u.password)}</code></td><td>${escapeHtml(u.displayName)}</td><td>${escapeHtml(t.displayName)}</td><td>${escapeHtml(u.roles.join(', '))}</td><td>${escapeHtml(u.mfaMethods.join(', ') || 'none')}${u.mfaEnforced ? ' (enforced)' : ''}${u.accountEnabled ? '' : ' — disabled'}</td></tr>`),
      '</table>',
    ].join('\n');
    return { status: 200, headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }, body: htmlPage(form === 'consent' ? 'Permissions requested' : 'Sign in to your account', body) };
  }

  /** The second step of the sign-in page: approve the sign-in, or register a method first. */
  private mfaPage(req: SimRequest, params: URLSearchParams, step: MfaStep): SimReply {
    const form = req.method === 'POST' ? readForm(req) : new URLSearchParams();
    const keep = [...params].filter(([k]) => !['mfa', 'register'].includes(k));
    for (const k of ['upn', 'password', 'decision', 'consent_for_org']) {
      const v = form.get(k);
      if (v !== null && !keep.some(([x]) => x === k)) keep.push([k, v]);
    }
    const registration = step.step === 'mfa-registration';
    const body = [
      `<h1 data-step="${step.step}">${registration ? 'More information required' : 'Approve sign in request'}</h1>`,
      registration
        ? '<p>Your organization needs more information to keep your account secure. Set up Microsoft Authenticator to continue.</p>'
        : '<p>Open your Authenticator app and approve the request to sign in.</p>',
      `<form method="post" action="${escapeHtml(req.url.pathname)}">`,
      ...keep.map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`),
      registration ? '<label><input type="checkbox" name="register" value="on"> Authenticator set up</label>' : '',
      '<label><input type="checkbox" name="mfa" value="on"> Sign-in approved</label>',
      '<button type="submit">Verify</button>',
      '</form>',
    ].join('\n');
    return { status: 200, headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }, body: htmlPage(registration ? 'More information required' : 'Approve sign in request', body) };
  }

  // ---- admin consent -------------------------------------------------------------------------

  private adminConsent(req: SimRequest, v2: boolean): SimReply {
    const segment = req.params.tenant ?? '';
    const pt = this.pathTenant(segment);
    const params = oauthParams(req);
    const base = this.validateClient(pt, segment, params);
    if ('kind' in base) return this.problemReply(base, params, req, 'consent');
    const scopeParam = params.get('scope');
    // `scope` is required on the v2.0 endpoint: https://learn.microsoft.com/en-us/entra/identity-platform/v2-admin-consent#request-the-permissions-from-a-directory-admin
    if (v2 && !scopeParam) return this.problemReply(redirectError('invalid_request', 900144, missingParam('scope')), params, req, 'consent');
    const scopes = scopeParam ? parseScopes(scopeParam, this.ctx.baseUrl, pt?.tenant?.displayName) : undefined;
    if (scopes && !scopes.ok) return this.problemReply(redirectError(scopes.error, scopes.aadsts, scopes.message), params, req, 'consent');
    if (req.method === 'GET') return this.signInPage(req, params, 'consent');

    const form = readForm(req);
    if (form.get('decision') !== 'accept') {
      // The documented error response: consent_required, AADSTS65004 (v2-admin-consent#error-response).
      return this.problemReply(redirectError('consent_required', 65004, 'The resource owner or authorization server denied the request.'), params, req, 'consent');
    }
    const signedIn = this.authenticate(base.pt, form, base.client);
    if ('kind' in signedIn) return this.problemReply(signedIn, params, req, 'consent');
    if (!signedIn.user.roles.includes(GLOBAL_ADMIN)) {
      return this.problemReply(redirectError('access_denied', 90094, 'The grant requires admin permission.'), params, req, 'consent');
    }
    const app = this.consentHolder(this.findApp(base.client.app.appId, signedIn.tenant.id) ?? base.client, signedIn.tenant.id);
    // The v1 endpoint grants every permission the registration lists (requiredResourceAccess: the
    // Graph roles and scopes, and Partner Center's user_impersonation). On v2, a static scope
    // (`{resource}/.default`) "functions like the v1.0 admin consent endpoint and requests consent
    // for all scopes found in the required permissions (both user and app)"; dynamic scopes grant
    // those of the resource named. https://learn.microsoft.com/en-us/entra/identity-platform/v2-admin-consent#request-the-permissions-from-a-directory-admin
    const isStatic = scopes?.names.includes('.default') ?? true;
    const resource = isStatic ? undefined : scopes?.resource?.key;
    if (!resource || resource === 'graph') {
      app.grantedAppRoles = [...app.requestedAppRoles];
      app.grantedScopes = unique([...app.grantedScopes, ...app.requestedScopes]);
    }
    if (!resource || resource === 'partnerCenter') app.partnerCenterConsent = true;
    // The documented success: admin_consent=True, tenant, scope (v2: what was asked) and state.
    // https://learn.microsoft.com/en-us/entra/identity-platform/v2-admin-consent#successful-response
    return redirectTo(base.redirectUri, 'query', {
      admin_consent: 'True',
      tenant: signedIn.tenant.id,
      ...(v2 && scopeParam ? { scope: scopeParam } : {}),
      state: params.get('state') ?? undefined,
    });
  }

  // ---- token ---------------------------------------------------------------------------------

  private token(req: SimRequest): SimReply {
    const segment = req.params.tenant ?? '';
    const pt = this.pathTenant(segment);
    if (!pt) return this.sts(400, 'invalid_request', 90002, tenantNotFound(segment));
    const form = readForm(req);
    const basic = basicAuth(req);
    const clientId = form.get('client_id') ?? basic?.id;
    const clientSecret = form.get('client_secret') ?? basic?.secret;
    const grantType = form.get('grant_type');
    if (!grantType) return this.sts(400, 'invalid_request', 900144, missingParam('grant_type'));
    if (!clientId) return this.sts(400, 'invalid_request', 900144, missingParam('client_id'));
    switch (grantType) {
      case 'authorization_code': return this.redeemCode(pt, form, clientId, clientSecret);
      case 'refresh_token': return this.redeemRefreshToken(pt, form, clientId, clientSecret);
      case 'client_credentials': return this.clientCredentials(pt, form, clientId, clientSecret);
      default: return this.sts(400, 'unsupported_grant_type', 70003, `The app requested an unsupported grant type '${grantType}'.`);
    }
  }

  /**
   * Client authentication with a secret. The value must match exactly: a trailing space or the
   * secret's key id fails (7000215), as does a secret not replicated yet; an expired one is 7000222.
   */
  private authenticateClient(app: Application, secret: string | undefined | null, required: boolean): SimReply | undefined {
    if (secret === undefined || secret === null) {
      return required ? this.sts(401, 'invalid_client', 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.") : undefined;
    }
    const invalid = this.sts(401, 'invalid_client', 7000215, `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${app.appId}'.`);
    const match = app.secrets.find((s) => sameString(s.value, secret));
    if (!match) return invalid;
    const now = this.ctx.now();
    if (this.when(match.endDateTime) < now) {
      return this.sts(401, 'invalid_client', 7000222, `The provided client secret keys for app '${app.appId}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.`);
    }
    if (this.when(match.startDateTime) > now || now < this.ctx.loadedAt + match.replicationDelaySeconds * 1000) return invalid;
    // A secret added a moment ago is not everywhere yet: refused for its first few uses (ours: the count).
    if (match.refusedAttempts > 0) {
      match.refusedAttempts -= 1;
      return invalid;
    }
    return undefined;
  }

  private redeemCode(pt: PathTenant, form: URLSearchParams, clientId: string, clientSecret: string | undefined): SimReply {
    const code = form.get('code');
    if (!code) return this.sts(400, 'invalid_request', 900144, missingParam('code'));
    const rec = this.codes.get(code);
    if (!rec) return this.sts(400, 'invalid_grant', 70000, 'Provided grant is invalid or malformed.');
    if (rec.redeemed) return this.sts(400, 'invalid_grant', 54005, 'OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.');
    if (this.ctx.now() > rec.expiresAt) {
      return this.sts(400, 'invalid_grant', 70008, 'The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.');
    }
    if (rec.clientId.toLowerCase() !== clientId.toLowerCase()) return this.sts(400, 'invalid_grant', 70000, 'Provided grant is invalid or malformed.');
    if (pt.tenant && pt.tenant.id !== rec.tenantId) return this.sts(400, 'invalid_grant', 700005, 'Provided Authorization Code is intended to use against other tenant, thus rejected.');
    const redirectUri = form.get('redirect_uri');
    if (!redirectUri) return this.sts(400, 'invalid_request', 900144, missingParam('redirect_uri'));
    if (redirectUri !== rec.redirectUri) {
      return this.sts(400, 'invalid_grant', 500112, `The reply address '${redirectUri}' does not match the reply address '${rec.redirectUri}' provided when requesting Authorization code.`);
    }
    const verifier = form.get('code_verifier');
    if (!verifier) return this.sts(400, 'invalid_request', 900144, missingParam('code_verifier'));
    if (pkceS256(verifier) !== rec.codeChallenge) return this.sts(400, 'invalid_grant', 501481, 'The Code_Verifier does not match the code_challenge supplied in the authorization request.');
    const client = this.findApp(clientId, rec.tenantId);
    if (!client) return this.sts(400, 'unauthorized_client', 700016, appNotFound(clientId, pt.tenant?.displayName ?? rec.tenantId));
    const clientProblem = this.authenticateClient(client.app, clientSecret, client.app.secrets.length > 0);
    if (clientProblem) return clientProblem;
    const found = this.findUser(rec.tenantId, rec.userId);
    if (!found) return this.sts(400, 'invalid_grant', 50034, 'The user account does not exist in the directory.');
    if (!found.user.accountEnabled) return this.sts(400, 'invalid_grant', 50057, 'The user account is disabled.');
    const scopes = parseScopes(form.get('scope') ?? rec.scope, this.ctx.baseUrl, found.tenant.displayName);
    if (!scopes.ok) return this.sts(400, scopes.error, scopes.aadsts, scopes.message);
    const consent = this.consentProblem(client, rec.tenantId, rec.userId, scopes);
    if (consent) return consent;
    rec.redeemed = true;
    const now = this.ctx.now();
    const grant: Grant = { clientId: client.app.appId, tenantId: rec.tenantId, userId: rec.userId, mfa: rec.mfa, amr: rec.amr, authTime: rec.authTime, issuedAt: now, lastUsedAt: now };
    return this.userTokens(grant, client, found, scopes, rec.nonce);
  }

  private redeemRefreshToken(pt: PathTenant, form: URLSearchParams, clientId: string, clientSecret: string | undefined): SimReply {
    const token = form.get('refresh_token');
    if (!token) return this.sts(400, 'invalid_request', 900144, missingParam('refresh_token'));
    const grant = this.grants.get(token);
    if (!grant) return this.sts(400, 'invalid_grant', 9002313, 'Invalid request. Request is malformed or invalid.');
    if (grant.clientId.toLowerCase() !== clientId.toLowerCase()) return this.sts(400, 'invalid_grant', 70000, 'Provided grant is invalid or malformed.');
    const client = this.findApp(clientId, grant.tenantId);
    if (!client) return this.sts(400, 'unauthorized_client', 700016, appNotFound(clientId, pt.tenant?.displayName ?? grant.tenantId));
    const clientProblem = this.authenticateClient(client.app, clientSecret, client.app.secrets.length > 0);
    if (clientProblem) return clientProblem;
    const now = this.ctx.now();
    if (now - grant.lastUsedAt > REFRESH_MAX_INACTIVE_MS) {
      return this.sts(400, 'invalid_grant', 700082, `The refresh token has expired due to inactivity. The token was issued on ${iso(grant.issuedAt)} and was inactive for 90.00:00:00.`, 'bad_token');
    }
    const found = this.findUser(grant.tenantId, grant.userId);
    if (!found) return this.sts(400, 'invalid_grant', 50034, 'The user account does not exist in the directory.');
    if (!found.user.accountEnabled) return this.sts(400, 'invalid_grant', 50057, 'The user account is disabled.');
    // Refresh-token revocation: https://learn.microsoft.com/en-us/entra/identity-platform/refresh-tokens#token-revocation
    // Revoking sessions kills every refresh token; a password change or reset kills only those of
    // public clients ("confidential client token: stays alive").
    const revokedAt = found.user.sessionsRevokedAt ? this.when(found.user.sessionsRevokedAt) : undefined;
    const passwordAt = found.user.passwordChangedAt && client.app.secrets.length === 0 ? this.when(found.user.passwordChangedAt) : undefined;
    for (const at of [revokedAt, passwordAt]) {
      if (at !== undefined && at > grant.issuedAt && at <= now) {
        return this.sts(400, 'invalid_grant', 50173, `The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password. The grant was issued on '${iso(grant.issuedAt)}' and the TokensValidFrom date (before which tokens are not valid) for this user is '${iso(at)}'.`, 'bad_token');
      }
    }
    // AADSTS700003 (reference-error-codes): the device the grant was bound to was deleted.
    const deviceGoneAt = found.user.deviceDeletedAt ? this.when(found.user.deviceDeletedAt) : undefined;
    if (deviceGoneAt !== undefined && deviceGoneAt > grant.issuedAt && deviceGoneAt <= now) {
      return this.sts(400, 'invalid_grant', 700003, `Device object was not found in the tenant '${found.tenant.id}' directory.`, 'device_authentication_failed');
    }
    // AADSTS70043: a conditional access sign-in frequency shorter than the session's age.
    // https://learn.microsoft.com/en-us/entra/identity/conditional-access/concept-session-lifetime
    const frequencyMs = signInFrequencyMs(found.tenant);
    if (frequencyMs !== undefined && now - grant.authTime * 1000 > frequencyMs) {
      return this.sts(400, 'invalid_grant', 70043, `The refresh token has expired or is invalid due to sign-in frequency checks by conditional access. The token was issued on ${iso(grant.authTime * 1000)} and the maximum allowed lifetime for this request is ${Math.round(frequencyMs / 1000)}.`, 'bad_token');
    }
    const scopes = parseScopes(form.get('scope') ?? 'openid profile offline_access', this.ctx.baseUrl, found.tenant.displayName);
    if (!scopes.ok) return this.sts(400, scopes.error, scopes.aadsts, scopes.message);
    if (found.user.mfaEnforced && !grant.mfa) {
      // MFA switched on after the user signed in: the old grant no longer satisfies policy. Only the
      // token endpoint answers 50076 / 50079 (suberror basic_action); the sign-in page asks instead.
      const target = scopes.resource?.appId ?? scopes.resource?.aud ?? clientId;
      return found.user.mfaMethods.length === 0
        ? this.sts(400, 'invalid_grant', 50079, `Due to a configuration change made by your administrator, or because you moved to a new location, you must enroll in multi-factor authentication to access '${target}'.`, 'basic_action')
        : this.sts(400, 'invalid_grant', 50076, `Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '${target}'.`, 'basic_action');
    }
    const consent = this.consentProblem(client, grant.tenantId, grant.userId, scopes);
    if (consent) return consent;
    grant.lastUsedAt = now;
    return this.userTokens({ ...grant, issuedAt: now, lastUsedAt: now }, client, found, scopes);
  }

  private clientCredentials(pt: PathTenant, form: URLSearchParams, clientId: string, clientSecret: string | undefined): SimReply {
    if (!pt.tenant) {
      return this.sts(400, 'invalid_request', 900023, `Specified tenant identifier '${pt.segment}' is neither a valid DNS name, nor a valid external domain.`);
    }
    const tenant = pt.tenant;
    const app = tenant.applications.find((a) => a.appId.toLowerCase() === clientId.toLowerCase());
    if (!app) return this.sts(400, 'unauthorized_client', 700016, appNotFound(clientId, tenant.displayName));
    const clientProblem = this.authenticateClient(app, clientSecret, true);
    if (clientProblem) return clientProblem;
    // An app registration created through Graph has no service principal until POST /servicePrincipals:
    // AADSTS7000229 (reference-error-codes: "missing service principal in the tenant").
    if (!app.hasServicePrincipal) {
      return this.sts(401, 'invalid_client', 7000229, `The client application ${app.appId} is missing service principal in the tenant ${tenant.id}. See instructions here: https://go.microsoft.com/fwlink/?linkid=2225119`);
    }
    const scopeParam = form.get('scope');
    if (!scopeParam) return this.sts(400, 'invalid_request', 900144, missingParam('scope'));
    const scopes = parseScopes(scopeParam, this.ctx.baseUrl, tenant.displayName);
    if (!scopes.ok) return this.sts(400, scopes.error, scopes.aadsts, scopes.message);
    if (!scopes.resource || scopes.names.length !== 1 || scopes.names[0] !== '.default') {
      return this.sts(400, 'invalid_scope', 1002012, `The provided value for scope ${scopeParam} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`);
    }
    const now = sec(this.ctx.now());
    const ttl = accessTokenTtl();
    const absent = this.absentResource(tenant, [scopes.resource]);
    if (absent) return this.sts(400, 'invalid_resource', 500011, absent);
    const roles = scopes.resource.key === 'graph' ? app.grantedAppRoles : [];
    // App-only v1.0 access token: no scp, `roles` only when some are granted, `idtyp` app.
    const claims: Claims = {
      aud: scopes.resource.aud,
      iss: v1Issuer(tenant.id),
      iat: now,
      nbf: now,
      exp: now + ttl,
      aio: randomBytes(24).toString('base64url'),
      appid: app.appId,
      appidacr: '1',
      idp: v1Issuer(tenant.id),
      idtyp: 'app',
      oid: app.servicePrincipalId,
      rh: randomBytes(12).toString('base64url'),
      sub: app.servicePrincipalId,
      tid: tenant.id,
      uti: randomBytes(16).toString('base64url'),
      ver: '1.0',
      ...(roles.length > 0 ? { roles: [...roles] } : {}),
    };
    return tokenReply({
      token_type: 'Bearer',
      expires_in: ttl,
      ext_expires_in: ttl,
      access_token: this.ctx.signer.sign(claims),
    });
  }

  /**
   * Delegated consent at the token endpoint: every named scope must be granted for this user, by
   * the tenant-wide grant or their own (Principal) grant; `.default` needs some grant on the
   * resource. Missing consent is AADSTS65001 (invalid_grant, suberror consent_required). A refresh
   * token works for every permission the client has consent for, whatever the sign-in asked:
   * https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow#refresh-the-access-token
   */
  private consentProblem(client: ClientApp, tenantId: string, userId: string, scopes: ParsedScopes): SimReply | undefined {
    const app = this.consentHolder(client, tenantId);
    const key = scopes.resource?.key ?? 'graph';
    if (!isConsentResource(key)) return undefined;
    const granted = this.grantedFor(app, userId, key);
    const missing = key === 'partnerCenter'
      ? !granted.has('user_impersonation')
      : scopes.names.some((n) => n === '.default'
        ? granted.size === 0
        : !NO_CONSENT_NEEDED.has(n.toLowerCase()) && !granted.has(n.toLowerCase()));
    if (!missing) return undefined;
    return this.sts(400, 'invalid_grant', 65001, `The user or administrator has not consented to use the application with ID '${app.appId}' named '${app.displayName}'. Send an interactive authorization request for this user and resource.`, 'consent_required');
  }

  /** `scp`: what the user asked for on the resource plus everything granted to them there. */
  private delegatedScp(app: Application, userId: string, scopes: ParsedScopes): string[] {
    const resource = scopes.resource;
    const named = scopes.names.filter((n) => n !== '.default');
    if (!resource || resource.key === 'graph') {
      const granted = [
        ...app.grantedScopes,
        ...app.principalGrants.filter((g) => g.principalId.toLowerCase() === userId.toLowerCase() && (g.resource ?? 'graph') === 'graph').flatMap((g) => g.scopes),
      ];
      return unique([...(named.length > 0 || !resource ? ['User.Read', ...named] : []), ...granted]);
    }
    if (resource.key === 'partnerCenter') return ['user_impersonation'];
    return named.length > 0 ? named : ['user_impersonation'];
  }

  private userTokens(grant: Grant, client: ClientApp, found: { tenant: Tenant; user: User }, scopes: ParsedScopes, nonce?: string): SimReply {
    const { tenant, user } = found;
    const absent = this.absentResource(tenant, scopes.resource ? [scopes.resource] : []);
    if (absent) return this.sts(400, 'invalid_resource', 500011, absent);
    const now = sec(this.ctx.now());
    const ttl = accessTokenTtl();
    const aud = scopes.resource?.aud ?? 'https://graph.microsoft.com';
    const confidential = client.app.secrets.length > 0 ? '1' : '0';
    const [given, ...family] = user.displayName.split(' ');
    // v1.0 access token (see v1Issuer): `amr` lives here, and only here, for the resource to read.
    const access: Claims = {
      aud,
      iss: v1Issuer(tenant.id),
      iat: now,
      nbf: now,
      exp: now + ttl,
      acr: '1',
      aio: randomBytes(24).toString('base64url'),
      amr: [...grant.amr],
      appid: client.app.appId,
      appidacr: confidential,
      family_name: family.join(' ') || undefined,
      given_name: given,
      idtyp: 'user',
      ipaddr: '127.0.0.1',
      name: user.displayName,
      oid: user.id,
      rh: randomBytes(12).toString('base64url'),
      scp: this.delegatedScp(this.consentHolder(client, tenant.id), user.id, scopes).join(' '),
      sub: pairwiseSub(user.id, aud),
      tid: tenant.id,
      unique_name: user.userPrincipalName,
      upn: user.userPrincipalName,
      uti: randomBytes(16).toString('base64url'),
      ver: '1.0',
    };
    const body: Record<string, unknown> = {
      token_type: 'Bearer',
      scope: [...scopes.resourceScopes, ...[...scopes.oidc].filter((s) => s !== 'offline_access')].join(' ') || 'openid profile',
      expires_in: ttl,
      ext_expires_in: ttl,
      access_token: this.ctx.signer.sign(access),
    };
    if (scopes.oidc.has('offline_access')) {
      // Each redemption returns a new refresh token; the one redeemed stays valid until it expires
      // or is revoked: https://learn.microsoft.com/en-us/entra/identity-platform/refresh-tokens
      const refreshToken = randomBytes(48).toString('base64url');
      this.grants.set(refreshToken, { ...grant });
      body.refresh_token = refreshToken;
    }
    if (scopes.oidc.has('openid')) {
      // v2.0 ID token: it has no `amr` claim (and no auth_time):
      // https://learn.microsoft.com/en-us/entra/identity-platform/id-token-claims-reference
      body.id_token = this.ctx.signer.sign({
        aud: client.app.appId,
        iss: `${this.ctx.baseUrl}/${tenant.id}/v2.0`,
        iat: now,
        nbf: now,
        exp: now + ID_TOKEN_TTL_S,
        aio: randomBytes(24).toString('base64url'),
        name: user.displayName,
        ...(nonce ? { nonce } : {}),
        oid: user.id,
        preferred_username: user.userPrincipalName,
        rh: randomBytes(12).toString('base64url'),
        sub: pairwiseSub(user.id, client.app.appId),
        tid: tenant.id,
        uti: randomBytes(16).toString('base64url'),
        ver: '2.0',
      });
    }
    body.client_info = b64urlJson({ uid: user.id, utid: tenant.id });
    return tokenReply(body);
  }
}

/** The shortest sign-in frequency of the tenant's enabled conditional access policies, in ms. */
function signInFrequencyMs(tenant: Tenant): number | undefined {
  let shortest: number | undefined;
  for (const p of tenant.conditionalAccessPolicies) {
    if (p.state !== 'enabled' || !p.signInFrequency) continue;
    const ms = p.signInFrequency.value * (p.signInFrequency.type === 'days' ? 86_400_000 : 3_600_000);
    shortest = shortest === undefined ? ms : Math.min(shortest, ms);
  }
  return shortest;
}

function tokenReply(body: Record<string, unknown>): SimReply {
  return json(200, body, { 'cache-control': 'no-store, no-cache', pragma: 'no-cache' });
}

function basicAuth(req: SimRequest): { id: string; secret: string } | undefined {
  const m = /^Basic\s+(.+)$/i.exec(req.headers.authorization ?? '');
  if (!m?.[1]) return undefined;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i < 0) return undefined;
  return { id: decodeURIComponent(decoded.slice(0, i)), secret: decodeURIComponent(decoded.slice(i + 1)) };
}

/** Sends the browser back to the client: query string (default), fragment, or an auto-posting form. */
function redirectTo(redirectUri: string, responseMode: string | null, params: Record<string, string | undefined>): SimReply {
  const entries = Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined);
  if (responseMode === 'form_post') {
    const inputs = entries.map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`).join('');
    return {
      status: 200,
      headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' },
      body: `<!DOCTYPE html><html><body onload="document.forms[0].submit()"><form method="post" action="${escapeHtml(redirectUri)}">${inputs}<noscript><button type="submit">Continue</button></noscript></form></body></html>`,
    };
  }
  const url = new URL(redirectUri);
  if (responseMode === 'fragment') {
    url.hash = new URLSearchParams(entries).toString();
  } else {
    for (const [k, v] of entries) url.searchParams.set(k, v);
  }
  return { status: 302, headers: { location: url.toString(), 'cache-control': 'no-store' } };
}

function errorBlock(problem: PageError): string {
  return `<div class="error" role="alert" data-aadsts="${problem.aadsts}">AADSTS${problem.aadsts}: ${escapeHtml(problem.message)}</div>`;
}

function htmlPage(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:Segoe UI,sans-serif;max-width:44rem;margin:2rem auto}label{display:block;margin:.5rem 0}.error{color:#a80000;border:1px solid #a80000;padding:.5rem;margin:1rem 0}table{margin-top:2rem;border-collapse:collapse;font-size:.85rem}td,th{border:1px solid #ccc;padding:.2rem .4rem}</style>
</head><body><p><small>Microsoft cloud simulator — Entra ID</small></p>
${body}
</body></html>`;
}

export const entraService: ServiceFactory = (ctx) => new EntraService(ctx);

// ---- test helpers ------------------------------------------------------------------------------

/** A sign-in or consent that did not give the client what it asked for. */
export class SignInError extends Error {
  constructor(
    /** OAuth error (`interaction_required`, `access_denied`…), or `page` when Entra ID showed it on its page. */
    readonly error: string,
    readonly description: string,
    readonly aadsts: number | undefined,
    /**
     * Where the sign-in page stopped: its second-factor step (approve, or register a method first),
     * the consent prompt ("Permissions requested") no answer was given for, or "Need admin approval".
     */
    readonly step?: SignInStep,
    /** `error_subcode` of the redirect, e.g. `cancel` when the user declined consent. */
    readonly subcode?: string,
  ) {
    super(`${error}: ${description}`);
    this.name = 'SignInError';
  }
}

export type SignInStep = 'mfa' | 'mfa-registration' | 'consent' | 'admin-approval';

export interface SignInOptions {
  sim: { baseUrl: string };
  /** Tenant id, domain, `common` or `organizations`: the `{tenant}` of the authorize URL. */
  tenant: string;
  clientId: string;
  redirectUri: string;
  codeChallenge: string;
  codeChallengeMethod?: string;
  scope: string | readonly string[];
  state?: string;
  nonce?: string;
  prompt?: string;
  upn: string;
  /** Defaults to the scenario default, `Passw0rd!`. */
  password?: string;
  /** Whether the user completes the second factor when the page asks for it. */
  mfa?: boolean;
  /** Whether a user without a method registers one when the page asks ("More information required"). */
  registerMfa?: boolean;
  /** `login_hint`: pre-fills the account on the page (the form still posts `upn`). */
  loginHint?: string;
  /**
   * The answer to the consent page ("Permissions requested") when the sign-in shows it: `accept`,
   * or `cancel` (the client gets `access_denied`, subcode `cancel`, AADSTS65004). `cancel` also
   * leaves "Need admin approval" the same way. Unset: a consent page rejects with a
   * {@link SignInError} whose `step` is `consent`.
   */
  consent?: 'accept' | 'cancel';
  /** Tick "Consent on behalf of your organization" (shown to a Global Administrator only): the grant becomes tenant-wide. */
  consentForOrganization?: boolean;
}

async function postForm(url: string, fields: Record<string, string | undefined>): Promise<Response> {
  const body = new URLSearchParams();
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) body.set(k, v);
  return fetch(url, { method: 'POST', body, redirect: 'manual' });
}

function unescapeHtml(s: string): string {
  return s.replace(/&#39;/g, "'").replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

const STEP_MESSAGES: Record<SignInStep, string> = {
  'mfa': 'the sign-in page asks for the second factor',
  'mfa-registration': 'the sign-in page asks the user to register an MFA method',
  'consent': 'the sign-in page asks for consent (Permissions requested)',
  'admin-approval': 'the sign-in page says Need admin approval',
};

async function outcome(res: Response): Promise<URLSearchParams> {
  const location = res.headers.get('location');
  if (res.status === 302 && location) {
    const params = new URL(location).searchParams;
    const error = params.get('error');
    if (error) {
      const description = params.get('error_description') ?? '';
      const code = /AADSTS(\d+)/.exec(description)?.[1];
      throw new SignInError(error, description, code ? Number(code) : undefined, undefined, params.get('error_subcode') ?? undefined);
    }
    return params;
  }
  const html = await res.text();
  const step = /data-step="(mfa|mfa-registration|consent|admin-approval)"/.exec(html)?.[1] as SignInStep | undefined;
  const m = /data-aadsts="(\d+)">([^<]*)</.exec(html);
  if (step) throw new SignInError('page', m ? unescapeHtml(m[2]!) : STEP_MESSAGES[step], m ? Number(m[1]) : undefined, step);
  if (m) throw new SignInError('page', unescapeHtml(m[2]!), Number(m[1]));
  throw new SignInError('page', `unexpected sign-in response: HTTP ${res.status}`, undefined);
}

/**
 * Signs a user in through the simulator's authorize endpoint with the form a browser would post,
 * and returns the authorization code. Any error (shown on the page or sent to the redirect URI)
 * rejects with a {@link SignInError} whose message contains the AADSTS code; a step the options do
 * not answer (second factor, consent) rejects with its `step`.
 *
 *     // first sign-in of a Global Administrator, consenting for the whole organization
 *     await signInWithoutBrowser({ ...base, upn, mfa: true, consent: 'accept', consentForOrganization: true });
 */
export async function signInWithoutBrowser(opts: SignInOptions): Promise<string> {
  const res = await postForm(`${opts.sim.baseUrl}/${opts.tenant}/oauth2/v2.0/authorize`, {
    client_id: opts.clientId,
    redirect_uri: opts.redirectUri,
    response_type: 'code',
    response_mode: 'query',
    scope: typeof opts.scope === 'string' ? opts.scope : opts.scope.join(' '),
    state: opts.state,
    nonce: opts.nonce,
    prompt: opts.prompt,
    code_challenge: opts.codeChallenge,
    code_challenge_method: opts.codeChallengeMethod ?? 'S256',
    login_hint: opts.loginHint,
    upn: opts.upn,
    password: opts.password ?? 'Passw0rd!',
    mfa: opts.mfa ? 'on' : undefined,
    register: opts.registerMfa ? 'on' : undefined,
    decision: opts.consent,
    consent_for_org: opts.consentForOrganization ? 'on' : undefined,
  });
  const params = await outcome(res);
  const code = params.get('code');
  if (!code) throw new SignInError('page', 'redirect carried no code', undefined);
  return code;
}

export interface AdminConsentOptions {
  sim: { baseUrl: string };
  tenant: string;
  clientId: string;
  redirectUri: string;
  upn: string;
  password?: string;
  mfa?: boolean;
  state?: string;
  /** v2.0 endpoint scope, e.g. `https://graph.microsoft.com/.default`; omit for the v1 endpoint. */
  scope?: string;
  decision?: 'accept' | 'cancel';
}

/** Grants admin consent as a browser would; resolves with the redirect's parameters (admin_consent, tenant, state). */
export async function adminConsentWithoutBrowser(opts: AdminConsentOptions): Promise<URLSearchParams> {
  const path = opts.scope ? 'v2.0/adminconsent' : 'adminconsent';
  const res = await postForm(`${opts.sim.baseUrl}/${opts.tenant}/${path}`, {
    client_id: opts.clientId,
    redirect_uri: opts.redirectUri,
    state: opts.state,
    scope: opts.scope,
    upn: opts.upn,
    password: opts.password ?? 'Passw0rd!',
    mfa: opts.mfa ? 'on' : undefined,
    decision: opts.decision ?? 'accept',
  });
  return outcome(res);
}
