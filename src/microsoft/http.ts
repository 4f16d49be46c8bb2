import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { z } from 'zod';
import type { TokenCredential } from './credential';
import { MicrosoftHttpError, readServiceError, scrub } from './http-errors';

/**
 * The one HTTP layer for Microsoft Graph, Partner Center and Entra ID: one timeout per attempt,
 * retries only for what is retryable, `Retry-After` honoured, typed errors that carry no secret,
 * a telemetry hook per round-trip, and paging for Graph and Partner Center collections.
 */

/** A function provider may be asked for a fresh token (after a 401) with `forceRefresh`. */
export type AccessTokenFunction = (scopes: string[], options: { forceRefresh: boolean; signal?: AbortSignal }) => Promise<string>;
export type TokenProvider = AccessTokenFunction | TokenCredential;

/** A zod schema or a plain mapper from the parsed JSON body. */
export type Parser<T> = z.ZodType<T> | ((body: unknown) => T);

/** One per round-trip that got an answer, timed out or broke; none for a round-trip the caller aborted. */
export interface AttemptEvent {
  method: string;
  /** Path only, no query. */
  path: string;
  /** Undefined when no answer came (timeout, network error). */
  status?: number;
  /** 1 for the first round-trip. */
  attempt: number;
  /** How long the layer waits before the next attempt; 0 when it will not retry. */
  waitMs: number;
  failure?: 'timeout' | 'network';
  /** Partner Center: the `MS-RequestId` and `MS-CorrelationId` sent, for the log (support quotes them to Microsoft). */
  msRequestId?: string;
  msCorrelationId?: string;
}

export interface MicrosoftHttpClientOptions {
  /** `https://graph.microsoft.com`, `https://api.partnercenter.microsoft.com`, or the simulator's. */
  baseUrl: string;
  tokenProvider: TokenProvider;
  /** Scopes asked of the provider, e.g. `['https://graph.microsoft.com/.default']`. */
  scopes: string[];
  userAgent?: string;
  /** Per attempt, not per call. Default 30 s. */
  timeoutMs?: number;
  /** Retries after the first attempt. Default 4. */
  maxRetries?: number;
  /** Longest single wait. A `Retry-After` above it is not waited out: the call fails with `retryAfterMs`. Default 60 s. */
  maxRetryWaitMs?: number;
  /** Total time a call may spend, waits included; no retry starts that would end past it. Default 120 s. */
  retryBudgetMs?: number;
  /** First backoff step without `Retry-After`; doubles each retry. Default 500 ms. */
  baseDelayMs?: number;
  /** With a function provider: retry a 401 once with `forceRefresh: true`. Default false. */
  refreshTokenOn401?: boolean;
  /**
   * Request-id headers to send. `graph`: `client-request-id`. `partner-center`: `MS-Contract-Version:
   * v1` (listed as required), `MS-RequestId` (the same on every retry of one call, as Partner
   * Center asks) and `MS-CorrelationId` (new for every call), both reported in `onAttempt`.
   * https://learn.microsoft.com/en-us/partner-center/developer/headers
   */
  requestIds?: 'graph' | 'partner-center';
  onAttempt?: (event: AttemptEvent) => void;
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** [0, 1) for jitter. */
  random?: () => number;
}

export type QueryValue = string | number | boolean | undefined;

export interface RequestOptions<T> {
  /** Keys are sent as written (`$top`, `$filter`), values URL-encoded. */
  query?: Record<string, QueryValue>;
  headers?: Record<string, string>;
  /** Objects go as JSON; strings and URLSearchParams as they are. */
  body?: unknown;
  signal?: AbortSignal;
  parse?: Parser<T>;
  /** Statuses that count as success. Default: any 2xx. */
  expect?: readonly number[];
  /** Marks a POST/PATCH safe to repeat, so timeouts and 5xx are retried for it too. */
  idempotent?: boolean;
}

export interface HttpResponse<T> {
  status: number;
  headers: Headers;
  data: T;
  requestId?: string;
  attempts: number;
}

/** One page of a collection and, when there is one, the cursor of the next page. */
export interface Page<T, C> {
  items: T[];
  next?: C;
}

/** Partner Center's `links.next`: `uri` relative to `/v1` or including it, headers sent back verbatim. */
export interface PartnerCenterLink {
  uri: string;
  method?: string;
  headers?: Array<{ key: string; value: string }>;
}

