import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import type { JobWithMetadata } from 'pg-boss';
import PgBossV10 from 'pg-boss-v10';
import { createLogger } from '../../src/logger';
import { openDatabase, type Db } from '../../src/store/db';
import { OLDEST_MIGRATABLE_SCHEMA, startJobEngine, type JobEngine } from '../../src/store/job-engine';
import { announcePostgresSkip, ownSchema, TEST_DATABASE_URL } from '../helpers/databases';

announcePostgresSkip();

const STATELY = 'upgrade-stately';
const STANDARD = 'upgrade-standard';

interface Old {
  /** Due now, waiting. */
  due: string;
  /** Due in 10 minutes, keyed. */
  later: string;
  laterAt: Date;
  /** Taken by a worker of the old version that stopped for the upgrade. */
  active: string;
  /** Finished before the upgrade: not carried. */
  completed: string;
}

/** What a pg-boss 10 deployment left: its schema (24), two queues, jobs waiting, one active, one done. */
async function oldDeployment(db: Db, schema: string): Promise<Old> {
  const boss = new PgBossV10({ db: { executeSql: (text: string, values?: unknown[]) => db.script(text, values) }, schema, supervise: false, schedule: false });
  await boss.start();
  await boss.createQueue(STATELY, { name: STATELY, policy: 'stately', retryLimit: 5, retryDelay: 7, expireInSeconds: 30 });
  await boss.createQueue(STANDARD, { name: STANDARD, policy: 'standard', retryLimit: 1 });
  const laterAt = new Date(Math.ceil(Date.now() / 1000) * 1000 + 10 * 60_000);
  const later = (await boss.send(STATELY, { n: 'later' }, { singletonKey: 'tenant-1', startAfter: laterAt }))!;
  // pg-boss 10 fetches jobs whose start_after < now() (strictly): when the fetch reads the same now()
  // as the send (the embedded database's clock is coarse), the job is not yet due and fetch() comes
  // back empty, as it once did in CI; so ask again.
  const fetchOne = async (): Promise<{ id: string }> => {
    for (let i = 0; i < 100; i++) {
      const [job] = await boss.fetch(STANDARD);
      if (job) return job;
      await delay(5);
    }
    throw new Error('pg-boss 10 fetched no job within 0.5 s');
  };
  const active = (await boss.send(STANDARD, { n: 'active' }))!;
  assert.equal((await fetchOne()).id, active);
  const completed = (await boss.send(STANDARD, { n: 'completed' }))!;
  await boss.complete(STANDARD, (await fetchOne()).id);
  const due = (await boss.send(STANDARD, { n: 'due' }))!;
  await boss.stop({ graceful: false, wait: true });
  return { due, later, laterAt, active, completed };
}

const targets: { name: string; open(): Promise<{ db: Db; drop(): Promise<void> }> }[] = [
  { name: 'PGlite', open: async () => ({ db: await openDatabase({ kind: 'pglite-memory' }), drop: async () => undefined }) },
  ...(TEST_DATABASE_URL ? [{
    name: 'PostgreSQL',
    open: async () => {
      const schema = await ownSchema(TEST_DATABASE_URL!, 'upgrade');
      const db = await openDatabase({ kind: 'postgres', url: schema.url });
      return {
        db,
        drop: async () => {
          await db.exec(`DROP SCHEMA IF EXISTS ${schema.schema}_pgboss_v24 CASCADE`);
          await db.close();
          await schema.drop();
        },
      };
    },
  }] : []),
];

describe('job engine: upgrading from pg-boss 10 (a schema pg-boss 12 cannot migrate)', function () {
  this.timeout(60_000);
  const { logger } = createLogger({ level: 'silent' });

  for (const target of targets) {
    it(`(${target.name}) the old schema is set aside, its pending jobs are carried over with their ids, keys, due times and queue settings, and run; a restart carries nothing twice`, async () => {
      const { db, drop } = await target.open();
      let engine: JobEngine | undefined;
      try {
        const [{ schema: ours }] = (await db.query<{ schema: string }>('SELECT current_schema() AS schema')) as [{ schema: string }];
        const bossSchema = ours === 'public' ? 'pgboss' : `${ours}_pgboss`;
        const old = await oldDeployment(db, bossSchema);

        engine = await startJobEngine(db, { logger, pollingSeconds: 0.5, maintenanceSeconds: 1 });
        const boss = engine.boss;
        const [aside] = await db.query<{ version: number }>(`SELECT version FROM "${bossSchema}_v24".version`);
        assert.equal(aside?.version, 24, 'the old schema is kept, renamed');
        const [now] = await db.query<{ version: number }>(`SELECT version FROM "${bossSchema}".version`);
        assert.ok(now!.version >= OLDEST_MIGRATABLE_SCHEMA, `a new schema (${now!.version})`);

        const standard = await boss.findJobs<{ n: string }>(STANDARD);
        assert.deepEqual(standard.map((j) => j.id).sort(), [old.active, old.due].sort(), 'the waiting and the active job carried, the completed one not');
        const [later, ...rest] = await boss.findJobs<{ n: string }>(STATELY);
        assert.equal(rest.length, 0);
        assert.equal(later!.id, old.later);
        assert.deepEqual(later!.data, { n: 'later' });
        assert.equal(later!.singletonKey, 'tenant-1');
        assert.equal(new Date(later!.startAfter).getTime(), old.laterAt.getTime(), 'due when it was');
        assert.equal(later!.state, 'created');
        const queue = await boss.getQueue(STATELY);
        assert.equal(queue?.policy, 'stately');
        assert.equal(queue?.retryLimit, 5);
        assert.equal(queue?.expireInSeconds, 30);
        const [left] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${bossSchema}_v24".job WHERE state < 'completed'`);
        assert.equal(left?.n, 0, 'nothing pending left behind');

        // They run on the new engine: the two due now, not the one due in 10 minutes.
        const ran: string[] = [];
        await boss.work(STANDARD, { pollingIntervalSeconds: 0.5, includeMetadata: true }, async (jobs: JobWithMetadata<{ n: string }>[]) => {
          ran.push(...jobs.map((j) => j.data.n));
        });
        const deadline = Date.now() + 20_000;
        while (ran.length < 2) {
          assert.ok(Date.now() < deadline, `the carried jobs ran within 20 s (ran: ${ran.join(', ')})`);
          await delay(100);
        }
        assert.deepEqual(ran.sort(), ['active', 'due']);
        await engine.stop();

        engine = await startJobEngine(db, { logger, pollingSeconds: 0.5, maintenanceSeconds: 1 });
        assert.equal((await engine.boss.findJobs(STANDARD)).length, 2, 'a restart carries nothing twice');
        assert.equal((await engine.boss.findJobs(STATELY)).length, 1);
        const schemas = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_namespace WHERE nspname LIKE $1", [`${bossSchema}_v%`]);
        assert.equal(schemas[0]?.n, 1, 'set aside once');
      } finally {
        await engine?.stop();
        await drop();
      }
    });
  }
});
