import { Worker } from 'node:worker_threads';
import { messages, TransactionAbortedError } from '@electric-sql/pglite';
import { AppError } from '../errors';
import type { Db, Queryable } from './db-seam';
import { NAMED_MAX, namedQueries } from './pglite-named';

/**
 * The embedded database (PGlite) on a worker thread of its own, behind the same `Db` as on the
 * bot's thread: queries, scripts and interactive transactions are messages; rows come back by
 * structured clone (Date, Uint8Array as PGlite gives them). The WASM engine then no longer runs on
 * the thread that serves turns. PGlite's own `worker` export needs the browser's Web Locks and a
 * Web Worker; node:worker_threads has neither, so this is the small protocol it needs here.
 *
 * The same PGlite runs in the thread, so its locking and transaction semantics are its own; errors
 * come back as the class PGlite throws on the bot's thread (its DatabaseError with the SQLSTATE
 * code, constraint and the rest of its fields; TransactionAbortedError), with the same message.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const lib = require(workerData.pglite);
const { PGlite, messages, TransactionAbortedError } = lib;
// The same named statements as on the bot's thread (its text; tsx's name helper made a no-op).
const __name = (f) => f;
const namedQueries = ${namedQueries.toString()};
let named;
const extensions = Object.fromEntries(Object.entries(workerData.extensions).map(([name, path]) => [name, require(path)[name]]));
let pgl;
const txs = new Map();
let nextTx = 1;
function cloneable(v) {
  try { structuredClone(v); return true; } catch { return false; }
}
function errorOf(err) {
  if (!(err instanceof Error)) return { kind: 'error', name: 'Error', message: String(err), fields: {} };
  const fields = {};
  for (const [k, v] of Object.entries(err)) if (cloneable(v)) fields[k] = v;
  const kind = err instanceof TransactionAbortedError ? 'aborted' : err instanceof messages.DatabaseError ? 'database' : 'error';
  return { kind, name: err.name, message: err.message, stack: err.stack, fields };
}
const fail = (id, err) => parentPort.postMessage({ id, error: errorOf(err) });
const closedTx = () => new Error('Transaction is closed');
async function run(q, m) {
  if (m.op === 'query') {
    const done = q === pgl ? await named(m.sql, m.params || []) : undefined;
    return (done || await q.query(m.sql, m.params || [])).rows;
  }
  if (m.op === 'exec') { await q.exec(m.sql); return undefined; }
  if (m.op === 'script') {
    if (m.params && m.params.length > 0) return (await q.query(m.sql, m.params)).rows;
    const results = await q.exec(m.sql);
    return results.flatMap((r) => r.rows);
  }
  throw new Error('unknown op ' + m.op);
}
parentPort.on('message', async (m) => {
  try {
    if (m.op === 'open') { pgl = await PGlite.create(m.dir, { extensions }); named = namedQueries(pgl, lib, workerData.namedMax); parentPort.postMessage({ id: m.id, result: true }); return; }
    if (m.op === 'close') { if (!pgl.closed) await pgl.close(); parentPort.postMessage({ id: m.id, result: true }); return; }
    if (m.op === 'begin') {
      const txId = nextTx++;
      const t = {};
      const ended = new Promise((resolve) => { t.end = resolve; });
      pgl.transaction(async (tx) => {
        t.tx = tx;
        txs.set(txId, t);
        parentPort.postMessage({ id: m.id, result: txId });
        if ((await ended).rollback) throw Object.assign(new Error('rolled back'), { rolledBack: true });
      }).then(() => { txs.delete(txId); parentPort.postMessage({ id: t.doneId, result: true }); },
        (err) => {
          txs.delete(txId);
          if (t.doneId === undefined) fail(m.id, err);
          else if (err && err.rolledBack) parentPort.postMessage({ id: t.doneId, result: true });
          else fail(t.doneId, err);
        });
      return;
    }
    if (m.op === 'commit' || m.op === 'rollback') {
      const t = txs.get(m.tx);
      if (!t || t.doneId !== undefined) return fail(m.id, closedTx());
      t.doneId = m.id;
      t.end({ rollback: m.op === 'rollback' });
      return;
    }
    const t = m.tx ? txs.get(m.tx) : undefined;
    if (m.tx && (!t || t.doneId !== undefined)) return fail(m.id, closedTx());
    parentPort.postMessage({ id: m.id, result: await run(t ? t.tx : pgl, m) });
  } catch (err) {
    fail(m.id, err);
  }
});
`;

type Message = { op: string; sql?: string; params?: unknown[]; tx?: number; dir?: string };
type ThreadError = { kind: 'database' | 'aborted' | 'error'; name: string; message: string; stack?: string; fields: Record<string, unknown> };

const ERROR_CLASSES: Record<string, new (message: string) => Error> = { TypeError, RangeError, SyntaxError, ReferenceError };

/** The error as PGlite would have thrown it on this thread: its class, message and fields; the stack is the thread's. */
function rebuild(e: ThreadError): Error {
  let err: Error;
  if (e.kind === 'aborted') err = new TransactionAbortedError();
  else if (e.kind === 'database') err = new messages.DatabaseError(e.message, Number(e.fields.length ?? 0), (e.fields.name ?? 'error') as never);
  else err = new (ERROR_CLASSES[e.name] ?? Error)(e.message);
  Object.assign(err, e.fields);
  if (e.stack) err.stack = e.stack;
  return err;
}

