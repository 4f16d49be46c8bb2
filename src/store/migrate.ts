import type { Db } from './db';
import { migrations as allMigrations, type Migration } from './migrations';

/** Any constant works; it only has to be the same for every instance of the bot. */
const MIGRATION_LOCK_KEY = 727_401;

/**
 * Applies the migrations not applied yet, each in its own transaction, under an advisory lock so
 * that instances starting together apply each step exactly once. Safe to run any number of times.
 */
export async function migrate(db: Db, migrations: readonly Migration[] = allMigrations): Promise<number[]> {
  // Under the lock too: two instances creating the table at once would race on the catalog.
  await db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
    await tx.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      id integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
  });
  const applied: number[] = [];
  for (const m of [...migrations].sort((a, b) => a.id - b.id)) {
    const done = await db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
      const exists = await tx.query('SELECT 1 FROM schema_migrations WHERE id = $1', [m.id]);
      if (exists.length > 0) return false;
      await tx.exec(m.sql);
      await tx.query('INSERT INTO schema_migrations (id, name) VALUES ($1, $2)', [m.id, m.name]);
      return true;
    });
    if (done) applied.push(m.id);
  }
  return applied;
}

/** True when every known migration is applied: what /readyz reports. */
export async function isMigrated(db: Db, migrations: readonly Migration[] = allMigrations): Promise<boolean> {
  const rows = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM schema_migrations WHERE id = ANY($1::int[])', [migrations.map((m) => m.id)]);
  return rows[0]?.n === migrations.length;
}