export interface PageOptions<T> {
  query?: Record<string, QueryValue>;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  item: Parser<T>;
}

/**
 * Graph: 429 always, 503 and 504 are transient ("retry after a delay, which may be given in
 * Retry-After"): https://learn.microsoft.com/en-us/graph/throttling and
 * https://learn.microsoft.com/en-us/graph/errors. Partner Center: 429 with Retry-After, limits are
 * dynamic: https://learn.microsoft.com/en-us/partner-center/developer/api-throttling-guidance.
 * 429 and 503 mean the server did not do the work, so even a POST may go again. 412 is not here:
 * for Graph and Partner Center it is a stale `If-Match` ETag, which a retry cannot fix.
 */
const THROTTLED = new Set([429, 503]);
/**
 * Timeouts, broken connections and these statuses may have done the work, so they are retried only
 * for idempotent methods (or a caller who says the call is): retrying a non-idempotent operation
 * can apply it twice. https://learn.microsoft.com/en-us/azure/well-architected/reliability/handle-transient-faults
 */
const TRANSIENT = new Set([408, 500, 502, 503, 504]);
const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);

/** undici and Node socket errors worth another try; TLS and DNS "no such host" errors are not. */
const RETRYABLE_NETWORK_CODES = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH',
  'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CLOSED',
]);

/** Headers a response may not make us send (from Partner Center's `links.next.headers`). */
const FORBIDDEN_LINK_HEADERS = new Set(['authorization', 'host', 'cookie', 'content-length']);

type Outcome =
  | { kind: 'response'; status: number; headers: Headers; text: string }
  | { kind: 'timeout'; cause: unknown }
  | { kind: 'network'; cause: unknown; retryable: boolean };

export class MicrosoftHttpClient {
  private readonly base: URL;
  private readonly timeoutMs: number;
  private readonly maxRetries: number;
  private readonly maxRetryWaitMs: number;
  private readonly retryBudgetMs: number;
  private readonly baseDelayMs: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly random: () => number;

  constructor(private readonly options: MicrosoftHttpClientOptions) {
    this.base = new URL(options.baseUrl.replace(/\/+$/, ''));
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.maxRetries = options.maxRetries ?? 4;
    this.maxRetryWaitMs = options.maxRetryWaitMs ?? 60_000;
    this.retryBudgetMs = options.retryBudgetMs ?? 120_000;
    this.baseDelayMs = options.baseDelayMs ?? 500;
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? sleepUnlessAborted;
    this.random = options.random ?? Math.random;
  }

  /** `path` is relative to the base URL (`/v1.0/users`, `/v1/customers`). */
  async request<T = unknown>(method: string, path: string, options: RequestOptions<T> = {}): Promise<HttpResponse<T>> {
    if (/^[a-z][a-z0-9+.-]*:/i.test(path)) throw new TypeError('request() takes a path relative to the base URL');
    return this.send(method.toUpperCase(), this.resolve(path, options.query), options);
  }

  /**
   * Graph collection pages, one held at a time. `@odata.nextLink` is used whole, as Graph asks
   * (https://learn.microsoft.com/en-us/graph/paging), but only on the base URL's host and path:
   * a link elsewhere would get our bearer token, so it is refused. `resumeFrom` continues from a
   * saved `next`.
   */
  async *graphPages<T>(path: string, options: PageOptions<T> & { resumeFrom?: string }): AsyncGenerator<Page<T, string>> {
    let url = options.resumeFrom !== undefined ? this.sameService(options.resumeFrom, 'GET', path) : this.resolve(path, options.query);
    for (;;) {
      const res = await this.send<{ value: unknown[]; next?: string }>('GET', url, {
        headers: options.headers, signal: options.signal, parse: graphEnvelope,
      });
      const next = res.data.next;
      yield { items: res.data.value.map((v) => runParser(options.item, v)), next };
      if (next === undefined) return;
      url = this.sameService(next, 'GET', url.pathname);
    }
  }

