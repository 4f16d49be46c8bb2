import type { IncomingMessage } from 'node:http';

/** Why a request body was refused, with the HTTP status it gets. */
export class BodyError extends Error {
  constructor(readonly status: 400 | 413 | 415, readonly reason: string) {
    super(reason);
    this.name = 'BodyError';
  }
}

/** The media type of a request, lower-cased, without parameters (`application/json; charset=utf-8` → `application/json`). */
export function mediaTypeOf(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}

/**
 * Reads a request body into memory, refusing it before the first byte when its media type is not
 * `accept`, and as soon as it passes `limitBytes`. Nothing is ever written to disk (restify's
 * bodyParser would store multipart uploads in the temp folder before any authentication).
 */
export async function readBody(req: IncomingMessage, accept: string, limitBytes: number): Promise<string> {
  if (mediaTypeOf(req) !== accept) {
    req.resume();
    throw new BodyError(415, `expected ${accept}`);
  }
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > limitBytes) {
    req.resume();
    throw new BodyError(413, `the body is larger than ${limitBytes} bytes`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limitBytes) {
      req.resume();
      throw new BodyError(413, `the body is larger than ${limitBytes} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A JSON object body (arrays, scalars and malformed JSON are refused with 400). */
export async function readJsonObject(req: IncomingMessage, limitBytes: number): Promise<Record<string, unknown>> {
  const text = await readBody(req, 'application/json', limitBytes);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new BodyError(400, 'the body is not valid JSON');
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new BodyError(400, 'the body must be a JSON object');
  return parsed as Record<string, unknown>;
}

/** An HTML form post (`application/x-www-form-urlencoded`), small. */
export async function readForm(req: IncomingMessage, limitBytes: number): Promise<URLSearchParams> {
  return new URLSearchParams(await readBody(req, 'application/x-www-form-urlencoded', limitBytes));
}
