import type { GdapRelationship } from '../checks/facts';
import { setTimeout as delay } from 'node:timers/promises';
import { EVENTUAL, itemFact, MAX_BATCH, retryAfterMs, runGraphBatch } from '../checks/gather/gather';
import { collection, mapGdapAccessAssignment, mapGdapRelationship, mapGroup } from '../checks/gather/map';
import { DEFAULT_GDAP_ROLE_IDS } from '../checks/microsoft';
import { GRAPH_DEFAULT, PARTNER_CENTER_DEFAULT, PARTNER_CENTER_USER } from '../credentials/scopes';
import type { Logger } from '../logger';
import { MicrosoftHttpClient, type AccessTokenFunction, type PartnerCenterLink } from '../microsoft/http';
import { isMicrosoftHttpError } from '../microsoft/http-errors';
import type { CustomerSync, CustomerSyncRepository, GdapVerdictRow, ListedCustomer } from '../store/customer-syncs';
import type { PartnerRepository } from '../store/partners';
import { RANK, relationshipEvidence, relationshipVerdict, type GdapContext } from './gdap';
import { Pacer } from './pacer';

/** The token functions the sync needs (src/auth/partner-tokens.ts gives them). */
export interface SyncTokens {
  appOnlyGraphTokenFunction(tenantId: string): AccessTokenFunction;
  appOnlyTokenFunction(tenantId: string): AccessTokenFunction;
  userTokenFunction(tenantId: string): AccessTokenFunction;
}

export interface CustomerSyncRunnerOptions {
  syncs: CustomerSyncRepository;
  partners: PartnerRepository;
  tokens: SyncTokens;
  graphBaseUrl: string;
  partnerCenterBaseUrl: string;
  logger: Logger;
  /** Partner Center page size: no maximum is documented, the service may send fewer. Default 500. */
  pageSize?: number;
  /** Role template ids a customer's GDAP relationship must hold (operator config). */
  gdapRoleIds?: readonly string[];
  /** Tells the chat: the progress card (at most every 3 s) and the end. */
  present(sync: CustomerSync, moment: 'progress' | 'end'): Promise<void>;
}

/** A failure retrying cannot fix: the sync ends with these words. */
export class SyncStopped extends Error {
  constructor(readonly words: string) {
    super(words);
    this.name = 'SyncStopped';
  }
}

export const PROGRESS_INTERVAL_MS = 3_000;
/** Relationships per Graph page; the assignments of a page are read 20 per `$batch`, 5 batches at a time. */
const GDAP_PAGE = 300;
const BATCH_CONCURRENCY = 5;
/** A throttled item is sent again at most this many times. */
const ITEM_TRIES = 6;

/**
 * One partner's customer sync, a slice at a time (the job engine runs slices): GDAP relationships
 * first (each customer's best verdict), then Partner Center's customer pages (`links.next` with
 * `MS-ContinuationToken`, verbatim), then the reconcile. Every page is committed with the cursor in
 * one transaction, fenced on the step it continues from, so a crash resumes at the last committed
 * page and a second worker can never commit the same page. Memory holds one page at a time.
 */
export class CustomerSyncRunner {
  /** The pace learned per sync in this process (Partner Center's customer pages). */
  private readonly pacers = new Map<string, Pacer>();

  constructor(private readonly o: CustomerSyncRunnerOptions) {}

