import { z } from 'zod';
import { customerAt, customerByTenantId, guidFrom, manageableAt, manageableCount, type GeneratedCustomer } from '../customers';
import { bearer, json, odataError, readJson, Router, type SimReply, type SimRequest } from '../http';
import type { Claims } from '../jwt';
import { ApplicationSchema, resolveWhen, type Application, type Gdap, type Tenant, type User } from '../scenario';
import {
  DIRECTORY_ROLE_TEMPLATES, GLOBAL_ADMIN_TEMPLATE_ID, GRAPH_ADMIN_CONSENT_SCOPES, GRAPH_APP_ROLES, GRAPH_RESOURCE_APP_ID, GRAPH_SCOPES,
  PARTNER_CENTER_RESOURCE_APP_ID, PARTNER_CENTER_USER_IMPERSONATION_ID, STANDARD_GDAP_ROLES,
} from '../scenarios/ids';
import type { ServiceFactory, SimContext } from '../server';

/**
 * Microsoft Graph simulator, mounted at `/graph` (so `https://graph.microsoft.com/v1.0/users` is
 * `${baseUrl}/graph/v1.0/users`). Every call is scoped to the tenant in the token's `tid`, checks
 * the same permissions real Graph documents for it, and answers in Graph's shapes: `@odata.context`,
 * absolute `@odata.nextLink` with `$skiptoken`, `$select` projection (users hide `accountEnabled`
 * and `passwordPolicies` unless selected, like Graph), a small `$filter` subset, `$batch` (≤ 20)
 * and throttling (`scenario.throttling.graph.every`).
 */

type Json = Record<string, unknown>;
type Version = 'v1.0' | 'beta';

/** A mail accepted by `POST /users/{id}/sendMail`. */
export interface SentMail {
  id: string;
  tenantId: string;
  from: string;
  to: string[];
  cc: string[];
  subject: string;
  contentType: string;
  content: string;
  sentAt: string;
}

const outboxes = new WeakMap<SimContext, SentMail[]>();

/** Mails sent through the simulated Graph since the scenario was loaded (oldest first). */
export function graphOutbox(ctx: SimContext): readonly SentMail[] {
  return outboxes.get(ctx) ?? [];
}

const GRAPH_AUDIENCES = new Set(['https://graph.microsoft.com', 'https://graph.microsoft.com/', GRAPH_RESOURCE_APP_ID]);
/** Tenant that owns Microsoft's first-party apps (appOwnerOrganizationId of Graph's service principal). */
const MICROSOFT_SERVICES_TENANT_ID = 'f8cdef31-a31e-4b4a-93e4-5f571e91255a';
const DAY_MS = 86_400_000;
const MAX_BATCH = 20;

interface Caller {
  tenant: Tenant;
  claims: Claims;
  appOnly: boolean;
  /** App roles (app-only) or delegated scopes. */
  permissions: Set<string>;
}

/** How a 403 looks: directory APIs, policy APIs, reports and mail each word it their own way. */
type DenyStyle = 'directory' | 'policy' | 'reports' | 'mail';

interface Need {
  app: readonly string[];
  delegated: readonly string[];
  style?: DenyStyle;
  /** Delegated scopes that suffice when the caller reads itself (`/me`). */
  self?: readonly string[];
}

interface Call {
  req: SimRequest;
  version: Version;
  params: Record<string, string>;
  caller: Caller;
  tenant: Tenant;
  /** The path addressed the caller itself through `/me`. */
  self: boolean;
}

interface Route {
  method: string;
  pattern: string[];
  need?: Need;
  betaOnly?: boolean;
  /** Entra ID licence the tenant needs (registration reports and CA: P1; PIM: P2). */
  licence?: 'P1' | 'P2';
  handle(call: Call): SimReply;
}

// ---- permission sets (from each API's "Permissions" table on learn.microsoft.com/graph/api) ----
const DIR_READ = ['Directory.Read.All', 'Directory.ReadWrite.All'];
const DELEGATED_DIR_READ = [...DIR_READ, 'Directory.AccessAsUser.All'];
const USERS: Need = {
  app: ['User.Read.All', 'User.ReadWrite.All', ...DIR_READ],
  delegated: ['User.ReadBasic.All', 'User.Read.All', 'User.ReadWrite.All', ...DELEGATED_DIR_READ],
  self: ['User.Read', 'User.ReadWrite'],
};
const MEMBERSHIP: Need = {
  app: ['User.Read.All', 'User.ReadWrite.All', 'GroupMember.Read.All', 'Group.Read.All', 'Group.ReadWrite.All', ...DIR_READ],
  delegated: ['User.Read.All', 'GroupMember.Read.All', 'Group.Read.All', ...DELEGATED_DIR_READ],
  self: ['User.Read'],
};
const GROUPS: Need = {
  app: ['Group.Read.All', 'Group.ReadWrite.All', 'GroupMember.Read.All', ...DIR_READ],
  delegated: ['Group.Read.All', 'Group.ReadWrite.All', 'GroupMember.Read.All', ...DELEGATED_DIR_READ],
};
const GROUP_MEMBER_WRITE: Need = {
  app: ['GroupMember.ReadWrite.All', 'Group.ReadWrite.All', 'Directory.ReadWrite.All'],
  delegated: ['GroupMember.ReadWrite.All', 'Group.ReadWrite.All', 'Directory.ReadWrite.All', 'Directory.AccessAsUser.All'],
};
const ROLES: Need = {
  app: ['RoleManagement.Read.Directory', 'RoleManagement.ReadWrite.Directory', ...DIR_READ],
  delegated: ['RoleManagement.Read.Directory', 'RoleManagement.ReadWrite.Directory', ...DELEGATED_DIR_READ],
};
const APPS: Need = {
  app: ['Application.Read.All', 'Application.ReadWrite.All', ...DIR_READ],
  delegated: ['Application.Read.All', 'Application.ReadWrite.All', ...DELEGATED_DIR_READ],
};
const GRANTS: Need = {
  app: ['DelegatedPermissionGrant.Read.All', 'DelegatedPermissionGrant.ReadWrite.All', ...DIR_READ],
  delegated: ['DelegatedPermissionGrant.Read.All', 'DelegatedPermissionGrant.ReadWrite.All', ...DELEGATED_DIR_READ],
};
const ORGANIZATION: Need = {
  app: ['Organization.Read.All', 'Organization.ReadWrite.All', ...DIR_READ],
  delegated: ['User.Read', 'Organization.Read.All', ...DELEGATED_DIR_READ],
};
const DOMAINS: Need = {
  app: ['Domain.Read.All', 'Domain.ReadWrite.All', ...DIR_READ],
  delegated: ['Domain.Read.All', 'Domain.ReadWrite.All', ...DELEGATED_DIR_READ],
};
const REPORTS: Need = { app: ['AuditLog.Read.All'], delegated: ['AuditLog.Read.All'], style: 'reports' };
const POLICIES: Need = { app: ['Policy.Read.All'], delegated: ['Policy.Read.All'], style: 'policy' };
const GDAP: Need = {
  app: ['DelegatedAdminRelationship.Read.All', 'DelegatedAdminRelationship.ReadWrite.All'],
  delegated: ['DelegatedAdminRelationship.Read.All', 'DelegatedAdminRelationship.ReadWrite.All'],
};
const MAIL: Need = { app: ['Mail.Send'], delegated: ['Mail.Send'], style: 'mail' };
/** https://learn.microsoft.com/en-us/graph/api/rbacapplication-list-roleassignments */
const ROLE_ASSIGNMENTS: Need = {
  app: ['RoleManagement.Read.Directory', 'RoleManagement.Read.All', 'RoleManagement.ReadWrite.Directory', ...DIR_READ],
  delegated: ['RoleManagement.Read.Directory', 'RoleManagement.Read.All', 'RoleManagement.ReadWrite.Directory', ...DELEGATED_DIR_READ],
};
/** https://learn.microsoft.com/en-us/graph/api/rbacapplication-list-roleeligibilityschedules */
const ROLE_ELIGIBILITY: Need = {
  app: ['RoleEligibilitySchedule.Read.Directory', 'RoleManagement.Read.Directory', 'RoleManagement.Read.All', 'RoleEligibilitySchedule.ReadWrite.Directory', 'RoleManagement.ReadWrite.Directory'],
  delegated: ['RoleEligibilitySchedule.Read.Directory', 'RoleManagement.Read.Directory', 'RoleManagement.Read.All', 'RoleEligibilitySchedule.ReadWrite.Directory', 'RoleManagement.ReadWrite.Directory'],
};
/** https://learn.microsoft.com/en-us/graph/api/tenantrelationship-findtenantinformationbydomainname */
const TENANT_INFO: Need = { app: ['CrossTenantInformation.ReadBasic.All'], delegated: ['CrossTenantInformation.ReadBasic.All'] };
const LICENCE_RANK = { free: 0, P1: 1, P2: 2 } as const;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** The tenant's default app management policy has the all-zero id (tenantAppManagementPolicy-get example). */
const TENANT_APP_POLICY_ID = '00000000-0000-0000-0000-000000000000';

// Writes "set it up for me" makes (issue 30), each API's "Permissions" table:
/** https://learn.microsoft.com/en-us/graph/api/application-post-applications (and update, addPassword, removePassword) */
const APP_WRITE: Need = {
  app: ['Application.ReadWrite.All', 'Application.ReadWrite.OwnedBy', 'Directory.ReadWrite.All'],
  delegated: ['Application.ReadWrite.All', 'Directory.ReadWrite.All', 'Directory.AccessAsUser.All'],
};
/** https://learn.microsoft.com/en-us/graph/api/application-upsert: Application.ReadWrite.All delegated, also OwnedBy app-only. */
const APP_UPSERT: Need = { app: ['Application.ReadWrite.OwnedBy', 'Application.ReadWrite.All'], delegated: ['Application.ReadWrite.All'] };
/** https://learn.microsoft.com/en-us/graph/api/serviceprincipal-post-approleassignedto (plus Application.Read.All, checked in the handler) */
const APP_ROLE_WRITE: Need = { app: ['AppRoleAssignment.ReadWrite.All'], delegated: ['AppRoleAssignment.ReadWrite.All'] };
/** https://learn.microsoft.com/en-us/graph/api/oauth2permissiongrant-post */
const GRANT_WRITE: Need = {
  app: ['DelegatedPermissionGrant.ReadWrite.All', 'Directory.ReadWrite.All'],
  delegated: ['DelegatedPermissionGrant.ReadWrite.All', 'Directory.ReadWrite.All', 'Directory.AccessAsUser.All'],
};
/** https://learn.microsoft.com/en-us/graph/api/tenantappmanagementpolicy-get */
const APP_POLICY_READ: Need = {
  app: ['Policy.Read.ApplicationConfiguration', 'Policy.Read.All', 'Policy.ReadWrite.ApplicationConfiguration'],
  delegated: ['Policy.Read.ApplicationConfiguration', 'Policy.Read.All', 'Policy.ReadWrite.ApplicationConfiguration'],
  style: 'policy',
};

