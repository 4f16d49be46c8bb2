import { createHash } from 'node:crypto';
import PgBoss from 'pg-boss';
import type { Logger } from '../logger';
import type { Db } from './db';

/**
 * The job engine: pg-boss (https://github.com/timgit/pg-boss) on the bot's own database, whichever
 * engine it is. On PostgreSQL that is what pg-boss is made for; on the embedded PGlite it runs
 * through pg-boss' documented `db` option (an `executeSql(text, values)` of our own), so the
 * embedded default runs jobs the same way, in one process. Jobs are claimed with `SKIP LOCKED`, so
 * N instances never run one job twice; a job whose worker died is expired and retried.
 */

export interface JobEngineOptions {
  logger: Logger;
  /** Seconds between pg-boss' maintenance runs (expiry of dead workers' jobs, retries). Default 30. */
  maintenanceSeconds?: number;
  /** Seconds between polls for new jobs. Default 2. */
  pollingSeconds?: number;
}

export interface JobEngine {
  readonly boss: PgBoss;
  /** pg-boss' schema (where a store reads a queue's pending jobs by key: pg-boss has no call for that). */
  readonly schema: string;
  readonly pollingSeconds: number;
  stop(): Promise<void>;
}

/** pg-boss keeps its tables in a schema of its own, next to ours (tests give each run its own schema). */
async function bossSchema(db: Db): Promise<string> {
  const [row] = await db.query<{ schema: string }>('SELECT current_schema() AS schema');
  const ours = row?.schema ?? 'public';
  return ours === 'public' ? 'pgboss' : `${ours}_pgboss`.slice(0, 63);
}

export async function startJobEngine(db: Db, o: JobEngineOptions): Promise<JobEngine> {
  const schema = await bossSchema(db);
  // Instances starting together race to create pg-boss' schema (CREATE SCHEMA IF NOT EXISTS is
  // not safe against a concurrent one): the loser starts again and finds it made.
  for (let attempt = 1; ; attempt++) {
    try {
      return await start(db, schema, o);
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
    schema,
    supervise: true,
    schedule: true,
    maintenanceIntervalSeconds: o.maintenanceSeconds ?? 30,
    // Completed jobs are not kept for long: the sync's own rows are the record.
    archiveCompletedAfterSeconds: 3600,
    deleteAfterDays: 7,
  } as PgBoss.ConstructorOptions);
  boss.on('error', (err) => o.logger.warn({ err }, 'job engine error'));
  await boss.start();
  return {
    boss,
    schema,
    pollingSeconds: o.pollingSeconds ?? 2,
    async stop() {
      await boss.stop({ graceful: true, wait: true, timeout: 15_000 });
    },
  };
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
