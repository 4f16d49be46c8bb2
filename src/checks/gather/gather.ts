import { setTimeout as delay } from 'node:timers/promises';
import type { MicrosoftHttpClient } from '../../microsoft/http';
import { isMicrosoftHttpError } from '../../microsoft/http-errors';
import type { Fact, Facts, GdapRelationship, RoleAssignment, Unknown } from '../facts';
import { GLOBAL_ADMIN_ROLE_ID, GRAPH_APP_ID } from '../microsoft';
import {
  collection, mapAppRoleAssignment, mapApplication, mapConditionalAccessPolicy, mapCustomersPage, mapDomainPasswordNeverExpires, mapGdapAccessAssignment,
  mapGdapRelationship, mapGroup, mapInvoicesPage, mapMfaRegistration, mapOrganization, mapPartnerCenterProfile, mapPermissionGrant, mapPerUserMfa,
  mapRoleAssignment, mapSecurityDefaults, mapServiceAccount, mapServicePrincipal, refusedFact,
} from './map';

/**
 * Gathers the facts the rules read, in few round-trips. Two ways:
 *
 * - **Pre-flight** (before the sign-in): everything the partner's app sees with its own app-only
 *   token. Graph in three `$batch` requests (v1.0 by UPN and appId; then v1.0 and beta by the ids
 *   the first one returned, in parallel). Partner Center: only `/v1/customers`, the one call of
 *   the two that accepts an app-only token (the organization profile is App+User only).
 * - **Full** (after the consent): the app-only token for the directory (users, groups, apps,
 *   grants, roles, the account's domain) in one v1.0 `$batch`, and in parallel the service
 *   account's delegated token for what only it may read: conditional access, security defaults,
 *   registration and GDAP in a v1.0 `$batch`, per-user MFA and transitive roles (beta only) in a
 *   beta `$batch`; the account's object id comes from that token, so nothing waits for a lookup.
 *   Then one wave of `$batch`es for the GDAP relationships' access assignments (20 a batch, in
 *   parallel). Partner Center, with the service account's token: profile, customers and the
 *   first page of invoices, in parallel.
 *
 * A refused item is an unknown fact naming what would let the bot see; a batch that fails after
 * the HTTP layer's retries makes its items unknown. Never throws for Microsoft's answers; only
 * the caller's abort ends it early.
 */

export interface SignedInAccess {
  /** Graph as the service account (its delegated, consented read scopes). */
  readonly graph: MicrosoftHttpClient;
  /** The service account's object id (`oid` of its token). */
  readonly serviceAccountId: string;
}

