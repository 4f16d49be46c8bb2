import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { messages, TransactionAbortedError } from '@electric-sql/pglite';
import { loadConfig } from '../../src/config';
import { openDatabase, toBuffer, type Db } from '../../src/store/db';
import { migrate } from '../../src/store/migrate';
import { PgliteWorkerDb } from '../../src/store/pglite-worker';
import { ROOT } from '../helpers/bot-process';

/** What an error says, as a caller can read it: its class, message and every field but the stack. */
function shapeOf(err: unknown): Record<string, unknown> {
  assert.ok(err instanceof Error, `not an Error: ${String(err)}`);
  const { stack: _stack, ...fields } = Object.fromEntries(Object.entries(err));
  return { class: err.constructor.name, database: err instanceof messages.DatabaseError, aborted: err instanceof TransactionAbortedError, message: err.message, name: err.name, ...fields };
}

async function errorOf(p: Promise<unknown>): Promise<unknown> {
  return p.then(() => assert.fail('expected a rejection'), (err: unknown) => err);
}

/** Runs `code` (TypeScript, through tsx) in a node process of its own; its exit code or signal. */
function runScript(code: string, signalAfterLine?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '-e', code], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (signalAfterLine && out.includes('\n')) {
        child.kill(signalAfterLine);
        signalAfterLine = undefined;
      }
    });
    // A process that never ends fails here rather than hanging the suite (no time is asserted).
    const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('exit', (code, signal) => { clearTimeout(guard); resolve({ code, signal, out }); });
  });
}