export class PgliteWorkerDb implements Db {
  readonly engine = 'pglite' as const;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  /** Set once closed (PGlite's own words after close) or once the thread has ended. */
  private ended: Error | undefined;
  private closing: Promise<void> | undefined;

  private constructor(private readonly worker: Worker, private readonly onClose?: () => void) {
    // The thread keeps the process alive only while an answer is awaited (a CLI's last query), never an idle bot at its stop or exit.
    worker.unref();
    worker.on('message', (m: { id: number; result?: unknown; error?: ThreadError }) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (this.pending.size === 0) worker.unref();
      if (m.error) p.reject(rebuild(m.error));
      else p.resolve(m.result);
    });
    worker.on('error', (err) => this.end(new AppError('storage_unavailable', `the embedded database thread failed: ${err.message}`, { cause: err })));
    worker.on('exit', () => this.end(new AppError('storage_unavailable', 'the embedded database thread ended')));
  }

  /** `dir`: its files (undefined: in memory). `onClose`: after the database is closed. */
  static async open(dir: string | undefined, onClose?: () => void): Promise<PgliteWorkerDb> {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: {
      pglite: require.resolve('@electric-sql/pglite'),
      namedMax: NAMED_MAX,
      // The contrib extensions the migrations create, as on the bot's thread (db.ts): loaded by the thread itself.
      extensions: { pg_trgm: require.resolve('@electric-sql/pglite/contrib/pg_trgm') },
    } });
    const db = new PgliteWorkerDb(worker, onClose);
    try {
      await db.call({ op: 'open', dir });
    } catch (err) {
      await worker.terminate();
      throw err;
    }
    return db;
  }

  /** Every call waiting, and every later one, fails with `err` (none waits for an answer that cannot come). */
  private end(err: Error): void {
    this.ended ??= err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    this.worker.unref();
  }

  private call<T>(m: Message): Promise<T> {
    if (this.ended) return Promise.reject(this.ended);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      try {
        // Structured clone: a parameter it cannot copy (a function, a symbol) fails here, before anything is awaited.
        this.worker.postMessage({ ...m, id });
      } catch (err) {
        reject(err as Error);
        return;
      }
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
    });
  }

  private on(tx: number | undefined): Queryable {
    return {
      query: <T extends object>(sql: string, params: unknown[] = []) => this.call<T[]>({ op: 'query', sql, params, tx }),
      exec: async (sql: string) => { await this.call({ op: 'exec', sql, tx }); },
    };
  }

  query<T extends object>(sql: string, params: unknown[] = []): Promise<T[]> {
    return this.call<T[]>({ op: 'query', sql, params });
  }

  async exec(sql: string): Promise<void> {
    await this.call({ op: 'exec', sql });
  }

  async script(sql: string, params?: unknown[]): Promise<{ rows: Record<string, unknown>[] }> {
    return { rows: await this.call<Record<string, unknown>[]>({ op: 'script', sql, params }) };
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    const tx = await this.call<number>({ op: 'begin' });
    let result: T;
    try {
      result = await fn(this.on(tx));
    } catch (err) {
      await this.call({ op: 'rollback', tx }).catch(() => undefined);
      throw err;
    }
    await this.call({ op: 'commit', tx });
    return result;
  }

  /** Closes PGlite in its thread (its files consistent), then ends the thread. Later calls fail as PGlite's do after close. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.call({ op: 'close' }).catch(() => undefined);
      this.end(new Error('PGlite is closed'));
      await this.worker.terminate();
      this.onClose?.();
    })();
    return this.closing;
  }
}
