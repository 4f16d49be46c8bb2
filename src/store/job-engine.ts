import { createHash } from 'node:crypto';
import { PgBoss, type Db as BossDb, type JobInsert, type Queue } from 'pg-boss';
import type { Logger } from '../logger';
import type { Db, Queryable } from './db';

/**
 * The job engine: pg-boss (https://github.com/timgit/pg-boss) on the bot's own database, whichever
 * engine it is. On PostgreSQL that is what pg-boss is made for; on the embedded PGlite it runs
 * through pg-boss' documented `db` option (an `executeSql(text, values)` of our own), so the
 * embedded default runs jobs the same way, in one process. Jobs are claimed with `SKIP LOCKED`, so
 * N instances never run one job twice; a job whose worker died is expired and retried.
 *
 * pg-boss 12 cannot migrate the schema pg-boss 10 made (its oldest starting point is schema 25;
 * 10.x is 24). An earlier version's schema is set aside at start (renamed `<schema>_v<version>`,
 * kept for the operator) and its pending jobs are carried over to the new one, so the jobs queued
 * when the bot was upgraded still run.
 */

export interface JobEngineOptions {
  logger: Logger;
  /** Seconds between pg-boss' supervision passes (expiry of dead workers' jobs). Default 30. */
  maintenanceSeconds?: number;
  /** Seconds between polls for new jobs. Default 2. */
  pollingSeconds?: number;
}

export interface JobEngine {
  readonly boss: PgBoss;
  /** pg-boss' schema (tests read it; the bot uses pg-boss' calls). */
  readonly schema: string;
  readonly pollingSeconds: number;
  /** Runs `fn` in one transaction of the bot's database; pg-boss calls given its `db` run in it. */
  inTransaction<T>(fn: (db: BossDb) => Promise<T>): Promise<T>;
  stop(): Promise<void>;
}

/** The oldest pg-boss schema that pg-boss 12 migrates from; older ones are set aside. */
export const OLDEST_MIGRATABLE_SCHEMA = 25;

/** pg-boss keeps its tables in a schema of its own, next to ours (tests give each run its own schema). */
async function bossSchema(db: Db): Promise<string> {
  const [row] = await db.query<{ schema: string }>('SELECT current_schema() AS schema');
  const ours = row?.schema ?? 'public';
  return ours === 'public' ? 'pgboss' : `${ours}_pgboss`.slice(0, 63);
}

export async function startJobEngine(db: Db, o: JobEngineOptions): Promise<JobEngine> {
  const schema = await bossSchema(db);
  await setAsideOldSchema(db, schema, o.logger);
  // Instances starting together race to create pg-boss' schema (CREATE SCHEMA IF NOT EXISTS is
  // not safe against a concurrent one): the loser starts again and finds it made.
  for (let attempt = 1; ; attempt++) {
    try {
      const engine = await start(db, schema, o);
      await carryOverFromSetAside(db, engine.boss, schema, o.logger);
      return engine;
    } catch (err) {
      if (attempt >= 3 || !/duplicate key|already exists/i.test((err as Error).message)) throw err;
      o.logger.info({ attempt }, 'job engine: another instance was creating its tables; starting again');
      await new Promise((r) => setTimeout(r, 200 * attempt));
    }
  }
}

async function start(db: Db, schema: string, o: JobEngineOptions): Promise<JobEngine> {
  const boss = new PgBoss({
    db: { executeSql: (text: string, values?: unknown[]) => retryDeadlock(() => db.script(text, values), o.logger) },
    backend: db.engine === 'pglite' ? 'pglite' : 'postgres',
    schema,
    supervise: true,
    schedule: true,
    // pg-boss 12 expires a dead worker's jobs in its monitor pass, run as often as the longer of
    // these two (60 s by default; pg-boss 10 did it in maintenance).
    superviseIntervalSeconds: o.maintenanceSeconds ?? 30,
    monitorIntervalSeconds: o.maintenanceSeconds ?? 30,
  });
  boss.on('error', (err: unknown) => o.logger.warn({ err }, 'job engine error'));
  await boss.start();
  return {
    boss,
    schema,
    pollingSeconds: o.pollingSeconds ?? 2,
    inTransaction: (fn) => db.transaction((tx) => fn(asBossDb(tx))),
    async stop() {
      await boss.stop({ graceful: true, timeout: 15_000 });
    },
  };
}

/**
 * Creates a queue, or brings one made by an earlier version (or carried over from one) in line
 * with `queue`: pg-boss' createQueue keeps an existing queue as it is, and its policy cannot change.
 */
export async function ensureQueue(boss: PgBoss, queue: Queue): Promise<void> {
  const { name, policy, partition, ...settings } = queue;
  await boss.createQueue(name, { policy, partition, ...settings });
  if (Object.keys(settings).length > 0) await boss.updateQueue(name, settings);
}

/** A schema pg-boss 12 cannot migrate: renamed aside (once, under a lock) so pg-boss makes a new one. */
async function setAsideOldSchema(db: Db, schema: string, logger: Logger): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`${schema} set aside`]);
    const [present] = await tx.query<{ ok: boolean }>('SELECT to_regclass($1) IS NOT NULL AS ok', [`"${schema}".version`]);
    if (!present?.ok) return;
    const [row] = await tx.query<{ version: number }>(`SELECT version FROM "${schema}".version`);
    if (!row || Number(row.version) >= OLDEST_MIGRATABLE_SCHEMA) return;
    let aside = setAsideName(schema, Number(row.version));
    const [taken] = await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = $1', [aside]);
    if (taken?.n) aside = `${aside.slice(0, 50)}_${Date.now()}`;
    await tx.exec(`ALTER SCHEMA "${schema}" RENAME TO "${aside}"`);
    logger.info({ schema, version: Number(row.version), aside }, 'job engine: an earlier pg-boss schema was set aside; its pending jobs are carried over');
  });
}