  /**
   * Partner Center collection pages (`GET /v1/customers?size=N`, then `links.next`). The link's
   * `uri` comes relative to `/v1` or with it; both are normalised. Its headers
   * (`MS-ContinuationToken`, which holds `/ = , +`) go back verbatim, never URL-encoded:
   * https://learn.microsoft.com/en-us/partner-center/developer/get-a-list-of-customers
   */
  async *partnerCenterPages<T>(path: string, options: PageOptions<T> & { resumeFrom?: PartnerCenterLink }): AsyncGenerator<Page<T, PartnerCenterLink>> {
    let link = options.resumeFrom;
    let url = link ? this.partnerCenterLink(link.uri, path) : this.resolve(path, options.query);
    for (;;) {
      const headers = { ...options.headers };
      for (const h of link?.headers ?? []) if (!FORBIDDEN_LINK_HEADERS.has(h.key.toLowerCase())) headers[h.key] = h.value;
      const res = await this.send<{ items: unknown[]; next?: PartnerCenterLink }>((link?.method ?? 'GET').toUpperCase(), url, {
        headers, signal: options.signal, parse: partnerCenterEnvelope,
      });
      link = res.data.next;
      yield { items: res.data.items.map((v) => runParser(options.item, v)), next: link };
      if (!link) return;
      url = this.partnerCenterLink(link.uri, url.pathname);
    }
  }

  private resolve(path: string, query?: Record<string, QueryValue>): URL {
    const url = new URL(`${this.base.href.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`);
    const pairs: string[] = url.search ? [url.search.slice(1)] : [];
    for (const [k, v] of Object.entries(query ?? {})) {
      if (v === undefined) continue;
      pairs.push(`${encodeURIComponent(k).replace(/%24/g, '$')}=${encodeURIComponent(String(v))}`);
    }
    url.search = pairs.join('&');
    return url;
  }

  /** An absolute link from a response: followed only on our own origin and below our base path. */
  private sameService(link: string, method: string, fromPath: string): URL {
    let url: URL;
    try {
      url = new URL(link, this.base);
    } catch {
      throw new MicrosoftHttpError({ failure: 'refused_link', method, path: fromPath, description: 'next link is not a URL', attempts: 0 });
    }
    const basePath = this.base.pathname.replace(/\/+$/, '');
    if (url.origin !== this.base.origin || !(url.pathname === basePath || url.pathname.startsWith(`${basePath}/`))) {
      throw new MicrosoftHttpError({
        failure: 'refused_link', method, path: fromPath, attempts: 0,
        description: `next link points to ${url.host}, not ${this.base.host}${basePath}`,
      });
    }
    return url;
  }

  private partnerCenterLink(uri: string, fromPath: string): URL {
    if (/^https?:/i.test(uri)) return this.sameService(uri, 'GET', fromPath);
    const rel = uri.startsWith('/') ? uri : `/${uri}`;
    return this.sameService(`${this.base.href.replace(/\/+$/, '')}${/^\/v1(\/|\?|$)/i.test(rel) ? '' : '/v1'}${rel}`, 'GET', fromPath);
  }

  private async send<T>(method: string, url: URL, options: RequestOptions<T>): Promise<HttpResponse<T>> {
    const started = this.now();
    const path = url.pathname;
    const signal = options.signal;
    const idempotent = options.idempotent ?? IDEMPOTENT_METHODS.has(method);
    const callId = randomUUID();
    const correlationId = randomUUID();
    const ids = this.options.requestIds === 'partner-center' ? { msRequestId: callId, msCorrelationId: correlationId } : {};
    let forceRefresh = false;
    for (let attempt = 1; ; attempt++) {
      signal?.throwIfAborted();
      const token = await this.token(forceRefresh, signal);
      forceRefresh = false;
      const outcome = await this.attempt(method, url, token, callId, correlationId, options);
      signal?.throwIfAborted();

      if (outcome.kind === 'response' && isExpected(outcome.status, options.expect)) {
        this.options.onAttempt?.({ method, path, status: outcome.status, attempt, waitMs: 0, ...ids });
        return {
          status: outcome.status, headers: outcome.headers, requestId: requestIdOf(outcome.headers), attempts: attempt,
          data: this.parseBody(outcome, options.parse, { method, path, attempt, secrets: secretsOf(token, url) }),
        };
      }

      const failure = this.failureOf(outcome, { method, path, attempt, secrets: secretsOf(token, url) });
      let wait: number | undefined;
      if (outcome.kind === 'response') {
        const { status } = outcome;
        if (status === 401 && attempt === 1 && this.options.refreshTokenOn401 && typeof this.options.tokenProvider === 'function') {
          forceRefresh = true;
          wait = 0;
        } else if (THROTTLED.has(status) || (idempotent && TRANSIENT.has(status))) {
          wait = failure.retryAfterMs ?? this.backoff(attempt);
        }
      } else if (idempotent && (outcome.kind === 'timeout' || outcome.retryable)) {
        wait = this.backoff(attempt);
      }
      // A Retry-After above the cap is not cut short: Graph asks not to retry early, as every
      // request counts against the limit (https://learn.microsoft.com/en-us/graph/throttling).
      // Beyond the cap or the budget the call fails with retryAfterMs; a job can reschedule.
      if (wait !== undefined && (attempt > this.maxRetries || wait > this.maxRetryWaitMs
        || this.now() - started + wait > this.retryBudgetMs)) wait = undefined;

      this.options.onAttempt?.({
        method, path, attempt, waitMs: wait ?? 0,
        status: outcome.kind === 'response' ? outcome.status : undefined,
        failure: outcome.kind === 'response' ? undefined : outcome.kind,
        ...ids,
      });
      if (wait === undefined) throw new MicrosoftHttpError(failure);
      if (wait > 0) await this.sleep(wait, signal);
    }
  }

