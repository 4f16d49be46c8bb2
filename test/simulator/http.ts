import type { IncomingHttpHeaders } from 'node:http';

/** One request as a simulator service sees it: body already read, URL absolute. */
export interface SimRequest {
  method: string;
  url: URL;
  /** The path below the service prefix (e.g. `/v1.0/users` for `/graph/v1.0/users`). */
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** Route parameters from `:name` segments of the pattern. */
  params: Record<string, string>;
}

export interface SimReply {
  status: number;
  headers?: Record<string, string>;
  /** Objects are sent as JSON; strings and Buffers as they are (set content-type yourself). */
  body?: unknown;
}

export type Handler = (req: SimRequest) => SimReply | Promise<SimReply>;

interface Route {
  method: string;
  segments: string[];
  handler: Handler;
}

/** Tiny path router: patterns like `/v1.0/users/:id/transitiveMemberOf`; `*rest` captures the tail. */
export class Router {
  private readonly routes: Route[] = [];

  add(method: string, pattern: string, handler: Handler): this {
    this.routes.push({ method: method.toUpperCase(), segments: pattern.split('/').filter(Boolean), handler });
    return this;
  }

  get(pattern: string, handler: Handler): this { return this.add('GET', pattern, handler); }
  post(pattern: string, handler: Handler): this { return this.add('POST', pattern, handler); }
  put(pattern: string, handler: Handler): this { return this.add('PUT', pattern, handler); }
  patch(pattern: string, handler: Handler): this { return this.add('PATCH', pattern, handler); }
  delete(pattern: string, handler: Handler): this { return this.add('DELETE', pattern, handler); }

  /** Finds the handler for a path; `undefined` when nothing matches, `'method'` when only the method is wrong. */
  match(method: string, path: string): { handler: Handler; params: Record<string, string> } | 'method' | undefined {
    const parts = path.split('/').filter(Boolean).map((p) => decodeURIComponent(p));
    let methodMismatch = false;
    for (const route of this.routes) {
      const params = matchSegments(route.segments, parts);
      if (!params) continue;
      if (route.method !== method.toUpperCase()) { methodMismatch = true; continue; }
      return { handler: route.handler, params };
    }
    return methodMismatch ? 'method' : undefined;
  }
}

function matchSegments(pattern: string[], parts: string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const seg = pattern[i]!;
    if (seg.startsWith('*')) {
      params[seg.slice(1)] = parts.slice(i).join('/');
      return params;
    }
    const part = parts[i];
    if (part === undefined) return undefined;
    if (seg.startsWith(':')) params[seg.slice(1)] = part;
    else if (seg.toLowerCase() !== part.toLowerCase()) return undefined;
  }
  return parts.length === pattern.length ? params : undefined;
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): SimReply {
  return { status, headers: { 'content-type': 'application/json; charset=utf-8', ...headers }, body };
}

/** Graph / Bot Connector style error body: `{ error: { code, message } }`. */
export function odataError(status: number, code: string, message: string, headers: Record<string, string> = {}): SimReply {
  return json(status, { error: { code, message, innerError: { date: new Date().toISOString(), 'request-id': crypto.randomUUID() } } }, headers);
}

/** Entra ID token endpoint error body, with the AADSTS code in `error_description` and `error_codes`. */
export function aadError(status: number, error: string, aadsts: number, description: string): SimReply {
  const traceId = crypto.randomUUID();
  const correlationId = crypto.randomUUID();
  return json(status, {
    error,
    error_description: `AADSTS${aadsts}: ${description} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${new Date().toISOString().replace('T', ' ').slice(0, 19)}Z`,
    error_codes: [aadsts],
    timestamp: new Date().toISOString().replace('T', ' ').slice(0, 19) + 'Z',
    trace_id: traceId,
    correlation_id: correlationId,
  });
}

export function readJson<T = unknown>(req: SimRequest): T | undefined {
  if (req.body.length === 0) return undefined;
  try {
    return JSON.parse(req.body.toString('utf8')) as T;
  } catch {
    return undefined;
  }
}

export function readForm(req: SimRequest): URLSearchParams {
  return new URLSearchParams(req.body.toString('utf8'));
}

/** The bearer token of a request, or undefined. */
export function bearer(req: SimRequest): string | undefined {
  const h = req.headers.authorization;
  if (!h) return undefined;
  const m = /^Bearer\s+(.+)$/i.exec(h);
  return m?.[1];
}