/** The embedded database on its own thread keeps the Db contract: rows, errors, transactions. */
describe('PGlite on a worker thread (same Db contract)', function () {
  this.timeout(60_000);
  let dir: string;
  let db: PgliteWorkerDb;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pglite-worker-'));
    db = await PgliteWorkerDb.open(dir);
    await migrate(db);
  });
  after(async () => {
    await db?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('returns rows as PGlite does (dates, bytea, json) and errors with their SQLSTATE', async () => {
    const [row] = await db.query<{ at: Date; b: Uint8Array; j: { a: number } }>("SELECT now() AS at, $1::bytea AS b, '{\"a\":1}'::jsonb AS j", [Buffer.from('hi')]);
    assert.ok(row!.at instanceof Date);
    assert.equal(toBuffer(row!.b).toString(), 'hi');
    assert.deepEqual(row!.j, { a: 1 });
    await assert.rejects(db.query('SELECT nope'), (err: Error & { code?: string }) => err.code === '42703');
    assert.deepEqual((await db.script('SELECT 1 AS a; SELECT 2 AS b')).rows, [{ a: 1 }, { b: 2 }]);
  });

  it('a transaction commits all of it, a failing one none of it, and the next one still runs', async () => {
    await db.transaction(async (tx) => {
      await tx.query("INSERT INTO bot_state (key, doc, etag) VALUES ('w1', '{}', 'e')");
      await tx.query("INSERT INTO bot_state (key, doc, etag) VALUES ('w2', '{}', 'e')");
    });
    await assert.rejects(db.transaction(async (tx) => {
      await tx.query("INSERT INTO bot_state (key, doc, etag) VALUES ('w3', '{}', 'e')");
      throw new Error('changed my mind');
    }), /changed my mind/);
    await assert.rejects(db.transaction(async (tx) => {
      await tx.query("INSERT INTO bot_state (key, doc, etag) VALUES ('w4', '{}', 'e')");
      await tx.query("INSERT INTO bot_state (key, doc, etag) VALUES ('w1', '{}', 'e')");
    }), (err: Error & { code?: string }) => err.code === '23505');
    const keys = (await db.query<{ key: string }>("SELECT key FROM bot_state WHERE key LIKE 'w%' ORDER BY key")).map((r) => r.key);
    assert.deepEqual(keys, ['w1', 'w2']);
  });

  it('concurrent transactions and queries interleave without losing a write', async () => {
    await Promise.all(Array.from({ length: 20 }, (_, i) => i % 2
      ? db.transaction(async (tx) => { await tx.query('INSERT INTO bot_state (key, doc, etag) VALUES ($1, $2::jsonb, $3)', [`c${i}`, '{}', 'e']); })
      : db.query('INSERT INTO bot_state (key, doc, etag) VALUES ($1, $2::jsonb, $3)', [`c${i}`, '{}', 'e'])));
    assert.equal((await db.query<{ n: number }>("SELECT count(*)::int AS n FROM bot_state WHERE key LIKE 'c%'"))[0]!.n, 20);
  });

  it('fails as the bot-thread engine does: same class, message, SQLSTATE, constraint and fields', async () => {
    const mainDir = await mkdtemp(join(tmpdir(), 'pglite-main-'));
    const main: Db = await openDatabase({ kind: 'pglite', dir: mainDir, thread: 'main' });
    try {
      await migrate(main);
      const both = async (f: (d: Db) => Promise<unknown>) => [shapeOf(await errorOf(f(main))), shapeOf(await errorOf(f(db)))];
      const seed = (d: Db) => d.query("INSERT INTO bot_state (key, doc, etag) VALUES ('dup', '{}', 'e') ON CONFLICT DO NOTHING");
      await seed(main);
      await seed(db);
      const cases: Array<(d: Db) => Promise<unknown>> = [
        (d) => d.query('SELECT nope'),
        (d) => d.query("INSERT INTO bot_state (key, doc, etag) VALUES ('dup', '{}', 'e')"),
        (d) => d.query('INSERT INTO bot_state (key, doc, etag) VALUES ($1, $2, $3)', ['k', 'not json', 'e']),
        (d) => d.exec('CREATE TABLE bot_state (x int)'),
        (d) => d.script('SELECT 1/0'),
        (d) => d.transaction(async (tx) => { await tx.query("INSERT INTO bot_state (key, doc, etag) VALUES ('dup', '{}', 'e')"); }),
        // A failed statement swallowed: COMMIT rolls back, and PGlite says so with its own class.
        (d) => d.transaction(async (tx) => { await tx.query('SELECT nope').catch(() => undefined); }),
      ];
      for (const f of cases) {
        const [onMain, onWorker] = await both(f);
        assert.deepEqual(onWorker, onMain);
      }
      const [dup] = await both(cases[1]!);
      assert.equal(dup!.code, '23505');
      assert.equal(dup!.constraint, 'bot_state_pkey');
      assert.equal(dup!.database, true);
      const [aborted] = await both(cases[6]!);
      assert.equal(aborted!.aborted, true);
    } finally {
      await main.close();
      await rm(mainDir, { recursive: true, force: true });
    }
  });

  it('a transaction handle used after its commit fails, as on the bot thread, and the database goes on', async () => {
    let kept: { query(sql: string): Promise<unknown> } | undefined;
    await db.transaction(async (tx) => { kept = tx; await tx.query('SELECT 1'); });
    assert.equal((await errorOf(kept!.query('SELECT 1')) as Error).message, 'Transaction is closed');
    assert.deepEqual(await db.query('SELECT 1 AS one'), [{ one: 1 }]);
  });

  it('after close, every call fails at once with PGlite\'s own words (none waits for an answer)', async () => {
    const other = await mkdtemp(join(tmpdir(), 'pglite-worker-closed-'));
    const closing = await PgliteWorkerDb.open(other);
    try {
      const inFlight = closing.query('SELECT 1 AS one');
      await closing.close();
      assert.deepEqual(await inFlight, [{ one: 1 }]);
      assert.equal((await errorOf(closing.query('SELECT 1')) as Error).message, 'PGlite is closed');
      assert.equal((await errorOf(closing.transaction(async () => undefined)) as Error).message, 'PGlite is closed');
      await closing.close();
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });

  it('a process that used it ends by itself without closing it, and closes it on SIGTERM', async () => {
    const other = await mkdtemp(join(tmpdir(), 'pglite-worker-exit-'));
    try {
      const open = `const { openDatabase } = require('./src/store/db'); (async () => { const db = await openDatabase({ kind: 'pglite', dir: ${JSON.stringify(other)} }); await db.query('CREATE TABLE IF NOT EXISTS t (n int)'); await db.query('INSERT INTO t VALUES (1)');`;
      const idle = await runScript(`${open} console.log('written'); })();`);
      assert.deepEqual([idle.code, idle.signal, idle.out], [0, null, 'written\n']);
      // As the bot does: on SIGTERM, close the database, then the process ends of itself.
      const stopped = await runScript(`${open} const server = setInterval(() => undefined, 1000); process.once('SIGTERM', () => { void db.close().then(() => { console.log('closed'); clearInterval(server); }); }); console.log('waiting'); })();`, 'SIGTERM');
      assert.deepEqual([stopped.code, stopped.signal, stopped.out], [0, null, 'waiting\nclosed\n']);
      const reopened = await openDatabase({ kind: 'pglite', dir: other });
      assert.deepEqual(await reopened.query('SELECT count(*)::int AS n FROM t'), [{ n: 2 }]);
      await reopened.close();
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });

  it('an open that fails rejects with the engine\'s error (its code kept), and a process that tried ends by itself', async () => {
    const other = await mkdtemp(join(tmpdir(), 'pglite-worker-notdir-'));
    try {
      const file = join(other, 'a-file');
      await writeFile(file, 'x');
      const err = await errorOf(PgliteWorkerDb.open(join(file, 'db'))) as Error & { code?: string };
      assert.equal(err.code, 'ENOTDIR');
      const tried = await runScript(`const { PgliteWorkerDb } = require('./src/store/pglite-worker'); PgliteWorkerDb.open(${JSON.stringify(join(file, 'db'))}).catch((e) => console.log(e.code));`);
      assert.deepEqual([tried.code, tried.signal, tried.out], [0, null, 'ENOTDIR\n']);
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });

  it('a parameter that cannot cross to the thread fails that call only, and nothing is left waiting', async () => {
    const err = await errorOf(db.query('SELECT $1::text AS t', [() => 'a function'])) as Error;
    assert.equal(err.name, 'DataCloneError');
    assert.deepEqual(await db.query('SELECT 1 AS one'), [{ one: 1 }]);
    const other = await mkdtemp(join(tmpdir(), 'pglite-worker-clone-'));
    try {
      const ended = await runScript(`const { PgliteWorkerDb } = require('./src/store/pglite-worker'); (async () => { const db = await PgliteWorkerDb.open(${JSON.stringify(other)}); await db.query('SELECT $1::text', [Symbol('s')]).catch((e) => console.log(e.name)); })();`);
      assert.deepEqual([ended.code, ended.signal, ended.out], [0, null, 'DataCloneError\n']);
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });

  it('keeps its data on disk across a reopen', async () => {
    await db.close();
    db = await PgliteWorkerDb.open(dir);
    assert.equal((await db.query<{ n: number }>("SELECT count(*)::int AS n FROM bot_state WHERE key LIKE 'c%'"))[0]!.n, 20);
  });
});

describe('PGLITE_THREAD: where the embedded database runs', () => {
  it('the worker thread unless main is asked for; anything else is refused by name', () => {
    const thread = (env: Record<string, string>) => {
      const { database } = loadConfig({ ALLOW_UNAUTHENTICATED: 'true', ...env });
      return database.kind === 'pglite' ? database.thread : database.kind;
    };
    assert.equal(thread({}), 'worker');
    assert.equal(thread({ PGLITE_THREAD: 'main' }), 'main');
    assert.equal(thread({ PGLITE_THREAD: 'worker' }), 'worker');
    assert.throws(() => loadConfig({ ALLOW_UNAUTHENTICATED: 'true', PGLITE_THREAD: 'both' }), /PGLITE_THREAD: expected worker or main/);
  });

  it('opens the embedded database on the bot thread with main, behind the same Db', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pglite-main-'));
    try {
      const main = await openDatabase({ kind: 'pglite', dir, thread: 'main' });
      assert.ok(!(main instanceof PgliteWorkerDb));
      await main.close();
      const worker = await openDatabase({ kind: 'pglite', dir });
      assert.ok(worker instanceof PgliteWorkerDb);
      await worker.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
