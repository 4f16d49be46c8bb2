import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, type Db } from '../../src/store/db';
import { ownSchema, TEST_DATABASE_URL } from '../helpers/databases';

/**
 * `query` with parameters runs as a named statement, so the engine parses and plans each text once
 * per connection (issue 29: the turn's statements are long): node-postgres' named statements on
 * PostgreSQL, pglite-named.ts on the embedded database, on either thread. What that must not
 * break: a table changed by a migration (another instance's, on PostgreSQL), SQL built at run
 * time, several statements in one text, errors. Sequential queries reuse the pool's one idle
 * connection, so pg_prepared_statements (which is per connection) shows what the bot's holds.
 */
interface Engine { db: Db; migrator: Db; done(): Promise<void> }
const engines: Array<[string, () => Promise<Engine>]> = [
  ['PGlite in memory', async () => { const db = await openDatabase({ kind: 'pglite-memory' }); return { db, migrator: db, done: () => db.close() }; }],
  ['PGlite on disk, bot thread', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stmts-'));
    const db = await openDatabase({ kind: 'pglite', dir, thread: 'main' });
    return { db, migrator: db, done: async () => { await db.close(); await rm(dir, { recursive: true, force: true }); } };
  }],
  ['PGlite on disk, worker thread', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stmts-'));
    const db = await openDatabase({ kind: 'pglite', dir, thread: 'worker' });
    return { db, migrator: db, done: async () => { await db.close(); await rm(dir, { recursive: true, force: true }); } };
  }],
];
if (TEST_DATABASE_URL) {
  const url = TEST_DATABASE_URL;
  engines.push(['PostgreSQL (the migration from another instance)', async () => {
    const schema = await ownSchema(url, 'stmts');
    const db = await openDatabase({ kind: 'postgres', url: schema.url });
    const migrator = await openDatabase({ kind: 'postgres', url: schema.url });
    return { db, migrator, done: async () => { await db.close(); await migrator.close(); await schema.drop(); } };
  }]);
} else {
  console.log('    (named statements on PostgreSQL not run: TEST_DATABASE_URL is not set)');
}

describe('named statements for the turn queries', function () {
  this.timeout(60_000);
  for (const [name, open] of engines) {
    describe(name, () => {
      let e: Engine;
      beforeEach(async () => {
        e = await open();
        await e.db.exec('CREATE TABLE t (a int NOT NULL)');
        await e.db.exec('INSERT INTO t VALUES (1), (2)');
      });
      afterEach(async () => { await e.done(); });

      const prepared = async (text: string) => (await e.db.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_prepared_statements WHERE statement = $1', [text]))[0]!.n;

      it('a text with parameters is parsed once and then only executed; rows and types as before', async () => {
        const text = 'SELECT a, $2::jsonb AS j, $3::timestamptz AS at, $4::text[] AS list FROM t WHERE a = $1';
        const at = new Date('2026-12-07T10:00:00Z');
        assert.deepEqual(await e.db.query(text, [1, { k: [1, 'x'] }, at, ['p', 'q']]), [{ a: 1, j: { k: [1, 'x'] }, at, list: ['p', 'q'] }]);
        assert.deepEqual(await e.db.query(text, [2, null, null, null]), [{ a: 2, j: null, at: null, list: null }]);
        assert.equal(await prepared(text), 1, 'one prepared statement for the text');
        assert.equal(await prepared('SELECT a FROM t'), 0);
      });

      it('a table changed under a prepared SELECT * answers with the new columns instead of "cached plan must not change result type"', async () => {
        const text = 'SELECT * FROM t WHERE a = $1';
        assert.deepEqual(await e.db.query(text, [1]), [{ a: 1 }]);
        await e.migrator.exec('ALTER TABLE t ADD COLUMN b int NOT NULL DEFAULT 7');
        assert.deepEqual(await e.db.query(text, [1]), [{ a: 1, b: 7 }]);
        assert.deepEqual(await e.db.query(text, [2]), [{ a: 2, b: 7 }]);
      });

      it('SQL built at run time: at most 512 texts are named, the rest still run', async () => {
        for (let i = 0; i < 520; i++) assert.deepEqual(await e.db.query(`SELECT a + ${i} AS v FROM t WHERE a = $1`, [1]), [{ v: 1 + i }]);
        const [held] = await e.db.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_prepared_statements WHERE statement LIKE 'SELECT a + % AS v FROM t WHERE a = $1'");
        assert.ok(held!.n <= 512 && held!.n >= 500, `prepared: ${held!.n}`);
      });

      it('errors reach the caller, and the next query runs (on PostgreSQL, several statements in a text without parameters too)', async () => {
        // PGlite's query always speaks the extended protocol: one statement a text there, as before.
        if (e.db.engine === 'postgres') await e.db.query('INSERT INTO t VALUES (3); INSERT INTO t VALUES (4)');
        else await e.db.exec('INSERT INTO t VALUES (3); INSERT INTO t VALUES (4)');
        assert.deepEqual(await e.db.query('SELECT count(*)::int AS n FROM t WHERE a > $1', [0]), [{ n: 4 }]);
        await assert.rejects(e.db.query('SELECT nope FROM t WHERE a = $1', [1]), /column "nope" does not exist/);
        await assert.rejects(e.db.query('SELECT nope FROM t WHERE a = $1', [1]), /column "nope" does not exist/);
        await e.db.exec('CREATE UNIQUE INDEX t_a ON t (a)');
        await assert.rejects(e.db.query('INSERT INTO t VALUES ($1)', [1]), (err: { code?: string }) => err.code === '23505');
        assert.deepEqual(await e.db.query('INSERT INTO t VALUES ($1) RETURNING a', [9]), [{ a: 9 }]);
        assert.deepEqual(await e.db.transaction((tx) => tx.query('SELECT count(*)::int AS n FROM t WHERE a > $1', [0])), [{ n: 5 }]);
      });
    });
  }
});
