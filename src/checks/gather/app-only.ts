import { setTimeout as delay } from 'node:timers/promises';
import type { MicrosoftHttpClient } from '../../microsoft/http';
import { isMicrosoftHttpError } from '../../microsoft/http-errors';
import type { Fact, Facts, GdapRelationship, RoleAssignment, Unknown } from '../facts';
import { GLOBAL_ADMIN_ROLE_ID, GRAPH_APP_ID } from '../microsoft';
import {
  collection, mapAppRoleAssignment, mapApplication, mapConditionalAccessPolicy, mapCustomersPage, mapGdapAccessAssignment,
  mapGdapRelationship, mapGroup, mapMfaRegistration, mapOrganization, mapPartnerCenterProfile, mapPermissionGrant, mapPerUserMfa,
  mapRoleAssignment, mapSecurityDefaults, mapServiceAccount, mapServicePrincipal, refusedFact,
} from './map';

/**
 * The pre-flight (issue 17 item 3): every fact the partner's app can see with its own app-only
 * token, before the service account signs in. Graph in three `$batch` round-trips for a healthy
 * tenant (v1.0 by UPN and appId; then v1.0 and beta by the ids the first one returned, in
 * parallel), Partner Center in two. A refused item is an unknown fact naming what would let the
 * bot see; a batch that fails after the HTTP layer's retries makes its facts unknown. Never throws
 * for Microsoft's answers; only the caller's abort ends it early.
 */

export interface GatherAppOnlyOptions {
  /** Base URL at Graph's host (`https://graph.microsoft.com`): the gatherer picks `/v1.0` and `/beta`. */
  readonly graph: MicrosoftHttpClient;
  /** Base URL at Partner Center's host; omitted, no Partner Center facts are gathered. */
  readonly partnerCenter?: MicrosoftHttpClient;
  readonly serviceAccountUpn: string;
  /** The partner app's client ID. */
  readonly appId: string;
  /** First three characters of the secret the partner entered (never the secret). */
  readonly secretHint?: string;
  readonly now: Date;
  readonly signal?: AbortSignal;
}

export interface GatherResult {
  readonly facts: Partial<Facts>;
  /** HTTP round-trips made, retries included. */
  readonly roundTrips: { graph: number; partnerCenter: number };
}

/** Graph answers up to 20 requests per `$batch`: https://learn.microsoft.com/en-us/graph/json-batching */
export const MAX_BATCH = 20;
/** Rounds of re-sending the items Graph throttled inside a batch (429/503 per item). */
const ITEM_RETRY_ROUNDS = 4;
const MAX_ITEM_WAIT_MS = 30_000;

