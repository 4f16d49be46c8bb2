import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { customerAt, customerByTenantId, guidFrom, type GeneratedCustomer } from '../customers';
import { bearer, json, Router, type SimReply, type SimRequest } from '../http';
import type { Claims } from '../jwt';
import type { Tenant, User } from '../scenario';
import { PARTNER_CENTER_RESOURCE_APP_ID } from '../scenarios/ids';
import type { ServiceFactory, SimContext } from '../server';

/**
 * Partner Center REST simulator, mounted at `/partnercenter` (real base
 * `https://api.partnercenter.microsoft.com`). App+User calls need `mfa` in the token's `amr`
 * (401, code 900421); app-only tokens are accepted where the docs say so (`GET /v1/customers`);
 * customers page with `links.next` + the `MS-ContinuationToken` header; 429 + `Retry-After` on
 * every Nth request (`throttling.partnerCenter.every`) and at random (`…randomRate`).
 *
 * Links in bodies: the docs show `links.next.uri` both relative to `{base}/v1`
 * (`/customers?size=500&seekOperation=Next`, most pages) and with the version
 * (`/v1/customers?size=40&seekOperation=Next`, "Get a list of customers"); the tenant's
 * `partnerCenter.nextLinkStyle` picks one, so clients must normalise both.
 * https://learn.microsoft.com/en-us/partner-center/developer/get-a-list-of-customers
 */

const AUDIENCES = new Set(['https://api.partnercenter.microsoft.com', 'https://api.partnercenter.microsoft.com/', PARTNER_CENTER_RESOURCE_APP_ID]);
/**
 * The simulator's own page-size cap. Partner Center documents no maximum for `size` (limits vary),
 * so a client must page by `links.next`, never by assuming it got what it asked for.
 */
export const SIMULATOR_MAX_PAGE = 500;
/** Continuation tokens outlive a slow sync, not a day (simulator clock). */
const CONTINUATION_TTL_MS = 60 * 60_000;
/** Partner Center roles come from these partner-tenant groups; Global Administrators have them all. */
const AGENT_GROUPS = ['adminagents', 'helpdeskagents', 'salesagents'];

/** One call as Partner Center received it: the headers the header reference asks every call to carry. */
export interface PartnerCenterRequest {
  method: string;
  path: string;
  contractVersion?: string;
  requestId?: string;
  correlationId?: string;
}

const requestLogs = new WeakMap<SimContext, PartnerCenterRequest[]>();

/**
 * Every call since the scenario was loaded (oldest first), with `MS-Contract-Version` (required),
 * `MS-RequestId` and `MS-CorrelationId`: https://learn.microsoft.com/en-us/partner-center/developer/headers
 */
export function partnerCenterRequests(ctx: SimContext): readonly PartnerCenterRequest[] {
  return requestLogs.get(ctx) ?? [];
}

/** `user` is absent for an app-only token. */
interface Caller { tenant: Tenant; user?: User; claims: Claims; mfaCompliant: boolean }

interface Continuation { t: string; o: number; s: number; iat: number }

/**
 * Partner Center error body. The error-codes page types `code` as a string, but the service sends
 * (and its examples show) a number, e.g. `{"code": 3000, …, "source": "PartnerFD"}`: clients must
 * accept either. 401s carry `WWW-Authenticate: OAuth realm=…`.
 * https://learn.microsoft.com/en-us/partner-center/developer/error-codes
 */
function pcError(status: number, code: number, description: string, headers: Record<string, string> = {}): SimReply {
  const challenge: Record<string, string> = status === 401 ? { 'WWW-Authenticate': 'OAuth realm=urn:cpsvc:cpid:simulator' } : {};
  return json(status, { code, description, data: [], source: 'PartnerFD' }, { ...challenge, ...headers });
}

/**
 * 429 has its own body, not the PartnerFD error shape, and a `Retry-After` in seconds.
 * https://learn.microsoft.com/en-us/partner-center/developer/api-throttling-guidance
 */
function rateLimited(retryAfterSeconds: number): SimReply {
  return json(429, { statusCode: 429, message: `Rate limit is exceeded. Try again in ${retryAfterSeconds} seconds.` },
    { 'Retry-After': String(retryAfterSeconds) });
}

/** Standard base64 (with `+`, `/`, `=`), not base64url: continuation tokens must survive verbatim. */
const b64 = (buf: Buffer | string): string => Buffer.from(buf).toString('base64');