  /** Runs pages until the sync ends or `budgetMs` passes: 'done', or 'more' to run another slice. */
  async runSlice(syncId: string, options: { budgetMs: number; signal?: AbortSignal }): Promise<'done' | 'more'> {
    let sync = await this.o.syncs.get(syncId);
    if (!sync || sync.status !== 'running') return 'done';
    const until = Date.now() + options.budgetMs;
    try {
      const partner = await this.o.partners.get(sync.tenantId);
      if (!partner?.connection) throw new SyncStopped('the partner\'s connection is gone (credentials were removed)');
      const retries = { n: 0 };
      const pacer = this.pacers.get(sync.id) ?? new Pacer();
      this.pacers.set(sync.id, pacer);
      const client = (baseUrl: string, tokens: AccessTokenFunction, scopes: string[], paced?: Pacer) => new MicrosoftHttpClient({
        // One request may wait out throttling for up to 10 minutes; the job engine's retries bound the rest.
        baseUrl, tokenProvider: tokens, scopes, timeoutMs: 30_000, maxRetries: 8, retryBudgetMs: 600_000, baseDelayMs: 500,
        requestIds: baseUrl === this.o.graphBaseUrl ? 'graph' : 'partner-center',
        onAttempt: (e) => {
          if (e.msCorrelationId) this.o.logger.debug({ path: e.path, status: e.status, attempt: e.attempt, msRequestId: e.msRequestId, msCorrelationId: e.msCorrelationId }, 'partner center call');
          if (e.waitMs > 0) retries.n += 1;
          if (e.status === 429) paced?.throttled();
          else if (e.status !== undefined && e.status < 300) paced?.ok();
        },
      });
      const take = () => { const n = retries.n; retries.n = 0; return n; };
      const user = this.o.tokens.userTokenFunction(sync.tenantId);
      const appGraph = client(this.o.graphBaseUrl, this.o.tokens.appOnlyGraphTokenFunction(sync.tenantId), [GRAPH_DEFAULT]);
      let groups: Promise<Map<string, string>> | undefined;
      let pc: MicrosoftHttpClient | undefined;
      let gdap: AsyncGenerator<{ rows: GdapVerdictRow[]; relationships: number; next: string | null }> | undefined;
      while (Date.now() < until) {
        options.signal?.throwIfAborted();
        if (sync.cancelRequestedAt) {
          this.pacers.delete(syncId);
          const ended = await this.o.syncs.end(sync.id, 'cancelled');
          if (ended) await this.o.present(ended, 'end');
          return 'done';
        }
        let next: CustomerSync | undefined;
        if (sync.phase === 'gdap') {
          groups ??= accountGroups(appGraph, partner.connection.serviceAccountUpn, options.signal);
          gdap ??= this.gdapPages(client(this.o.graphBaseUrl, user, [GRAPH_DEFAULT]), typeof sync.nextLink === 'string' ? sync.nextLink : null, await groups, () => { retries.n += 1; }, options.signal);
          const { value: page } = await gdap.next();
          next = await this.o.syncs.commitGdapPage(sync.id, sync.step, page?.rows ?? [], page?.relationships ?? 0, page?.next ?? null, take());
        } else if (sync.phase === 'customers') {
          // App-only where the partner's Partner Center web app is in (no MFA rule applies to app-only calls), else the consented App+User token.
          pc ??= partner.connection.pcAppId && partner.credentials.pcSecret
            ? client(this.o.partnerCenterBaseUrl, this.o.tokens.appOnlyTokenFunction(sync.tenantId), [PARTNER_CENTER_DEFAULT], pacer)
            : client(this.o.partnerCenterBaseUrl, user, [PARTNER_CENTER_USER], pacer);
          await pacer.turn(options.signal);
          next = await this.customersPage(sync, pc, take, options.signal);
        } else {
          next = await this.o.syncs.finish(sync.id, sync.tenantId, sync.step);
          this.pacers.delete(syncId);
          if (next) await this.o.present(next, 'end');
          return 'done';
        }
        if (!next) {
          this.pacers.delete(syncId);
          return 'done'; // another worker moved it on: its chain carries the sync
        }
        sync = next;
        if (sync.phase !== 'reconcile' && (await this.o.syncs.claimProgressTick(sync.id, PROGRESS_INTERVAL_MS))) await this.o.present(sync, 'progress');
      }
      return 'more';
    } catch (err) {
      options.signal?.throwIfAborted();
      const words = stopWords(err);
      if (!words) throw err; // transient: the job engine retries the slice from the last committed page
      this.o.logger.warn({ err, tenantId: sync.tenantId, syncId }, 'customer sync stopped');
      this.pacers.delete(syncId);
      const ended = await this.o.syncs.end(sync.id, 'failed', words);
      if (ended) await this.o.present(ended, 'end');
      return 'done';
    }
  }

  /** The job engine gave up retrying: the sync ends as failed, with the last reason. */
  async giveUp(syncId: string, err: unknown): Promise<void> {
    const ended = await this.o.syncs.end(syncId, 'failed', `Microsoft kept failing: ${shortReason(err)}`);
    if (ended) await this.o.present(ended, 'end');
  }

