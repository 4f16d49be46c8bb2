import pino, { type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from './config';

export type { Logger } from 'pino';

/** Field names whose values never reach a log line, at any depth. */
const SENSITIVE_KEY = /secret|password|passwd|token|authorization|cookie|credential|assertion|^code$|verifier|api[-_]?key|private[-_]?key/i;

/** Secret-looking fragments inside free text (messages, error messages, stacks, URLs). */
const SENSITIVE_TEXT: Array<[RegExp, string]> = [
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, '$1 [redacted]'],
  [/\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g, '[redacted-jwt]'],
  [/\b((?:client_secret|client_assertion|refresh_token|access_token|id_token|code|code_verifier|password|secret|token)=)[^&\s"']+/gi, '$1[redacted]'],
  [/(postgres(?:ql)?:\/\/[^:/\s]+:)[^@\s]+@/gi, '$1[redacted]@'],
];

const REDACTED = '[redacted]';

/**
 * Scrubs secrets out of everything a log line carries: sensitive field names, token-shaped text,
 * and any value registered as a secret (e.g. by the secret store) wherever it appears.
 */
export class Redactor {
  private readonly known = new Set<string>();
  private static readonly MAX_KNOWN = 10_000;

  /** Remember a secret value so it is scrubbed from any log text, whatever field carries it. */
  addSecret(value: string): void {
    // Very short values would scrub ordinary words; they are caught by field name instead.
    if (value.length < 8 || this.known.size >= Redactor.MAX_KNOWN) return;
    this.known.add(value);
  }

  text(s: string): string {
    let out = s;
    for (const [re, rep] of SENSITIVE_TEXT) out = out.replace(re, rep);
    for (const secret of this.known) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    return out;
  }

  value(v: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
    if (typeof v === 'string') return this.text(v);
    if (v === null || typeof v !== 'object') return v;
    if (depth > 8 || seen.has(v)) return '[truncated]';
    seen.add(v);
    if (Array.isArray(v)) return v.map((x) => this.value(x, depth + 1, seen));
    if (v instanceof Error) return this.value(serializeError(v), depth + 1, seen);
    if (Buffer.isBuffer(v)) return `[${v.length} bytes]`;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      out[k] = SENSITIVE_KEY.test(k) && x !== undefined && x !== null && typeof x !== 'boolean' ? REDACTED : this.value(x, depth + 1, seen);
    }
    return out;
  }
}

/** Errors as plain data: type, our code, message, stack and cause chain. No custom fields copied blindly. */
export function serializeError(err: Error): Record<string, unknown> {
  const out: Record<string, unknown> = { type: err.name, message: err.message, stack: err.stack };
  const e = err as Error & { code?: unknown; statusCode?: unknown };
  if (typeof e.code === 'string' || typeof e.code === 'number') out.errorCode = e.code;
  if (typeof e.statusCode === 'number') out.statusCode = e.statusCode;
  if (err.cause instanceof Error) out.cause = serializeError(err.cause);
  return out;
}

export interface LoggerOptions {
  level: LogLevel;
  redactor?: Redactor;
  /** Where lines go; stdout by default. Tests pass a stream to read them. */
  destination?: DestinationStream;
}

/** Structured JSON logs; every object and message passes through the redactor before it is written. */
export function createLogger(options: LoggerOptions): { logger: Logger; redactor: Redactor } {
  const redactor = options.redactor ?? new Redactor();
  const logger = pino(
    {
      level: options.level,
      base: { service: 'partner-onboarding-bot' },
      timestamp: pino.stdTimeFunctions.isoTime,
      messageKey: 'msg',
      formatters: {
        level: (label) => ({ level: label }),
        log: (obj) => redactor.value(obj) as Record<string, unknown>,
      },
      // pino's own err serializer would copy every enumerable field of an error (request configs
      // with headers included); ours keeps only safe ones, and the formatter scrubs the text.
      serializers: { err: (e: unknown) => (e instanceof Error ? serializeError(e) : e) },
      hooks: {
        logMethod(args, method) {
          // pino turns `log(error)` into a message from error.message after the formatters ran.
          const [first, ...rest] = args as unknown[];
          const normalized = first instanceof Error ? [{ err: first }, ...(rest.length > 0 ? rest : [first.message])] : args;
          const scrubbed = normalized.map((a) => (typeof a === 'string' ? redactor.text(a) : a)) as Parameters<typeof method>;
          method.apply(this, scrubbed);
        },
      },
    },
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
  // Child bindings are serialized once, when the child is made, and skip the log formatter:
  // scrub them on the way in. Children inherit this override, so grandchildren are covered too.
  const protoChild = (Object.getPrototypeOf(logger) as Logger).child;
  logger.child = function child(this: Logger, bindings, childOptions) {
    return protoChild.call(this, redactor.value(bindings) as typeof bindings, childOptions);
  } as Logger['child'];
  return { logger, redactor };
}
