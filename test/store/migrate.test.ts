import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openDatabase } from '../../src/store/db';
import type { Db } from '../../src/store/db';
import { isMigrated, migrate } from '../../src/store/migrate';
import { migrations } from '../../src/store/migrations';
import { announcePostgresSkip, databasesUnderTest, TEST_DATABASE_URL } from '../helpers/databases';

announcePostgresSkip();

for (const target of databasesUnderTest()) {
  describe(`migrations (${target.name})`, () => {
    let db: Db;
    before(async () => { db = await target.open(); });
    after(() => target.cleanup());

    it('are all applied, and running them again applies nothing', async () => {
      assert.equal(await isMigrated(db), true);
      assert.deepEqual(await migrate(db), []);
      const rows = await db.query<{ id: number }>('SELECT id FROM schema_migrations ORDER BY id');
      assert.deepEqual(rows.map((r) => r.id), migrations.map((m) => m.id));
    });

    it('apply a new step exactly once when several instances start together', async () => {
      const extra = [...migrations, { id: 9001, name: 'test step', sql: 'CREATE TABLE migration_probe (n int); INSERT INTO migration_probe VALUES (1);' }];
      const results = await Promise.all([migrate(db, extra), migrate(db, extra), migrate(db, extra)]);
      assert.equal(results.flat().filter((id) => id === 9001).length, 1);
      assert.deepEqual(await db.query('SELECT n FROM migration_probe'), [{ n: 1 }]);
      assert.equal(await isMigrated(db, extra), true);
      await db.exec('DROP TABLE migration_probe; DELETE FROM schema_migrations WHERE id = 9001;');
    });

    it('roll a failing step back completely', async () => {
      const broken = [...migrations, { id: 9002, name: 'broken', sql: 'CREATE TABLE half_done (n int); SELECT no_such_function();' }];
      await assert.rejects(migrate(db, broken));
      assert.equal(await isMigrated(db, broken), false);
      assert.deepEqual(await db.query("SELECT 1 FROM pg_tables WHERE tablename = 'half_done'"), []);
    });
  });
}

if (TEST_DATABASE_URL) {
  const url = TEST_DATABASE_URL;
  describe('migrations on a fresh PostgreSQL schema, several instances at once', () => {
    it('create the schema exactly once', async () => {
      const schema = `fresh_${randomBytes(6).toString('hex')}`;
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      await admin.query(`CREATE SCHEMA ${schema}`);
      try {
        const u = new URL(url);
        u.searchParams.set('options', `-c search_path=${schema}`);
        const dbs = await Promise.all([1, 2, 3].map(() => openDatabase({ kind: 'postgres', url: u.toString() })));
        const applied = await Promise.all(dbs.map((d) => migrate(d)));
        assert.equal(applied.flat().filter((id) => id === 1).length, 1);
        await Promise.all(dbs.map((d) => d.close()));
      } finally {
        await admin.query(`DROP SCHEMA ${schema} CASCADE`);
        await admin.end();
      }
    });
  });
}
