import pino, { type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from './config';

export type { Logger } from 'pino';

/**
 * Field names whose values never reach a log line, at any depth and inside text (`name=value`,
 * `name: value`, `"name":"value"`). Long stems match anywhere in a name (fail closed); short words
 * match only as whole words of the name, and not when its last word says it is metadata about a
 * secret (`keyId`, `keyStore`, `signatureAlgorithm`).
 */
const SECRET_STEM = /secret|passw|token|authorization|cookie|credential|assertion|verifier|api[-_]?key|private[-_]?key|passphrase|passcode/i;
const SECRET_WORDS = new Set(['pwd', 'pass', 'key', 'keys', 'sig', 'signature', 'otp', 'totp', 'hotp', 'pin']);
const METADATA_WORDS = new Set(['id', 'ids', 'name', 'names', 'type', 'kind', 'url', 'uri', 'version', 'alg', 'algorithm', 'length', 'size', 'count', 'store', 'vault', 'file', 'path', 'hint', 'format', 'expiry', 'expires', 'at']);
/** `code` alone or qualified as a one-time code; `errorCode`, `statusCode`, `countryCode` are not secrets. */
const SECRET_CODE = /^(?:(?:auth(?:orization)?|verification|verify|otp|mfa|sms|device|user|one[-_]?time|recovery|reset|security|activation|pairing)[-_]?)?code$/i;

function words(name: string): string[] {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2').toLowerCase().split(/[^a-z0-9]+/).filter(Boolean);
}

function isSecretNameUncached(name: string): boolean {
  if (SECRET_STEM.test(name) || SECRET_CODE.test(name)) return true;
  const w = words(name);
  return w.some((x) => SECRET_WORDS.has(x)) && !METADATA_WORDS.has(w[w.length - 1]!);
}

const nameCache = new Map<string, boolean>();
/** Whether a field called `name` holds a secret. */
export function isSecretName(name: string): boolean {
  let hit = nameCache.get(name);
  if (hit === undefined) {
    hit = isSecretNameUncached(name);
    // Names can come from logged data: keep the cache bounded.
    if (nameCache.size >= 2_000) nameCache.clear();
    nameCache.set(name, hit);
  }
  return hit;
}

/** Secret-looking fragments inside free text (messages, error messages, stacks, URLs, whole JSON lines). */
const SENSITIVE_TEXT: Array<[RegExp, string]> = [
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, '$1 [redacted]'],
  [/\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g, '[redacted-jwt]'],
  // userinfo password in any URL, the user part possibly empty (`postgres://:pw@host`).
  [/\b([a-z][a-z0-9+.-]*:\/\/[^:/\s@"\\]*:)[^@\s"\\/]+@/gi, '$1[redacted]@'],
];

/**
 * `name=value`, `name: value`, `"name":"value"` and the same inside JSON carried in a string
 * (`\"name\":\"value\"`, any escaping depth). Groups: 1 name, 2 quote after the name, 3 opening
 * quote of the value, 4 quoted value, 5 bare value. Objects and arrays are left to the structured pass.
 */
const NAMED_VALUE = /(?<![A-Za-z0-9_.-])([A-Za-z][A-Za-z0-9_.-]*)(\\*"|')?[ \t]*[:=][ \t]*(?:(\\*"|')((?:[^"'\\]|\\+(?![\\"]))*)|(?![{[]|(?:true|false|null)\b)([^\s"'&;,)}\]\\]+))/g;

const REDACTED = '[redacted]';

/** Replaces the values of NAMED_VALUE matches whose name is a secret's. */
function namedValues(s: string): string {
  const re = new RegExp(NAMED_VALUE);
  let out = '';
  let copied = 0;
  for (let m = re.exec(s); m !== null; m = re.exec(s)) {
    const [match, name, nameQuote, valueQuote, quoted, bare] = m as unknown as [string, string, string | undefined, string | undefined, string | undefined, string | undefined];
    // Not a secret: look again right after the name, so names inside its value are seen too.
    if (!isSecretName(name)) {
      re.lastIndex = m.index + name.length;
      continue;
    }
    const value = quoted ?? bare ?? '';
    if (value === '' || value === REDACTED) continue;
    // A bare value right after a JSON key (a number) must become a JSON string to keep the line valid.
    const replacement = bare !== undefined && nameQuote === '"' && valueQuote === undefined ? `"${REDACTED}"` : REDACTED;
    const end = m.index + match.length;
    out += s.slice(copied, end - value.length) + replacement;
    copied = end;
  }
  return copied === 0 ? s : out + s.slice(copied);
}

/**
 * How registered values are found in text without one search per value: each is indexed by the
 * rolling hash of one WINDOW-character slice of it, the slice whose hash is rarest when it is
 * added (refresh tokens from one issuer share long prefixes), and a line is hashed window by window.
 */
const WINDOW = 8;
const HASH_BASE = 31;
const HASH_DROP = (() => {
  let p = 1;
  for (let i = 0; i < WINDOW - 1; i++) p = Math.imul(p, HASH_BASE);
  return p;
})();

/** The hash of every WINDOW-long slice of `s`, by start position. */
function windowHashes(s: string, each: (hash: number, start: number) => void): void {
  let h = 0;
  for (let i = 0; i < s.length; i++) {
    if (i >= WINDOW) h = h - Math.imul(s.charCodeAt(i - WINDOW), HASH_DROP);
    h = (Math.imul(h, HASH_BASE) + s.charCodeAt(i)) | 0;
    if (i >= WINDOW - 1) each(h, i - WINDOW + 1);
  }
}

/** One searchable form of a registered value, found through the slice at `offset`. */
interface IndexedForm {
  form: string;
  offset: number;
  hash: number;
}

export interface RedactorOptions {
  /** How many registered values are remembered; past it the oldest registered are forgotten. */
  maxKnown?: number;
}

/**
 * Scrubs secrets out of everything a log line carries: sensitive field names, token-shaped text,
 * and any value registered as a secret (e.g. by the secret store) wherever it appears.
 */
export class Redactor {
  /** Registration order, oldest first (a Map keeps insertion order): value → its indexed forms. */
  private readonly known = new Map<string, IndexedForm[]>();
  private readonly index = new Map<number, IndexedForm[]>();
  private readonly maxKnown: number;

  constructor(options: RedactorOptions = {}) {
    this.maxKnown = options.maxKnown ?? 10_000;
  }

  /**
   * Remember a secret value so it is scrubbed from any log text, whatever field carries it. Past
   * `maxKnown`, the value registered longest ago is forgotten: refusing the new one would let the
   * newest (rotated) secret through.
   */
  addSecret(value: string): void {
    // Very short values would scrub ordinary words; they are caught by field name instead.
    if (value.length < WINDOW) return;
    const existing = this.known.get(value);
    if (existing) {
      // Registered again: it is current, move it to the young end.
      this.known.delete(value);
      this.known.set(value, existing);
      return;
    }
    // As written in a JSON line, and as JSON inside a JSON string (`%j`, a body in a message).
    const once = JSON.stringify(value).slice(1, -1);
    const twice = JSON.stringify(once).slice(1, -1);
    const entries: IndexedForm[] = [];
    for (const form of new Set([value, once, twice])) {
      let best: IndexedForm | undefined;
      let bestSize = Infinity;
      windowHashes(form, (hash, offset) => {
        const size = this.index.get(hash)?.length ?? 0;
        if (size < bestSize) {
          best = { form, offset, hash };
          bestSize = size;
        }
      });
      const entry = best!;
      const bucket = this.index.get(entry.hash);
      if (bucket) bucket.push(entry);
      else this.index.set(entry.hash, [entry]);
      entries.push(entry);
    }
    this.known.set(value, entries);
    if (this.known.size > this.maxKnown) this.forget(this.known.keys().next().value!);
  }

  private forget(value: string): void {
    for (const entry of this.known.get(value) ?? []) {
      const bucket = this.index.get(entry.hash)?.filter((x) => x !== entry);
      if (bucket && bucket.length > 0) this.index.set(entry.hash, bucket);
      else this.index.delete(entry.hash);
    }
    this.known.delete(value);
  }

  /** Scrubs free text, or a whole serialized JSON line (then its escaping is kept valid). */
  text(s: string): string {
    let out = this.knownValues(s);
    for (const [re, rep] of SENSITIVE_TEXT) out = out.replace(re, rep);
    return namedValues(out);
  }

  /** Replaces every registered value found in `s`; overlapping finds are merged. */
  private knownValues(s: string): string {
    if (this.index.size === 0) return s;
    let found: Array<[number, number]> | undefined;
    windowHashes(s, (hash, i) => {
      const bucket = this.index.get(hash);
      if (!bucket) return;
      for (const { form, offset } of bucket) {
        const start = i - offset;
        if (start >= 0 && s.startsWith(form, start)) (found ??= []).push([start, start + form.length]);
      }
    });
    if (!found) return s;
    found.sort((x, y) => x[0] - y[0]);
    let out = '';
    let copied = 0;
    for (const [start, end] of found) {
      if (end <= copied) continue;
      // A find overlapping the previous one extends it.
      if (start >= copied) out += s.slice(copied, start) + REDACTED;
      copied = end;
    }
    return out + s.slice(copied);
  }

  /**
   * Structured pass: values under secret field names go, errors become plain data, cycles and
   * deep nesting are cut. Text inside is scrubbed later, on the serialized line.
   */
  value(v: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
    if (v === null || typeof v !== 'object') return v;
    if (depth > 8 || seen.has(v)) return '[truncated]';
    seen.add(v);
    if (Array.isArray(v)) return v.map((x) => this.value(x, depth + 1, seen));
    if (v instanceof Error) return this.value(serializeError(v), depth + 1, seen);
    if (Buffer.isBuffer(v)) return `[${v.length} bytes]`;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      out[k] = isSecretName(k) && x !== undefined && x !== null && typeof x !== 'boolean' ? REDACTED : this.value(x, depth + 1, seen);
    }
    return out;
  }
}

/** How many causes of an error are logged; a longer chain ends in '[truncated]'. */
const MAX_CAUSES = 8;

/**
 * Errors as plain data: type, our code, message, stack and cause chain. No custom fields copied
 * blindly. The chain is cut at MAX_CAUSES and where it loops back on itself.
 */
export function serializeError(err: Error, seen: Set<Error> = new Set()): Record<string, unknown> {
  const out: Record<string, unknown> = { type: err.name, message: err.message, stack: err.stack };
  const e = err as Error & { code?: unknown; statusCode?: unknown };
  if (typeof e.code === 'string' || typeof e.code === 'number') out.errorCode = e.code;
  if (typeof e.statusCode === 'number') out.statusCode = e.statusCode;
  seen.add(err);
  if (err.cause instanceof Error) {
    if (seen.has(err.cause)) out.cause = '[circular]';
    else if (seen.size > MAX_CAUSES) out.cause = '[truncated]';
    else out.cause = serializeError(err.cause, seen);
  }
  return out;
}

export interface LoggerOptions {
  level: LogLevel;
  redactor?: Redactor;
  /** Where lines go; stdout by default. Tests pass a stream to read them. */
  destination?: DestinationStream;
}

/**
 * Structured JSON logs: objects pass the structured redactor (field names), then every finished
 * line passes the text redactor (patterns, registered values) just before it is written.
 */
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
        // Bindings from child() and setBindings() are serialized once, apart from each line.
        bindings: (bindings) => redactor.value(bindings) as typeof bindings,
      },
      // pino's own err serializer would copy every enumerable field of an error (request configs
      // with headers included); ours keeps only safe ones.
      serializers: { err: (e: unknown) => (e instanceof Error ? serializeError(e) : e) },
      hooks: {
        logMethod(args, method) {
          // pino turns `log(error)` into a message from error.message after the formatters ran.
          const [first, ...rest] = args as unknown[];
          const normalized = first instanceof Error ? [{ err: first }, ...(rest.length > 0 ? rest : [first.message])] : (args as unknown[]);
          // Objects for %j/%o/%O are stringified into the message: drop their secret fields first.
          const firstFormatArg = typeof normalized[0] === 'string' ? 1 : 2;
          const scrubbed = normalized.map((a, i) => (i >= firstFormatArg && typeof a === 'object' && a !== null ? redactor.value(a) : a));
          method.apply(this, scrubbed as Parameters<typeof method>);
        },
        // The last step, on the finished line: whatever path a value took (message interpolation,
        // bindings, error text, JSON inside a string), it is scrubbed here before it is written.
        streamWrite: (line) => redactor.text(line),
      },
    },
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
  return { logger, redactor };
}