export const graphService: ServiceFactory = (ctx) => {
  const outbox: SentMail[] = [];
  outboxes.set(ctx, outbox);
  let seen = 0;
  const root = `${ctx.baseUrl}/graph`;

  // ---------- plumbing ----------

  /**
   * Graph throttles any request with 429 + Retry-After, per app and tenant, at limits that vary:
   * https://learn.microsoft.com/en-us/graph/throttling
   */
  function throttle(): SimReply | undefined {
    const { every, retryAfterSeconds } = ctx.scenario.throttling.graph;
    seen += 1;
    if (!((every > 0 && seen % every === 0) || ctx.randomThrottle('graph'))) return undefined;
    return odataError(429, 'TooManyRequests', `Too many requests. Retry after ${retryAfterSeconds} seconds.`,
      { 'Retry-After': String(retryAfterSeconds) });
  }

  function authenticate(req: SimRequest): Caller | SimReply {
    const token = bearer(req);
    if (!token) return odataError(401, 'InvalidAuthenticationToken', 'Access token is empty.');
    const verified = ctx.signer.verify(token, ctx.now());
    if (!verified.ok) {
      const message = verified.reason === 'token expired'
        ? 'Lifetime validation failed, the token is expired.'
        : `Access token validation failure. ${verified.reason}.`;
      return odataError(401, 'InvalidAuthenticationToken', message);
    }
    const claims = verified.claims;
    if (typeof claims.aud !== 'string' || !GRAPH_AUDIENCES.has(claims.aud)) {
      return odataError(401, 'InvalidAuthenticationToken', 'Access token validation failure. Invalid audience.');
    }
    const tenant = ctx.scenario.tenants.find((t) => t.id.toLowerCase() === String(claims.tid ?? '').toLowerCase());
    if (!tenant) return odataError(401, 'InvalidAuthenticationToken', 'Access token validation failure. Unknown tenant.');
    const appOnly = typeof claims.scp !== 'string' || claims.scp.trim() === '';
    const permissions = new Set(appOnly ? (Array.isArray(claims.roles) ? claims.roles : []) : claims.scp!.split(/\s+/).filter(Boolean));
    return { tenant, claims, appOnly, permissions };
  }

  function authorize(call: Call, need: Need): SimReply | undefined {
    const { caller } = call;
    const accepted = caller.appOnly ? need.app : [...need.delegated, ...(call.self ? need.self ?? [] : [])];
    if (accepted.some((p) => caller.permissions.has(p))) return undefined;
    switch (need.style ?? 'directory') {
      case 'policy':
        return odataError(403, 'AccessDenied', 'You cannot perform the requested operation, required scopes are missing in the token.');
      case 'reports':
        return odataError(403, 'Authentication_MSGraphPermissionMissing',
          `Calling principal does not have required MSGraph permissions ${need.app.join(', ')}`);
      case 'mail':
        return odataError(403, 'ErrorAccessDenied', 'Access is denied. Check credentials and try again.');
      default:
        return odataError(403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.');
    }
  }

  /** `applications(appId='x')` → `applications`, `(appId)`, `x`; `users('x')` → `users`, `x`. */
  function normalize(segments: string[]): string[] {
    const out: string[] = [];
    for (const s of segments) {
      const keyed = /^([A-Za-z]+)\(([A-Za-z]+)=(?:'((?:[^']|'')*)'|([^)]*))\)$/.exec(s);
      const plain = /^([A-Za-z]+)\('((?:[^']|'')*)'\)$/.exec(s);
      if (keyed) out.push(keyed[1]!, `(${keyed[2]!})`, (keyed[3] ?? keyed[4] ?? '').replace(/''/g, "'"));
      else if (plain) out.push(plain[1]!, plain[2]!.replace(/''/g, "'"));
      else out.push(s);
    }
    return out;
  }

  function match(pattern: string[], parts: string[]): Record<string, string> | undefined {
    if (pattern.length !== parts.length) return undefined;
    const params: Record<string, string> = {};
    for (let i = 0; i < pattern.length; i++) {
      const p = pattern[i]!;
      const v = parts[i]!;
      if (p.startsWith(':')) params[p.slice(1)] = v;
      else if (p.toLowerCase() !== v.toLowerCase()) return undefined;
    }
    return params;
  }

  /** Runs one request (top-level or a `$batch` item) through throttling, auth and the route table. */
  function dispatch(req: SimRequest, inBatch: boolean): SimReply {
    const limited = throttle();
    if (limited) return limited;
    let parts: string[];
    try {
      parts = req.path.split('/').filter(Boolean).map((p) => decodeURIComponent(p));
    } catch {
      return odataError(400, 'BadRequest', 'Malformed URL.');
    }
    const version = parts.shift();
    if (version !== 'v1.0' && version !== 'beta') return odataError(400, 'BadRequest', `Invalid version: ${version ?? ''}`);
    const auth = authenticate(req);
    if (!('tenant' in auth)) return auth;
    let self = false;
    if (parts[0]?.toLowerCase() === 'me') {
      if (auth.appOnly) return odataError(400, 'BadRequest', '/me request is only valid with delegated authentication flow.');
      parts.splice(0, 1, 'users', String(auth.claims.oid ?? ''));
      self = true;
    }
    if (parts.length === 1 && parts[0] === '$batch') {
      if (inBatch) return odataError(400, 'BadRequest', 'Nested $batch requests are not supported.');
      if (req.method !== 'POST') return odataError(405, 'MethodNotAllowed', 'Only POST is allowed on $batch.');
      return batch(req, version);
    }
    const normalized = normalize(parts);
    let methodMismatch = false;
    for (const route of routes) {
      const params = match(route.pattern, normalized);
      if (!params) continue;
      if (route.method !== req.method) { methodMismatch = true; continue; }
      if (route.betaOnly && version !== 'beta') break;
      // Delegated User.Read reads the caller itself, whether addressed as /me or by its own id or UPN.
      const me = !auth.appOnly && params.id !== undefined
        && [auth.claims.oid, auth.claims.upn].some((v) => typeof v === 'string' && same(v, params.id!));
      const call: Call = { req, version, params, caller: auth, tenant: auth.tenant, self: self || me };
      if (route.need) {
        const denied = authorize(call, route.need);
        if (denied) return denied;
      }
      if (route.licence && LICENCE_RANK[auth.tenant.entraLicense] < LICENCE_RANK[route.licence]) return unlicensed(route.licence);
      // An object created a moment ago is not readable everywhere yet (scenario `replication`).
      for (const id of [params.id, params.appId, params.memberId]) if (id !== undefined && replicating(id)) return notFound(id);
      return route.handle(call);
    }
    if (methodMismatch) return odataError(405, 'Request_BadRequest', `The HTTP method '${req.method}' is not allowed on this resource.`);
    return odataError(400, 'BadRequest', `Resource not found for the segment '${unresolvedSegment(normalized, parts)}'.`);
  }

  /**
   * A tenant without the licence an API needs. Registration reports and conditional access (P1)
   * answer 403 Authentication_RequestFromNonPremiumTenantOrB2CTenant; PIM (P2) answers
   * AadPremiumLicenseRequired, which Graph sends as a 400 (observed by clients; the PIM API pages
   * state the licence but not the error). Security defaults need no licence.
   * https://learn.microsoft.com/en-us/graph/api/authenticationmethodsroot-list-userregistrationdetails
   * https://learn.microsoft.com/en-us/graph/api/conditionalaccessroot-list-policies
   * https://learn.microsoft.com/en-us/entra/id-governance/privileged-identity-management/subscription-requirements
   */
  function unlicensed(licence: 'P1' | 'P2'): SimReply {
    return licence === 'P2'
      ? odataError(400, 'AadPremiumLicenseRequired', 'The tenant needs to have Microsoft Entra ID P2 or Microsoft Entra ID Governance license.')
      : odataError(403, 'Authentication_RequestFromNonPremiumTenantOrB2CTenant', "Tenant is not a B2C tenant and doesn't have premium license");
  }

  /** The first segment no route knows at its position (Graph names that one, e.g. 'v1.0' in /v1.0/v1.0/users). */
  function unresolvedSegment(normalized: string[], parts: string[]): string {
    let depth = 0;
    while (depth < normalized.length && routes.some((r) => r.pattern.length > depth
      && r.pattern.slice(0, depth + 1).every((p, i) => p.startsWith(':') || p.toLowerCase() === normalized[i]!.toLowerCase()))) depth++;
    return normalized[depth] ?? parts[parts.length - 1] ?? '';
  }

  function batch(outer: SimRequest, version: Version): SimReply {
    const parsed = BatchBody.safeParse(readJson(outer));
    if (!parsed.success) return odataError(400, 'BadRequest', 'Invalid batch payload format.');
    const { requests } = parsed.data;
    if (requests.length > MAX_BATCH) {
      return odataError(400, 'BadRequest', `Number of batch requests (${requests.length}) exceeds the maximum of ${MAX_BATCH}.`);
    }
    if (new Set(requests.map((r) => r.id)).size !== requests.length) return odataError(400, 'BadRequest', 'Batch request ids must be unique.');
    const status = new Map<string, number>();
    const responses = requests.map((item) => {
      const failed = (item.dependsOn ?? []).some((d) => (status.get(d) ?? 424) >= 400);
      const reply = failed
        ? odataError(424, 'FailedDependency', 'A request this request depends on failed.')
        : dispatch(subRequest(outer, version, item), true);
      status.set(item.id, reply.status);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(reply.headers ?? {})) headers[canonicalHeader(k)] = v;
      return reply.body === undefined
        ? { id: item.id, status: reply.status, headers }
        : { id: item.id, status: reply.status, headers, body: reply.body };
    });
    return json(200, { responses });
  }

  /**
   * A `$batch` item URL is relative to the version of the `$batch` call (`/users/x`). One that repeats
   * the version (`/v1.0/users/x`, what graph-client's BatchRequestContent makes of an absolute
   * `https://graph.microsoft.com/v1.0/…` Request) is refused as Graph refuses it: 400 "Resource not
   * found for the segment 'v1.0'". https://learn.microsoft.com/en-us/graph/json-batching
   * The simulator's mount `/graph` stands for the host, so a leading `/graph` is dropped first.
   */
  function subRequest(outer: SimRequest, version: Version, item: BatchItem): SimRequest {
    let rel = item.url.replace(/^https?:\/\/[^/]+/i, '');
    if (!rel.startsWith('/')) rel = '/' + rel;
    rel = rel.replace(/^\/graph(?=\/|$)/i, '');
    const url = new URL(`${root}/${version}${rel}`);
    const headers = { ...outer.headers };
    for (const [k, val] of Object.entries(item.headers ?? {})) headers[k.toLowerCase()] = val;
    const body = item.body === undefined ? Buffer.alloc(0)
      : Buffer.from(typeof item.body === 'string' ? item.body : JSON.stringify(item.body));
    return { method: item.method.toUpperCase(), url, path: url.pathname.slice('/graph'.length), headers, body, params: {} };
  }

  // ---------- tenant model ----------

  const since = (days: number): string => new Date(ctx.loadedAt - days * DAY_MS).toISOString();
  const graphSpId = (t: Tenant) => guidFrom('servicePrincipal', t.id, GRAPH_RESOURCE_APP_ID);
  const partnerCenterSpId = (t: Tenant) => guidFrom('servicePrincipal', t.id, PARTNER_CENTER_RESOURCE_APP_ID);
  const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

  function findUser(t: Tenant, idOrUpn: string): User | undefined {
    return t.users.find((u) => same(u.id, idOrUpn) || same(u.userPrincipalName, idOrUpn));
  }
  function findApp(t: Tenant, by: 'spId' | 'appId' | 'objectId', id: string): Application | undefined {
    // An app registration without its service principal (created through Graph, not yet POST /servicePrincipals) has no SP to find.
    return t.applications.find((a) => (by === 'spId' ? a.hasServicePrincipal && same(a.servicePrincipalId, id) : same(by === 'appId' ? a.appId : a.objectId, id)));
  }
  function templateId(roleName: string): string {
    return (DIRECTORY_ROLE_TEMPLATES as Record<string, string>)[roleName] ?? guidFrom('roleTemplate', roleName);
  }
  /** Activated directory roles: every role someone holds, and Global Administrator always. */
  function activatedRoles(t: Tenant): string[] {
    const names = new Set<string>(['Global Administrator']);
    for (const u of t.users) for (const r of u.roles) names.add(r);
    return [...names];
  }
  function groupsOfUser(t: Tenant, u: User) {
    return t.groups.filter((g) => u.groups.some((n) => same(n, g.displayName)));
  }
  function groupsOfApp(t: Tenant, a: Application) {
    return t.groups.filter((g) => a.servicePrincipalGroups.some((n) => same(n, g.displayName)));
  }
  function permissionId(kind: 'role' | 'scope', name: string): string {
    const table: Record<string, string> = kind === 'role' ? GRAPH_APP_ROLES : GRAPH_SCOPES;
    // A permission id Graph was given that the simulator has no name for is kept as the id itself.
    if (!(name in table) && GUID.test(name)) return name;
    return table[name] ?? guidFrom('unknownPermission', kind, name);
  }
  /** Graph's appRoleAssignment and oauth2PermissionGrant ids are base64url strings, not GUIDs. */
  function opaqueId(...parts: string[]): string {
    return Buffer.from(guidFrom(...parts).replace(/-/g, '') + guidFrom('x', ...parts).replace(/-/g, '').slice(0, 20), 'hex').toString('base64url');
  }

  // ---------- entities ----------

  const USER_DEFAULTS = ['businessPhones', 'displayName', 'givenName', 'jobTitle', 'mail', 'mobilePhone', 'officeLocation',
    'preferredLanguage', 'surname', 'userPrincipalName', 'id'];

  function userEntity(u: User): Entity {
    const [given, ...rest] = u.displayName.split(' ');
    return {
      type: 'user',
      defaults: USER_DEFAULTS,
      data: {
        id: u.id, businessPhones: [], displayName: u.displayName, givenName: given ?? null, surname: rest.join(' ') || null,
        jobTitle: null, mail: u.userPrincipalName, mobilePhone: null, officeLocation: null, preferredLanguage: 'en-US',
        userPrincipalName: u.userPrincipalName, accountEnabled: u.accountEnabled, passwordPolicies: u.passwordPolicies ?? null,
        userType: u.userType, usageLocation: 'US', createdDateTime: since(120), onPremisesSyncEnabled: null,
      },
    };
  }

  function groupEntity(g: Tenant['groups'][number]): Entity {
    return {
      type: 'group',
      data: {
        id: g.id, deletedDateTime: null, classification: null, createdDateTime: since(365), description: g.description ?? null,
        displayName: g.displayName, groupTypes: [], isAssignableToRole: g.isAssignableToRole ? true : null, mail: null, mailEnabled: false,
        mailNickname: g.displayName.replace(/\W/g, ''), onPremisesSyncEnabled: null, securityEnabled: true, visibility: null,
      },
    };
  }

  function roleEntity(t: Tenant, name: string): Entity {
    const template = templateId(name);
    return {
      type: 'directoryRole',
      data: {
        id: guidFrom('directoryRole', t.id, template), deletedDateTime: null, displayName: name, roleTemplateId: template,
        description: template === GLOBAL_ADMIN_TEMPLATE_ID
          ? 'Can manage all aspects of Microsoft Entra ID and Microsoft services that use Microsoft Entra identities.'
          : `Built-in role: ${name}.`,
      },
    };
  }

  function appEntity(t: Tenant, a: Application): Entity {
    const graphAccess = [
      ...a.requestedAppRoles.map((n) => ({ id: permissionId('role', n), type: 'Role' })),
      ...a.requestedScopes.map((n) => ({ id: permissionId('scope', n), type: 'Scope' })),
    ];
    return {
      type: 'application',
      data: {
        id: a.objectId, deletedDateTime: null, appId: a.appId, displayName: a.displayName,
        createdDateTime: created.get(a.objectId.toLowerCase()) ?? since(60),
        description: null, identifierUris: [], isFallbackPublicClient: null, publisherDomain: t.domains[0],
        signInAudience: a.signInAudience, tags: [...a.tags], uniqueName: a.uniqueName ?? null, appRoles: [], keyCredentials: [],
        passwordCredentials: a.secrets.map((s) => ({
          customKeyIdentifier: null,
          displayName: s.displayName,
          endDateTime: resolveWhen(s.endDateTime, ctx.loadedAt).toISOString(),
          // Graph never returns a secret again: only its first three characters.
          hint: s.value.slice(0, 3),
          keyId: s.keyId,
          secretText: null,
          startDateTime: resolveWhen(s.startDateTime, ctx.loadedAt).toISOString(),
        })),
        requiredResourceAccess: [
          ...(graphAccess.length ? [{ resourceAppId: GRAPH_RESOURCE_APP_ID, resourceAccess: graphAccess }] : []),
          ...(a.requestsPartnerCenter
            ? [{ resourceAppId: PARTNER_CENTER_RESOURCE_APP_ID, resourceAccess: [{ id: PARTNER_CENTER_USER_IMPERSONATION_ID, type: 'Scope' }] }]
            : []),
        ],
        publicClient: { redirectUris: [] },
        spa: { redirectUris: [] },
        web: {
          homePageUrl: null, logoutUrl: null, redirectUris: [...a.redirectUris],
          implicitGrantSettings: { enableAccessTokenIssuance: false, enableIdTokenIssuance: false },
        },
      },
    };
  }

  function servicePrincipalEntity(t: Tenant, a: Application): Entity {
    return spEntity({ id: a.servicePrincipalId, appId: a.appId, displayName: a.displayName, owner: t.id, appRoles: [], scopes: [] });
  }

  function spEntity(sp: { id: string; appId: string; displayName: string; owner: string; appRoles: Json[]; scopes: Json[] }): Entity {
    return {
      type: 'servicePrincipal',
      data: {
        id: sp.id, deletedDateTime: null, accountEnabled: true, appDisplayName: sp.displayName, appId: sp.appId,
        appOwnerOrganizationId: sp.owner, appRoleAssignmentRequired: false, displayName: sp.displayName,
        servicePrincipalNames: [sp.appId], servicePrincipalType: 'Application', signInAudience: 'AzureADMyOrg', tags: [],
        appRoles: sp.appRoles, oauth2PermissionScopes: sp.scopes, keyCredentials: [], passwordCredentials: [],
      },
    };
  }

  /** Microsoft's own service principals every partner tenant has: Graph and Partner Center. */
  function firstPartySps(t: Tenant): Entity[] {
    const graph = spEntity({
      id: graphSpId(t), appId: GRAPH_RESOURCE_APP_ID, displayName: 'Microsoft Graph', owner: MICROSOFT_SERVICES_TENANT_ID,
      appRoles: Object.entries(GRAPH_APP_ROLES).map(([value, id]) => ({
        allowedMemberTypes: ['Application'], description: value, displayName: value, id, isEnabled: true, origin: 'Application', value,
      })),
      scopes: Object.entries(GRAPH_SCOPES).map(([value, id]) => ({
        adminConsentDescription: value, adminConsentDisplayName: value, id, isEnabled: true,
        type: GRAPH_ADMIN_CONSENT_SCOPES.some((n) => same(n, value)) ? 'Admin' : 'User',
        userConsentDescription: value, userConsentDisplayName: value, value,
      })),
    });
    const partnerCenter = spEntity({
      id: partnerCenterSpId(t), appId: PARTNER_CENTER_RESOURCE_APP_ID, displayName: 'Microsoft Partner Center',
      owner: MICROSOFT_SERVICES_TENANT_ID, appRoles: [],
      scopes: [{
        adminConsentDescription: 'Allow the application to access Partner Center on behalf of the signed-in user.',
        adminConsentDisplayName: 'Access Partner Center', id: PARTNER_CENTER_USER_IMPERSONATION_ID, isEnabled: true, type: 'Admin',
        userConsentDescription: null, userConsentDisplayName: null, value: 'user_impersonation',
      }],
    });
    // A tenant may lack one (scenario `absentServicePrincipals`) until POST /servicePrincipals {appId} creates it.
    return [graph, partnerCenter].filter((sp) => !t.absentServicePrincipals.some((appId) => same(appId, String(sp.data.appId))));
  }

  function allServicePrincipals(t: Tenant): Entity[] {
    return [...t.applications.filter((a) => a.hasServicePrincipal).map((a) => servicePrincipalEntity(t, a)), ...firstPartySps(t)];
  }

  function appRoleAssignments(t: Tenant, a: Application): Entity[] {
    return a.grantedAppRoles.map((name) => ({
      type: 'appRoleAssignment',
      data: {
        id: opaqueId('appRoleAssignment', a.servicePrincipalId, name), deletedDateTime: null, appRoleId: permissionId('role', name),
        createdDateTime: since(30), principalDisplayName: a.displayName, principalId: a.servicePrincipalId,
        principalType: 'ServicePrincipal', resourceDisplayName: 'Microsoft Graph', resourceId: graphSpId(t),
      },
    }));
  }

  /** Delegated grants: tenant-wide (AllPrincipals) and per user (Principal). */
  function permissionGrants(t: Tenant): Entity[] {
    const out: Entity[] = [];
    for (const a of t.applications.filter((x) => x.hasServicePrincipal)) {
      const grant = (resourceId: string, scope: string, principalId: string | null = null) => out.push({
        type: 'oAuth2PermissionGrant',
        data: {
          id: opaqueId('grant', a.servicePrincipalId, resourceId, principalId ?? ''), clientId: a.servicePrincipalId,
          consentType: principalId ? 'Principal' : 'AllPrincipals', principalId, resourceId, scope,
        },
      });
      if (a.grantedScopes.length) grant(graphSpId(t), a.grantedScopes.join(' '));
      if (a.partnerCenterConsent) grant(partnerCenterSpId(t), 'user_impersonation');
      // One Principal grant per user and resource, as consent on the sign-in page records them.
      for (const pg of a.principalGrants) {
        grant(pg.resource === 'partnerCenter' ? partnerCenterSpId(t) : graphSpId(t), pg.scopes.join(' '), pg.principalId);
      }
    }
    return out;
  }

  const METHOD_NAMES: Record<string, string | undefined> = {
    microsoftAuthenticator: 'microsoftAuthenticatorPush', phoneAuthentication: 'mobilePhone', fido2: 'fido2SecurityKey',
    softwareOneTimePasscode: 'softwareOneTimePasscode', windowsHelloForBusiness: 'windowsHelloForBusiness',
    // A third-party provider (Duo via custom controls / federation) is invisible to Entra's registration report.
    thirdParty: undefined,
  };

  function registrationEntity(u: User): Entity {
    const methods = u.mfaMethods.map((m) => METHOD_NAMES[m]).filter((m): m is string => m !== undefined);
    const preferred = methods.includes('microsoftAuthenticatorPush') ? 'push' : methods.includes('mobilePhone') ? 'sms'
      : methods.includes('softwareOneTimePasscode') ? 'oath' : 'none';
    return {
      type: 'userRegistrationDetails',
      data: {
        id: u.id, userPrincipalName: u.userPrincipalName, userDisplayName: u.displayName, userType: 'member',
        isAdmin: u.roles.length > 0, isSsprRegistered: false, isSsprEnabled: false, isSsprCapable: false,
        isMfaRegistered: methods.length > 0, isMfaCapable: methods.length > 0, isPasswordlessCapable: methods.includes('fido2SecurityKey'),
        isSystemPreferredAuthenticationMethodEnabled: true, lastUpdatedDateTime: since(1), methodsRegistered: methods,
        systemPreferredAuthenticationMethods: preferred === 'none' ? [] : [preferred],
        userPreferredMethodForSecondaryAuthentication: preferred,
      },
    };
  }

  function conditionalAccessEntity(p: Tenant['conditionalAccessPolicies'][number]): Entity {
    return {
      type: 'conditionalAccessPolicy',
      data: {
        id: p.id, displayName: p.displayName, state: p.state, createdDateTime: since(200), modifiedDateTime: since(20),
        templateId: null,
        conditions: {
          clientAppTypes: ['all'], platforms: null, locations: null, signInRiskLevels: [], userRiskLevels: [],
          applications: { includeApplications: ['All'], excludeApplications: [], includeUserActions: [] },
          users: {
            includeUsers: ['All'], excludeUsers: [], includeGroups: [], excludeGroups: [], includeRoles: [], excludeRoles: [],
            includeGuestsOrExternalUsers: null,
            excludeGuestsOrExternalUsers: p.excludesServiceProviderUsers ? {
              guestOrExternalUserTypes: 'serviceProvider',
              externalTenants: { '@odata.type': '#microsoft.graph.conditionalAccessAllExternalTenants', membershipKind: 'all' },
            } : null,
          },
        },
        grantControls: { operator: 'OR', builtInControls: p.requiresMfa ? ['mfa'] : ['block'], customAuthenticationFactors: [], termsOfUse: [] },
        // https://learn.microsoft.com/en-us/graph/api/resources/signinfrequencysessioncontrol
        sessionControls: p.signInFrequency ? {
          applicationEnforcedRestrictions: null, cloudAppSecurity: null, disableResilienceDefaults: null, persistentBrowser: null,
          signInFrequency: {
            value: p.signInFrequency.value, type: p.signInFrequency.type, authenticationType: 'primaryAndSecondaryAuthentication',
            frequencyInterval: 'timeBased', isEnabled: true,
          },
        } : null,
      },
    };
  }

  function organizationEntity(t: Tenant): Entity {
    // Every documented partnerTenantType value comes before unknownFutureValue, so Graph returns it
    // as it is, Prefer header or not: https://learn.microsoft.com/en-us/graph/api/resources/organization
    const type = t.partnerTenantType ?? null;
    const defaultDomain = t.domains.find((d) => !d.toLowerCase().endsWith('.onmicrosoft.com')) ?? t.domains[0]!;
    return {
      type: 'organization',
      data: {
        id: t.id, deletedDateTime: null, businessPhones: [], city: null, country: null, countryLetterCode: t.countryLetterCode,
        createdDateTime: since(900), displayName: t.displayName, marketingNotificationEmails: [], onPremisesSyncEnabled: null,
        partnerTenantType: type, postalCode: null, preferredLanguage: 'en', state: null, street: null,
        technicalNotificationMails: [], tenantType: 'AAD', assignedPlans: [], privacyProfile: null, provisionedPlans: [],
        securityComplianceNotificationMails: [], securityComplianceNotificationPhones: [],
        verifiedDomains: t.domains.map((name, i) => ({
          capabilities: 'Email, OfficeCommunicationsOnline', isDefault: same(name, defaultDomain), isInitial: i === 0,
          name, type: 'Managed',
        })),
      },
    };
  }

  // ---------- GDAP: explicit relationships, or one derived per manageable generated customer ----------

  interface Relationship { data: Json; assignments: Json[] }

  function explicitRelationship(t: Tenant, g: Gdap): Relationship {
    const end = resolveWhen(g.endDateTime, ctx.loadedAt);
    const activated = new Date(end.getTime() - 730 * DAY_MS);
    const customerName = customerByTenantId(t.customers, g.customerTenantId)?.companyName
      ?? ctx.scenario.tenants.find((x) => same(x.id, g.customerTenantId))?.displayName ?? 'Customer';
    return {
      data: relationshipData(g.id, g.displayName, g.customerTenantId, customerName, g.status, g.roles, g.autoExtendDuration, activated, end),
      assignments: g.accessAssignments.map((a) => assignmentData(a.id, groupId(t, a.groupDisplayName), a.roles, a.status, activated)),
    };
  }

  function derivedRelationship(t: Tenant, c: GeneratedCustomer): Relationship {
    const activated = new Date(ctx.loadedAt - 30 * DAY_MS);
    const end = new Date(activated.getTime() + 730 * DAY_MS);
    const id = `${guidFrom('gdap', t.id, c.tenantId)}-${c.tenantId}`;
    const agents = t.groups.find((g) => same(g.displayName, 'AdminAgents'));
    return {
      data: relationshipData(id, `GDAP ${c.companyName}`.slice(0, 50), c.tenantId, c.companyName, 'active', STANDARD_GDAP_ROLES, 'P180D', activated, end),
      assignments: agents ? [assignmentData(guidFrom('gdapAssignment', id), agents.id, STANDARD_GDAP_ROLES, 'active', activated)] : [],
    };
  }

  function relationshipData(id: string, displayName: string, customerTenantId: string, customerName: string, status: string,
    roles: readonly string[], autoExtend: string, activated: Date, end: Date): Json {
    return {
      '@odata.type': '#microsoft.graph.delegatedAdminRelationship',
      '@odata.etag': `W/"${Buffer.from(guidFrom('etag', id)).toString('base64')}"`,
      id, displayName, duration: 'P730D',
      customer: { tenantId: customerTenantId, displayName: customerName },
      accessDetails: { unifiedRoles: roles.map((roleDefinitionId) => ({ roleDefinitionId })) },
      status, autoExtendDuration: autoExtend,
      createdDateTime: new Date(activated.getTime() - DAY_MS).toISOString(),
      lastModifiedDateTime: activated.toISOString(), activatedDateTime: activated.toISOString(), endDateTime: end.toISOString(),
    };
  }

  function assignmentData(id: string, container: string, roles: readonly string[], status: string, at: Date): Json {
    return {
      '@odata.etag': `W/"${Buffer.from(guidFrom('etag', id)).toString('base64')}"`,
      id, status, createdDateTime: at.toISOString(), lastModifiedDateTime: at.toISOString(),
      accessContainer: { accessContainerId: container, accessContainerType: 'securityGroup' },
      accessDetails: { unifiedRoles: roles.map((roleDefinitionId) => ({ roleDefinitionId })) },
    };
  }

  function groupId(t: Tenant, displayName: string): string {
    return t.groups.find((g) => same(g.displayName, displayName))?.id ?? guidFrom('group', t.id, displayName);
  }

  /** Explicit relationships win; only a tenant that lists none gets the derived ones. */
  function relationshipSource(t: Tenant): { total: number; at(i: number): Relationship } {
    if (t.gdapRelationships.length > 0) {
      return { total: t.gdapRelationships.length, at: (i) => explicitRelationship(t, t.gdapRelationships[i]!) };
    }
    return { total: manageableCount(t.customers), at: (i) => derivedRelationship(t, manageableAt(t.customers, i)) };
  }

  function findRelationship(t: Tenant, id: string): Relationship | undefined {
    const explicit = t.gdapRelationships.find((g) => same(g.id, id));
    if (explicit) return explicitRelationship(t, explicit);
    if (t.gdapRelationships.length > 0) return undefined;
    const c = customerByTenantId(t.customers, id.slice(-36));
    if (!c || c.resellerOnly) return undefined;
    const rel = derivedRelationship(t, c);
    return same(String(rel.data.id), id) ? rel : undefined;
  }

  // ---------- responses ----------

  function notFound(id: string): SimReply {
    return odataError(404, 'Request_ResourceNotFound', `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`);
  }

  function contextUrl(version: Version, fragment: string): string {
    return `${root}/${version}/$metadata#${fragment}`;
  }

  function entityReply(call: Call, contextName: string, e: Entity): SimReply {
    const select = parseSelect(call.req);
    const projected = project(e, select, false);
    if (typeof projected === 'string') return odataError(400, 'BadRequest', projected);
    const ctxName = select ? `${contextName}(${select.join(',')})/$entity` : `${contextName}/$entity`;
    return json(200, { '@odata.context': contextUrl(call.version, ctxName), ...projected });
  }

  interface ListOptions {
    /** Properties `$filter` may use; none = `$filter` unsupported. */
    filterable?: readonly string[];
    pageSize?: number;
    maxPageSize?: number;
    /** Collections of mixed directory objects carry `@odata.type` on every item. */
    withType?: boolean;
    /** Directory objects: `$count` and `$search` are advanced queries (ConsistencyLevel: eventual). */
    directory?: boolean;
    /** Properties `$search` may use (`"displayName:foo"`). */
    searchable?: readonly string[];
    /**
     * An OData cast on memberOf / transitiveMemberOf: Graph documents `ConsistencyLevel: eventual`
     * and `$count` as required with it (an advanced query).
     * https://learn.microsoft.com/en-us/graph/api/user-list-transitivememberof
     */
    cast?: boolean;
  }

  /** A paged collection over a lazily produced list (`at(i)` is only called for the page served). */
  function listReply(call: Call, contextName: string, source: { total: number; at(i: number): Entity } | Entity[], opts: ListOptions = {}): SimReply {
    const q = call.req.url.searchParams;
    let items = Array.isArray(source) ? { total: source.length, at: (i: number) => source[i]! } : source;
    // Advanced queries on directory objects need ConsistencyLevel: eventual:
    // https://learn.microsoft.com/en-us/graph/aad-advanced-queries
    const eventual = String(call.req.headers.consistencylevel ?? '').toLowerCase() === 'eventual';
    const searchText = q.get('$search');
    if (opts.cast && !(eventual && q.get('$count') === 'true')) {
      return odataError(400, 'Request_UnsupportedQuery', 'The OData cast on this relationship is an advanced query: send ConsistencyLevel: eventual and $count=true.');
    }
    if (opts.directory && !eventual) {
      if (q.get('$count') === 'true') return odataError(400, 'Request_BadRequest', '$count is not currently supported.');
      if (searchText !== null) return odataError(400, 'Request_UnsupportedQuery', 'Search is only supported with the ConsistencyLevel header set to eventual.');
    }
    if (searchText !== null) {
      const m = /^"([A-Za-z]+):([^"]*)"$/.exec(searchText.trim());
      if (!m || !(opts.searchable ?? []).some((p) => same(p, m[1]!))) {
        return odataError(400, 'Request_UnsupportedQuery', `Unsupported query: $search=${searchText}. The simulator supports "property:text" on ${(opts.searchable ?? []).join(', ') || 'nothing here'}.`);
      }
      const kept: Entity[] = [];
      for (let i = 0; i < items.total; i++) {
        const e = items.at(i);
        const v = propertyAt(e.data, m[1]!);
        if (typeof v === 'string' && v.toLowerCase().includes(m[2]!.toLowerCase())) kept.push(e);
      }
      items = { total: kept.length, at: (i) => kept[i]! };
    }
    const filterText = q.get('$filter');
    if (filterText !== null) {
      const typeName = items.total > 0 ? items.at(0).type : contextName;
      const clauses = parseFilter(filterText, opts.filterable ?? [], typeName);
      if (!Array.isArray(clauses)) return clauses;
      const kept: Entity[] = [];
      for (let i = 0; i < items.total; i++) {
        const e = items.at(i);
        if (clauses.every((c) => matches(e.data, c))) kept.push(e);
      }
      items = { total: kept.length, at: (i) => kept[i]! };
    }
    const maxPage = opts.maxPageSize ?? 999;
    let top = opts.pageSize ?? 100;
    const topText = q.get('$top');
    if (topText !== null) {
      top = Number(topText);
      if (!Number.isInteger(top) || top < 1 || top > maxPage) {
        return odataError(400, 'Request_BadRequest', `Invalid page size specified: '${topText}'. Must be between 1 and ${maxPage} inclusive.`);
      }
    }
    let offset = 0;
    const skip = q.get('$skiptoken') ?? q.get('$skipToken');
    if (skip !== null) {
      const decoded = decodeSkipToken(skip);
      if (decoded === undefined || decoded > items.total) {
        return odataError(400, 'Directory_ExpiredPageToken', 'The specified page token value has expired and can no longer be included in your request.');
      }
      offset = decoded;
    }
    const select = parseSelect(call.req);
    const value: Json[] = [];
    const end = Math.min(offset + top, items.total);
    for (let i = offset; i < end; i++) {
      const projected = project(items.at(i), select, opts.withType ?? false);
      if (typeof projected === 'string') return odataError(400, 'BadRequest', projected);
      value.push(projected);
    }
    const body: Json = { '@odata.context': contextUrl(call.version, select ? `${contextName}(${select.join(',')})` : contextName) };
    if (q.get('$count') === 'true') body['@odata.count'] = items.total;
    if (end < items.total) body['@odata.nextLink'] = nextLink(call, end);
    body.value = value;
    return json(200, body);
  }

  function nextLink(call: Call, offset: number): string {
    const kept = call.req.url.search.replace(/^\?/, '').split('&').filter((p) => p && !/^(\$|%24)skiptoken=/i.test(p));
    kept.push(`$skiptoken=${Buffer.from(JSON.stringify({ o: offset })).toString('base64url')}`);
    return `${root}${call.req.url.pathname.slice('/graph'.length)}?${kept.join('&')}`;
  }

  // ---------- handlers ----------

  function withUser(call: Call, fn: (u: User) => SimReply): SimReply {
    const id = call.params.id!;
    const u = findUser(call.tenant, id);
    return u ? fn(u) : notFound(id);
  }

  function withSp(call: Call, fn: (a: Application) => SimReply): SimReply {
    const appId = call.params.appId;
    const a = appId !== undefined ? findApp(call.tenant, 'appId', appId) : findApp(call.tenant, 'spId', call.params.id!);
    return a?.hasServicePrincipal ? fn(a) : notFound(appId ?? call.params.id!);
  }

  function withGroup(call: Call, fn: (g: Tenant['groups'][number]) => SimReply): SimReply {
    const g = call.tenant.groups.find((x) => same(x.id, call.params.id!));
    return g ? fn(g) : notFound(call.params.id!);
  }

  /**
   * memberOf: direct groups and active directory roles. transitiveMemberOf adds the roles held through
   * role-assignable groups. PIM-eligible roles that are not activated appear in neither.
   * https://learn.microsoft.com/en-us/entra/id-governance/privileged-identity-management/pim-how-to-add-role-to-user
   */
  function userMemberships(t: Tenant, u: User, transitive = false): Entity[] {
    const groups = groupsOfUser(t, u);
    const roles = new Set(u.roles);
    if (transitive) for (const g of groups) if (g.isAssignableToRole) for (const r of g.roles) roles.add(r);
    return [...groups.map(groupEntity), ...[...roles].map((r) => roleEntity(t, r))];
  }

  /** Active role assignments: one per user role and per role-assignable group role (principal = the group). */
  function roleAssignments(t: Tenant): Entity[] {
    const out: Entity[] = [];
    const add = (principalId: string, role: string) => out.push({
      type: 'unifiedRoleAssignment',
      data: { id: opaqueId('roleAssignment', principalId, role, ''), principalId, roleDefinitionId: templateId(role), directoryScopeId: '/' },
    });
    for (const u of t.users) for (const r of u.roles) add(u.id, r);
    for (const g of t.groups.filter((x) => x.isAssignableToRole)) for (const r of g.roles) add(g.id, r);
    return out;
  }

  /** PIM eligibility (not active): scheduled, no expiration. */
  function roleEligibility(t: Tenant, kind: 'schedule' | 'instance'): Entity[] {
    return t.users.flatMap((u) => u.eligibleRoles.map((r) => ({
      type: kind === 'schedule' ? 'unifiedRoleEligibilitySchedule' : 'unifiedRoleEligibilityScheduleInstance',
      data: {
        id: opaqueId('eligibility', u.id, r), principalId: u.id, roleDefinitionId: templateId(r), directoryScopeId: '/',
        appScopeId: null, memberType: 'Direct', createdUsing: opaqueId('eligibility', u.id, r),
        ...(kind === 'schedule'
          ? { status: 'Provisioned', createdDateTime: since(90), modifiedDateTime: since(90), scheduleInfo: { startDateTime: since(90), recurrence: null, expiration: { type: 'noExpiration', endDateTime: null, duration: null } } }
          : { startDateTime: since(90), endDateTime: null, roleEligibilityScheduleId: opaqueId('eligibility', u.id, r) }),
      },
    })));
  }

  /** Domain → tenant, across the scenario's tenants and the generated customers. */
  function tenantInformation(call: Call): SimReply {
    const domain = call.params.domain!;
    const known = ctx.scenario.tenants.find((t) => t.domains.some((d) => same(d, domain)));
    let info: Json | undefined;
    if (known) {
      info = { tenantId: known.id, displayName: known.displayName, defaultDomainName: known.domains.find((d) => !d.toLowerCase().endsWith('.onmicrosoft.com')) ?? known.domains[0]! };
    } else {
      for (const t of ctx.scenario.tenants) {
        const m = /(\d+)\.onmicrosoft\.com$/i.exec(domain);
        if (!m) break;
        const index = Number(m[1]) - 1;
        if (index < 0 || index >= t.customers.count) continue;
        const c = customerAt(t.customers, index);
        if (same(c.domain, domain)) { info = { tenantId: c.tenantId, displayName: c.companyName, defaultDomainName: c.domain }; break; }
      }
    }
    if (!info) return notFound(domain);
    return json(200, { '@odata.context': contextUrl(call.version, 'microsoft.graph.tenantInformation'), federationBrandName: null, ...info });
  }

  function checkMemberGroups(call: Call, memberOf: Set<string>): SimReply {
    const parsed = z.object({ groupIds: z.array(z.string()) }).safeParse(readJson(call.req));
    if (!parsed.success) return odataError(400, 'Request_BadRequest', "Invalid request body: expected {\"groupIds\": [...]}.");
    if (parsed.data.groupIds.length > 20) return odataError(400, 'Request_BadRequest', 'A maximum of 20 groupIds can be checked per request.');
    const value = parsed.data.groupIds.filter((id) => memberOf.has(id.toLowerCase()));
    return json(200, { '@odata.context': contextUrl(call.version, 'Collection(Edm.String)'), value });
  }

  function roleByParams(call: Call): { name: string; entity: Entity } | undefined {
    const t = call.tenant;
    const names = activatedRoles(t);
    const template = call.params.templateId;
    const name = template !== undefined
      ? names.find((n) => same(templateId(n), template))
      : names.find((n) => same(String(roleEntity(t, n).data.id), call.params.id!));
    return name === undefined ? undefined : { name, entity: roleEntity(t, name) };
  }

  function roleMembers(call: Call): SimReply {
    const role = roleByParams(call);
    if (!role) return notFound(call.params.templateId ?? call.params.id!);
    const members = call.tenant.users.filter((u) => u.roles.some((r) => same(r, role.name))).map(userEntity);
    return listReply(call, 'directoryObjects', members, { withType: true });
  }

  function sendMail(call: Call): SimReply {
    return withUser(call, (u) => {
      if (!call.caller.appOnly && !same(u.id, String(call.caller.claims.oid ?? ''))) {
        return odataError(403, 'ErrorAccessDenied', 'Access is denied. Check credentials and try again.');
      }
      const parsed = SendMailBody.safeParse(readJson(call.req));
      if (!parsed.success) return odataError(400, 'ErrorInvalidRecipients', 'At least one recipient is not valid.');
      const m = parsed.data.message;
      outbox.push({
        id: guidFrom('mail', outbox.length, ctx.now()),
        tenantId: call.tenant.id,
        from: u.userPrincipalName,
        to: m.toRecipients.map((r) => r.emailAddress.address),
        cc: (m.ccRecipients ?? []).map((r) => r.emailAddress.address),
        subject: m.subject ?? '',
        contentType: m.body?.contentType ?? 'text',
        content: m.body?.content ?? '',
        sentAt: new Date(ctx.now()).toISOString(),
      });
      return { status: 202, headers: {} };
    });
  }

  // ---------- "set it up for me" (issue 30): directory writes with Microsoft's permission rules ----------

  /** Objects created through Graph that are still replicating (scenario `replication`), by lower-case id. */
  const fresh = new Map<string, { createdAt: number; seconds: number; refusalsLeft: number }>();
  /** createdDateTime of objects created through Graph, by lower-case object id. */
  const created = new Map<string, string>();

  /**
   * A directory write is not visible everywhere at once; right after creation a request naming the
   * new object can answer 404 Request_ResourceNotFound, and clients retry with backoff:
   * https://learn.microsoft.com/en-us/graph/best-practices-concept#handling-expected-errors
   * The numbers are the scenario's (ours). All ids of one object share one record.
   */
  function markFresh(t: Tenant, ...ids: string[]): void {
    const r = t.replication;
    if (!r || (r.newObjectNotFoundReads === 0 && r.newObjectNotFoundSeconds === 0)) return;
    const rec = { createdAt: ctx.now(), seconds: r.newObjectNotFoundSeconds, refusalsLeft: r.newObjectNotFoundReads };
    for (const id of ids) fresh.set(id.toLowerCase(), rec);
  }

  /** Whether a request naming `id` must be refused as not replicated yet (counts the refusal). */
  function replicating(id: string): boolean {
    const rec = fresh.get(id.toLowerCase());
    if (!rec) return false;
    const early = ctx.now() < rec.createdAt + rec.seconds * 1000;
    if (rec.refusalsLeft > 0 || early) {
      if (rec.refusalsLeft > 0) rec.refusalsLeft -= 1;
      return true;
    }
    fresh.delete(id.toLowerCase());
    return false;
  }

  /**
   * With `replication.newObjectHiddenFromLists` (ours), a collection query does not show an object
   * still replicating either: lists are eventually consistent too
   * (https://learn.microsoft.com/en-us/graph/aad-advanced-queries). Listing
   * counts no refusal.
   */
  function unlisted(t: Tenant, id: string): boolean {
    if (!t.replication?.newObjectHiddenFromLists) return false;
    const rec = fresh.get(id.toLowerCase());
    return rec !== undefined && (rec.refusalsLeft > 0 || ctx.now() < rec.createdAt + rec.seconds * 1000);
  }

  const DENIED = (): SimReply => odataError(403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.');

  /** The signed-in user of a delegated call, or undefined for app-only. */
  function signedInUser(call: Call): User | undefined {
    return call.caller.appOnly ? undefined : findUser(call.tenant, String(call.caller.claims.oid ?? ''));
  }

  /** Active directory roles of a user: direct and through role-assignable groups. */
  function heldRoles(t: Tenant, u: User): Set<string> {
    const roles = new Set(u.roles);
    for (const g of groupsOfUser(t, u)) if (g.isAssignableToRole) for (const r of g.roles) roles.add(r);
    return roles;
  }

  /**
   * Delegated calls act with the intersection of the token's scopes and the signed-in user's own
   * privileges: the user must hold one of `roles` (Global Administrator holds all), or pass `also`
   * (owner of the object, a member allowed by default user permissions). App-only calls skip this.
   * https://learn.microsoft.com/en-us/graph/auth/auth-concepts#delegated-and-application-permissions
   */
  function requireRole(call: Call, roles: readonly string[], also?: (u: User) => boolean): SimReply | undefined {
    if (call.caller.appOnly) return undefined;
    const u = signedInUser(call);
    if (!u) return DENIED();
    const held = heldRoles(call.tenant, u);
    if (held.has('Global Administrator') || roles.some((r) => held.has(r)) || also?.(u)) return undefined;
    return DENIED();
  }

  /** Application Administrator, Cloud Application Administrator, or an owner who is a member: https://learn.microsoft.com/en-us/graph/api/application-update */
  const APP_ADMINS = ['Application Administrator', 'Cloud Application Administrator'];
  const isOwner = (a: Application) => (u: User) => u.userType === 'Member' && a.owners.some((o) => same(o, u.id));

  /** Request bodies of POST/PATCH /applications (the properties the simulator models). */
  const AppBody = z.object({
    displayName: z.string().min(1).max(256).optional(),
    tags: z.array(z.string().max(256)).optional(),
    signInAudience: ApplicationSchema.shape.signInAudience.removeDefault().optional(),
    requiredResourceAccess: z.array(z.object({
      resourceAppId: z.string(),
      resourceAccess: z.array(z.object({ id: z.string().regex(GUID), type: z.enum(['Role', 'Scope']) })),
    })).optional(),
    web: z.object({ redirectUris: z.array(z.string()).optional() }).passthrough().optional(),
  }).passthrough();

  function badRequest(message: string): SimReply {
    return odataError(400, 'Request_BadRequest', message);
  }

  /** Applies a POST/PATCH body to the model; an error reply when the body is invalid (nothing changed then). */
  function applyAppBody(a: Application, raw: unknown): SimReply | undefined {
    const parsed = AppBody.safeParse(raw ?? {});
    // Ours: the wording of Graph's validation errors is not documented; the code is.
    if (!parsed.success) return badRequest(`Invalid value specified for property '${parsed.error.issues[0]?.path.join('.') ?? ''}' of resource 'Application'.`);
    const b = parsed.data;
    const uris = b.web?.redirectUris;
    if (uris) {
      // Redirect URIs: https, or http only on localhost: https://learn.microsoft.com/en-us/entra/identity-platform/reply-url
      const bad = uris.find((u) => !/^https:\/\/[^/\s]+/i.test(u) && !/^http:\/\/(localhost|127\.0\.0\.1)(:\d+)?(\/|$)/i.test(u));
      if (bad !== undefined) return badRequest(`Invalid value specified for property 'redirectUris' of resource 'Application': '${bad}'.`);
      if (new Set(uris.map((u) => u.toLowerCase())).size !== uris.length) return badRequest("Values of property 'redirectUris' must be unique.");
    }
    if (b.displayName !== undefined) a.displayName = b.displayName;
    if (b.tags !== undefined) a.tags = [...b.tags];
    if (b.signInAudience !== undefined) a.signInAudience = b.signInAudience;
    if (uris) a.redirectUris = [...uris];
    if (b.requiredResourceAccess !== undefined) {
      const graph = b.requiredResourceAccess.filter((x) => same(x.resourceAppId, GRAPH_RESOURCE_APP_ID)).flatMap((x) => x.resourceAccess);
      const nameOf = (table: Record<string, string>, id: string) => Object.entries(table).find(([, v]) => same(v, id))?.[0] ?? id.toLowerCase();
      a.requestedAppRoles = [...new Set(graph.filter((x) => x.type === 'Role').map((x) => nameOf(GRAPH_APP_ROLES, x.id)))];
      a.requestedScopes = [...new Set(graph.filter((x) => x.type === 'Scope').map((x) => nameOf(GRAPH_SCOPES, x.id)))];
      a.requestsPartnerCenter = b.requiredResourceAccess.some((x) => same(x.resourceAppId, PARTNER_CENTER_RESOURCE_APP_ID)
        && x.resourceAccess.some((y) => same(y.id, PARTNER_CENTER_USER_IMPERSONATION_ID)));
    }
    return undefined;
  }

  /**
   * POST /applications: any member may register an app unless the tenant turned that off; then
   * Application Developer or an application admin role. The creator becomes an owner. The new app
   * has no service principal yet. https://learn.microsoft.com/en-us/graph/api/application-post-applications
   */
  function createApplication(call: Call, uniqueName?: string): SimReply {
    const t = call.tenant;
    const denied = requireRole(call, ['Application Developer', ...APP_ADMINS], (u) => t.usersCanRegisterApps && u.userType === 'Member');
    if (denied) return denied;
    const body = readJson<Record<string, unknown>>(call.req);
    if (!body || typeof body.displayName !== 'string' || body.displayName.trim() === '') {
      return badRequest("Property 'displayName' is required for resource 'Application'.");
    }
    const seed = `${t.id}/${ctx.now()}/${t.applications.length}/${Math.random()}`;
    const owner = signedInUser(call);
    const app = ApplicationSchema.parse({
      appId: guidFrom('appId', seed), objectId: guidFrom('applicationObject', seed), servicePrincipalId: guidFrom('servicePrincipal', seed),
      displayName: body.displayName, hasServicePrincipal: false, requestsPartnerCenter: false, owners: owner ? [owner.id] : [],
      ...(uniqueName !== undefined ? { uniqueName } : {}),
    });
    const invalid = applyAppBody(app, body);
    if (invalid) return invalid;
    t.applications.push(app);
    created.set(app.objectId.toLowerCase(), new Date(ctx.now()).toISOString());
    markFresh(t, app.objectId, app.appId);
    const e = appEntity(t, app);
    return json(201, { '@odata.context': contextUrl(call.version, 'applications/$entity'), ...e.data });
  }

  function withApp(call: Call, fn: (a: Application) => SimReply): SimReply {
    const key = call.params.appId ?? call.params.id!;
    const a = findApp(call.tenant, call.params.appId !== undefined ? 'appId' : 'objectId', key);
    if (!a) return notFound(key);
    const denied = requireRole(call, APP_ADMINS, isOwner(a));
    return denied ?? fn(a);
  }

  /**
   * PATCH /applications(uniqueName='…'), the upsert: with `Prefer: create-if-missing` and no app
   * holding that key, the app is created as POST /applications creates it (same role rules, body
   * must name displayName) and given the key: 201 with the new app. An app holding the key is
   * updated as PATCH /applications/{id} updates it: 204, no body. Without the Prefer header the
   * request is an update only, so no app with the key answers 404.
   * The key is one tenant-wide, so an app still replicating is found by it here: the write
   * goes to the object, not to a list that may lag (ours: Microsoft does not say how the key behaves
   * during replication, but a key that let a second app in would not be one).
   * https://learn.microsoft.com/en-us/graph/api/application-upsert
   */
  function upsertApplication(call: Call): SimReply {
    const key = call.params.uniqueName!;
    const a = call.tenant.applications.find((x) => x.uniqueName !== undefined && same(x.uniqueName, key));
    if (a) {
      const denied = requireRole(call, APP_ADMINS, isOwner(a));
      if (denied) return denied;
      const copy = ApplicationSchema.parse(JSON.parse(JSON.stringify(a)));
      const invalid = applyAppBody(copy, readJson(call.req));
      if (invalid) return invalid;
      Object.assign(a, copy);
      return { status: 204, headers: {} };
    }
    const prefer = [call.req.headers['prefer'] ?? []].flat().join(',').split(',').map((p) => p.trim().toLowerCase());
    if (!prefer.includes('create-if-missing')) return notFound(key);
    return createApplication(call, key);
  }

  /** PATCH /applications/{id}: collections are replaced whole; 204. https://learn.microsoft.com/en-us/graph/api/application-update */
  function updateApplication(call: Call): SimReply {
    return withApp(call, (a) => {
      const copy = ApplicationSchema.parse(JSON.parse(JSON.stringify(a)));
      const invalid = applyAppBody(copy, readJson(call.req));
      if (invalid) return invalid;
      Object.assign(a, copy);
      return { status: 204, headers: {} };
    });
  }

  /** A client secret as Entra ID makes them: 40 characters, the 4th–6th `<digit>Q~`. */
  function newSecretValue(): string {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~';
    const pick = (n: number) => Array.from({ length: n }, () => alphabet[Math.floor(Math.random() * alphabet.length)]!).join('');
    return `${pick(3)}${Math.floor(Math.random() * 10)}Q~${pick(34)}`;
  }

  const PasswordBody = z.object({
    passwordCredential: z.object({
      displayName: z.string().optional(),
      endDateTime: z.string().datetime({ offset: true }).optional(),
      startDateTime: z.string().datetime({ offset: true }).optional(),
    }).passthrough().optional(),
  }).passthrough();

  /**
   * addPassword: 200 with the passwordCredential, `secretText` this once. endDateTime defaults to
   * start + 2 years. The tenant's app management policy may cap the lifetime: 400
   * CredentialInvalidLifetimeAsPerAppPolicy (the message names the policy, not the maximum).
   * https://learn.microsoft.com/en-us/graph/api/application-addpassword
   * https://learn.microsoft.com/en-us/graph/api/resources/tenantappmanagementpolicy
   */
  function addPassword(call: Call): SimReply {
    return withApp(call, (a) => {
      const parsed = PasswordBody.safeParse(readJson(call.req) ?? {});
      if (!parsed.success) return badRequest("Invalid value specified for property 'passwordCredential' of resource 'Application'.");
      const p = parsed.data.passwordCredential ?? {};
      const now = ctx.now();
      const start = p.startDateTime ? Date.parse(p.startDateTime) : now;
      const defaultEnd = new Date(start);
      defaultEnd.setUTCFullYear(defaultEnd.getUTCFullYear() + 2);
      const end = p.endDateTime ? Date.parse(p.endDateTime) : defaultEnd.getTime();
      if (end <= start) return badRequest('Key credential end date is invalid.');
      const policy = call.tenant.appManagementPolicy;
      if (policy && end - start > policy.passwordMaxLifetimeDays * DAY_MS) {
        const message = `Credential lifetime exceeds the max value allowed as per assigned policy '${TENANT_APP_POLICY_ID}'.`;
        return json(400, {
          error: {
            code: 'CredentialInvalidLifetimeAsPerAppPolicy', message,
            details: [{ code: 'InvalidKeyEndDate', message, target: 'EndDate' }],
            innerError: { date: new Date(now).toISOString().slice(0, 19), 'request-id': guidFrom('request', now, Math.random()), 'client-request-id': guidFrom('client-request', now) },
          },
        });
      }
      const r = call.tenant.replication;
      const value = newSecretValue();
      const secret = {
        keyId: guidFrom('passwordCredential', a.objectId, now, Math.random()), displayName: p.displayName ?? '', value,
        startDateTime: new Date(start).toISOString(), endDateTime: new Date(end).toISOString(),
        // Not replicated for `newSecretRefusedSeconds` from now (the token endpoint counts from scenario load).
        replicationDelaySeconds: r?.newSecretRefusedSeconds ? (now - ctx.loadedAt) / 1000 + r.newSecretRefusedSeconds : 0,
        refusedAttempts: r?.newSecretRefusedAttempts ?? 0,
      };
      a.secrets.push(secret);
      return json(200, {
        '@odata.context': contextUrl(call.version, 'microsoft.graph.passwordCredential'),
        customKeyIdentifier: null, displayName: p.displayName ?? null, endDateTime: secret.endDateTime, hint: value.slice(0, 3),
        keyId: secret.keyId, secretText: value, startDateTime: secret.startDateTime,
      });
    });
  }

  /** removePassword {keyId}: 204. https://learn.microsoft.com/en-us/graph/api/application-removepassword */
  function removePassword(call: Call): SimReply {
    return withApp(call, (a) => {
      const keyId = readJson<{ keyId?: unknown }>(call.req)?.keyId;
      if (typeof keyId !== 'string') return badRequest("Property 'keyId' is required.");
      const i = a.secrets.findIndex((s) => same(s.keyId, keyId));
      // Ours: the answer for an unknown keyId is not documented.
      if (i < 0) return notFound(keyId);
      a.secrets.splice(i, 1);
      return { status: 204, headers: {} };
    });
  }

  /**
   * POST /servicePrincipals {appId}: 201. One per app and tenant: a second is 409
   * Request_MultipleObjectsWithSameKeyValue; an appId with no (replicated) application is 400
   * NoBackingApplicationObject. Microsoft's own apps (Graph, Partner Center) can be added when the
   * tenant lacks them. https://learn.microsoft.com/en-us/graph/api/serviceprincipal-post-serviceprincipals
   */
  function createServicePrincipal(call: Call): SimReply {
    const t = call.tenant;
    const appId = readJson<{ appId?: unknown }>(call.req)?.appId;
    if (typeof appId !== 'string' || !GUID.test(appId)) return badRequest("Property 'appId' is required for resource 'ServicePrincipal'.");
    const conflict = () => odataError(409, 'Request_MultipleObjectsWithSameKeyValue',
      `The service principal cannot be created, updated, or restored because the service principal name ${appId} is already in use.`);
    const noApp = () => json(400, { error: {
      code: 'Request_BadRequest', message: `The appId '${appId}' of the service principal does not reference a valid application object.`,
      details: [{ code: 'NoBackingApplicationObject', message: `The appId '${appId}' of the service principal does not reference a valid application object.`, target: 'appId' }],
    } });
    const firstParty = [GRAPH_RESOURCE_APP_ID, PARTNER_CENTER_RESOURCE_APP_ID].find((x) => same(x, appId));
    if (firstParty) {
      const denied = requireRole(call, APP_ADMINS);
      if (denied) return denied;
      const i = t.absentServicePrincipals.findIndex((x) => same(x, firstParty));
      if (i < 0) return conflict();
      t.absentServicePrincipals.splice(i, 1);
      const sp = firstPartySps(t).find((e) => same(String(e.data.appId), firstParty))!;
      return json(201, { '@odata.context': contextUrl(call.version, 'servicePrincipals/$entity'), ...sp.data });
    }
    const a = findApp(t, 'appId', appId);
    if (!a) return noApp();
    const denied = requireRole(call, APP_ADMINS, (u) => isOwner(a)(u) || (t.usersCanRegisterApps && u.userType === 'Member'));
    if (denied) return denied;
    if (replicating(appId)) return noApp();
    if (a.hasServicePrincipal) return conflict();
    a.hasServicePrincipal = true;
    markFresh(t, a.servicePrincipalId);
    return json(201, { '@odata.context': contextUrl(call.version, 'servicePrincipals/$entity'), ...servicePrincipalEntity(t, a).data });
  }

  const READ_APPS = ['Application.Read.All', 'Application.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All', 'Directory.AccessAsUser.All'];

  /**
   * Grants an application permission: POST /servicePrincipals/{resource}/appRoleAssignedTo or
   * /servicePrincipals/{client}/appRoleAssignments. Needs AppRoleAssignment.ReadWrite.All *and* a
   * read permission on apps; for Microsoft Graph's app roles the least role is Privileged Role
   * Administrator. A second identical assignment is 400 "Permission being assigned already exists".
   * https://learn.microsoft.com/en-us/graph/api/serviceprincipal-post-approleassignedto
   * https://learn.microsoft.com/en-us/graph/api/serviceprincipal-post-approleassignments
   */
  function assignAppRole(call: Call, side: 'resource' | 'client'): SimReply {
    const t = call.tenant;
    if (!READ_APPS.some((p) => call.caller.permissions.has(p))) return DENIED();
    const body = z.object({ principalId: z.string(), resourceId: z.string(), appRoleId: z.string() }).passthrough().safeParse(readJson(call.req));
    if (!body.success) return badRequest("Properties 'principalId', 'resourceId' and 'appRoleId' are required for resource 'AppRoleAssignment'.");
    const { principalId, resourceId, appRoleId } = body.data;
    const pathId = call.params.id!;
    if (!same(side === 'resource' ? resourceId : principalId, pathId)) {
      return badRequest(`The ${side === 'resource' ? 'resourceId' : 'principalId'} in the body does not match the service principal in the URL.`);
    }
    const graph = firstPartySps(t).find((e) => same(String(e.data.id), resourceId) && same(String(e.data.appId), GRAPH_RESOURCE_APP_ID));
    if (!graph) return notFound(resourceId);
    const denied = requireRole(call, ['Privileged Role Administrator']);
    if (denied) return denied;
    if (replicating(principalId)) return notFound(principalId);
    const a = findApp(t, 'spId', principalId);
    if (!a) return notFound(principalId);
    const name = Object.entries(GRAPH_APP_ROLES).find(([, id]) => same(id, appRoleId))?.[0];
    // Ours: wording for an app role the resource does not define.
    if (!name) return badRequest(`Permission being assigned was not found on application '${GRAPH_RESOURCE_APP_ID}'.`);
    if (a.grantedAppRoles.includes(name)) return badRequest('Permission being assigned already exists on the object');
    a.grantedAppRoles.push(name);
    const e = appRoleAssignments(t, a).find((x) => x.data.appRoleId === appRoleId)!;
    return json(201, { '@odata.context': contextUrl(call.version, `servicePrincipals('${pathId}')/${side === 'resource' ? 'appRoleAssignedTo' : 'appRoleAssignments'}/$entity`), ...e.data });
  }

  /** GET /servicePrincipals/{resource}/appRoleAssignedTo: every assignment of the resource's app roles. */
  function appRoleAssignedTo(call: Call): SimReply {
    const t = call.tenant;
    const id = call.params.id!;
    const isGraph = same(graphSpId(t), id) && firstPartySps(t).some((e) => same(String(e.data.id), id));
    if (!isGraph && !allServicePrincipals(t).some((e) => same(String(e.data.id), id))) return notFound(id);
    const all = isGraph ? t.applications.filter((a) => a.hasServicePrincipal).flatMap((a) => appRoleAssignments(t, a)) : [];
    return listReply(call, `servicePrincipals('${id}')/appRoleAssignedTo`, all);
  }

  /** The model behind a delegated grant (the same walk as permissionGrants). */
  function grantModel(t: Tenant, id: string): { set(scopes: string[]): void } | undefined {
    for (const a of t.applications.filter((x) => x.hasServicePrincipal)) {
      if (a.grantedScopes.length && same(opaqueId('grant', a.servicePrincipalId, graphSpId(t), ''), id)) return { set: (s) => { a.grantedScopes = s; } };
      if (a.partnerCenterConsent && same(opaqueId('grant', a.servicePrincipalId, partnerCenterSpId(t), ''), id)) {
        return { set: (s) => { a.partnerCenterConsent = s.includes('user_impersonation'); } };
      }
      for (const pg of a.principalGrants) {
        const res = pg.resource === 'partnerCenter' ? partnerCenterSpId(t) : graphSpId(t);
        if (same(opaqueId('grant', a.servicePrincipalId, res, pg.principalId), id)) return { set: (s) => { pg.scopes = s; } };
      }
    }
    return undefined;
  }

  const GRANT_ROLES = ['Application Administrator', 'Application Developer', 'Cloud Application Administrator', 'Directory Writers', 'Privileged Role Administrator', 'User Administrator'];
  const GrantBody = z.object({
    clientId: z.string(), consentType: z.enum(['AllPrincipals', 'Principal']), principalId: z.string().nullable().optional(),
    resourceId: z.string(), scope: z.string().default(''),
  }).passthrough();

  /**
   * POST /oauth2PermissionGrants: one grant per client, resource and consent (AllPrincipals or one
   * user); a second is 409 Request_MultipleObjectsWithSameKeyValue "Permission entry already exists."
   * (add scopes to the existing one with PATCH instead).
   * https://learn.microsoft.com/en-us/graph/api/oauth2permissiongrant-post
   */
  function createGrant(call: Call): SimReply {
    const t = call.tenant;
    const denied = requireRole(call, GRANT_ROLES);
    if (denied) return denied;
    const parsed = GrantBody.safeParse(readJson(call.req));
    if (!parsed.success) return badRequest("Properties 'clientId', 'consentType' and 'resourceId' are required for resource 'OAuth2PermissionGrant'.");
    const g = parsed.data;
    if (g.consentType === 'Principal' && !g.principalId) return badRequest("Property 'principalId' is required when consentType is 'Principal'.");
    if (replicating(g.clientId)) return notFound(g.clientId);
    const a = findApp(t, 'spId', g.clientId);
    if (!a) return notFound(g.clientId);
    const resource = firstPartySps(t).find((e) => same(String(e.data.id), g.resourceId));
    if (!resource) return notFound(g.resourceId);
    const key = same(String(resource.data.appId), GRAPH_RESOURCE_APP_ID) ? 'graph' : 'partnerCenter';
    const scopes = g.scope.split(/\s+/).filter(Boolean);
    const exists = () => odataError(409, 'Request_MultipleObjectsWithSameKeyValue', 'Permission entry already exists.');
    if (g.consentType === 'AllPrincipals') {
      if (key === 'graph') {
        if (a.grantedScopes.length) return exists();
        a.grantedScopes = scopes;
      } else {
        if (a.partnerCenterConsent) return exists();
        // Ours: the simulator models Partner Center's one scope only.
        if (!scopes.includes('user_impersonation')) return badRequest("Partner Center defines one delegated permission: 'user_impersonation'.");
        a.partnerCenterConsent = true;
      }
    } else {
      const principalId = g.principalId!;
      if (!findUser(t, principalId)) return notFound(principalId);
      if (a.principalGrants.some((p) => same(p.principalId, principalId) && (p.resource ?? 'graph') === key)) return exists();
      a.principalGrants.push({ principalId, resource: key, scopes });
    }
    const id = opaqueId('grant', a.servicePrincipalId, String(resource.data.id), g.consentType === 'Principal' ? g.principalId! : '');
    const e = permissionGrants(t).find((x) => x.data.id === id)!;
    return json(201, { '@odata.context': contextUrl(call.version, 'oauth2PermissionGrants/$entity'), ...e.data });
  }

  /** PATCH /oauth2PermissionGrants/{id} {scope}: 204. https://learn.microsoft.com/en-us/graph/api/oauth2permissiongrant-update */
  function updateGrant(call: Call): SimReply {
    const denied = requireRole(call, GRANT_ROLES);
    if (denied) return denied;
    const m = grantModel(call.tenant, call.params.id!);
    if (!m) return notFound(call.params.id!);
    const scope = readJson<{ scope?: unknown }>(call.req)?.scope;
    if (typeof scope !== 'string') return badRequest("Property 'scope' is required.");
    m.set(scope.split(/\s+/).filter(Boolean));
    return { status: 204, headers: {} };
  }

  /**
   * The tenant's default app management policy (Policy.Read.All or Policy.Read.ApplicationConfiguration).
   * https://learn.microsoft.com/en-us/graph/api/tenantappmanagementpolicy-get
   */
  function defaultAppManagementPolicy(call: Call): SimReply {
    const cap = call.tenant.appManagementPolicy?.passwordMaxLifetimeDays;
    return json(200, {
      '@odata.context': contextUrl(call.version, 'policies/defaultAppManagementPolicy/$entity'),
      id: TENANT_APP_POLICY_ID, displayName: 'Default app management tenant policy',
      description: 'Default tenant policy that enforces app management restrictions on applications and service principals.',
      isEnabled: cap !== undefined,
      applicationRestrictions: {
        passwordCredentials: cap === undefined ? [] : [{
          restrictionType: 'passwordLifetime', maxLifetime: `P${cap}D`, restrictForAppsCreatedAfterDateTime: '0001-01-01T00:00:00Z',
        }],
        keyCredentials: [],
      },
      servicePrincipalRestrictions: { passwordCredentials: [], keyCredentials: [] },
    });
  }

  /** Group members/$ref writes: the group admin roles (role-assignable groups: Privileged Role Administrator). https://learn.microsoft.com/en-us/graph/api/group-post-members */
  function requireGroupWriter(call: Call, g: Tenant['groups'][number]): SimReply | undefined {
    return g.isAssignableToRole
      ? requireRole(call, ['Privileged Role Administrator'])
      : requireRole(call, ['Directory Writers', 'Groups Administrator', 'Identity Governance Administrator', 'User Administrator']);
  }

  function addMember(call: Call): SimReply {
    return withGroup(call, (g) => {
      const denied = requireGroupWriter(call, g);
      if (denied) return denied;
      const ref = z.object({ '@odata.id': z.string() }).safeParse(readJson(call.req));
      if (!ref.success) return odataError(400, 'Request_BadRequest', "Invalid request body: expected {\"@odata.id\": \"…/directoryObjects/{id}\"}.");
      const memberId = ref.data['@odata.id'].split('/').filter(Boolean).pop() ?? '';
      if (replicating(memberId)) return notFound(memberId);
      const t = call.tenant;
      const user = t.users.find((u) => same(u.id, memberId));
      const app = findApp(t, 'spId', memberId);
      const list = user?.groups ?? app?.servicePrincipalGroups;
      if (!list) return notFound(memberId);
      if (list.some((n) => same(n, g.displayName))) {
        return odataError(400, 'Request_BadRequest', "One or more added object references already exist for the following modified properties: 'members'.");
      }
      list.push(g.displayName);
      return { status: 204, headers: {} };
    });
  }

  function removeMember(call: Call): SimReply {
    return withGroup(call, (g) => {
      const denied = requireGroupWriter(call, g);
      if (denied) return denied;
      const memberId = call.params.memberId!;
      const t = call.tenant;
      const list = t.users.find((u) => same(u.id, memberId))?.groups ?? findApp(t, 'spId', memberId)?.servicePrincipalGroups;
      const i = list?.findIndex((n) => same(n, g.displayName)) ?? -1;
      if (!list || i < 0) return notFound(memberId);
      list.splice(i, 1);
      return { status: 204, headers: {} };
    });
  }

  const r = (method: string, path: string, need: Need | undefined, handle: (call: Call) => SimReply, betaOnly = false, licence?: 'P1' | 'P2'): Route =>
    ({ method, pattern: path.split('/').filter(Boolean), need, handle, betaOnly, licence });
  const GROUP_CAST = 'microsoft.graph.group';
  const ROLE_CAST = 'microsoft.graph.directoryRole';

  const USER_FILTER = ['id', 'userPrincipalName', 'displayName', 'mail', 'accountEnabled', 'userType'];
  const GROUP_FILTER = ['id', 'displayName', 'securityEnabled', 'mailEnabled', 'mailNickname'];

  // Keyed forms (`x(appId='…')`) come before `x/:id/…` so an id never swallows the key marker.
  const routes: Route[] = [
    r('GET', 'users', USERS, (c) => listReply(c, 'users', c.tenant.users.map(userEntity),
      { filterable: USER_FILTER, directory: true, searchable: ['displayName', 'userPrincipalName', 'mail'] })),
    r('GET', 'users/:id', USERS, (c) => withUser(c, (u) => entityReply(c, 'users', userEntity(u)))),
    r('GET', 'users/:id/memberOf', MEMBERSHIP, (c) => withUser(c, (u) =>
      listReply(c, 'directoryObjects', userMemberships(c.tenant, u), { withType: true, directory: true }))),
    r('GET', 'users/:id/transitiveMemberOf', MEMBERSHIP, (c) => withUser(c, (u) =>
      listReply(c, 'directoryObjects', userMemberships(c.tenant, u, true), { withType: true, directory: true }))),
    // The OData cast keeps only groups: https://learn.microsoft.com/en-us/graph/api/user-list-transitivememberof
    ...['memberOf', 'transitiveMemberOf'].map((rel) => r('GET', `users/:id/${rel}/${GROUP_CAST}`, MEMBERSHIP, (c) => withUser(c, (u) =>
      listReply(c, 'groups', groupsOfUser(c.tenant, u).map(groupEntity), { filterable: GROUP_FILTER, directory: true, searchable: ['displayName'], cast: true })))),
    // Cast to directory roles: only the roles the user holds actively, directly or through a
    // role-assignable group (transitive only); a PIM-eligible role not activated is no membership.
    // Same permissions and advanced-query rule (ConsistencyLevel: eventual + $count) as the group cast:
    // https://learn.microsoft.com/en-us/graph/api/user-list-transitivememberof
    // https://learn.microsoft.com/en-us/graph/api/user-list-memberof
    ...['memberOf', 'transitiveMemberOf'].map((rel) => r('GET', `users/:id/${rel}/${ROLE_CAST}`, MEMBERSHIP, (c) => withUser(c, (u) =>
      listReply(c, 'directoryRoles', userMemberships(c.tenant, u, rel === 'transitiveMemberOf').filter((e) => e.type === 'directoryRole'),
        { filterable: ['id', 'displayName', 'roleTemplateId'], directory: true, cast: true })))),
    r('POST', 'users/:id/checkMemberGroups', MEMBERSHIP, (c) => withUser(c, (u) =>
      checkMemberGroups(c, new Set(groupsOfUser(c.tenant, u).map((g) => g.id.toLowerCase()))))),
    r('POST', 'users/:id/sendMail', MAIL, sendMail),
    r('GET', 'users/:id/authentication/requirements', POLICIES, (c) => withUser(c, (u) => json(200, {
      '@odata.context': contextUrl(c.version, `users('${u.id}')/authentication/requirements/$entity`),
      // Legacy per-user MFA only; security defaults and CA do not show here.
      // https://learn.microsoft.com/en-us/graph/api/authentication-get?view=graph-rest-beta (strongAuthenticationRequirements)
      perUserMfaState: u.perUserMfaState,
    })), true),

    r('GET', 'groups', GROUPS, (c) => listReply(c, 'groups', c.tenant.groups.map(groupEntity),
      { filterable: GROUP_FILTER, directory: true, searchable: ['displayName', 'description'] })),
    r('GET', 'groups/:id', GROUPS, (c) => withGroup(c, (g) => entityReply(c, 'groups', groupEntity(g)))),
    ...['members', 'transitiveMembers'].map((rel) => r('GET', `groups/:id/${rel}`, GROUPS, (c) => withGroup(c, (g) => {
      const t = c.tenant;
      const users = t.users.filter((u) => u.groups.some((n) => same(n, g.displayName))).map(userEntity);
      const sps = t.applications.filter((a) => a.hasServicePrincipal && a.servicePrincipalGroups.some((n) => same(n, g.displayName))).map((a) => servicePrincipalEntity(t, a));
      return listReply(c, 'directoryObjects', [...users, ...sps], { withType: true });
    }))),
    r('POST', 'groups/:id/members/$ref', GROUP_MEMBER_WRITE, addMember),
    r('DELETE', 'groups/:id/members/:memberId/$ref', GROUP_MEMBER_WRITE, removeMember),

    r('GET', 'directoryRoles', ROLES, (c) => listReply(c, 'directoryRoles', activatedRoles(c.tenant).map((n) => roleEntity(c.tenant, n)),
      { filterable: ['id', 'displayName', 'roleTemplateId'] })),
    r('GET', 'directoryRoles/(roleTemplateId)/:templateId', ROLES, (c) => {
      const role = roleByParams(c);
      return role ? entityReply(c, 'directoryRoles', role.entity) : notFound(c.params.templateId!);
    }),
    r('GET', 'directoryRoles/(roleTemplateId)/:templateId/members', ROLES, roleMembers),
    r('GET', 'directoryRoles/:id', ROLES, (c) => {
      const role = roleByParams(c);
      return role ? entityReply(c, 'directoryRoles', role.entity) : notFound(c.params.id!);
    }),
    r('GET', 'directoryRoles/:id/members', ROLES, roleMembers),

    r('GET', 'applications', APPS, (c) => listReply(c, 'applications', c.tenant.applications.filter((a) => !unlisted(c.tenant, a.objectId)).map((a) => appEntity(c.tenant, a)),
      { filterable: ['id', 'appId', 'displayName', 'tags'] })),
    r('POST', 'applications', APP_WRITE, (c) => createApplication(c)),
    r('PATCH', 'applications/(uniqueName)/:uniqueName', APP_UPSERT, upsertApplication),
    r('GET', 'applications/(uniqueName)/:uniqueName', APPS, (c) => {
      const a = c.tenant.applications.find((x) => x.uniqueName !== undefined && same(x.uniqueName, c.params.uniqueName!));
      // A read by the key of an app still replicating answers as a read by its id does.
      if (a && replicating(a.objectId)) return notFound(c.params.uniqueName!);
      return a ? entityReply(c, 'applications', appEntity(c.tenant, a)) : notFound(c.params.uniqueName!);
    }),
    ...['applications/:id', 'applications/(appId)/:appId'].flatMap((path) => [
      r('PATCH', path, APP_WRITE, updateApplication),
      r('POST', `${path}/addPassword`, APP_WRITE, addPassword),
      r('POST', `${path}/removePassword`, APP_WRITE, removePassword),
    ]),
    r('POST', 'servicePrincipals', APP_WRITE, createServicePrincipal),
    r('POST', 'servicePrincipals/:id/appRoleAssignedTo', APP_ROLE_WRITE, (c) => assignAppRole(c, 'resource')),
    r('GET', 'servicePrincipals/:id/appRoleAssignedTo', APPS, appRoleAssignedTo),
    r('POST', 'servicePrincipals/:id/appRoleAssignments', APP_ROLE_WRITE, (c) => assignAppRole(c, 'client')),
    r('POST', 'oauth2PermissionGrants', GRANT_WRITE, createGrant),
    r('PATCH', 'oauth2PermissionGrants/:id', GRANT_WRITE, updateGrant),
    r('GET', 'policies/defaultAppManagementPolicy', APP_POLICY_READ, defaultAppManagementPolicy),
    r('GET', 'applications/(appId)/:appId', APPS, (c) => {
      const a = findApp(c.tenant, 'appId', c.params.appId!);
      return a ? entityReply(c, 'applications', appEntity(c.tenant, a)) : notFound(c.params.appId!);
    }),
    r('GET', 'applications/:id', APPS, (c) => {
      const a = findApp(c.tenant, 'objectId', c.params.id!);
      return a ? entityReply(c, 'applications', appEntity(c.tenant, a)) : notFound(c.params.id!);
    }),

    r('GET', 'servicePrincipals', APPS, (c) => listReply(c, 'servicePrincipals', allServicePrincipals(c.tenant).filter((e) => !unlisted(c.tenant, String(e.data.id))),
      { filterable: ['id', 'appId', 'displayName', 'servicePrincipalType'] })),
    r('GET', 'servicePrincipals/(appId)/:appId', APPS, (c) => spByAppId(c)),
    r('GET', 'servicePrincipals/(appId)/:appId/appRoleAssignments', APPS, (c) => withSp(c, (a) =>
      listReply(c, `servicePrincipals('${a.servicePrincipalId}')/appRoleAssignments`, appRoleAssignments(c.tenant, a)))),
    r('GET', 'servicePrincipals/:id', APPS, (c) => {
      const sp = allServicePrincipals(c.tenant).find((e) => same(String(e.data.id), c.params.id!));
      return sp ? entityReply(c, 'servicePrincipals', sp) : notFound(c.params.id!);
    }),
    r('GET', 'servicePrincipals/:id/appRoleAssignments', APPS, (c) => withSp(c, (a) =>
      listReply(c, `servicePrincipals('${a.servicePrincipalId}')/appRoleAssignments`, appRoleAssignments(c.tenant, a)))),
    // A service principal is addressed by its id or by `(appId='…')` on these too:
    // https://learn.microsoft.com/en-us/graph/api/serviceprincipal-list-transitivememberof
    // https://learn.microsoft.com/en-us/graph/api/serviceprincipal-list-oauth2permissiongrants
    ...['servicePrincipals/:id', 'servicePrincipals/(appId)/:appId'].flatMap((sp) => [
      ...['memberOf', 'transitiveMemberOf'].map((rel) => r('GET', `${sp}/${rel}`, MEMBERSHIP, (c) => withSp(c, (a) =>
        listReply(c, 'directoryObjects', groupsOfApp(c.tenant, a).map(groupEntity), { withType: true, directory: true })))),
      ...['memberOf', 'transitiveMemberOf'].map((rel) => r('GET', `${sp}/${rel}/${GROUP_CAST}`, MEMBERSHIP, (c) => withSp(c, (a) =>
        listReply(c, 'groups', groupsOfApp(c.tenant, a).map(groupEntity), { filterable: GROUP_FILTER, directory: true, cast: true })))),
      r('GET', `${sp}/oauth2PermissionGrants`, GRANTS, (c) => withSp(c, (a) =>
        listReply(c, 'oauth2PermissionGrants', permissionGrants(c.tenant).filter((g) => same(String(g.data.clientId), a.servicePrincipalId))))),
    ]),
    r('POST', 'servicePrincipals/:id/checkMemberGroups', MEMBERSHIP, (c) => withSp(c, (a) =>
      checkMemberGroups(c, new Set(groupsOfApp(c.tenant, a).map((g) => g.id.toLowerCase()))))),

    r('GET', 'oauth2PermissionGrants', GRANTS, (c) => listReply(c, 'oauth2PermissionGrants', permissionGrants(c.tenant),
      { filterable: ['id', 'clientId', 'resourceId', 'consentType', 'principalId'] })),

    r('GET', 'reports/authenticationMethods/userRegistrationDetails', REPORTS, (c) => listReply(c,
      'reports/authenticationMethods/userRegistrationDetails', c.tenant.users.map(registrationEntity),
      { filterable: ['id', 'userPrincipalName', 'isMfaRegistered', 'isMfaCapable', 'isAdmin', 'userType'] }), false, 'P1'),
    // Keyed by the user's object id, not the UPN (the UPN is a property of the record):
    // https://learn.microsoft.com/en-us/graph/api/userregistrationdetails-get
    r('GET', 'reports/authenticationMethods/userRegistrationDetails/:id', REPORTS, (c) => {
      const u = c.tenant.users.find((x) => same(x.id, c.params.id!));
      return u ? entityReply(c, 'reports/authenticationMethods/userRegistrationDetails', registrationEntity(u)) : notFound(c.params.id!);
    }, false, 'P1'),

    r('GET', 'policies/identitySecurityDefaultsEnforcementPolicy', POLICIES, (c) => json(200, {
      '@odata.context': contextUrl(c.version, 'policies/identitySecurityDefaultsEnforcementPolicy/$entity'),
      id: '00000000-0000-0000-0000-000000000005',
      displayName: 'Security Defaults',
      description: 'Security defaults is a set of basic identity security mechanisms recommended by Microsoft. When enabled, these recommendations will be automatically enforced in your organization. Administrators and users will be better protected from common identity related attacks.',
      isEnabled: c.tenant.securityDefaultsEnabled,
    })),
    r('GET', 'identity/conditionalAccess/policies', POLICIES, (c) => listReply(c, 'identity/conditionalAccess/policies',
      c.tenant.conditionalAccessPolicies.map(conditionalAccessEntity), { filterable: ['id', 'displayName', 'state'] }), false, 'P1'),
    r('GET', 'identity/conditionalAccess/policies/:id', POLICIES, (c) => {
      const p = c.tenant.conditionalAccessPolicies.find((x) => same(x.id, c.params.id!));
      return p ? entityReply(c, 'identity/conditionalAccess/policies', conditionalAccessEntity(p)) : notFound(c.params.id!);
    }, false, 'P1'),

    // Active role assignments (users and role-assignable groups), and beta's transitive view of one
    // principal (ConsistencyLevel: eventual, $count=true and a principalId $filter required).
    // https://learn.microsoft.com/en-us/graph/api/rbacapplication-list-roleassignments
    // https://learn.microsoft.com/en-us/graph/api/rbacapplication-list-transitiveroleassignments?view=graph-rest-beta
    r('GET', 'roleManagement/directory/roleAssignments', ROLE_ASSIGNMENTS, (c) => listReply(c, 'roleManagement/directory/roleAssignments',
      roleAssignments(c.tenant), { filterable: ['principalId', 'roleDefinitionId'] })),
    r('GET', 'roleManagement/directory/transitiveRoleAssignments', ROLE_ASSIGNMENTS, transitiveRoleAssignments, true),
    // PIM eligibility: needs Entra ID P2. https://learn.microsoft.com/en-us/graph/api/rbacapplication-list-roleeligibilityschedules
    r('GET', 'roleManagement/directory/roleEligibilitySchedules', ROLE_ELIGIBILITY, (c) => listReply(c,
      'roleManagement/directory/roleEligibilitySchedules', roleEligibility(c.tenant, 'schedule'), { filterable: ['principalId', 'roleDefinitionId'] }), false, 'P2'),
    r('GET', 'roleManagement/directory/roleEligibilityScheduleInstances', ROLE_ELIGIBILITY, (c) => listReply(c,
      'roleManagement/directory/roleEligibilityScheduleInstances', roleEligibility(c.tenant, 'instance'), { filterable: ['principalId', 'roleDefinitionId'] }), false, 'P2'),

    r('GET', 'tenantRelationships/findTenantInformationByDomainName/(domainName)/:domain', TENANT_INFO, tenantInformation),

    // A verified domain and its password policy. passwordValidityPeriodInDays is 90 when not set;
    // 2147483647 means passwords never expire. https://learn.microsoft.com/en-us/graph/api/resources/domain
    // https://learn.microsoft.com/en-us/graph/api/domain-get (Domain.Read.All or Directory.Read.All)
    r('GET', 'domains', DOMAINS, (c) => listReply(c, 'domains', c.tenant.domains.map((d, i) => domainEntity(c.tenant, d, i)), { filterable: ['id'] })),
    r('GET', 'domains/:id', DOMAINS, (c) => {
      const i = c.tenant.domains.findIndex((d) => same(d, c.params.id!));
      return i >= 0 ? entityReply(c, 'domains', domainEntity(c.tenant, c.tenant.domains[i]!, i)) : notFound(c.params.id!);
    }),

    r('GET', 'organization', ORGANIZATION, (c) => listReply(c, 'organization', [organizationEntity(c.tenant)])),
    r('GET', 'organization/:id', ORGANIZATION, (c) => same(c.params.id!, c.tenant.id)
      ? entityReply(c, 'organization', organizationEntity(c.tenant))
      : notFound(c.params.id!)),

    r('GET', 'tenantRelationships/delegatedAdminRelationships', GDAP, (c) => {
      const src = relationshipSource(c.tenant);
      return listReply(c, 'tenantRelationships/delegatedAdminRelationships',
        { total: src.total, at: (i) => ({ type: 'delegatedAdminRelationship', data: src.at(i).data }) },
        { filterable: ['id', 'displayName', 'status', 'customer/tenantId'], pageSize: 100, maxPageSize: 300 });
    }),
    r('GET', 'tenantRelationships/delegatedAdminRelationships/:id', GDAP, (c) => {
      const rel = findRelationship(c.tenant, c.params.id!);
      if (!rel) return notFound(c.params.id!);
      return json(200, { '@odata.context': contextUrl(c.version, 'tenantRelationships/delegatedAdminRelationships/$entity'), ...rel.data });
    }),
    r('GET', 'tenantRelationships/delegatedAdminRelationships/:id/accessAssignments', GDAP, (c) => {
      const rel = findRelationship(c.tenant, c.params.id!);
      if (!rel) return notFound(c.params.id!);
      return listReply(c, `tenantRelationships/delegatedAdminRelationships('${c.params.id!}')/accessAssignments`,
        rel.assignments.map((data) => ({ type: 'delegatedAdminAccessAssignment', data })), { filterable: ['id', 'status'] });
    }),
  ];

  /**
   * Beta `transitiveRoleAssignments`: the header, `$count=true` and a `$filter` on principalId are
   * all required; without the header Graph answers 404. An assignment held through a
   * role-assignable group is listed with the group's id as its principalId.
   * https://learn.microsoft.com/en-us/graph/api/rbacapplication-list-transitiveroleassignments?view=graph-rest-beta
   */
  function transitiveRoleAssignments(c: Call): SimReply {
    const q = c.req.url.searchParams;
    if (String(c.req.headers.consistencylevel ?? '').toLowerCase() !== 'eventual') {
      return odataError(404, 'Request_ResourceNotFound', 'Resource not found: transitiveRoleAssignments needs the ConsistencyLevel header set to eventual.');
    }
    if (q.get('$count') !== 'true') {
      return odataError(400, 'Request_UnsupportedQuery', 'transitiveRoleAssignments is an advanced query: send $count=true with ConsistencyLevel: eventual.');
    }
    const filter = q.get('$filter') ?? '';
    const principal = /principalId eq '([^']*)'/i.exec(filter)?.[1];
    if (!principal) return odataError(400, 'Request_UnsupportedQuery', 'transitiveRoleAssignments requires $filter on principalId.');
    const role = /roleDefinitionId eq '([^']*)'/i.exec(filter)?.[1];
    const user = c.tenant.users.find((u) => same(u.id, principal));
    const principals = new Set([principal.toLowerCase(), ...(user ? groupsOfUser(c.tenant, user).filter((g) => g.isAssignableToRole).map((g) => g.id.toLowerCase()) : [])]);
    const held = roleAssignments(c.tenant).filter((e) => principals.has(String(e.data.principalId).toLowerCase())
      && (!role || same(String(e.data.roleDefinitionId), role)));
    // The $filter is applied above (it reaches through groups), so the list itself is not filtered again.
    const url = new URL(c.req.url);
    url.searchParams.delete('$filter');
    return listReply({ ...c, req: { ...c.req, url } }, 'roleManagement/directory/transitiveRoleAssignments', held);
  }

  function domainEntity(t: Tenant, name: string, i: number): Entity {
    const defaultDomain = t.domains.find((d) => !d.toLowerCase().endsWith('.onmicrosoft.com')) ?? t.domains[0]!;
    return {
      type: 'domain',
      data: {
        id: name, authenticationType: 'Managed', availabilityStatus: null, isAdminManaged: true, isDefault: same(name, defaultDomain),
        isInitial: i === 0, isRoot: true, isVerified: true, passwordNotificationWindowInDays: 14,
        passwordValidityPeriodInDays: t.passwordValidityPeriodInDays ?? null, state: null,
        supportedServices: ['Email', 'OfficeCommunicationsOnline'],
      },
    };
  }

  function spByAppId(c: Call): SimReply {
    const appId = c.params.appId!;
    const sp = allServicePrincipals(c.tenant).find((e) => same(String(e.data.appId), appId));
    return sp ? entityReply(c, 'servicePrincipals', sp) : notFound(appId);
  }

  // ---------- wiring ----------

  const router = new Router();
  for (const method of ['GET', 'POST', 'PATCH', 'PUT', 'DELETE']) {
    for (const version of ['v1.0', 'beta']) router.add(method, `/${version}/*rest`, (req) => dispatch(req, false));
  }
  router.get('/_sim/graph/outbox', () => json(200, { value: outbox }));
  router.delete('/_sim/graph/outbox', () => {
    outbox.length = 0;
    return { status: 204, headers: {} };
  });

  return {
    name: 'graph',
    prefix: '/graph',
    router,
    reset() {
      outbox.length = 0;
      fresh.clear();
      created.clear();
      seen = 0;
    },
  };
};