export interface GatherOptions {
  /** Graph with the app's app-only token; base URL at Graph's host: the gatherer picks `/v1.0` and `/beta`. */
  readonly graph: MicrosoftHttpClient;
  /** After the consent: the service account's own access. Omitted: the pre-flight. */
  readonly signedIn?: SignedInAccess;
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
  /**
   * HTTP requests made (retries included), and waves: how many of them had to wait for another's
   * answer, one after the other (requests sent together count once; a retry of a throttled item is
   * not counted as a wave).
   */
  readonly roundTrips: { graph: number; partnerCenter: number; waves: { graph: number; partnerCenter: number } };
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

export type Version = 'v1.0' | 'beta';

/** One item's answer, with the client and version that asked (further pages go the same way). */
export interface ItemAnswer {
  readonly status: number;
  readonly body: unknown;
  /** The item's own headers (a throttled item's `Retry-After`). */
  readonly headers?: Readonly<Record<string, string>>;
  /** The headers the item was asked with: its further pages are asked with them too. */
  readonly requestHeaders?: Readonly<Record<string, string>>;
  readonly client: MicrosoftHttpClient;
  readonly version: Version;
}

/** Answers by item id; an item of a batch that failed as a whole maps to why. */
export type Answers = Map<string, ItemAnswer | Unknown>;

const q = (value: string) => `'${value.replace(/'/g, "''")}'`;
const enc = encodeURIComponent;

class Counter {
  graph = 0;
  partnerCenter = 0;
  graphWaves = 0;
}

interface Ctx {
  readonly o: GatherOptions;
  readonly counter: Counter;
}

export async function gatherFacts(options: GatherOptions): Promise<GatherResult> {
  const counter = new Counter();
  const ctx: Ctx = { o: options, counter };
  const [graphFacts, pcFacts] = await Promise.all([
    options.signedIn ? gatherGraphSignedIn(ctx, options.signedIn) : gatherGraphAppOnly(ctx),
    options.partnerCenter ? gatherPartnerCenter(options.partnerCenter, !options.signedIn, counter, options.signal) : Promise.resolve({}),
  ]);
  const facts: Partial<Facts> = {
    ...graphFacts,
    ...pcFacts,
    ...(options.secretHint ? { secretInUse: { hint: options.secretHint.slice(0, 3) } } : {}),
  };
  return {
    facts,
    roundTrips: { graph: counter.graph, partnerCenter: counter.partnerCenter, waves: { graph: counter.graphWaves, partnerCenter: options.partnerCenter ? 1 : 0 } },
  };
}

// ---------- Graph ----------

const USER_SELECT = '$select=id,userPrincipalName,accountEnabled,passwordPolicies,userType';
/**
 * Groups through an OData cast: Graph documents `ConsistencyLevel: eventual` and `$count` as
 * required with a cast on memberOf / transitiveMemberOf (an advanced query), so both are sent.
 * https://learn.microsoft.com/en-us/graph/api/user-list-transitivememberof
 */
const GROUPS_OF = 'transitiveMemberOf/microsoft.graph.group?$select=id,displayName&$top=999&$count=true';
export const EVENTUAL: Readonly<Record<string, string>> = { ConsistencyLevel: 'eventual' };

/** What the app-only token reads whichever way: the app, its service principal and the tenant. */
function appItems(appId: string): BatchItem[] {
  return [
    { id: 'app', url: `/applications?$filter=appId eq ${q(appId)}&$select=appId,displayName,requiredResourceAccess,passwordCredentials` },
    { id: 'sp', url: `/servicePrincipals?$filter=appId eq ${q(appId)}&$select=id,appId,accountEnabled` },
    { id: 'graphSp', url: `/servicePrincipals?$filter=appId eq ${q(GRAPH_APP_ID)}&$select=id` },
    { id: 'appRoles', url: `/servicePrincipals(appId=${q(appId)})/appRoleAssignments?$top=999` },
    { id: 'org', url: '/organization?$select=id,displayName,partnerTenantType,countryLetterCode' },
  ];
}

/** What needs the service account's object id. */
function accountItems(userId: string): { v1: BatchItem[]; beta: BatchItem[] } {
  return {
    v1: [
      { id: 'roles', url: `/roleManagement/directory/roleAssignments?$filter=principalId eq ${q(userId)}` },
      { id: 'eligible', url: `/roleManagement/directory/roleEligibilitySchedules?$filter=principalId eq ${q(userId)}` },
    ],
    beta: [
      // Beta only: v1.0 has no transitive view (a role held through a role-assignable group). The
      // header, $count=true and the $filter are all required; without the header Graph answers 404.
      // https://learn.microsoft.com/en-us/graph/api/rbacapplication-list-transitiveroleassignments?view=graph-rest-beta
      { id: 'transitiveRoles', url: `/roleManagement/directory/transitiveRoleAssignments?$count=true&$filter=principalId eq ${q(userId)}`, headers: EVENTUAL },
      // Beta only: legacy per-user MFA state is not in v1.0.
      // https://learn.microsoft.com/en-us/graph/api/authentication-get?view=graph-rest-beta
      { id: 'perUserMfa', url: `/users/${enc(userId)}/authentication/requirements` },
    ],
  };
}

/** The registration report, keyed by the account's object id (not its UPN): https://learn.microsoft.com/en-us/graph/api/userregistrationdetails-get */
function registrationItem(userId: string): BatchItem {
  return { id: 'registration', url: `/reports/authenticationMethods/userRegistrationDetails/${enc(userId)}` };
}

/**
 * Policies and GDAP, all in v1.0: the app's application permissions do not cover them; the
 * consented delegated scopes do.
 */
function policyItems(): BatchItem[] {
  return [
    { id: 'securityDefaults', url: '/policies/identitySecurityDefaultsEnforcementPolicy' },
    { id: 'ca', url: '/identity/conditionalAccess/policies' },
    { id: 'gdap', url: '/tenantRelationships/delegatedAdminRelationships?$top=300' },
  ];
}

/**
 * The service account's domain: its password policy decides expiry together with the account's
 * `passwordPolicies`. https://learn.microsoft.com/en-us/graph/api/domain-get
 */
function domainItem(upn: string): BatchItem[] {
  const domain = upn.split('@')[1];
  return domain ? [{ id: 'domain', url: `/domains/${enc(domain)}?$select=id,passwordValidityPeriodInDays` }] : [];
}

async function gatherGraphAppOnly(ctx: Ctx): Promise<Partial<Facts>> {
  const { o } = ctx;
  const upn = enc(o.serviceAccountUpn);
  ctx.counter.graphWaves += 1;
  const a = await runBatch(ctx, o.graph, 'v1.0', [
    { id: 'user', url: `/users/${upn}?${USER_SELECT}` },
    { id: 'groups', url: `/users/${upn}/${GROUPS_OF}`, headers: EVENTUAL },
    ...appItems(o.appId),
    ...policyItems(),
    ...domainItem(o.serviceAccountUpn),
  ]);
  // Second wave: what needs the ids the first one returned. v1.0 and beta go in separate batches
  // (a batch's items share its version), sent together.
  const user = itemFact(a, 'user', 'User.Read.All', mapServiceAccount, { notFoundIs: null });
  const sp = itemFact(a, 'sp', 'Application.Read.All', mapServicePrincipal);
  const userId = isValue(user) && user ? user.id : undefined;
  const spId = isValue(sp) && sp ? sp.id : undefined;
  const account = userId ? accountItems(userId) : { v1: [], beta: [] };
  const v1 = [...account.v1, ...(userId ? [registrationItem(userId)] : [])];
  if (spId) {
    v1.push({ id: 'spGroups', url: `/servicePrincipals/${enc(spId)}/${GROUPS_OF}`, headers: EVENTUAL });
    v1.push({ id: 'grants', url: `/servicePrincipals/${enc(spId)}/oauth2PermissionGrants` });
  }
  if (v1.length + account.beta.length > 0) ctx.counter.graphWaves += 1;
  const [b, c] = await Promise.all([
    runBatch(ctx, o.graph, 'v1.0', v1),
    runBatch(ctx, o.graph, 'beta', account.beta),
  ]);
  return factsFrom(ctx, merge(a, b, c), o.graph, { userWhy: userId ? undefined : missing(user, 'the service account was not read', 'the service account was not found'), spWhy: spId ? undefined : missing(sp, 'the app\'s service principal was not read', 'the app has no service principal') });
}

async function gatherGraphSignedIn(ctx: Ctx, signedIn: SignedInAccess): Promise<Partial<Facts>> {
  const { o } = ctx;
  const uid = enc(signedIn.serviceAccountId);
  const account = accountItems(signedIn.serviceAccountId);
  const appKey = `/servicePrincipals(appId=${q(o.appId)})`;
  ctx.counter.graphWaves += 1;
  const [a, b, c] = await Promise.all([
    runBatch(ctx, o.graph, 'v1.0', [
      { id: 'user', url: `/users/${uid}?${USER_SELECT}` },
      { id: 'groups', url: `/users/${uid}/${GROUPS_OF}`, headers: EVENTUAL },
      ...appItems(o.appId),
      { id: 'spGroups', url: `${appKey}/${GROUPS_OF}`, headers: EVENTUAL },
      { id: 'grants', url: `${appKey}/oauth2PermissionGrants` },
      ...account.v1,
      ...domainItem(o.serviceAccountUpn),
    ]),
    // As the service account: v1.0 where v1.0 has the resource, beta only for what only beta has.
    runBatch(ctx, signedIn.graph, 'v1.0', [registrationItem(signedIn.serviceAccountId), ...policyItems()]),
    runBatch(ctx, signedIn.graph, 'beta', account.beta),
  ]);
  return factsFrom(ctx, merge(a, b, c), signedIn.graph, {});
}

/** Unknown for what hangs on a fact that is missing: why it is missing. */
function missing(fact: Fact<object | null>, readWhat: string, absent: string): Unknown {
  if (isValue(fact)) return { unknown: absent };
  const why = fact as Unknown;
  return { ...why, unknown: `${readWhat}: ${why.unknown}` };
}

/** Every fact from the answers; `userWhy` / `spWhy` say why the account's or the app's items were not asked. */
async function factsFrom(ctx: Ctx, a: Answers, gdapClient: MicrosoftHttpClient, why: { userWhy?: Unknown; spWhy?: Unknown }): Promise<Partial<Facts>> {
  const facts: Record<string, unknown> = {};
  const set = <K extends keyof Facts>(k: K, v: Facts[K]) => { facts[k] = v; };

  set('serviceAccount', itemFact(a, 'user', 'User.Read.All', mapServiceAccount, { notFoundIs: null }));
  const groups = await pagedFact(ctx, a, 'groups', 'GroupMember.Read.All', mapGroup);
  set('serviceAccountGroups', groups);
  set('application', itemFact(a, 'app', 'Application.Read.All', mapApplication));
  set('appServicePrincipal', itemFact(a, 'sp', 'Application.Read.All', mapServicePrincipal));
  set('graphServicePrincipalId', itemFact(a, 'graphSp', 'Application.Read.All', (b) => {
    const found = mapServicePrincipal(b);
    if (!found) throw new TypeError('no Microsoft Graph service principal');
    return found.id;
  }));
  set('appRoleAssignments', await pagedFact(ctx, a, 'appRoles', 'Application.Read.All', mapAppRoleAssignment));
  set('mfaRegistration', itemFact(a, 'registration', 'AuditLog.Read.All', mapMfaRegistration));
  set('securityDefaultsEnabled', itemFact(a, 'securityDefaults', 'Policy.Read.All', mapSecurityDefaults));
  set('conditionalAccessPolicies', await pagedFact(ctx, a, 'ca', 'Policy.Read.All', mapConditionalAccessPolicy));
  set('organization', itemFact(a, 'org', 'Organization.Read.All', mapOrganization));
  if (a.has('domain')) set('domainPasswordNeverExpires', itemFact(a, 'domain', 'Domain.Read.All', mapDomainPasswordNeverExpires));

  if (why.userWhy) {
    set('mfaRegistration', why.userWhy);
    set('roleAssignments', why.userWhy);
    set('roleEligibilities', why.userWhy);
    set('perUserMfaState', why.userWhy);
  } else {
    set('roleAssignments', roleAssignmentsFact(
      await pagedFact(ctx, a, 'transitiveRoles', 'RoleManagement.Read.Directory', mapRoleAssignment),
      await pagedFact(ctx, a, 'roles', 'RoleManagement.Read.Directory', mapRoleAssignment),
    ));
    set('roleEligibilities', await pagedFact(ctx, a, 'eligible', 'RoleManagement.Read.Directory', mapRoleAssignment));
    set('perUserMfaState', itemFact(a, 'perUserMfa', 'Policy.Read.All', mapPerUserMfa));
  }
  if (why.spWhy) {
    set('appServicePrincipalGroups', why.spWhy);
    set('delegatedGrants', why.spWhy);
  } else {
    set('appServicePrincipalGroups', await pagedFact(ctx, a, 'spGroups', 'GroupMember.Read.All', mapGroup));
    set('delegatedGrants', await pagedFact(ctx, a, 'grants', 'DelegatedPermissionGrant.Read.All', mapPermissionGrant));
  }
  const relationships = await pagedFact(ctx, a, 'gdap', 'DelegatedAdminRelationship.Read.All', mapGdapRelationship);
  if (isValue(relationships)) {
    const withAssignments = await gdapWithAssignments(ctx, gdapClient, relationships);
    set('gdapRelationships', withAssignments);
    set('gdapAccessGroups', gdapAccessGroups(withAssignments, groups));
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
  return { ...transitive, unknown: `transitive role assignments (beta) not read: ${transitive.unknown}` };
}

/** Each relationship's access assignments: one wave of `$batch`es (20 relationships each), sent together. */
async function gdapWithAssignments(ctx: Ctx, client: MicrosoftHttpClient, relationships: readonly Omit<GdapRelationship, 'accessAssignments'>[]): Promise<Fact<readonly GdapRelationship[]>> {
  const chunks: (typeof relationships)[] = [];
  for (let i = 0; i < relationships.length; i += MAX_BATCH) chunks.push(relationships.slice(i, i + MAX_BATCH));
  if (chunks.length) ctx.counter.graphWaves += 1;
  const answered = await Promise.all(chunks.map((chunk, c) => runBatch(ctx, client, 'v1.0', chunk.map((r, j) => ({
    id: `${c}.${j}`, url: `/tenantRelationships/delegatedAdminRelationships/${enc(r.id)}/accessAssignments`,
  })))));
  const out: GdapRelationship[] = [];
  for (const [c, chunk] of chunks.entries()) {
    for (const [j, r] of chunk.entries()) {
      const assignments = await pagedFact(ctx, answered[c]!, `${c}.${j}`, 'DelegatedAdminRelationship.Read.All', mapGdapAccessAssignment);
      if (!isValue(assignments)) return { ...assignments, unknown: `access assignments of "${r.displayName}": ${assignments.unknown}` };
      out.push({ ...r, accessAssignments: assignments });
    }
  }
  return out;
}

/** The access-assignment groups that exist, as far as the bot sees them: those the account is in. */
function gdapAccessGroups(relationships: Fact<readonly GdapRelationship[]>, groups: Fact<readonly { id: string; displayName: string }[]> | undefined): Fact<readonly { id: string; displayName: string }[]> {
  if (!isValue(relationships)) return relationships;
  if (!groups || !isValue(groups)) return groups ?? { unknown: 'the service account\'s groups were not read' };
  const wanted = new Set(relationships.flatMap((r) => r.accessAssignments.map((a) => a.accessContainer.accessContainerId.toLowerCase())));
  return groups.filter((g) => wanted.has(g.id.toLowerCase()));
}

function merge(...parts: Answers[]): Answers {
  const all: Answers = new Map();
  for (const p of parts) for (const [k, v] of p) all.set(k, v);
  return all;
}

/**
 * One `$batch` (≤ 20 items) and the rounds that re-send items Graph throttled inside it, after
 * their `Retry-After`. A failed outer call (after the HTTP layer's own retries) makes every item
 * of it unknown with the reason. No items, no request. `onRequests` hears the HTTP requests made.
 */
export async function runGraphBatch(client: MicrosoftHttpClient, version: Version, items: readonly BatchItem[], options: { signal?: AbortSignal; onRequests?: (n: number) => void; itemRetryRounds?: number } = {}): Promise<Answers> {
  if (items.length > MAX_BATCH) throw new RangeError(`a $batch takes at most ${MAX_BATCH} requests`);
  const { signal } = options;
  const answers: Answers = new Map();
  let pending = [...items];
  for (let round = 0; pending.length > 0; round++) {
    let responses: { id: string; status: number; headers?: Record<string, string>; body?: unknown }[];
    try {
      const res = await client.request('POST', `/${version}/$batch`, {
        body: { requests: pending.map((i) => ({ id: i.id, method: 'GET', url: i.url, ...(i.headers ? { headers: i.headers } : {}) })) },
        idempotent: true, signal, parse: parseBatch,
      });
      options.onRequests?.(res.attempts);
      responses = res.data;
    } catch (err) {
      signal?.throwIfAborted();
      options.onRequests?.(attemptsOf(err));
      const why: Unknown = { unknown: `Graph did not answer: ${reason(err)}` };
      for (const item of pending) answers.set(item.id, why);
      return answers;
    }
    const retry: BatchItem[] = [];
    let wait = 0;
    for (const item of pending) {
      const r = responses.find((x) => x.id === item.id);
      if (!r) { answers.set(item.id, { status: 0, body: undefined, client, version }); continue; }
      if ((r.status === 429 || r.status === 503) && round < (options.itemRetryRounds ?? ITEM_RETRY_ROUNDS)) {
        retry.push(item);
        wait = Math.max(wait, retryAfterMs(r.headers) ?? 1000 * 2 ** round);
      } else {
        answers.set(item.id, { status: r.status, body: r.body, client, version, ...(r.headers ? { headers: r.headers } : {}), ...(item.headers ? { requestHeaders: item.headers } : {}) });
      }
    }
    pending = retry;
    if (pending.length && wait > 0) await delay(Math.min(wait, MAX_ITEM_WAIT_MS), undefined, { signal });
  }
  return answers;
}

function runBatch(ctx: Ctx, client: MicrosoftHttpClient, version: Version, items: readonly BatchItem[]): Promise<Answers> {
  return runGraphBatch(client, version, items, { signal: ctx.o.signal, onRequests: (n) => { ctx.counter.graph += n; } });
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

export function retryAfterMs(headers: Record<string, string> | undefined): number | undefined {
  const v = Object.entries(headers ?? {}).find(([k]) => k.toLowerCase() === 'retry-after')?.[1];
  return v !== undefined && /^\d+$/.test(v.trim()) ? Number(v) * 1000 : undefined;
}

/** One item's answer as a fact. */
export function itemFact<T>(answers: Answers, id: string, permission: string, map: (body: unknown) => T, opts: { notFoundIs?: T } = {}): Fact<T> {
  const a = answers.get(id);
  if (!a) return { unknown: 'it was not asked' };
  if (!isItemAnswer(a)) return a;
  if (a.status === 0) return { unknown: 'Graph gave no answer for it in the batch' };
  if (a.status === 404 && 'notFoundIs' in opts) return opts.notFoundIs as T;
  if (a.status === 429 || a.status === 503) return { unknown: `Graph was still throttling it (HTTP ${a.status})` };
  if (a.status < 200 || a.status >= 300) return refusedFact(a.status, a.body, permission);
  try {
    return map(a.body);
  } catch (err) {
    return { unknown: `Graph's answer had an unexpected shape (${err instanceof Error ? err.message : 'error'})` };
  }
}

/** A collection item and every further page (its `@odata.nextLink`, followed outside the batch, as the one who asked). */
async function pagedFact<T>(ctx: Ctx, answers: Answers, id: string, permission: string, map: (v: unknown) => T): Promise<Fact<readonly T[]>> {
  const first = itemFact(answers, id, permission, (body) => ({ items: collection(body).map(map), next: nextLink(body) }));
  if (!isValue(first)) return first;
  const items = [...first.items];
  const asked = answers.get(id) as ItemAnswer;
  if (first.next) {
    try {
      // Counted through the pages' own round-trips: one page, one round-trip (its retries surface as errors).
      for await (const page of asked.client.graphPages(`/${asked.version}`, { resumeFrom: first.next, item: map, signal: ctx.o.signal, ...(asked.requestHeaders ? { headers: { ...asked.requestHeaders } } : {}) })) {
        ctx.counter.graph += 1;
        ctx.counter.graphWaves += 1;
        items.push(...page.items);
      }
    } catch (err) {
      ctx.o.signal?.throwIfAborted();
      ctx.counter.graph += attemptsOf(err);
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

/** What only the service account's sign-in can read in Partner Center: unknown until then, not a failure. */
export const AFTER_SIGN_IN: Unknown = { unknown: 'read after the service account signs in', afterSignIn: true, fix: 'Sign in as the service account (the next step): this check runs then.' };

/**
 * App-only: customers only. `GET /v1/profiles/organization` takes App+User credentials only
 * (https://learn.microsoft.com/en-us/partner-center/developer/get-an-organization-profile), so the
 * pre-flight never asks it; customers take either
 * (https://learn.microsoft.com/en-us/partner-center/developer/get-a-list-of-customers). With the
 * service account's token: the profile, customers and the first page of invoices (App or App+User:
 * https://learn.microsoft.com/en-us/partner-center/developer/get-a-collection-of-invoices).
 */
async function gatherPartnerCenter(pc: MicrosoftHttpClient, appOnly: boolean, counter: Counter, signal?: AbortSignal): Promise<Partial<Facts>> {
  if (appOnly) {
    const customers = await pcCall(pc, '/v1/customers', mapCustomersPage, counter, signal, { size: 1 });
    return { partnerCenterProfile: AFTER_SIGN_IN, partnerCenterCustomers: customers, partnerCenterInvoices: AFTER_SIGN_IN };
  }
  const [profile, customers, invoices] = await Promise.all([
    pcCall(pc, '/v1/profiles/organization', mapPartnerCenterProfile, counter, signal),
    pcCall(pc, '/v1/customers', mapCustomersPage, counter, signal, { size: 1 }),
    pcCall(pc, '/v1/invoices', mapInvoicesPage, counter, signal, { size: 1, offset: 0 }),
  ]);
  return { partnerCenterProfile: profile, partnerCenterCustomers: customers, partnerCenterInvoices: invoices };
}

/**
 * A Partner Center answer: a value, a refusal with its status and code (the rules judge those), or
 * unknown when no answer came.
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

function isItemAnswer(a: ItemAnswer | Unknown): a is ItemAnswer {
  return typeof (a as Partial<ItemAnswer>).status === 'number';
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
