import { bearer, odataError, type SimReply, type SimRequest } from './http';
import type { Claims } from './jwt';
import type { SimContext } from './server';

/**
 * The resources the simulated Entra ID issues tokens for, and how a scope names each of them:
 * by its App ID URI (`https://graph.microsoft.com/User.Read`), by its well-known application id
 * (`00000003-…/User.Read`), or by where the simulator serves it (`${baseUrl}/graph/.default`).
 * Tokens always carry the real audience, so code under test never sees the simulator's URLs in `aud`.
 */
export interface ResourceInfo {
  readonly key: ResourceKey;
  /** The access token's `aud`. */
  readonly aud: string;
  /** First-party application id of the resource; tokens with it as `aud` are accepted too. */
  readonly appId?: string;
  /** Path below the simulator's baseUrl where the API is served. */
  readonly simPath?: string;
}

export type ResourceKey = 'graph' | 'partnerCenter' | 'keyVault' | 'botFramework';

export const RESOURCES: readonly ResourceInfo[] = [
  { key: 'graph', aud: 'https://graph.microsoft.com', appId: '00000003-0000-0000-c000-000000000000', simPath: '/graph' },
  { key: 'partnerCenter', aud: 'https://api.partnercenter.microsoft.com', appId: 'fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd', simPath: '/partnercenter' },
  { key: 'keyVault', aud: 'https://vault.azure.net', appId: 'cfa8b339-82a2-471a-a3c9-0fc0be7a4093' },
  { key: 'botFramework', aud: 'https://api.botframework.com', simPath: '/connector' },
];

/** Audiences by resource, for services checking tokens: `verifyBearer(ctx, req, AUDIENCE.graph)`. */
export const AUDIENCE: Readonly<Record<ResourceKey, string>> = Object.freeze(
  Object.fromEntries(RESOURCES.map((r) => [r.key, r.aud])) as Record<ResourceKey, string>,
);

function resourceFor(key: ResourceKey): ResourceInfo {
  const r = RESOURCES.find((x) => x.key === key);
  if (!r) throw new Error(`unknown resource ${key}`);
  return r;
}

/** OpenID Connect scopes: they name no resource. */
export const OIDC_SCOPES: ReadonlySet<string> = new Set(['openid', 'profile', 'email', 'offline_access']);

const trimSlash = (s: string): string => s.replace(/\/+$/, '').toLowerCase();

/** Finds the resource a scope prefix names (`https://graph.microsoft.com`, an app id, `${baseUrl}/graph`). */
export function findResource(resourceId: string, baseUrl: string): ResourceInfo | undefined {
  const id = trimSlash(resourceId);
  return RESOURCES.find((r) =>
    trimSlash(r.aud) === id ||
    (r.appId !== undefined && r.appId.toLowerCase() === id) ||
    (r.simPath !== undefined && trimSlash(baseUrl + r.simPath) === id));
}

export interface ParsedScopes {
  /** Every scope as the client sent it. */
  readonly raw: readonly string[];
  readonly oidc: ReadonlySet<string>;
  /** The one resource the request is for; undefined when only OIDC scopes were asked for. */
  readonly resource?: ResourceInfo;
  /** Permission names on that resource, without the resource prefix: `User.Read`, `.default`. */
  readonly names: readonly string[];
  /** The resource scopes as the client spelled them (what the token response echoes). */
  readonly resourceScopes: readonly string[];
}

export type ScopeParse =
  | ({ ok: true } & ParsedScopes)
  | { ok: false; error: 'invalid_scope' | 'invalid_resource'; aadsts: number; message: string };

/** The scopes of one resource within a `scope` parameter. */
export interface ResourceScopes {
  readonly resource: ResourceInfo;
  /** Permission names without the resource prefix: `User.Read`, `.default`. */
  readonly names: readonly string[];
  /** The scopes as the client spelled them. */
  readonly resourceScopes: readonly string[];
}

export type ScopeSetParse =
  | { ok: true; raw: readonly string[]; oidc: ReadonlySet<string>; resources: readonly ResourceScopes[] }
  | { ok: false; error: 'invalid_scope' | 'invalid_resource'; aadsts: number; message: string };

/**
 * Splits a `scope` parameter into OIDC scopes and per-resource groups (in the order the resources
 * first appear; a bare name like `User.Read` means Graph). Any number of resources is fine here:
 * the `/authorize` leg "can cover multiple resources" so an app gets consent for several APIs at
 * once (MSAL's `extraScopesToConsent`), while a token request names one
 * (https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow).
 * An unknown resource is AADSTS500011.
 */
