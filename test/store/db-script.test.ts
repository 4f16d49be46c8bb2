import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, type Db } from '../../src/store/db';
import { ownSchema } from '../helpers/databases';

/**
 * Db.script is what the job engine (pg-boss 12) runs its SQL through. For a script of several
 * statements pg-boss reads every statement's rows, in order (node-postgres answers an array of
 * results, which pg-boss flattens): its BAM claim is `BEGIN; SELECT pg_advisory_xact_lock(…); …
 * RETURNING …; COMMIT` and it asserts the lock's row is there ("bam claim returned no lock row: a
 * custom db must return the rows of every statement"). Every engine must answer alike.
 */
const engines: Array<[string, () => Promise<{ db: Db; done(): Promise<void> }>]> = [
  ['PGlite in memory', async () => { const db = await openDatabase({ kind: 'pglite-memory' }); return { db, done: () => db.close() }; }],
  ['PGlite on disk, bot thread', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'db-script-'));
    const db = await openDatabase({ kind: 'pglite', dir, thread: 'main' });
    return { db, done: async () => { await db.close(); await rm(dir, { recursive: true, force: true }); } };
  }],
  ['PGlite on disk, worker thread', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'db-script-'));
    const db = await openDatabase({ kind: 'pglite', dir, thread: 'worker' });
    return { db, done: async () => { await db.close(); await rm(dir, { recursive: true, force: true }); } };
  }],
];
const url = process.env.TEST_DATABASE_URL;
if (url) {
  engines.push(['PostgreSQL', async () => {
    const schema = await ownSchema(url, 'script');
    const db = await openDatabase({ kind: 'postgres', url: schema.url });
    return { db, done: async () => { await db.close(); await schema.drop(); } };
  }]);
} else {
  console.log('    (db.script on PostgreSQL not run: TEST_DATABASE_URL is not set)');
}

describe('Db.script: the rows of every statement, in order (the job engine relies on it)', function () {
  this.timeout(60_000);
  for (const [name, open] of engines) {
    it(name, async () => {
      const { db, done } = await open();
      try {
        assert.deepEqual((await db.script('SELECT 1 AS a')).rows, [{ a: 1 }]);
        assert.deepEqual((await db.script('SELECT $1::int AS p', [7])).rows, [{ p: 7 }]);
        assert.deepEqual((await db.script('BEGIN; SELECT 1 AS a; SELECT 2 AS b UNION ALL SELECT 3; COMMIT')).rows, [{ a: 1 }, { b: 2 }, { b: 3 }]);
        const claim = await db.script("BEGIN; SET LOCAL lock_timeout = 1000; SELECT pg_advisory_xact_lock(42); SELECT 'x' AS \"claimedStartedOn\"; COMMIT");
        assert.ok(claim.rows.some((r) => 'pg_advisory_xact_lock' in r), 'the lock row is there');
        assert.ok(claim.rows.some((r) => r.claimedStartedOn === 'x'), 'the claim row is there');
      } finally {
        await done();
      }
    });
  }
});
