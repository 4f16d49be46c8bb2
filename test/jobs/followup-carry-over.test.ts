import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/logger';
import { openDatabase, type Db } from '../../src/store/db';
import { migrate } from '../../src/store/migrate';
import { migrations } from '../../src/store/migrations';
import { PUBLIC_BASE_URL } from '../auth/consent-harness';
import { announcePostgresSkip, ownSchema, TEST_DATABASE_URL } from '../helpers/databases';
import { startSimulator, type Simulator } from '../simulator/server';

announcePostgresSkip();

/** A database as the version before the job engine held follow-ups left it: its own table, one row pending, one done. */
async function databaseWithOldFollowUps(db: Db): Promise<{ pending: string; done: string; dueAt: Date }> {
  // Every migration but the one that drops the old table (all of them, on a version that still has it).
  await migrate(db, migrations.filter((m) => m.name !== 'check_followups_to_job_engine'));
  const [pending, done] = [randomUUID(), randomUUID()];
  await db.query('INSERT INTO partners (tenant_id) VALUES ($1), ($2)', [pending, done]);
  const dueAt = new Date(Math.ceil(Date.now() / 1000) * 1000 + 10 * 60_000);
  await db.query(
    `INSERT INTO check_followups (tenant_id, conversation_id, requested_by, due_at, attempts) VALUES ($1, 'a:conv-pending', 'user-1', $2, 1)`,
    [pending, dueAt],
  );
  await db.query(
    `INSERT INTO check_followups (tenant_id, conversation_id, requested_by, due_at, done_at, outcome) VALUES ($1, 'a:conv-done', 'user-2', now(), now(), 'told')`,
    [done],
  );
  return { pending, done, dueAt };
}

const targets: { name: string; open(): Promise<{ db: Db; drop(): Promise<void> }> }[] = [
  { name: 'PGlite', open: async () => ({ db: await openDatabase({ kind: 'pglite-memory' }), drop: async () => undefined }) },
  ...(TEST_DATABASE_URL ? [{
    name: 'PostgreSQL',
    open: async () => {
      const schema = await ownSchema(TEST_DATABASE_URL!, 'carry');
      return { db: await openDatabase({ kind: 'postgres', url: schema.url }), drop: () => schema.drop() };
    },
  }] : []),
];

describe('check follow-ups carried from their old table into the job engine', function () {
  this.timeout(60_000);
  let sim: Simulator;
  let dataDir: string;
  before(async () => {
    sim = await startSimulator({ scenario: 'healthy' });
    dataDir = await mkdtemp(join(tmpdir(), 'carry-'));
  });
  after(async () => {
    await sim?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  for (const target of targets) {
    it(`(${target.name}) the new app starts on a database with a pending follow-up row: it is a pending job, due when it was, the table is gone, the done row is not carried`, async () => {
      const { db, drop } = await target.open();
      try {
        const old = await databaseWithOldFollowUps(db);
        const { logger, redactor } = createLogger({ level: 'silent' });
        const env = {
          DATA_DIR: dataDir, PUBLIC_BASE_URL, ALLOW_UNAUTHENTICATED: 'true', JOB_POLL_SECONDS: '0.5', JOB_MAINTENANCE_SECONDS: '1', WATCH_DAILY_AT: 'off', SYNC_NIGHTLY_AT: 'off',
          AUTHORITY_HOST: sim.baseUrl, GRAPH_BASE_URL: `${sim.baseUrl}/graph`, PARTNER_CENTER_BASE_URL: `${sim.baseUrl}/partnercenter`,
        };
        const app = await createApp(loadConfig(env), logger, redactor, { db, keepAliveIntervalMs: 0, followUpIntervalMs: 0 });
        try {
          const [table] = await app.db.query<{ present: boolean }>("SELECT to_regclass('check_followups') IS NOT NULL AS present");
          assert.equal(table?.present, false, 'the old table is dropped');
          const pending = await app.followUps.pending(old.pending);
          assert.ok(pending, 'the pending row is a pending follow-up');
          assert.equal(pending.conversationId, 'a:conv-pending');
          assert.equal(pending.requestedBy, 'user-1');
          assert.equal(pending.dueAt.getTime(), old.dueAt.getTime(), 'due when it was');
          assert.equal(await app.followUps.pending(old.done), undefined, 'a done row is not carried');
          const again = await app.followUps.schedule(old.pending, 'a:conv-other', 'user-3', new Date());
          assert.deepEqual([again.created, again.followUp.id], [false, pending.id], 'still one per partner: a new ask gets the carried one');
          assert.equal(await app.checkFollowUps.run(), 0, 'not due yet');
        } finally {
          await app.stop();
        }
      } finally {
        await drop();
      }
    });
  }
});
