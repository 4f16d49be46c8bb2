import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { customerAt, customerByTenantId, guidFrom, type GeneratedCustomer } from '../customers';
import { bearer, json, Router, type SimReply, type SimRequest } from '../http';
import type { Claims } from '../jwt';
import type { Tenant, User } from '../scenario';
import { PARTNER_CENTER_RESOURCE_APP_ID } from '../scenarios/ids';
import type { ServiceFactory } from '../server';

/**
 * Partner Center REST simulator, mounted at `/partnercenter` (real base
 * `https://api.partnercenter.microsoft.com`). App+User tokens only, and the token's `amr` must
 * contain `mfa`; customers page with `links.next` + the `MS-ContinuationToken` header; every Nth
 * request (`scenario.throttling.partnerCenter.every`) is a 429 with `Retry-After`.
 *
 * Links in bodies are relative to `{base}/v1`, as Partner Center writes them: `links.next.uri` is
 * `/customers?size=500&seekOperation=Next`, fetched as `{base}/v1/customers?size=500&seekOperation=Next`.
 */

const AUDIENCES = new Set(['https://api.partnercenter.microsoft.com', 'https://api.partnercenter.microsoft.com/', PARTNER_CENTER_RESOURCE_APP_ID]);
const MAX_PAGE = 500;
/** Continuation tokens outlive a slow sync, not a day (simulator clock). */
const CONTINUATION_TTL_MS = 60 * 60_000;
/** Partner Center roles come from these partner-tenant groups; Global Administrators have them all. */
const AGENT_GROUPS = ['adminagents', 'helpdeskagents', 'salesagents'];

interface Caller { tenant: Tenant; user: User; claims: Claims }

interface Continuation { t: string; o: number; s: number; iat: number }

function pcError(status: number, code: string, description: string, headers: Record<string, string> = {}): SimReply {
  return json(status, { code, description, data: [], source: 'PartnerFD' }, headers);
}

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
  const tokenKey = randomBytes(32);
  let seen = 0;

  function throttle(): SimReply | undefined {
    const { every, retryAfterSeconds } = ctx.scenario.throttling.partnerCenter;
    if (every <= 0) return undefined;
    seen += 1;
    if (seen % every !== 0) return undefined;
    return pcError(429, '429', `Too many requests. Retry after ${retryAfterSeconds} seconds.`, { 'Retry-After': String(retryAfterSeconds) });
  }

  /** App+User, MFA, enrolled partner, and a user holding a Partner Center role: in that order. */
  function authenticate(req: SimRequest): Caller | SimReply {
    const token = bearer(req);
    if (!token) return pcError(401, '800001', 'Partner Token missing in request context');
    const verified = ctx.signer.verify(token, ctx.now());
    if (!verified.ok) return pcError(401, '400', `Access denied: ${verified.reason}.`);
    const claims = verified.claims;
    if (typeof claims.aud !== 'string' || !AUDIENCES.has(claims.aud)) return pcError(401, '400', 'Access denied: invalid audience.');
    const tenant = ctx.scenario.tenants.find((t) => t.id.toLowerCase() === String(claims.tid ?? '').toLowerCase());
    if (!tenant) return pcError(401, '400', 'Access denied: unknown tenant.');
    const scopes = typeof claims.scp === 'string' ? claims.scp.split(/\s+/) : [];
    if (scopes.length === 0 || !scopes.includes('user_impersonation')) {
      return pcError(401, '400', 'Access denied: this operation requires App+User credentials (a delegated user_impersonation token).');
    }
    if (!Array.isArray(claims.amr) || !claims.amr.includes('mfa')) return pcError(401, '10001', 'Authentication failed. MFA required.');
    if (!tenant.partnerCenter.enrolled) {
      return pcError(403, '2032', `Access denied: tenant ${tenant.id} is not enrolled in Partner Center.`);
    }
    const user = tenant.users.find((u) => u.id.toLowerCase() === String(claims.oid ?? '').toLowerCase());
    const hasRole = user !== undefined && (user.roles.includes('Global Administrator')
      || user.groups.some((g) => AGENT_GROUPS.includes(g.toLowerCase())));
    if (!user || !hasRole) return pcError(403, '900150', 'The supplied role does not have the rights to perform the requested operation');
    return { tenant, user, claims };
  }

  function responseHeaders(req: SimRequest): Record<string, string> {
    const header = (name: string) => {
      const v = req.headers[name];
      return typeof v === 'string' && v ? v : crypto.randomUUID();
    };
    return { 'MS-CorrelationId': header('ms-correlationid'), 'MS-RequestId': header('ms-requestid') };
  }

  function handle(fn: (req: SimRequest, caller: Caller) => SimReply) {
    return (req: SimRequest): SimReply => {
      const limited = throttle();
      const reply = limited ?? (() => {
        const caller = authenticate(req);
        return 'user' in caller ? fn(req, caller) : caller;
      })();
      return { ...reply, headers: { ...responseHeaders(req), ...reply.headers } };
    };
  }

  function signContinuation(c: Continuation): string {
    const payload = Buffer.from(JSON.stringify(c)).toString('base64url');
    const mac = createHmac('sha256', tokenKey).update(payload).digest('base64url');
    return `${payload}.${mac}`;
  }

  function readContinuation(token: string): Continuation | undefined {
    const [payload, mac] = token.split('.');
    if (!payload || !mac) return undefined;
    const expected = Buffer.from(createHmac('sha256', tokenKey).update(payload).digest('base64url'));
    const given = Buffer.from(mac);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    try {
      return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Continuation;
    } catch {
      return undefined;
    }
  }

  const badContinuation = () => pcError(400, '800002', 'Invalid request input: the continuation token is invalid or has expired.');

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
      size = sizeText === null ? MAX_PAGE : Number(sizeText);
      if (!Number.isInteger(size) || size < 1) return pcError(400, '800002', `Invalid request input: size must be a positive integer, got '${sizeText ?? ''}'.`);
      size = Math.min(size, MAX_PAGE);
    }
    const end = Math.min(offset + size, spec.count);
    const items = [];
    for (let i = offset; i < end; i++) items.push(customerResource(customerAt(spec, i)));
    const links: Record<string, unknown> = { self: link(`/customers?size=${size}`) };
    if (end < spec.count) {
      const token = signContinuation({ t: tenant.id, o: end, s: size, iat: ctx.now() });
      links.next = link(`/customers?size=${size}&seekOperation=Next`, [{ key: 'MS-ContinuationToken', value: token }]);
    }
    // totalCount counts this page's items, as Partner Center's seek-based collections do.
    return json(200, { totalCount: items.length, items, links, attributes: { objectType: 'Collection' } });
  }));

  router.get('/v1/customers/:id', handle((req, { tenant }) => {
    const c = customerByTenantId(tenant.customers, req.params.id!);
    return c ? json(200, customerResource(c)) : pcError(404, '1000', `Not found: customer ${req.params.id!}.`);
  }));

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

  router.get('/v1/profiles/mpn', handle((_req, { tenant }) => {
    const mpnId = tenant.partnerCenter.mpnId;
    if (!mpnId) return pcError(404, '800015', 'MPN Id is not found');
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
    },
  };
};