// ---------- request bodies ----------

const BatchItemSchema = z.object({
  id: z.string().min(1),
  method: z.string().min(1),
  url: z.string().min(1),
  headers: z.record(z.string(), z.string()).optional(),
  body: z.unknown().optional(),
  dependsOn: z.array(z.string()).optional(),
});
type BatchItem = z.infer<typeof BatchItemSchema>;
const BatchBody = z.object({ requests: z.array(BatchItemSchema).min(1) });

const Recipient = z.object({ emailAddress: z.object({ address: z.string().email(), name: z.string().optional() }) });
const SendMailBody = z.object({
  message: z.object({
    subject: z.string().optional(),
    body: z.object({ contentType: z.string().optional(), content: z.string().optional() }).optional(),
    toRecipients: z.array(Recipient).min(1),
    ccRecipients: z.array(Recipient).optional(),
  }),
  saveToSentItems: z.union([z.boolean(), z.string()]).optional(),
});

function canonicalHeader(name: string): string {
  return name.split('-').map((p) => p.charAt(0).toUpperCase() + p.slice(1)).join('-');
}

// ---------- OData query helpers ----------

interface Entity {
  /** Graph type name without namespace (`user`, `group`…). */
  type: string;
  data: Json;
  /** Properties returned without `$select`; all when absent. */
  defaults?: readonly string[];
}