  /**
   * Without Retry-After, exponential backoff (https://learn.microsoft.com/en-us/graph/throttling)
   * with full jitter, uniform in [0, min(cap, base·2^(attempt−1))], so clients that failed together
   * do not retry together (https://learn.microsoft.com/en-us/azure/well-architected/reliability/handle-transient-faults).
   */
  private backoff(attempt: number): number {
    const ceiling = Math.min(this.maxRetryWaitMs, this.baseDelayMs * 2 ** (attempt - 1));
    return Math.floor(this.random() * ceiling);
  }

  private async token(forceRefresh: boolean, signal?: AbortSignal): Promise<string> {
    const provider = this.options.tokenProvider;
    if (typeof provider === 'function') return provider(this.options.scopes, { forceRefresh, signal });
    const token = await provider.getToken(this.options.scopes, { abortSignal: signal });
    if (!token?.token) throw new TypeError('the credential returned no access token');
    return token.token;
  }

  private async attempt<T>(method: string, url: URL, token: string, callId: string, correlationId: string, options: RequestOptions<T>): Promise<Outcome> {
    const headers = new Headers({ Accept: 'application/json' });
    if (this.options.userAgent) headers.set('User-Agent', this.options.userAgent);
    if (this.options.requestIds === 'partner-center') {
      // MS-Contract-Version is required; MS-RequestId stays the same on a retry so Partner Center
      // can de-duplicate it; MS-CorrelationId is reset for every call:
      // https://learn.microsoft.com/en-us/partner-center/developer/headers
      headers.set('MS-Contract-Version', 'v1');
      headers.set('MS-RequestId', callId);
      headers.set('MS-CorrelationId', correlationId);
    } else if (this.options.requestIds === 'graph') {
      headers.set('client-request-id', callId);
    }
    for (const [k, v] of Object.entries(options.headers ?? {})) headers.set(k, v);
    headers.set('Authorization', `Bearer ${token}`);
    let body: string | URLSearchParams | undefined;
    if (options.body !== undefined) {
      if (typeof options.body === 'string' || options.body instanceof URLSearchParams) body = options.body;
      else {
        body = JSON.stringify(options.body);
        if (!headers.has('content-type')) headers.set('Content-Type', 'application/json');
      }
    }
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    try {
      // No redirects: a Location elsewhere must not receive the bearer token.
      const res = await fetch(url, { method, headers, body, signal, redirect: 'manual' });
      // The body is read under the same per-attempt timeout.
      const text = await res.text();
      return { kind: 'response', status: res.status, headers: res.headers, text };
    } catch (err) {
      if (options.signal?.aborted) throw options.signal.reason;
      if (timeout.aborted) return { kind: 'timeout', cause: err };
      return { kind: 'network', cause: err, retryable: isRetryableNetworkError(err) };
    }
  }

  private failureOf(outcome: Outcome, at: { method: string; path: string; attempt: number; secrets: string[] }): ConstructorParameters<typeof MicrosoftHttpError>[0] {
    const base = { method: at.method, path: at.path, attempts: at.attempt };
    if (outcome.kind === 'timeout') return { ...base, failure: 'timeout', description: `no answer within ${this.timeoutMs} ms`, cause: outcome.cause };
    if (outcome.kind === 'network') return { ...base, failure: 'network', description: networkCode(outcome.cause), cause: outcome.cause };
    const { code, description } = readServiceError(safeJson(outcome.text));
    return {
      ...base, failure: 'status', status: outcome.status, code, description: scrub(description, at.secrets),
      requestId: requestIdOf(outcome.headers), retryAfterMs: parseRetryAfter(outcome.headers.get('retry-after'), this.now()),
    };
  }

