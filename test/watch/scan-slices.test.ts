import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { PgBoss } from 'pg-boss';
import { SCAN_QUEUE } from '../../src/jobs/expiry-jobs';
import { openDatabase, type Db } from '../../src/store/db';
import { NoticeRepository } from '../../src/store/notices';
import { THRESHOLDS } from '../../src/watch/expiry';
import { ConsentHarness } from '../auth/consent-harness';
import { botFleet } from '../helpers/bot-process';
import { announcePostgresSkip, ownSchema, TEST_DATABASE_URL } from '../helpers/databases';
import { startSimulator, type Simulator } from '../simulator/server';
import { noticesReceived, seedPartnersWithExpiringKey, whatTheKillLeft } from './partner-seed';

announcePostgresSkip();

const PARTNERS = 3_000;

/**
 * The expiry scan killed while it records (SIGKILL of a real bot process on PostgreSQL): the scan
 * runs as short slice jobs, so the slice the dead process held expires within seconds (the slice
 * settings here: 1 s of work, expiry 4 s) and the next process carries the scan on from that
 * slice's cursor, well within a minute; every partner's chat gets its notice, once except where the
 * kill fell between Teams taking a notice and the outbox marking it.
 */
(TEST_DATABASE_URL ? describe : describe.skip)('expiry scan killed mid-scan, resumed by the next slice (PostgreSQL, real bot processes, SIGKILL)', function () {
  this.timeout(600_000);
  let sim: Simulator;
  let h: ConsentHarness;
  let db: Db;
  let schema: Awaited<ReturnType<typeof ownSchema>> | undefined;
  const fleet = botFleet(() => h.env);

  before(async () => {
    sim = await startSimulator({ scenario: 'healthy', randomThrottling: false });
    schema = await ownSchema(TEST_DATABASE_URL!, 'slices');
    h = await ConsentHarness.start('healthy', {
      sim, env: { DATABASE_URL: schema.url, JOB_POLL_SECONDS: '0.5', JOB_MAINTENANCE_SECONDS: '1', SYNC_NIGHTLY_AT: 'off', WATCH_SLICE_SECONDS: '1' },
    });
    await h.app.stop();
    db = await openDatabase({ kind: 'postgres', url: schema.url });
  });
  after(async () => {
    await fleet.killAll();
    await db?.close();
    await schema?.drop();
    await sim?.stop();
    if (h) await rm(h.dataDir, { recursive: true, force: true });
  });

  async function askForScan(): Promise<void> {
    const boss = new PgBoss({ connectionString: schema!.url, schema: `${schema!.schema}_pgboss`, supervise: false, schedule: false, migrate: false });
    await boss.start();
    await boss.send(SCAN_QUEUE, {});
    await boss.stop({ graceful: false });
  }

  async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
      await delay(20);
    }
  }

  const recorded = async () => (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM notices'))[0]!.n;
  /** The scan's jobs (whatever queue it runs on) that a worker holds. */
  const activeScanJobs = async () => (await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM ${schema!.schema}_pgboss.job WHERE name LIKE 'expiry-scan%' AND state = 'active'`))[0]!.n;

  it(`${PARTNERS} partners; SIGKILL while the scan records: the next process resumes it within a minute, each partner noticed once`, async () => {
    const partners = await seedPartnersWithExpiringKey(db, sim, PARTNERS, (i) => THRESHOLDS[i % THRESHOLDS.length]!);
    const notices = new NoticeRepository(db);

    // Killed while a scan job is held, a fifth or more of the partners recorded. A slice ends every
    // second, so the kill can fall in the moment between one slice ending and the next being taken;
    // then nothing is held, and the process is started again and killed again (at most three times),
    // since the held slice's expiry is what this test is about.
    const inDoubt = new Set<string>();
    let atKill = 0;
    let heldAtKill = 0;
    let killedAt = 0;
    let kills = 0;
    do {
      const running = await fleet.start();
      if (kills === 0) await askForScan();
      const floor = atKill;
      await until('the scan recording', async () => (await recorded()) >= Math.max(PARTNERS / 5, floor + 1) && (await activeScanJobs()) > 0, 60_000);
      await running.stop('SIGKILL');
      kills++;
      killedAt = Date.now();
      atKill = await recorded();
      heldAtKill = await activeScanJobs();
      // Whatever the dead process had written to Teams before it died is read before counting.
      for (const c of (await whatTheKillLeft(sim, db, partners, 300)).inDoubt) inDoubt.add(c);
    } while (heldAtKill === 0 && kills < 3 && atKill < PARTNERS);
    assert.ok(atKill > 0 && atKill < PARTNERS, `killed mid-scan: ${atKill} recorded`);
    assert.ok(heldAtKill > 0, `the dead process held a scan job (${kills} kills, each between two slices)`);

    const second = await fleet.start();
    const startedMs = Date.now() - killedAt;
    await until('the scan resumed after the kill', async () => (await recorded()) > atKill, 60_000);
    const resumedMs = Date.now() - killedAt;
    await until('every partner recorded after the kill', async () => (await recorded()) === PARTNERS, 60_000);
    const doneMs = Date.now() - killedAt;
    console.log(`      SIGKILL with ${atKill}/${PARTNERS} recorded (${heldAtKill} scan job held${kills > 1 ? `; ${kills - 1} earlier kill(s) fell between slices` : ''}); after the kill: new process ready ${(startedMs / 1000).toFixed(1)} s, scan resumed ${(resumedMs / 1000).toFixed(1)} s, all recorded ${(doneMs / 1000).toFixed(1)} s`);
    await until('the outbox all sent', async () => (await notices.counts()).sent === PARTNERS, 300_000);
    await second.stop();

    const received = noticesReceived(sim, partners);
    assert.deepEqual(partners.filter((p) => received.get(p.conversationId) !== 1 && !inDoubt.has(p.conversationId)).map((p) => [p.conversationId, received.get(p.conversationId)]), [],
      'every chat got its notice once');
    assert.ok([...inDoubt].every((c) => (received.get(c) ?? 0) <= 2), 'a notice in doubt at the kill at most twice');
    assert.deepEqual(await notices.counts(), { pending: 0, sent: PARTNERS, dead: 0 });
    assert.equal(await activeScanJobs(), 0, 'no scan job left held');
  });
});