  /**
   * GDAP relationship pages from `start` (null: the first), each with its access assignments and
   * judged per customer. Two pages are in flight: the next page is listed as soon as this one's
   * link is known, and its assignments are read while this one's last throttled items wait and
   * while it is committed. Pages come out in order; the caller commits each before the next.
   */
  private async *gdapPages(graph: MicrosoftHttpClient, start: string | null, groups: ReadonlyMap<string, string>, onRetry: () => void, signal?: AbortSignal): AsyncGenerator<{ rows: GdapVerdictRow[]; relationships: number; next: string | null }> {
    const ctx: GdapContext = { roleIds: this.o.gdapRoleIds ?? DEFAULT_GDAP_ROLE_IDS, accountGroupIds: new Set(groups.keys()), now: new Date() };
    const list = async (link: string | null) => {
      const pages = graph.graphPages('/v1.0/tenantRelationships/delegatedAdminRelationships', {
        query: { $top: GDAP_PAGE }, item: mapGdapRelationship, signal, ...(link ? { resumeFrom: link } : {}),
      });
      const { value } = await pages.next();
      await pages.return(undefined);
      return { items: value?.items ?? [], next: value?.next ?? null };
    };
    const judged = (listed: Promise<{ items: Omit<GdapRelationship, 'accessAssignments'>[]; next: string | null }>) => listed.then(async (l) => ({
      rows: verdictRows(await this.withAssignments(graph, l.items, onRetry, signal), ctx, groups), relationships: l.items.length, next: l.next,
    }));
    let listed = list(start);
    let page = judged(listed);
    for (;;) {
      const { next } = await listed;
      const nextListed = next ? list(next) : undefined;
      const nextPage = nextListed ? judged(nextListed) : undefined;
      // Read ahead; if the slice ends first, the page is simply not committed (and read again later).
      nextPage?.catch(() => undefined);
      yield await page;
      if (!nextListed || !nextPage) return;
      listed = nextListed;
      page = nextPage;
    }
  }

  /**
   * Each relationship's access assignments, 20 a `$batch`, up to 5 batches in flight. An item Graph
   * throttled inside a batch goes back in the queue until its `Retry-After` has passed, while
   * the other items go on: the waits overlap with work instead of holding a whole page.
   */
  private async withAssignments(graph: MicrosoftHttpClient, relationships: readonly Omit<GdapRelationship, 'accessAssignments'>[], onRetry: () => void, signal?: AbortSignal): Promise<GdapRelationship[]> {
    const assignments = new Map<number, GdapRelationship['accessAssignments']>();
    const queue = relationships.map((_, i) => ({ i, readyAt: 0, tries: 0 }));
    const worker = async (): Promise<void> => {
      for (;;) {
        signal?.throwIfAborted();
        if (queue.length === 0) return;
        const now = Date.now();
        const ready = queue.filter((q) => q.readyAt <= now).slice(0, MAX_BATCH);
        if (ready.length === 0) {
          await delay(Math.max(1, Math.min(...queue.map((q) => q.readyAt)) - now), undefined, { signal });
          continue;
        }
        for (const r of ready) queue.splice(queue.indexOf(r), 1);
        const answers = await runGraphBatch(graph, 'v1.0', ready.map((q) => ({
          id: String(q.i), url: `/tenantRelationships/delegatedAdminRelationships/${encodeURIComponent(relationships[q.i]!.id)}/accessAssignments?$top=300`,
        })), { signal, itemRetryRounds: 0 });
        for (const q of ready) {
          const a = answers.get(String(q.i));
          const throttled = a && 'status' in a && (a.status === 429 || a.status === 503);
          if (throttled && q.tries < ITEM_TRIES) {
            onRetry();
            queue.push({ i: q.i, tries: q.tries + 1, readyAt: Date.now() + (retryAfterMs(a.headers as Record<string, string> | undefined) ?? 1000 * 2 ** q.tries) });
            continue;
          }
          const fact = itemFact(answers, String(q.i), 'DelegatedAdminRelationship.Read.All', (body) => collection(body).map(mapGdapAccessAssignment));
          if (!Array.isArray(fact)) throw new Error(`access assignments of a GDAP relationship: ${(fact as { unknown: string }).unknown}`);
          assignments.set(q.i, fact);
        }
      }
    };
    await Promise.all(Array.from({ length: BATCH_CONCURRENCY }, worker));
    return relationships.map((r, i) => ({ ...r, accessAssignments: assignments.get(i)! }));
  }