  private parseBody<T>(outcome: Extract<Outcome, { kind: 'response' }>, parser: Parser<T> | undefined, at: { method: string; path: string; attempt: number; secrets: string[] }): T {
    const body = outcome.text === '' ? undefined : safeJson(outcome.text);
    if (!parser) return body as T;
    try {
      return runParser(parser, body);
    } catch (err) {
      throw new MicrosoftHttpError({
        failure: 'invalid_response', method: at.method, path: at.path, status: outcome.status, attempts: at.attempt,
        requestId: requestIdOf(outcome.headers), description: 'the answer did not have the expected shape', cause: err,
      });
    }
  }
}

/**
 * `Retry-After` is delay-seconds or an HTTP-date (RFC 9110 §10.2.3); a date in the past means now.
 * Returns ms, or undefined when absent or unreadable.
 */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Waits, but a caller's abort ends the wait at once with the caller's own reason. */
async function sleepUnlessAborted(ms: number, signal?: AbortSignal): Promise<void> {
  try {
    await delay(ms, undefined, { signal });
  } catch (err) {
    signal?.throwIfAborted();
    throw err;
  }
}

function isExpected(status: number, expect: readonly number[] | undefined): boolean {
  return expect ? expect.includes(status) : status >= 200 && status < 300;
}

function requestIdOf(h: Headers): string | undefined {
  return h.get('request-id') ?? h.get('client-request-id') ?? h.get('ms-requestid') ?? h.get('ms-correlationid') ?? undefined;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function runParser<T>(parser: Parser<T>, body: unknown): T {
  return typeof parser === 'function' ? parser(body) : parser.parse(body);
}

/** The token, the query string and every query value, raw and decoded: none of them may reach an error message. */
function secretsOf(token: string, url: URL): string[] {
  const raw = url.search.slice(1).split('&').flatMap((p) => p.split('=').slice(1));
  return [token, url.search, ...raw, ...url.searchParams.values()].filter((s) => s.length > 0).sort((a, b) => b.length - a.length);
}

function causeChain(err: unknown): Array<{ code?: unknown; message?: unknown }> {
  const out: Array<{ code?: unknown; message?: unknown }> = [];
  let e: unknown = err;
  for (let i = 0; i < 5 && typeof e === 'object' && e !== null; i++) {
    out.push(e as { code?: unknown; message?: unknown });
    e = (e as { cause?: unknown }).cause;
  }
  return out;
}

/** undici throws `TypeError: fetch failed` with the socket error as its cause. */
export function isRetryableNetworkError(err: unknown): boolean {
  return causeChain(err).some((e) => (typeof e.code === 'string' && RETRYABLE_NETWORK_CODES.has(e.code))
    || (typeof e.message === 'string' && /socket hang up|other side closed/i.test(e.message)));
}

function networkCode(err: unknown): string {
  const coded = causeChain(err).map((e) => e.code).filter((c): c is string => typeof c === 'string');
  return coded.at(-1) ?? 'connection failed';
}

function graphEnvelope(body: unknown): { value: unknown[]; next?: string } {
  const b = body as { value?: unknown; '@odata.nextLink'?: unknown } | undefined;
  if (!b || !Array.isArray(b.value)) throw new TypeError('not a Graph collection');
  const next = b['@odata.nextLink'];
  return { value: b.value, next: typeof next === 'string' && next ? next : undefined };
}

function partnerCenterEnvelope(body: unknown): { items: unknown[]; next?: PartnerCenterLink } {
  const b = body as { items?: unknown; links?: { next?: unknown } } | undefined;
  if (!b || !Array.isArray(b.items)) throw new TypeError('not a Partner Center collection');
  const n = b.links?.next as { uri?: unknown; method?: unknown; headers?: unknown } | undefined;
  if (!n || typeof n.uri !== 'string' || !n.uri) return { items: b.items };
  const headers = Array.isArray(n.headers)
    ? n.headers.filter((h): h is { key: string; value: string } => typeof h?.key === 'string' && typeof h?.value === 'string')
    : [];
  return { items: b.items, next: { uri: n.uri, method: typeof n.method === 'string' ? n.method : 'GET', headers } };
}