/** One `$batch` item: its URL is relative to the version (`/users/x`, never `/v1.0/users/x`). */
export interface BatchItem {
  readonly id: string;
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface ItemAnswer {
  readonly status: number;
  readonly body: unknown;
}

type Answers = ReadonlyMap<string, ItemAnswer> | Unknown;

const q = (value: string) => `'${value.replace(/'/g, "''")}'`;
const enc = encodeURIComponent;

class Counter {
  graph = 0;
  partnerCenter = 0;
}

export async function gatherAppOnlyFacts(options: GatherAppOnlyOptions): Promise<GatherResult> {
  const counter = new Counter();
  const [graphFacts, pcFacts] = await Promise.all([
    gatherGraph(options, counter),
    options.partnerCenter ? gatherPartnerCenter(options.partnerCenter, counter, options.signal) : Promise.resolve({}),
  ]);
  const facts: Partial<Facts> = {
    ...graphFacts,
    ...pcFacts,
    ...(options.secretHint ? { secretInUse: { hint: options.secretHint.slice(0, 3) } } : {}),
  };
  return { facts, roundTrips: { graph: counter.graph, partnerCenter: counter.partnerCenter } };
}

// ---------- Graph ----------

async function gatherGraph(o: GatherAppOnlyOptions, counter: Counter): Promise<Partial<Facts>> {
  const upn = enc(o.serviceAccountUpn);
  const first: BatchItem[] = [
    { id: 'user', url: `/users/${upn}?$select=id,userPrincipalName,accountEnabled,passwordPolicies,userType` },
    { id: 'groups', url: `/users/${upn}/transitiveMemberOf/microsoft.graph.group?$select=id,displayName&$top=999` },
    { id: 'app', url: `/applications?$filter=appId eq ${q(o.appId)}&$select=appId,displayName,requiredResourceAccess,passwordCredentials` },
    { id: 'sp', url: `/servicePrincipals?$filter=appId eq ${q(o.appId)}&$select=id,appId,accountEnabled` },
    { id: 'graphSp', url: `/servicePrincipals?$filter=appId eq ${q(GRAPH_APP_ID)}&$select=id` },
    { id: 'appRoles', url: `/servicePrincipals(appId=${q(o.appId)})/appRoleAssignments?$top=999` },
    { id: 'registration', url: `/reports/authenticationMethods/userRegistrationDetails/${upn}` },
    { id: 'securityDefaults', url: '/policies/identitySecurityDefaultsEnforcementPolicy' },
    { id: 'ca', url: '/identity/conditionalAccess/policies' },
    { id: 'org', url: '/organization?$select=id,displayName,partnerTenantType,countryLetterCode' },
    { id: 'gdap', url: '/tenantRelationships/delegatedAdminRelationships?$top=300' },
  ];
  const a = await runBatch(o.graph, 'v1.0', first, counter, o.signal);
  const facts: Record<string, unknown> = {};
  const set = <K extends keyof Facts>(k: K, v: Facts[K]) => { facts[k] = v; };

  const user = itemFact(a, 'user', 'User.Read.All', mapServiceAccount, { notFoundIs: null });
  set('serviceAccount', user);
  set('serviceAccountGroups', await pagedFact(o, a, 'groups', 'GroupMember.Read.All', mapGroup, counter));
  set('application', itemFact(a, 'app', 'Application.Read.All', mapApplication));
  const sp = itemFact(a, 'sp', 'Application.Read.All', mapServicePrincipal);
  set('appServicePrincipal', sp);
  set('graphServicePrincipalId', itemFact(a, 'graphSp', 'Application.Read.All', (b) => {
    const found = mapServicePrincipal(b);
    if (!found) throw new TypeError('no Microsoft Graph service principal');
    return found.id;
  }));
  set('appRoleAssignments', await pagedFact(o, a, 'appRoles', 'Application.Read.All', mapAppRoleAssignment, counter));
  set('mfaRegistration', itemFact(a, 'registration', 'AuditLog.Read.All', mapMfaRegistration));
  set('securityDefaultsEnabled', itemFact(a, 'securityDefaults', 'Policy.Read.All', mapSecurityDefaults));
  set('conditionalAccessPolicies', await pagedFact(o, a, 'ca', 'Policy.Read.All', mapConditionalAccessPolicy, counter));
  set('organization', itemFact(a, 'org', 'Organization.Read.All', mapOrganization));
  const relationships = await pagedFact(o, a, 'gdap', 'DelegatedAdminRelationship.Read.All', mapGdapRelationship, counter);

  // Second wave: what needs the ids the first one returned. v1.0 and beta go in separate batches
  // (a batch's items share its version), sent together.
  const userId = isValue(user) && user ? user.id : undefined;
  const spId = isValue(sp) && sp ? sp.id : undefined;
  const v1: BatchItem[] = [];
  const beta: BatchItem[] = [];
  if (userId) {
    v1.push({ id: 'roles', url: `/roleManagement/directory/roleAssignments?$filter=principalId eq ${q(userId)}` });
    v1.push({ id: 'eligible', url: `/roleManagement/directory/roleEligibilitySchedules?$filter=principalId eq ${q(userId)}` });
    beta.push({ id: 'transitiveRoles', url: `/roleManagement/directory/transitiveRoleAssignments?$filter=principalId eq ${q(userId)}`, headers: { ConsistencyLevel: 'eventual' } });
    beta.push({ id: 'perUserMfa', url: `/users/${enc(userId)}/authentication/requirements` });
  }
  if (spId) {
    v1.push({ id: 'spGroups', url: `/servicePrincipals/${enc(spId)}/transitiveMemberOf/microsoft.graph.group?$select=id,displayName&$top=999` });
    v1.push({ id: 'grants', url: `/servicePrincipals/${enc(spId)}/oauth2PermissionGrants` });
  }
  const [b, c] = await Promise.all([
    v1.length ? runBatch(o.graph, 'v1.0', v1, counter, o.signal) : Promise.resolve(new Map<string, ItemAnswer>()),
    beta.length ? runBatch(o.graph, 'beta', beta, counter, o.signal) : Promise.resolve(new Map<string, ItemAnswer>()),
  ]);

  const blocked = (fact: Fact<unknown>, what: string): Unknown | undefined => {
    if (!isValue(fact)) return { unknown: `${what}: ${(fact as Unknown).unknown}`, ...((fact as Unknown).needs ? { needs: (fact as Unknown).needs } : {}) };
    return undefined;
  };
  if (userId) {
    set('roleAssignments', roleAssignmentsFact(
      await pagedFact(o, c, 'transitiveRoles', 'RoleManagement.Read.Directory', mapRoleAssignment, counter, 'beta'),
      await pagedFact(o, b, 'roles', 'RoleManagement.Read.Directory', mapRoleAssignment, counter),
    ));
    set('roleEligibilities', await pagedFact(o, b, 'eligible', 'RoleManagement.Read.Directory', mapRoleAssignment, counter));
    set('perUserMfaState', itemFact(c, 'perUserMfa', 'Policy.Read.All', mapPerUserMfa));
  } else {
    const why = blocked(user, 'the service account was not read') ?? { unknown: 'the service account was not found' };
    set('roleAssignments', why);
    set('roleEligibilities', why);
    set('perUserMfaState', why);
  }
  if (spId) {
    set('appServicePrincipalGroups', await pagedFact(o, b, 'spGroups', 'GroupMember.Read.All', mapGroup, counter));
    set('delegatedGrants', await pagedFact(o, b, 'grants', 'DelegatedPermissionGrant.Read.All', mapPermissionGrant, counter));
  } else {
    const why = blocked(sp, 'the app\'s service principal was not read') ?? { unknown: 'the app has no service principal' };
    set('appServicePrincipalGroups', why);
    set('delegatedGrants', why);
  }
  if (isValue(relationships)) {
    const withAssignments = await gdapWithAssignments(o, relationships, counter);
    set('gdapRelationships', withAssignments);
    set('gdapAccessGroups', gdapAccessGroups(withAssignments, facts.serviceAccountGroups as Fact<readonly { id: string; displayName: string }[]>));
  } else {
    set('gdapRelationships', relationships);
    set('gdapAccessGroups', relationships);
  }
  return facts as Partial<Facts>;
}

/**
 * Beta's transitive view counts Global Administrator through a role-assignable group. Without it,
 * the direct v1.0 assignments still prove a direct Global Administrator; their lack proves nothing.
 */
export function roleAssignmentsFact(transitive: Fact<readonly RoleAssignment[]>, direct: Fact<readonly RoleAssignment[]>): Fact<readonly RoleAssignment[]> {
  if (isValue(transitive)) return transitive;
  if (isValue(direct) && direct.some((r) => r.roleDefinitionId.toLowerCase() === GLOBAL_ADMIN_ROLE_ID)) return direct;
  return { unknown: `transitive role assignments (beta) not read: ${transitive.unknown}`, ...(transitive.needs ? { needs: transitive.needs } : {}) };
}

/** Each relationship's access assignments, 20 relationships per `$batch`. */
async function gdapWithAssignments(o: GatherAppOnlyOptions, relationships: readonly Omit<GdapRelationship, 'accessAssignments'>[], counter: Counter): Promise<Fact<readonly GdapRelationship[]>> {
  const out: GdapRelationship[] = [];
  for (let i = 0; i < relationships.length; i += MAX_BATCH) {
    const chunk = relationships.slice(i, i + MAX_BATCH);
    const answers = await runBatch(o.graph, 'v1.0', chunk.map((r, j) => ({
      id: String(j), url: `/tenantRelationships/delegatedAdminRelationships/${enc(r.id)}/accessAssignments`,
    })), counter, o.signal);
    for (const [j, r] of chunk.entries()) {
      const assignments = await pagedFact(o, answers, String(j), 'DelegatedAdminRelationship.Read.All', mapGdapAccessAssignment, counter);
      if (!isValue(assignments)) return { unknown: `access assignments of "${r.displayName}": ${assignments.unknown}`, ...(assignments.needs ? { needs: assignments.needs } : {}) };
      out.push({ ...r, accessAssignments: assignments });
    }
  }
  return out;
}

/** The access-assignment groups that exist, as far as the app-only token sees them: those the account is in. */
function gdapAccessGroups(relationships: Fact<readonly GdapRelationship[]>, groups: Fact<readonly { id: string; displayName: string }[]> | undefined): Fact<readonly { id: string; displayName: string }[]> {
  if (!isValue(relationships)) return relationships;
  if (!groups || !isValue(groups)) return groups ?? { unknown: 'the service account\'s groups were not read' };
  const wanted = new Set(relationships.flatMap((r) => r.accessAssignments.map((a) => a.accessContainer.accessContainerId.toLowerCase())));
  return groups.filter((g) => wanted.has(g.id.toLowerCase()));
}

/**
 * One `$batch` (≤ 20 items) and the rounds that re-send items Graph throttled inside it, after
 * their `Retry-After`. A failed outer call (after the HTTP layer's own retries) is returned as the
 * reason every item of it is unknown.
 */
async function runBatch(graph: MicrosoftHttpClient, version: 'v1.0' | 'beta', items: readonly BatchItem[], counter: Counter, signal?: AbortSignal): Promise<Answers> {
  if (items.length > MAX_BATCH) throw new RangeError(`a $batch takes at most ${MAX_BATCH} requests`);
  const answers = new Map<string, ItemAnswer>();
  let pending = [...items];
  for (let round = 0; pending.length > 0; round++) {
    let responses: { id: string; status: number; headers?: Record<string, string>; body?: unknown }[];
    try {
      const res = await graph.request('POST', `/${version}/$batch`, {
        body: { requests: pending.map((i) => ({ id: i.id, method: 'GET', url: i.url, ...(i.headers ? { headers: i.headers } : {}) })) },
        idempotent: true, signal, parse: parseBatch,
      });
      counter.graph += res.attempts;
      responses = res.data;
    } catch (err) {
      signal?.throwIfAborted();
      counter.graph += attemptsOf(err);
      return { unknown: `Graph did not answer: ${reason(err)}` };
    }
    const retry: BatchItem[] = [];
    let wait = 0;
    for (const item of pending) {
      const r = responses.find((x) => x.id === item.id);
      if (!r) { answers.set(item.id, { status: 0, body: undefined }); continue; }
      if ((r.status === 429 || r.status === 503) && round < ITEM_RETRY_ROUNDS) {
        retry.push(item);
        wait = Math.max(wait, retryAfterMs(r.headers) ?? 1000 * 2 ** round);
      } else {
        answers.set(item.id, { status: r.status, body: r.body });
      }
    }
    pending = retry;
    if (pending.length && wait > 0) await delay(Math.min(wait, MAX_ITEM_WAIT_MS), undefined, { signal });
  }
  return answers;
}

function parseBatch(body: unknown): { id: string; status: number; headers?: Record<string, string>; body?: unknown }[] {
  const responses = (body as { responses?: unknown } | undefined)?.responses;
  if (!Array.isArray(responses)) throw new TypeError('not a $batch answer');
  return responses.map((r: unknown) => {
    const x = r as { id?: unknown; status?: unknown; headers?: unknown; body?: unknown };
    if (typeof x.id !== 'string' || typeof x.status !== 'number') throw new TypeError('a $batch response without id or status');
    return { id: x.id, status: x.status, headers: (x.headers ?? {}) as Record<string, string>, body: x.body };
  });
}

function retryAfterMs(headers: Record<string, string> | undefined): number | undefined {
  const v = Object.entries(headers ?? {}).find(([k]) => k.toLowerCase() === 'retry-after')?.[1];
  return v !== undefined && /^\d+$/.test(v.trim()) ? Number(v) * 1000 : undefined;
}

/** One item's answer as a fact. */
function itemFact<T>(answers: Answers, id: string, permission: string, map: (body: unknown) => T, opts: { notFoundIs?: T } = {}): Fact<T> {
  if (isUnknownAnswers(answers)) return answers;
  const a = answers.get(id);
  if (!a || a.status === 0) return { unknown: 'Graph gave no answer for it in the batch' };
  if (a.status === 404 && 'notFoundIs' in opts) return opts.notFoundIs as T;
  if (a.status === 429 || a.status === 503) return { unknown: `Graph was still throttling it (HTTP ${a.status})` };
  if (a.status < 200 || a.status >= 300) return refusedFact(a.status, a.body, permission);
  try {
    return map(a.body);
  } catch (err) {
    return { unknown: `Graph's answer had an unexpected shape (${err instanceof Error ? err.message : 'error'})` };
  }
}

/** A collection item and every further page (its `@odata.nextLink`, followed outside the batch). */
async function pagedFact<T>(o: GatherAppOnlyOptions, answers: Answers, id: string, permission: string, map: (v: unknown) => T, counter: Counter, version: 'v1.0' | 'beta' = 'v1.0'): Promise<Fact<readonly T[]>> {
  const first = itemFact(answers, id, permission, (body) => ({ items: collection(body).map(map), next: nextLink(body) }));
  if (!isValue(first)) return first;
  const items = [...first.items];
  if (first.next) {
    try {
      // Counted through the pages' own round-trips: one page, one round-trip (its retries surface as errors).
      for await (const page of o.graph.graphPages(`/${version}`, { resumeFrom: first.next, item: map, signal: o.signal })) {
        counter.graph += 1;
        items.push(...page.items);
      }
    } catch (err) {
      o.signal?.throwIfAborted();
      counter.graph += attemptsOf(err);
      return { unknown: `Graph did not give every page: ${reason(err)}` };
    }
  }
  return items;
}

function nextLink(body: unknown): string | undefined {
  const n = (body as Record<string, unknown>)['@odata.nextLink'];
  return typeof n === 'string' && n ? n : undefined;
}

// ---------- Partner Center ----------

async function gatherPartnerCenter(pc: MicrosoftHttpClient, counter: Counter, signal?: AbortSignal): Promise<Partial<Facts>> {
  const [profile, customers] = await Promise.all([
    pcCall(pc, '/v1/profiles/organization', mapPartnerCenterProfile, counter, signal),
    pcCall(pc, '/v1/customers', mapCustomersPage, counter, signal, { size: 1 }),
  ]);
  return { partnerCenterProfile: profile, partnerCenterCustomers: customers };
}

/**
 * A Partner Center answer: a value, a refusal with its status and code (the rules judge those), or
 * unknown when no answer came, or when Partner Center says the call needs App+User (an app-only
 * token cannot read it: that is for after the sign-in, not a failure).
 */
async function pcCall<T>(pc: MicrosoftHttpClient, path: string, map: (b: unknown) => T, counter: Counter, signal?: AbortSignal, query?: Record<string, number>) {
  try {
    const res = await pc.request('GET', path, { query, signal, parse: map });
    counter.partnerCenter += res.attempts;
    return { ok: true as const, value: res.data };
  } catch (err) {
    signal?.throwIfAborted();
    counter.partnerCenter += attemptsOf(err);
    if (isMicrosoftHttpError(err) && err.failure === 'status' && err.status !== undefined && err.status !== 429 && err.status < 500) {
      if (err.status === 401 && /App\+User/i.test(err.description ?? '')) {
        return { unknown: 'Partner Center reads this only with the service account\'s sign-in (App+User)', needs: 'the service account\'s consent (sign-in step)' };
      }
      const code = typeof err.code === 'number' ? err.code : typeof err.code === 'string' && /^\d+$/.test(err.code) ? Number(err.code) : undefined;
      return { ok: false as const, httpStatus: err.status, ...(code !== undefined ? { code } : {}), ...(err.description ? { description: err.description } : {}) };
    }
    return { unknown: `Partner Center did not answer: ${reason(err)}` };
  }
}

// ---------- helpers ----------

function isValue<T>(fact: Fact<T>): fact is T {
  return !(typeof fact === 'object' && fact !== null && !Array.isArray(fact) && typeof (fact as Partial<Unknown>).unknown === 'string');
}

function isUnknownAnswers(a: Answers): a is Unknown {
  return !(a instanceof Map);
}

function attemptsOf(err: unknown): number {
  return isMicrosoftHttpError(err) ? err.attempts : 0;
}

/** Safe words for the card: the HTTP layer's messages carry no token, query or body. */
function reason(err: unknown): string {
  if (isMicrosoftHttpError(err)) {
    const what = err.failure === 'status' ? `HTTP ${err.status ?? '?'}${err.code !== undefined ? ` ${err.code}` : ''}` : err.failure;
    return `${what} after ${err.attempts} ${err.attempts === 1 ? 'try' : 'tries'}`;
  }
  return err instanceof Error ? `${err.name}: ${err.message.split('\n')[0]!.slice(0, 120)}` : 'unknown error';
}