function parseSelect(req: SimRequest): string[] | undefined {
  const text = req.url.searchParams.get('$select');
  if (text === null || text.trim() === '') return undefined;
  return text.split(',').map((s) => s.trim()).filter(Boolean);
}

/** The projected entity, or an error message for a property the type does not have. */
function project(e: Entity, select: string[] | undefined, withType: boolean): Json | string {
  const out: Json = withType ? { '@odata.type': `#microsoft.graph.${e.type}` } : {};
  const keys = Object.keys(e.data);
  if (!select) {
    for (const k of e.defaults ?? keys) out[k] = e.data[k];
    for (const k of keys) if (k.startsWith('@odata.')) out[k] = e.data[k];
    return out;
  }
  for (const wanted of select) {
    const key = keys.find((k) => k.toLowerCase() === wanted.toLowerCase());
    if (key === undefined) {
      // Mixed collections (memberOf): a property of another type is simply absent.
      if (withType) continue;
      return `Could not find a property named '${wanted}' on type 'microsoft.graph.${e.type}'.`;
    }
    out[key] = e.data[key];
  }
  return out;
}

type Clause = { op: 'eq'; prop: string; value: string | boolean | number | null } | { op: 'startswith' | 'any'; prop: string; value: string };
/** `tags/any(t:t eq 'x')`: a lambda over a collection of strings (https://learn.microsoft.com/en-us/graph/filter-query-parameter). */
const ANY_CLAUSE = /^\s*([A-Za-z]\w*)\/any\(\s*(\w+)\s*:\s*\2\s+eq\s+'((?:[^']|'')*)'\s*\)\s*/i;

