import type { Db } from '../../src/store/db';

const literal = (v: unknown): string => (v === null || v === undefined ? 'NULL' : `'${String(v).replace(/'/g, "''")}'`);

/**
 * The plan a named statement may keep once it stops planning per call: PostgreSQL (and PGlite,
 * which is PostgreSQL) plan a prepared statement's first five executions with their values, then
 * use a generic plan, made without them, whenever its estimate is no dearer. On a small table (a
 * new deployment's) it is not, and the plan is kept until the table's statistics change. Every
 * statement with parameters runs named (issue 29), so a hot lookup must be fast in this plan too.
 * Forced here, then explained (text format).
 */
export async function genericPlan(db: Db, sql: string, params: readonly unknown[]): Promise<string> {
  return db.transaction(async (tx) => {
    await tx.exec('SET LOCAL plan_cache_mode = force_generic_plan');
    await tx.exec(`PREPARE generic_plan_probe AS ${sql}`);
    try {
      const rows = await tx.query<Record<string, string>>(`EXPLAIN EXECUTE generic_plan_probe(${params.map(literal).join(', ')})`);
      return rows.map((r) => Object.values(r)[0]).join('\n');
    } finally {
      await tx.exec('DEALLOCATE generic_plan_probe');
    }
  });
}