export function parseScopeSet(scopeParam: string, baseUrl: string, tenantName = 'the tenant'): ScopeSetParse {
  const raw = scopeParam.split(/\s+/).filter(Boolean);
  const oidc = new Set<string>();
  const groups = new Map<ResourceKey, { resource: ResourceInfo; names: string[]; resourceScopes: string[] }>();
  for (const scope of raw) {
    if (OIDC_SCOPES.has(scope.toLowerCase())) {
      oidc.add(scope.toLowerCase());
      continue;
    }
    let res: ResourceInfo | undefined;
    let name: string;
    const slash = scope.lastIndexOf('/');
    if (slash < 0) {
      res = resourceFor('graph');
      name = scope;
    } else {
      const resourceId = scope.slice(0, slash);
      name = scope.slice(slash + 1);
      res = findResource(resourceId, baseUrl);
      if (!res) {
        return {
          ok: false, error: 'invalid_resource', aadsts: 500011,
          message: `The resource principal named ${resourceId} was not found in the tenant named ${tenantName}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`,
        };
      }
    }
    if (!name) {
      return { ok: false, error: 'invalid_scope', aadsts: 70011, message: `The provided value for the input parameter 'scope' is not valid. The scope ${scope} is not valid.` };
    }
    const group = groups.get(res.key) ?? { resource: res, names: [], resourceScopes: [] };
    groups.set(res.key, group);
    group.names.push(name);
    group.resourceScopes.push(scope);
  }
  return { ok: true, raw, oidc, resources: [...groups.values()] };
}

/**
 * Splits a `scope` parameter of a token request the way Entra ID does: OIDC scopes apart, every
 * other scope belongs to one resource. Scopes for two resources in one token request are refused
 * (AADSTS28000), an unknown resource is AADSTS500011. The authorize endpoint takes several
 * resources: see {@link parseScopeSet}.
 */
export function parseScopes(scopeParam: string, baseUrl: string, tenantName = 'the tenant'): ScopeParse {
  const set = parseScopeSet(scopeParam, baseUrl, tenantName);
  if (!set.ok) return set;
  if (set.resources.length > 1) {
    return {
      ok: false, error: 'invalid_scope', aadsts: 28000,
      message: `Provided value for the input parameter scope is not valid because it contains more than one resource. Scope ${scopeParam} is not valid.`,
    };
  }
  const only = set.resources[0];
  return { ok: true, raw: set.raw, oidc: set.oidc, resource: only?.resource, names: only?.names ?? [], resourceScopes: only?.resourceScopes ?? [] };
}

export type BearerCheck =
  | { ok: true; claims: Claims }
  | { ok: false; problem: 'missing' | 'invalid' | 'expired' | 'audience'; message: string };

/**
 * Checks a request's bearer token: signed by this simulator's Entra ID, within its lifetime (simulator
 * clock), for one of the given audiences. Services with their own error shape (Key Vault) use this;
 * Graph-style services use {@link verifyBearer}.
 */
export function checkBearer(ctx: Pick<SimContext, 'signer' | 'now'>, req: SimRequest, audience: string | readonly string[]): BearerCheck {
  const token = bearer(req);
  if (!token) return { ok: false, problem: 'missing', message: 'Access token is empty.' };
  const verified = ctx.signer.verify(token, ctx.now());
  if (!verified.ok) {
    return verified.reason === 'token expired' || verified.reason === 'token not yet valid'
      ? { ok: false, problem: 'expired', message: 'Access token has expired or is not yet valid.' }
      : { ok: false, problem: 'invalid', message: `Access token validation failure: ${verified.reason}.` };
  }
  const wanted = (typeof audience === 'string' ? [audience] : audience).map(trimSlash);
  const accepted = new Set(wanted);
  for (const r of RESOURCES) {
    if (r.appId && wanted.includes(trimSlash(r.aud))) accepted.add(r.appId.toLowerCase());
  }
  const aud = typeof verified.claims.aud === 'string' ? trimSlash(verified.claims.aud) : '';
  if (!accepted.has(aud)) {
    return { ok: false, problem: 'audience', message: 'Access token validation failure. Invalid audience.' };
  }
  return { ok: true, claims: verified.claims };
}

/**
 * Graph-style bearer check: the claims, or a ready 401 `InvalidAuthenticationToken` reply.
 *
 *     const auth = verifyBearer(ctx, req, AUDIENCE.graph);
 *     if (!auth.ok) return auth.reply;
 */
export function verifyBearer(
  ctx: Pick<SimContext, 'signer' | 'now' | 'baseUrl'>,
  req: SimRequest,
  audience: string | readonly string[],
): { ok: true; claims: Claims } | { ok: false; reply: SimReply } {
  const check = checkBearer(ctx, req, audience);
  if (check.ok) return check;
  const challenge = `Bearer realm="", authorization_uri="${ctx.baseUrl}/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"`;
  return { ok: false, reply: odataError(401, 'InvalidAuthenticationToken', check.message, { 'www-authenticate': challenge }) };
}

/** The payload of a JWT, unverified: for tests looking at what a token says. */
export function decodeJwt(token: string): Claims {
  const payload = token.split('.')[1];
  if (!payload) throw new Error('not a JWT');
  const parsed: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('JWT payload is not an object');
  return parsed as Claims;
}
