import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openDatabase, type Db } from '../../src/store/db';
import { migrate } from '../../src/store/migrate';

export interface DatabaseUnderTest {
  name: string;
  /**
   * A migrated database with every table empty. The engine is opened once per suite (PGlite takes
   * a second or two to start) and emptied on each later call.
   */
  open(): Promise<Db>;
  /** Closes and drops what open() created; call it in `after`. */
  cleanup(): Promise<void>;
}

async function emptyTables(db: Db): Promise<void> {
  const rows = await db.query<{ tablename: string }>(
    "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename <> 'schema_migrations'",
  );
  if (rows.length > 0) await db.exec(`TRUNCATE ${rows.map((r) => `"${r.tablename}"`).join(', ')}`);
}

/** PostgreSQL URL for the suite, when the environment gives one (CI always does). */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL;

function pglite(): DatabaseUnderTest {
  let db: Db | undefined;
  return {
    name: 'PGlite',
    async open() {
      if (db) {
        await emptyTables(db);
        return db;
      }
      db = await openDatabase({ kind: 'pglite-memory' });
      await migrate(db);
      return db;
    },
    async cleanup() {
      await db?.close();
      db = undefined;
    },
  };
}

function postgres(url: string): DatabaseUnderTest {
  const schemas: string[] = [];
  const opened: Db[] = [];
  return {
    name: 'PostgreSQL',
    async open() {
      if (opened[0]) {
        await emptyTables(opened[0]);
        return opened[0];
      }
      const schema = `test_${randomBytes(6).toString('hex')}`;
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      await admin.query(`CREATE SCHEMA ${schema}`);
      await admin.end();
      schemas.push(schema);
      const u = new URL(url);
      u.searchParams.set('options', `-c search_path=${schema}`);
      const db = await openDatabase({ kind: 'postgres', url: u.toString() });
      await migrate(db);
      opened.push(db);
      return db;
    },
    async cleanup() {
      await Promise.all(opened.splice(0).map((db) => db.close()));
      if (schemas.length === 0) return;
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      for (const s of schemas.splice(0)) await admin.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
      await admin.end();
    },
  };
}

/**
 * A schema of its own on the PostgreSQL server at `url`, for a test or bench that runs whole bot
 * processes on it: the URL that selects it (search_path), and a drop that removes it with the job
 * engine's schema beside it.
 */
export async function ownSchema(url: string, prefix: string): Promise<{ schema: string; url: string; drop(): Promise<void> }> {
  const schema = `${prefix}_${randomBytes(4).toString('hex')}`;
  const admin = await openDatabase({ kind: 'postgres', url });
  await admin.exec(`CREATE SCHEMA ${schema}`);
  await admin.close();
  const u = new URL(url);
  u.searchParams.set('options', `-c search_path=${schema}`);
  return {
    schema,
    url: u.toString(),
    async drop() {
      const db = await openDatabase({ kind: 'postgres', url });
      await db.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE; DROP SCHEMA IF EXISTS ${schema}_pgboss CASCADE`);
      await db.close();
    },
  };
}

/** Every database a suite should run on: PGlite always, PostgreSQL when TEST_DATABASE_URL is set. */
export function databasesUnderTest(): DatabaseUnderTest[] {
  return TEST_DATABASE_URL ? [pglite(), postgres(TEST_DATABASE_URL)] : [pglite()];
}

let announced = false;
/** Says once, visibly, when the PostgreSQL half of the suite is not running. */
export function announcePostgresSkip(): void {
  if (TEST_DATABASE_URL || announced) return;
  announced = true;
  console.log('    (PostgreSQL suites not run: TEST_DATABASE_URL is not set; .ci/run sets it)');
}