const CLAUSE = /^\s*(?:([A-Za-z][\w/]*)\s+eq\s+('(?:[^']|'')*'|true|false|null|-?\d+(?:\.\d+)?)|startswith\(\s*([A-Za-z][\w/]*)\s*,\s*'((?:[^']|'')*)'\s*\))\s*/i;

/** Parses the `$filter` forms the simulator supports: `p eq v`, `startswith(p,'v')`, joined by `and`. */
function parseFilter(text: string, allowed: readonly string[], typeName: string): Clause[] | SimReply {
  const clauses: Clause[] = [];
  let rest = text;
  for (;;) {
    const lambda = ANY_CLAUSE.exec(rest);
    const m = lambda ? undefined : CLAUSE.exec(rest);
    if (lambda) {
      if (!allowed.some((a) => a.toLowerCase() === lambda[1]!.toLowerCase())) {
        return odataError(400, 'Request_UnsupportedQuery', `Unsupported or invalid query filter clause specified for property '${lambda[1]!}' of resource '${typeName}'.`);
      }
      clauses.push({ op: 'any', prop: lambda[1]!, value: lambda[3]!.replace(/''/g, "'") });
      rest = rest.slice(lambda[0].length);
      if (rest.trim() === '') return clauses;
      const and = /^and\s+/i.exec(rest);
      if (!and) return odataError(400, 'BadRequest', `Invalid filter clause: '${text}'.`);
      rest = rest.slice(and[0].length);
      continue;
    }
    if (!m) return odataError(400, 'BadRequest', `Invalid filter clause: '${text}'. The simulator supports "property eq value", "startswith(property,'value')" and "and".`);
    const prop = m[1] ?? m[3]!;
    if (!allowed.some((a) => a.toLowerCase() === prop.toLowerCase())) {
      return odataError(400, 'Request_UnsupportedQuery', `Unsupported or invalid query filter clause specified for property '${prop}' of resource '${typeName}'.`);
    }
    if (m[1] !== undefined) {
      const raw = m[2]!;
      const value = raw.startsWith("'") ? raw.slice(1, -1).replace(/''/g, "'")
        : raw === 'true' ? true : raw === 'false' ? false : raw === 'null' ? null : Number(raw);
      clauses.push({ op: 'eq', prop, value });
    } else {
      clauses.push({ op: 'startswith', prop, value: m[4]!.replace(/''/g, "'") });
    }
    rest = rest.slice(m[0].length);
    if (rest.trim() === '') return clauses;
    const and = /^and\s+/i.exec(rest);
    if (!and) return odataError(400, 'BadRequest', `Invalid filter clause: '${text}'.`);
    rest = rest.slice(and[0].length);
  }
}

function propertyAt(data: Json, path: string): unknown {
  let cur: unknown = data;
  for (const part of path.split('/')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    const obj = cur as Json;
    const key = Object.keys(obj).find((k) => k.toLowerCase() === part.toLowerCase());
    cur = key === undefined ? undefined : obj[key];
  }
  return cur;
}

function matches(data: Json, c: Clause): boolean {
  const v = propertyAt(data, c.prop);
  if (c.op === 'startswith') return typeof v === 'string' && v.toLowerCase().startsWith(c.value.toLowerCase());
  if (c.op === 'any') return Array.isArray(v) && v.some((x) => typeof x === 'string' && x === c.value);
  if (typeof v === 'string' && typeof c.value === 'string') return v.toLowerCase() === c.value.toLowerCase();
  return (v ?? null) === c.value;
}

function decodeSkipToken(token: string): number | undefined {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    const o = (parsed as { o?: unknown } | null)?.o;
    return typeof o === 'number' && Number.isInteger(o) && o >= 0 ? o : undefined;
  } catch {
    return undefined;
  }
}
