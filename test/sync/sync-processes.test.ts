import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { CustomerSyncRepository } from '../../src/store/customer-syncs';
import { openDatabase, type Db } from '../../src/store/db';
import { ConsentHarness, type TestPartner } from '../auth/consent-harness';
import { BotClient } from '../harness/bot-client';
import { botFleet, type BotProcess } from '../helpers/bot-process';
import { announcePostgresSkip, ownSchema, TEST_DATABASE_URL } from '../helpers/databases';
import { startSimulator, type Simulator } from '../simulator/server';
import { customerRows, onboardedPartner, syncFinished } from './sync-harness';

announcePostgresSkip();

/**
 * The sync across real bot processes on one PostgreSQL (the production shape): `SIGKILL` mid-sync
 * and restart, and two instances sharing the work. The job engine's expiry is short here
 * (slices of 2 s, expired after 6 s, maintenance every second) so a dead worker's slice is retried
 * within seconds.
 */
(TEST_DATABASE_URL ? describe : describe.skip)('customer sync across processes (PostgreSQL, real bot processes, SIGKILL)', function () {
  this.timeout(600_000);
  let sim: Simulator;
  let h: ConsentHarness;
  let db: Db;
  let schema: Awaited<ReturnType<typeof ownSchema>> | undefined;
  const fleet = botFleet(() => h.env);
  const bot = () => fleet.start();

  before(async () => {
    sim = await startSimulator({ scenario: 'large' });
    schema = await ownSchema(TEST_DATABASE_URL!, 'sync');
    h = await ConsentHarness.start('large', {
      sim,
      env: { DATABASE_URL: schema.url, JOB_POLL_SECONDS: '0.5', JOB_MAINTENANCE_SECONDS: '1', SYNC_SLICE_SECONDS: '2', SYNC_NIGHTLY_AT: 'off', SYNC_PAGE_SIZE: '250' },
    });
    db = await openDatabase({ kind: 'postgres', url: schema.url });
  });
  after(async () => {
    await fleet.killAll();
    await h?.stop();
    await db?.close();
    await schema?.drop();
    await sim?.stop();
    if (h) await rm(h.dataDir, { recursive: true, force: true });
  });

  function chatTo(proc: BotProcess, p: TestPartner): BotClient {
    return new BotClient({ endpoint: `${proc.url}/api/messages`, simulatorUrl: sim.baseUrl, conversation: { tenantId: p.tenant, user: p.person, conversationId: p.conversationId }, quietMs: 120 });
  }

  const syncs = () => new CustomerSyncRepository(db);

  /** Waits until the running sync has committed at least `pages` pages (both phases). */
  async function reach(tenant: string, pages: number): Promise<void> {
    for (let i = 0; i < 3000; i++) {
      const s = await syncs().latest(tenant);
      if (s && (s.status !== 'running' || s.gdapPages + s.pages >= pages)) return;
      await delay(100);
    }
    throw new Error(`the sync did not reach ${pages} pages`);
  }

  it('large (20,000 customers, throttling on): SIGKILL at three random pages, restarted each time: every customer once, none skipped', async () => {
    await sim.loadScenario('large');
    const p = await onboardedPartner(h);
    await h.app.stop(); // from here on only the bot processes work
    let proc = await bot();
    await chatTo(proc, p).say('sync', { count: 1 });
    // 60 GDAP pages then 80 customer pages of 250: kill once in each stretch.
    const points = [5 + Math.floor(Math.random() * 40), 62 + Math.floor(Math.random() * 30), 100 + Math.floor(Math.random() * 30)];
    for (const at of points) {
      await reach(p.tenant, at);
      const before = await syncs().latest(p.tenant);
      await proc.stop('SIGKILL');
      console.log(`      SIGKILL at ${before!.gdapPages} GDAP + ${before!.pages} customer pages (${before!.seen} customers committed)`);
      proc = await bot();
    }
    const sync = await syncFinished(syncs(), (await syncs().latest(p.tenant))!.id, 400_000);
    assert.equal(sync.status, 'succeeded', sync.error);
    assert.deepEqual(await customerRows(db, p.tenant), { rows: 20_000, distinct: 20_000 });
    assert.deepEqual([sync.seen, sync.added, sync.removed], [20_000, 20_000, 0], 'each committed page counted once: nothing skipped, nothing twice');
    assert.deepEqual(sync.notManageable, { none: 2_000 });
    await proc.stop();
  });

  it('two processes, one sync: both asked, one sync runs; kill the one running a slice, the other finishes it', async () => {
    await sim.loadScenario('large');
    sim.scenario.tenants[0]!.customers.count = 4_000;
    const p = await onboardedPartnerWithApp();
    const [a, b] = [await bot(), await bot()];
    await Promise.all([chatTo(a, p).say('sync', { count: 1 }), chatTo(b, p).say('sync', { count: 1 })]);
    const all = await db.query<{ n: string }>('SELECT count(*) AS n FROM customer_syncs WHERE tenant_id = $1', [p.tenant]);
    assert.equal(Number(all[0]!.n), 1, 'one sync: the second start attached');
    await reach(p.tenant, 8);
    // The one running a slice now: its last "slice started" has no "slice ended" after it.
    const busy = (proc: BotProcess) => { const out = proc.stdout(); return out.lastIndexOf('customer sync slice started') > out.lastIndexOf('customer sync slice ended'); };
    let victim: BotProcess | undefined;
    for (let i = 0; i < 200 && !victim; i++) {
      victim = [a, b].find(busy);
      if (!victim) await delay(25);
    }
    assert.ok(victim, 'one process runs a slice');
    const survivor = victim === a ? b : a;
    const mark = survivor.stdout().length;
    await victim.stop('SIGKILL');
    const sync = await syncFinished(syncs(), (await syncs().latest(p.tenant))!.id, 300_000);
    assert.equal(sync.status, 'succeeded', sync.error);
    assert.match(survivor.stdout().slice(mark), /customer sync slice ended/, 'the survivor ran the rest');
    assert.deepEqual(await customerRows(db, p.tenant), { rows: 4_000, distinct: 4_000 });
    assert.equal(sync.seen, 4_000);
    await survivor.stop();
  });

  /** The harness app is stopped after the first test: a fresh one onboards the next partner. */
  async function onboardedPartnerWithApp(): Promise<TestPartner> {
    await h.restart();
    const p = await onboardedPartner(h);
    await h.app.stop();
    return p;
  }
});