  /** One page of Partner Center customers, committed with the cursor. */
  private async customersPage(sync: CustomerSync, pc: MicrosoftHttpClient, take: () => number, signal?: AbortSignal): Promise<CustomerSync | undefined> {
    const pages = pc.partnerCenterPages('/v1/customers', {
      query: { size: this.o.pageSize ?? 500 }, item: mapCustomer, signal,
      ...(sync.nextLink && typeof sync.nextLink === 'object' ? { resumeFrom: sync.nextLink as PartnerCenterLink } : {}),
    });
    const { value: page } = await pages.next();
    await pages.return(undefined);
    return this.o.syncs.commitCustomerPage(sync.id, sync.tenantId, sync.step, page?.items ?? [], page?.next ?? null, take());
  }
}

/** Each customer's best verdict over the relationships of one page (several per customer are merged), with the evidence the chat shows. */
export function verdictRows(relationships: readonly GdapRelationship[], ctx: GdapContext, groupNames: ReadonlyMap<string, string>): GdapVerdictRow[] {
  const best = new Map<string, GdapVerdictRow>();
  for (const r of relationships) {
    const verdict = relationshipVerdict(r, ctx);
    const key = r.customer.tenantId.toLowerCase();
    const row = best.get(key) ?? { customerTenantId: key, relationshipIds: [], rank: RANK.none, reason: 'none', evidence: [] };
    row.relationshipIds.push(r.id);
    row.evidence.push(relationshipEvidence(r, ctx, groupNames));
    if (RANK[verdict] < row.rank) { row.rank = RANK[verdict]; row.reason = verdict === 'manageable' ? null : verdict; }
    best.set(key, row);
  }
  return [...best.values()];
}

/** The service account's security groups, transitively, all pages, lower-case id → name (app-only: GroupMember.Read.All is in the app's permissions). */
export async function accountGroups(graph: MicrosoftHttpClient, upn: string, signal?: AbortSignal): Promise<Map<string, string>> {
  const groups = new Map<string, string>();
  for await (const page of graph.graphPages(`/v1.0/users/${encodeURIComponent(upn)}/transitiveMemberOf/microsoft.graph.group`, {
    query: { $select: 'id,displayName', $top: 999, $count: 'true' }, headers: { ...EVENTUAL }, item: mapGroup, signal,
  })) {
    for (const g of page.items) groups.set(g.id.toLowerCase(), g.displayName);
  }
  return groups;
}

/** A Partner Center customer (`GET /v1/customers` item). */
export function mapCustomer(v: unknown): ListedCustomer {
  const c = v as { id?: unknown; companyProfile?: { tenantId?: unknown; domain?: unknown; companyName?: unknown } };
  const tenantId = c.companyProfile?.tenantId ?? c.id;
  if (typeof c.id !== 'string' || typeof tenantId !== 'string') throw new TypeError('a customer without id or tenant id');
  return {
    customerTenantId: tenantId.toLowerCase(), pcCustomerId: c.id,
    companyName: typeof c.companyProfile?.companyName === 'string' ? c.companyProfile.companyName : '',
    domain: typeof c.companyProfile?.domain === 'string' ? c.companyProfile.domain : null,
  };
}

/** Words for a failure no retry can fix, or undefined for one worth retrying. */
function stopWords(err: unknown): string | undefined {
  if (err instanceof SyncStopped) return err.words;
  const reason = (err as { reason?: string } | undefined)?.reason;
  if ((err as Error | undefined)?.name === 'PartnerTokenError') {
    if (reason === 'unavailable') return undefined;
    return reason === 'consent_broken' ? 'the service account\'s sign-in no longer works: sign in again (type **start**)' : 'the bot has no usable sign-in for your tenant';
  }
  if (isMicrosoftHttpError(err) && err.failure === 'status' && err.status !== undefined && err.status < 500 && err.status !== 429 && err.status !== 408) {
    const service = err.path.includes('/partnercenter') || err.path.startsWith('/v1/') ? 'Partner Center' : 'Microsoft Graph';
    return `${service} refused: HTTP ${err.status}${err.code !== undefined ? ` ${err.code}` : ''}${err.description ? ` (${err.description.slice(0, 120)})` : ''}`;
  }
  if (isMicrosoftHttpError(err) && err.failure === 'refused_link') return `a next-page link pointed elsewhere: ${err.description ?? ''}`;
  return undefined;
}

function shortReason(err: unknown): string {
  if (isMicrosoftHttpError(err)) return err.failure === 'status' ? `HTTP ${err.status ?? '?'}` : err.failure;
  return err instanceof Error ? err.message.split('\n')[0]!.slice(0, 120) : 'unknown error';
}
