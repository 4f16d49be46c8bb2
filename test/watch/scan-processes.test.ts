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
import { connectorOf } from '../simulator/services/connector';
import { noticesReceived, seedPartnersWithExpiringKey, whatTheKillLeft } from './partner-seed';

announcePostgresSkip();

const PARTNERS = 3_000;
/** The connector's limit per app across tenants (a simulator knob): a drain of about 30 s, paced. */
const PER_SECOND = 100;

/**
 * The expiry scan and the notices outbox across a crash, on real bot processes and one PostgreSQL
 * (the production shape): the scan is asked for through the job engine, the process is killed
 * (SIGKILL) while the notices go out, and a new one finishes. What Teams received is read from the
 * simulator's connector. The notices the dead process had claimed wait out their lease (2 min).
 */
(TEST_DATABASE_URL ? describe : describe.skip)('expiry notices across a crash (PostgreSQL, real bot processes, SIGKILL)', function () {
  this.timeout(600_000);
  let sim: Simulator;
  let h: ConsentHarness;
  let db: Db;
  let schema: Awaited<ReturnType<typeof ownSchema>> | undefined;
  let url: string;
  const fleet = botFleet(() => h.env);
  const bot = () => fleet.start();

  before(async () => {
    sim = await startSimulator({ scenario: 'healthy', randomThrottling: false });
    schema = await ownSchema(TEST_DATABASE_URL!, 'scan');
    url = schema.url;
    // The harness migrates the database and gives the bot's environment; only the bot processes work.
    h = await ConsentHarness.start('healthy', { sim, env: { DATABASE_URL: url, JOB_POLL_SECONDS: '0.5', JOB_MAINTENANCE_SECONDS: '1', SYNC_NIGHTLY_AT: 'off' } });
    await h.app.stop();
    db = await openDatabase({ kind: 'postgres', url });
  });
  after(async () => {
    await fleet.killAll();
    await db?.close();
    await schema?.drop();
    await sim?.stop();
    if (h) await rm(h.dataDir, { recursive: true, force: true });
  });

  /** Asks for the scan as the daily schedule does: a job on the scan queue, run by whichever process polls first. */
  async function askForScan(): Promise<void> {
    const boss = new PgBoss({ connectionString: url, schema: `${schema!.schema}_pgboss`, supervise: false, schedule: false, migrate: false });
    await boss.start();
    await boss.send(SCAN_QUEUE, {});
    await boss.stop({ graceful: false });
  }

  async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
      await delay(100);
    }
  }

  it(`${PARTNERS} partners, a key in each threshold; SIGKILL while the notices go out, restart: each chat gets its notice, the outbox ends all sent, a second one only where the kill fell between Teams taking it and the outbox marking it`, async () => {
    const started = Date.now();
    const partners = await seedPartnersWithExpiringKey(db, sim, PARTNERS, (i) => THRESHOLDS[i % THRESHOLDS.length]!);
    connectorOf(sim).setLimits({ perAppGlobal: [{ limit: PER_SECOND, windowMs: 1_000 }] });
    const notices = new NoticeRepository(db);
    const arrived = () => [...noticesReceived(sim, partners).values()].filter((n) => n > 0).length;

    let proc = await bot();
    await askForScan();
    const killAt = Math.round(PARTNERS * (0.2 + Math.random() * 0.5));
    await until(`${killAt} notices sent`, () => arrived() >= killAt, 180_000);
    await proc.stop('SIGKILL');
    // What the kill left: the scan had recorded every notice; Teams had some; the outbox had marked some sent.
    const { received: atKill, marked, inDoubt } = await whatTheKillLeft(sim, db, partners, 500);
    const killedAt = { received: [...atKill.values()].filter((n) => n > 0).length, marked: marked.size, ...(await notices.counts()) };
    assert.equal(killedAt.pending + killedAt.sent, PARTNERS, 'the scan had recorded every notice before the sending began');
    assert.ok(killedAt.received > 0 && killedAt.received < PARTNERS, `killed mid-way: ${JSON.stringify(killedAt)}`);
    assert.ok(marked.size <= killedAt.received, 'nothing marked sent that Teams does not have');
    console.log(`      SIGKILL with ${killedAt.received} notices in Teams, ${killedAt.marked} marked sent; ${inDoubt.length} taken by Teams, not yet marked`);

    proc = await bot();
    await until('the outbox all sent', async () => (await notices.counts()).sent === PARTNERS, 360_000);
    await proc.stop();

    const received = noticesReceived(sim, partners);
    assert.deepEqual(partners.filter((p) => received.get(p.conversationId) === 0).map((p) => p.conversationId), [], 'every chat got its notice');
    const twice = partners.filter((p) => received.get(p.conversationId)! > 1);
    assert.ok(twice.every((p) => received.get(p.conversationId) === 2), 'none three times');
    // At-least-once: a notice Teams took but the outbox had not marked when the process died is sent again after its lease; no other.
    assert.deepEqual(twice.map((p) => p.conversationId).sort(), [...inDoubt].sort());
    assert.deepEqual(await notices.counts(), { pending: 0, sent: PARTNERS, dead: 0 });
    // Each card says the threshold its key is in.
    for (const p of partners.slice(0, 12)) {
      const texts = connectorOf(sim).transcript(p.conversationId).entries.map((e) => e.text ?? '');
      assert.match(texts[0]!, new RegExp(`Your Partner Center web app key expires in ${p.days} day${p.days === 1 ? '' : 's'}\\*\\*`));
    }
    console.log(`      restart to all sent: ${((Date.now() - started) / 1000).toFixed(0)} s in all; sent twice: ${twice.length} (the ones in doubt at the kill)`);
  });
});