function link(uri: string, headers: Array<{ key: string; value: string }> = []) {
  return { uri, method: 'GET', headers };
}

function customerResource(c: GeneratedCustomer) {
  return {
    id: c.id,
    companyProfile: {
      tenantId: c.tenantId,
      domain: c.domain,
      companyName: c.companyName,
      links: { self: link(`/customers/${c.id}/profiles/company`) },
      attributes: { objectType: 'CustomerCompanyProfile' },
    },
    // Every CSP customer is "reseller" here; whether the partner can *manage* it is a GDAP question.
    relationshipToPartner: 'reseller',
    links: { self: link(`/customers/${c.id}`) },
    attributes: { objectType: 'Customer' },
  };
}

export const partnerCenterService: ServiceFactory = (ctx) => {
  const router = new Router();
  const requests: PartnerCenterRequest[] = [];
  requestLogs.set(ctx, requests);
  const tokenKey = randomBytes(32);
  let seen = 0;
  const bucket = { tokens: 0, at: 0, rate: 0 };

  function throttle(): SimReply | undefined {
    const { every, retryAfterSeconds, perSecond } = ctx.scenario.throttling.partnerCenter;
    seen += 1;
    if ((every > 0 && seen % every === 0) || ctx.randomThrottle('partnerCenter')) return rateLimited(retryAfterSeconds);
    if (perSecond > 0) {
      // Real time, not the simulator's clock: a rate is about how fast the client really calls.
      const now = Date.now();
      if (bucket.rate !== perSecond) Object.assign(bucket, { tokens: perSecond, at: now, rate: perSecond });
      bucket.tokens = Math.min(perSecond, bucket.tokens + ((now - bucket.at) / 1000) * perSecond);
      bucket.at = now;
      if (bucket.tokens < 1) return rateLimited(Math.max(1, Math.ceil((1 - bucket.tokens) / perSecond)));
      bucket.tokens -= 1;
    }
    return undefined;
  }

  /**
   * Who is calling: App+User (needs `mfa` in `amr`, an enrolled partner, a Partner Center role) or,
   * where `appOnly` allows it, an app-only token. App+User calls without MFA get 401 with code
   * 900421 (enforced on every app+user API since 2026); app-only calls are not subject to it.
   * https://learn.microsoft.com/en-us/partner-center/security/partner-security-requirements-mandating-mfa
   */
  function authenticate(req: SimRequest, appOnlyAllowed: boolean): Caller | SimReply {
    const token = bearer(req);
    if (!token) return pcError(401, 800001, 'Partner Token missing in request context');
    const verified = ctx.signer.verify(token, ctx.now());
    if (!verified.ok) return pcError(401, 400, `Access denied: ${verified.reason}.`);
    const claims = verified.claims;
    if (typeof claims.aud !== 'string' || !AUDIENCES.has(claims.aud)) return pcError(401, 400, 'Access denied: invalid audience.');
    const tenant = ctx.scenario.tenants.find((t) => t.id.toLowerCase() === String(claims.tid ?? '').toLowerCase());
    if (!tenant) return pcError(401, 400, 'Access denied: unknown tenant.');
    const scopes = typeof claims.scp === 'string' ? claims.scp.split(/\s+/).filter(Boolean) : [];
    const appOnly = scopes.length === 0;
    if (appOnly && !appOnlyAllowed) {
      return pcError(401, 400, 'Access denied: this operation requires App+User credentials (a delegated user_impersonation token).');
    }
    if (!appOnly && !scopes.includes('user_impersonation')) return pcError(401, 400, 'Access denied: the token has no user_impersonation scope.');
    const mfaCompliant = appOnly || (Array.isArray(claims.amr) && claims.amr.includes('mfa'));
    if (!mfaCompliant) {
      return pcError(401, 900421, 'Multi-factor authentication is required: the access token has no mfa in its amr claim. Sign in with MFA and retry.');
    }
    if (!tenant.partnerCenter.enrolled) {
      return pcError(403, 2032, `Access denied: tenant ${tenant.id} is not enrolled in Partner Center.`);
    }
    if (appOnly) return { tenant, claims, mfaCompliant };
    const user = tenant.users.find((u) => u.id.toLowerCase() === String(claims.oid ?? '').toLowerCase());
    const hasRole = user !== undefined && (user.roles.includes('Global Administrator')
      || user.groups.some((g) => AGENT_GROUPS.includes(g.toLowerCase())));
    if (!user || !hasRole) return pcError(403, 900150, 'The supplied role does not have the rights to perform the requested operation');
    return { tenant, user, claims, mfaCompliant };
  }

  function responseHeaders(req: SimRequest): Record<string, string> {
    const header = (name: string) => {
      const v = req.headers[name];
      return typeof v === 'string' && v ? v : crypto.randomUUID();
    };
    return { 'MS-CorrelationId': header('ms-correlationid'), 'MS-RequestId': header('ms-requestid') };
  }

  function handle(fn: (req: SimRequest, caller: Caller) => SimReply, options: { appOnly?: boolean } = {}) {
    return (req: SimRequest): SimReply => {
      // No `ValidateMfa` / `isMfaCompliant` exchange: neither is in the header reference
      // (https://learn.microsoft.com/en-us/partner-center/developer/headers). MFA is the token's
      // `amr`, its lack a 401 with 900421 (authenticate above).
      const header = (name: string) => (typeof req.headers[name] === 'string' ? req.headers[name] as string : undefined);
      requests.push({
        method: req.method, path: req.url.pathname.replace(/^\/partnercenter/, ''),
        contractVersion: header('ms-contract-version'), requestId: header('ms-requestid'), correlationId: header('ms-correlationid'),
      });
      const limited = throttle();
      const reply = limited ?? (() => {
        const caller = authenticate(req, options.appOnly ?? false);
        return 'claims' in caller ? fn(req, caller) : caller;
      })();
      return { ...reply, headers: { ...responseHeaders(req), ...reply.headers } };
    };
  }

  /**
   * Opaque continuation tokens with `+`, `/`, `=` and `,` in them, like Partner Center's: a client
   * must send the header back verbatim (not URL-encoded, not `+`→space).
   */
  function signContinuation(c: Continuation): string {
    const payload = `+RT:${b64(JSON.stringify(c))}`;
    const mac = createHmac('sha256', tokenKey).update(payload).digest('base64');
    return `${payload},MAC:/${mac}`;
  }

  function readContinuation(token: string): Continuation | undefined {
    const i = token.lastIndexOf(',MAC:/');
    if (i < 0) return undefined;
    const payload = token.slice(0, i);
    const mac = token.slice(i + ',MAC:/'.length);
    if (!payload.startsWith('+RT:') || !mac) return undefined;
    const expected = Buffer.from(createHmac('sha256', tokenKey).update(payload).digest('base64'));
    const given = Buffer.from(mac);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    try {
      return JSON.parse(Buffer.from(payload.slice('+RT:'.length), 'base64').toString('utf8')) as Continuation;
    } catch {
      return undefined;
    }
  }

  const badContinuation = () => pcError(400, 800002, 'Invalid request input: the continuation token is invalid or has expired.');

  router.get('/v1/customers', handle((req, { tenant }) => {
    const q = req.url.searchParams;
    const spec = tenant.customers;
    let offset = 0;
    let size: number;
    if ((q.get('seekOperation') ?? q.get('seekoperation') ?? '').toLowerCase() === 'next') {
      const header = req.headers['ms-continuationtoken'];
      const c = typeof header === 'string' ? readContinuation(header) : undefined;
      if (!c || c.t !== tenant.id || ctx.now() - c.iat > CONTINUATION_TTL_MS || c.o > spec.count) return badContinuation();
      offset = c.o;
      size = c.s;
    } else {
      const sizeText = q.get('size');
      size = sizeText === null ? SIMULATOR_MAX_PAGE : Number(sizeText);
      if (!Number.isInteger(size) || size < 1) return pcError(400, 800002, `Invalid request input: size must be a positive integer, got '${sizeText ?? ''}'.`);
      size = Math.min(size, SIMULATOR_MAX_PAGE);
    }
    const end = Math.min(offset + size, spec.count);
    const items = [];
    for (let i = offset; i < end; i++) items.push(customerResource(customerAt(spec, i)));
    const v = tenant.partnerCenter.nextLinkStyle === 'versioned' ? '/v1' : '';
    const links: Record<string, unknown> = { self: link(`${v}/customers?size=${size}`) };
    if (end < spec.count) {
      const token = signContinuation({ t: tenant.id, o: end, s: size, iat: ctx.now() });
      links.next = link(`${v}/customers?size=${size}&seekOperation=Next`, [{ key: 'MS-ContinuationToken', value: token }]);
    }
    // totalCount counts this page's items, as Partner Center's seek-based collections do.
    return json(200, { totalCount: items.length, items, links, attributes: { objectType: 'Collection' } });
  }, { appOnly: true }));

  router.get('/v1/customers/:id', handle((req, { tenant }) => {
    const c = customerByTenantId(tenant.customers, req.params.id!);
    return c ? json(200, customerResource(c)) : pcError(404, 600008, `The requested object was not found: customer ${req.params.id!}.`);
  }, { appOnly: true }));

  // App+User credentials only (an app-only token gets the 401 of authenticate above):
  // https://learn.microsoft.com/en-us/partner-center/developer/get-an-organization-profile
  router.get('/v1/profiles/organization', handle((_req, { tenant }) => {
    const admin = tenant.users.find((u) => u.roles.includes('Global Administrator')) ?? tenant.users[0];
    const [first, ...last] = (admin?.displayName ?? 'Partner Admin').split(' ');
    return json(200, {
      id: guidFrom('pc-organization-profile', tenant.id),
      companyName: tenant.partnerCenter.companyName ?? tenant.displayName,
      defaultAddress: {
        country: tenant.countryLetterCode, city: 'Redmond', state: 'WA', addressLine1: 'One Microsoft Way', addressLine2: '',
        postalCode: '98052', firstName: first ?? '', lastName: last.join(' '), phoneNumber: '',
      },
      tenantId: tenant.id,
      domain: tenant.domains[0],
      email: admin?.userPrincipalName ?? `admin@${tenant.domains[0]!}`,
      language: 'en',
      culture: 'en-US',
      profileType: 'OrganizationProfile',
      links: { self: link('/profiles/organization') },
      attributes: { etag: guidFrom('pc-etag', tenant.id), objectType: 'OrganizationProfile' },
    });
  }));

  /**
   * The partner's invoices, App or App+User credentials, `size` and `offset` paging
   * (https://learn.microsoft.com/en-us/partner-center/developer/get-a-collection-of-invoices).
   * Billing is for Partner Center's global and billing admins; the simulator stands Entra's Global
   * Administrator and Billing Administrator roles for them, so an Admin Agent alone is refused.
   */
  router.get('/v1/invoices', handle((req, { user }) => {
    if (user && !user.roles.some((r) => r === 'Global Administrator' || r === 'Billing Administrator')) {
      return pcError(403, 900150, 'The supplied role does not have the rights to perform the requested operation');
    }
    const q = req.url.searchParams;
    const size = Number(q.get('size') ?? '200');
    const offset = Number(q.get('offset') ?? '0');
    if (!Number.isInteger(size) || size < 1 || !Number.isInteger(offset) || offset < 0) {
      return pcError(400, 800002, 'Invalid request input: size and offset must be non-negative integers.');
    }
    const all = Array.from({ length: 3 }, (_, i) => ({
      id: `G00${String(3 - i).padStart(7, '0')}`, invoiceDate: new Date(Date.UTC(2026, 9 - i, 8)).toISOString(),
      billingPeriodStartDate: new Date(Date.UTC(2026, 8 - i, 8)).toISOString(), billingPeriodEndDate: new Date(Date.UTC(2026, 9 - i, 7)).toISOString(),
      totalCharges: 1000 + 10 * i, paidAmount: 0, currencyCode: 'USD', currencySymbol: '$', invoiceType: 'Recurring', documentType: 'Invoice',
      pdfDownloadLink: `/invoices/G00${String(3 - i).padStart(7, '0')}/documents/statement`, amendments: [],
      links: { self: link(`/invoices/G00${String(3 - i).padStart(7, '0')}`) }, attributes: { objectType: 'Invoice' },
    }));
    const items = all.slice(offset, offset + size);
    return json(200, { totalCount: items.length, items, links: { self: link(`/invoices?size=${size}&offset=${offset}`) }, attributes: { objectType: 'Collection' } });
  }, { appOnly: true }));

  router.get('/v1/profiles/mpn', handle((_req, { tenant }) => {
    const mpnId = tenant.partnerCenter.mpnId;
    if (!mpnId) return pcError(404, 800015, 'MPN Id is not found');
    return json(200, {
      partnerName: tenant.partnerCenter.companyName ?? tenant.displayName,
      mpnId,
      profileType: 'MpnProfile',
      links: { self: link('/profiles/mpn') },
      attributes: { objectType: 'MpnProfile' },
    });
  }));

  return {
    name: 'partnercenter',
    prefix: '/partnercenter',
    router,
    reset() {
      seen = 0;
      requests.length = 0;
    },
  };
};
