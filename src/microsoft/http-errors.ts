/** Why a Microsoft call failed: an HTTP status, no answer in time, a broken connection, an answer we could not read, or a link we refused to follow. */
export type MicrosoftFailure = 'status' | 'timeout' | 'network' | 'invalid_response' | 'refused_link';

export interface MicrosoftHttpErrorDetails {
  failure: MicrosoftFailure;
  method: string;
  /** Path only: never the query string (it may carry secrets or continuation state). */
  path: string;
  status?: number;
  /** Graph `error.code`, Partner Center `code` (a number or a string), Entra ID `error`. */
  code?: string | number;
  /** The service's own description, shortened and scrubbed of tokens and secrets. */
  description?: string;
  /** `request-id` / `client-request-id` (Graph), `MS-RequestId` / `MS-CorrelationId` (Partner Center). */
  requestId?: string;
  /** What the last answer's `Retry-After` asked for, in ms. */
  retryAfterMs?: number;
  /** Round-trips made, the first one included. */
  attempts: number;
  cause?: unknown;
}

/**
 * A failed call to Graph, Partner Center or Entra ID after the retry policy gave up. The message
 * names method, path, status, code and a short description only: never the bearer token, the query
 * string or the response body.
 */
export class MicrosoftHttpError extends Error {
  readonly failure: MicrosoftFailure;
  readonly method: string;
  readonly path: string;
  readonly status?: number;
  readonly code?: string | number;
  readonly description?: string;
  readonly requestId?: string;
  readonly retryAfterMs?: number;
  readonly attempts: number;
  /** Safe to show in chat: says nothing about the upstream answer. */
  readonly userMessage: string;

  constructor(d: MicrosoftHttpErrorDetails) {
    super(describe(d), { cause: d.cause });
    this.name = 'MicrosoftHttpError';
    this.failure = d.failure;
    this.method = d.method;
    this.path = d.path;
    this.status = d.status;
    this.code = d.code;
    this.description = d.description;
    this.requestId = d.requestId;
    this.retryAfterMs = d.retryAfterMs;
    this.attempts = d.attempts;
    this.userMessage = d.failure === 'status' && d.status !== undefined && d.status < 500 && d.status !== 429 && d.status !== 408
      ? 'Microsoft refused that request.'
      : 'Microsoft did not answer properly just now. Please try again in a few minutes.';
  }

  /** Throttled (429) or unavailable (503): the server did not do the work and said so. */
  get throttled(): boolean {
    return this.status === 429 || this.status === 503;
  }
}

export function isMicrosoftHttpError(err: unknown): err is MicrosoftHttpError {
  return err instanceof MicrosoftHttpError;
}

function describe(d: MicrosoftHttpErrorDetails): string {
  const what = d.failure === 'status' ? `HTTP ${d.status ?? '?'}`
    : d.failure === 'timeout' ? 'timed out'
      : d.failure === 'network' ? 'network error'
        : d.failure === 'invalid_response' ? 'unreadable response'
          : 'refused link';
  const parts = [`${d.method} ${d.path} failed: ${what}`];
  if (d.code !== undefined) parts.push(String(d.code));
  if (d.description) parts.push(`(${d.description})`);
  parts.push(`after ${d.attempts} attempt${d.attempts === 1 ? '' : 's'}`);
  if (d.retryAfterMs !== undefined) parts.push(`retry-after ${d.retryAfterMs} ms`);
  if (d.requestId) parts.push(`request-id ${d.requestId}`);
  return parts.join(' ');
}

const MAX_DESCRIPTION = 160;

/**
 * Reads the code and description from the three error shapes we meet:
 * Graph `{error: {code, message}}` (https://learn.microsoft.com/en-us/graph/errors),
 * Partner Center `{code, description, source}` and its 429 `{statusCode, message}`
 * (https://learn.microsoft.com/en-us/partner-center/developer/error-codes), and Entra ID
 * `{error, error_description, error_codes}`.
 */
export function readServiceError(body: unknown): { code?: string | number; description?: string } {
  if (typeof body !== 'object' || body === null) return {};
  const b = body as Record<string, unknown>;
  if (typeof b.error === 'object' && b.error !== null) {
    const e = b.error as Record<string, unknown>;
    return { code: asCode(e.code), description: asText(e.message) };
  }
  if (typeof b.error === 'string') {
    // Entra descriptions end in trace and correlation ids and a timestamp: keep the sentence.
    const text = asText(b.error_description)?.split(/\s+Trace ID:/)[0];
    return { code: b.error, description: text };
  }
  if (b.code !== undefined) return { code: asCode(b.code), description: asText(b.description) ?? asText(b.message) };
  return { description: asText(b.message) };
}

function asCode(v: unknown): string | number | undefined {
  return typeof v === 'string' || typeof v === 'number' ? v : undefined;
}

function asText(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() ? v.trim() : undefined;
}

const JWT = /eyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]*/g;
const BEARER = /\bBearer\s+\S+/gi;
const KEY_VALUE = /\b(client_secret|secret|password|assertion|refresh_token|access_token|code|token)=([^&\s]+)/gi;

/** Shortens a service description and removes bearer tokens, JWTs, `secret=…` pairs and every given secret. */
export function scrub(text: string | undefined, secrets: readonly string[]): string | undefined {
  if (!text) return undefined;
  let out = text;
  for (const s of secrets) if (s.length >= 6) out = out.split(s).join('[redacted]');
  out = out.replace(JWT, '[redacted]').replace(BEARER, 'Bearer [redacted]').replace(KEY_VALUE, '$1=[redacted]');
  out = out.replace(/\s+/g, ' ').trim();
  return out.length > MAX_DESCRIPTION ? `${out.slice(0, MAX_DESCRIPTION - 1)}…` : out;
}
