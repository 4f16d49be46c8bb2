import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { KEEP_ALIVE_PARTNER_QUEUE, KEEP_ALIVE_QUEUE } from '../../src/jobs/token-keep-alive';
import { type TestPartner } from '../auth/consent-harness';
import { announcePostgresSkip, TEST_DATABASE_URL } from '../helpers/databases';
import { sharedDatabase } from '../helpers/shared-database';
import { PARTNER_TENANT_ID } from '../simulator/scenarios/ids';

announcePostgresSkip();

/**
 * The token keep-alive with two bot instances on one PostgreSQL (the production shape): a period's
 * run happening in both at once refreshes each due partner once, counted as token requests at the
 * simulator's Entra ID.
 */
(TEST_DATABASE_URL ? describe : describe.skip)('token keep-alive: two instances on one database (PostgreSQL)', function () {
  this.timeout(120_000);
  const fleet = sharedDatabase('keepalive', { keepAliveIntervalMs: 3_600_000, followUpIntervalMs: 0 });
  const instance = () => fleet.instance();

  /** Token requests to the partner's tenant at the simulator's Entra ID (sign-ins, refreshes). */
  const tokenRequests = () => fleet.sim.requests.filter((r) => r.method === 'POST' && r.path === `/${PARTNER_TENANT_ID}/oauth2/v2.0/token`).length;

  it('a period run in both instances at once: each due partner refreshed once, a fresh one not at all', async () => {
    const due: TestPartner[] = [];
    for (let i = 0; i < 4; i++) {
      const p = await fleet.h.partner();
      assert.equal((await fleet.h.signIn(p)).status, 200);
      due.push(p);
    }
    const fresh = await fleet.h.partner();
    assert.equal((await fleet.h.signIn(fresh)).status, 200);
    await fleet.h.app.db.query("UPDATE partners SET consent_used_at = now() - interval '8 days' WHERE tenant_id = ANY($1::text[])", [due.map((p) => p.tenant)]);
    const [a, b] = [await instance(), await instance()];

    const before = tokenRequests();
    const runs = await Promise.all([a.keepAlive.run(), b.keepAlive.run()]);
    const refreshes = tokenRequests() - before;
    console.log(`      ${due.length} partners due; token requests: ${refreshes}; runs: ${JSON.stringify(runs)}`);
    assert.equal(refreshes, due.length, 'one refresh per due partner');
    for (const p of due) assert.ok(Date.now() - (await fleet.h.app.partners.get(p.tenant))!.consent.usedAt!.getTime() < 60_000, 'the due consent was used just now');

    // Another run in the same period finds nobody due.
    const again = await Promise.all([a.keepAlive.run(), b.keepAlive.run()]);
    assert.equal(tokenRequests() - before, due.length, 'nothing refreshed twice');
    assert.deepEqual(again, [{ refreshed: 0, failed: 0 }, { refreshed: 0, failed: 0 }]);
  });

  it('the hourly schedule: one in the database for all instances; its run, asked twice in a period, still refreshes each due partner once', async () => {
    const due: TestPartner[] = [];
    for (let i = 0; i < 3; i++) {
      const p = await fleet.h.partner();
      assert.equal((await fleet.h.signIn(p)).status, 200);
      due.push(p);
    }
    await fleet.h.app.db.query("UPDATE partners SET consent_used_at = now() - interval '8 days' WHERE tenant_id = ANY($1::text[])", [due.map((p) => p.tenant)]);
    const [a, b] = fleet.instances;
    const schedules = (await a!.engine.boss.getSchedules()).filter((s) => s.name === KEEP_ALIVE_QUEUE);
    assert.equal(schedules.length, 1, 'one schedule, whichever instance wrote it');

    const before = tokenRequests();
    // The cron slot's job as pg-boss sends it, twice (two slots in one period, or a retry): the instances' workers take them.
    await a!.engine.boss.send(KEEP_ALIVE_QUEUE, {});
    await b!.engine.boss.send(KEEP_ALIVE_QUEUE, {});
    const s = a!.engine.schema;
    const unfinished = async () => (await fleet.h.app.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM "${s}".job WHERE name IN ($1, $2) AND state < 'completed'`, [KEEP_ALIVE_QUEUE, KEEP_ALIVE_PARTNER_QUEUE]))[0]!.n;
    const deadline = Date.now() + 60_000;
    while ((await unfinished()) > 0) {
      assert.ok(Date.now() < deadline, 'the keep-alive jobs finished within a minute');
      await delay(200);
    }
    assert.equal(tokenRequests() - before, due.length, 'one refresh per due partner');
    for (const p of due) assert.ok(Date.now() - (await fleet.h.app.partners.get(p.tenant))!.consent.usedAt!.getTime() < 60_000, 'the due consent was used just now');
  });
});