function setAsideName(schema: string, version: number): string {
  return `${schema.slice(0, 55)}_v${version}`;
}

interface OldJobRow {
  id: string;
  data: object | null;
  priority: number;
  retry_limit: number;
  retry_delay: number;
  retry_backoff: boolean;
  start_after: Date | string;
  singleton_key: string | null;
  expire_seconds: number;
  state: string;
}

/**
 * The pending jobs (created, waiting to retry, or active: their worker stopped for the upgrade)
 * of every set-aside schema become jobs of the new engine, with their ids, data, keys, due times
 * and retry settings (the count starts anew); each queue is created first with its old settings
 * unless it exists. Moved and deleted from the old table in one transaction per queue, so a
 * restart half-way moves each once (and an id already present makes no second job).
 */
async function carryOverFromSetAside(db: Db, boss: PgBoss, schema: string, logger: Logger): Promise<number> {
  const asides = await db.query<{ name: string }>(
    "SELECT nspname AS name FROM pg_namespace WHERE nspname LIKE $1 ESCAPE '!' ORDER BY nspname",
    [`${schema.slice(0, 55).replace(/[!_%]/g, '!$&')}!_v%`],
  );
  let moved = 0;
  for (const { name: aside } of asides) {
    const [tables] = await db.query<{ ok: boolean }>('SELECT to_regclass($1) IS NOT NULL AND to_regclass($2) IS NOT NULL AS ok', [`"${aside}".job`, `"${aside}".queue`]);
    if (!tables?.ok) continue;
    const queues = await db.query<{ name: string; policy: string | null; retry_limit: number | null; retry_delay: number | null; retry_backoff: boolean | null; expire_seconds: number | null; retention_minutes: number | null }>(
      `SELECT q.name, q.policy, q.retry_limit, q.retry_delay, q.retry_backoff, q.expire_seconds, q.retention_minutes FROM "${aside}".queue q
       WHERE q.name NOT LIKE '\\_\\_pgboss%' AND EXISTS (SELECT 1 FROM "${aside}".job j WHERE j.name = q.name AND j.state < 'completed') ORDER BY q.name`,
    );
    for (const q of queues) {
      if (!(await boss.getQueue(q.name))) {
        await boss.createQueue(q.name, {
          policy: q.policy ?? 'standard',
          ...(q.retry_limit === null ? {} : { retryLimit: q.retry_limit }),
          ...(q.retry_delay === null ? {} : { retryDelay: q.retry_delay }),
          ...(q.retry_backoff === null ? {} : { retryBackoff: q.retry_backoff }),
          ...(q.expire_seconds ? { expireInSeconds: q.expire_seconds } : {}),
          ...(q.retention_minutes ? { retentionSeconds: q.retention_minutes * 60 } : {}),
        });
      }
      const n = await db.transaction(async (tx) => {
        const rows = await tx.query<OldJobRow>(
          `SELECT id, data, priority, retry_limit, retry_delay, retry_backoff, start_after, singleton_key, EXTRACT(epoch FROM expire_in)::int AS expire_seconds, state::text AS state
           FROM "${aside}".job WHERE name = $1 AND state < 'completed' ORDER BY created_on, id FOR UPDATE`,
          [q.name],
        );
        if (rows.length === 0) return 0;
        const jobs: JobInsert[] = rows.map((r) => ({
          id: r.id,
          data: r.data ?? {},
          priority: r.priority,
          retryLimit: r.retry_limit,
          retryDelay: r.retry_delay,
          retryBackoff: r.retry_backoff,
          // One that was running (its worker stopped for the upgrade) runs again now.
          startAfter: r.state === 'active' ? new Date() : new Date(r.start_after),
          ...(r.singleton_key === null ? {} : { singletonKey: r.singleton_key }),
          ...(r.expire_seconds > 0 ? { expireInSeconds: r.expire_seconds } : {}),
        }));
        await boss.insert(q.name, jobs, { db: asBossDb(tx) });
        await tx.query(`DELETE FROM "${aside}".job WHERE id = ANY($1::uuid[])`, [rows.map((r) => r.id)]);
        return rows.length;
      });
      if (n) logger.info({ queue: q.name, jobs: n, from: aside }, 'job engine: pending jobs carried over from the set-aside schema');
      moved += n;
    }
  }
  return moved;
}

/** pg-boss' statements run in our transaction. */
export function asBossDb(tx: Queryable): BossDb {
  return { executeSql: async (text: string, values?: unknown[]) => ({ rows: await tx.query(text, values) }) };
}

/**
 * Instances starting together create pg-boss' queues at once, and PostgreSQL may answer one of two
 * concurrent `create_queue` DDLs with a deadlock (40P01). A deadlocked statement was rolled back
 * whole, so it is run again, a few times, after a short jittered pause.
 */
async function retryDeadlock<T>(run: () => Promise<T>, logger: Logger): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (err) {
      if (attempt >= 5 || (err as { code?: unknown }).code !== '40P01') throw err;
      logger.info({ attempt }, 'job engine: a statement met another instance\'s in a deadlock; running it again');
      await new Promise((r) => setTimeout(r, 50 * attempt + Math.floor(Math.random() * 100)));
    }
  }
}

/**
 * A job id that is the same for the same work (a UUID from a hash of `parts`): pg-boss inserts a job
 * whose id exists as nothing, so sending the same step twice (a retried slice) makes one job.
 */
export function stableJobId(...parts: string[]): string {
  const h = createHash('sha256').update(parts.join('\u0000')).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h.slice(16, 18), 16) & 0x3f) | 0x80).toString(16)}${h.slice(18, 20)}-${h.slice(20, 32)}`;
}
