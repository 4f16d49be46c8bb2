import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { textsOf, type TestPartner } from '../auth/consent-harness';
import { announcePostgresSkip, TEST_DATABASE_URL } from '../helpers/databases';
import { sharedDatabase } from '../helpers/shared-database';
import { followUpJobs } from './follow-up-due';

announcePostgresSkip();

const DONE = /^\*\*Re-check done\*\*/;

/**
 * "Re-check in 15 minutes" on the job engine with two bot instances on one PostgreSQL, both
 * polling for due follow-ups: each runs once and is posted once; one asked before a restart runs
 * in the instance started after it.
 */
(TEST_DATABASE_URL ? describe : describe.skip)('check follow-ups: two instances on one database (PostgreSQL)', function () {
  this.timeout(180_000);
  const fleet = sharedDatabase('followups', { keepAliveIntervalMs: 0, followUpIntervalMs: 500 });
  const instance = () => fleet.instance();

  async function consented(): Promise<TestPartner> {
    const p = await fleet.h.partner();
    assert.equal((await fleet.h.signIn(p)).status, 200);
    return p;
  }

  const doneMessages = async (p: TestPartner) => textsOf(await p.chat.client.transcript()).filter((t) => DONE.test(t)).length;

  async function until(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
      await delay(200);
    }
  }

  it('follow-ups asked in both instances and due in both: one per partner, each run once and posted once', async () => {
    const partners = [await consented(), await consented(), await consented(), await consented()];
    const [a, b] = [await instance(), await instance()];
    const due = new Date(Date.now() + 1500);
    for (const p of partners) {
      const [x, y] = await Promise.all([a, b].map((app) => app.followUps.schedule(p.tenant, p.conversationId, p.person.aadObjectId, due)));
      assert.equal([x!, y!].filter((r) => r.created).length, 1, 'the second ask returns the first');
      assert.equal(x!.followUp.id, y!.followUp.id);
    }
    await until('every follow-up posted', async () => (await Promise.all(partners.map(doneMessages))).every((n) => n > 0));
    await until('every follow-up job finished', async () => (await Promise.all(partners.map((p) => followUpJobs(a, p.tenant)))).every((jobs) => jobs.every((j) => j.state === 'completed')));
    for (const p of partners) {
      const jobs = await followUpJobs(a, p.tenant);
      assert.deepEqual(jobs.map((j) => [j.state, j.output?.outcome]), [['completed', 'told']], 'one job, run once');
      assert.equal(await doneMessages(p), 1, 'posted once');
      assert.equal(await a.followUps.pending(p.tenant), undefined);
    }
  });

  it('a follow-up asked before a restart runs after it, in the instance started after it', async () => {
    const p = await consented();
    const first = fleet.instances[0]!;
    const { followUp } = await first.followUps.schedule(p.tenant, p.conversationId, p.person.aadObjectId, new Date(Date.now() + 3000));
    await fleet.stopInstances();
    assert.equal(await doneMessages(p), 0, 'not run before the restart');
    const after = await instance();
    await until('the follow-up posted after the restart', async () => (await doneMessages(p)) > 0);
    await until('its job finished', async () => (await followUpJobs(after, p.tenant)).every((j) => j.state === 'completed'));
    const jobs = await followUpJobs(after, p.tenant);
    assert.deepEqual(jobs.map((j) => [j.id, j.output?.outcome]), [[followUp.id, 'told']]);
    assert.equal(await doneMessages(p), 1);
  });
});
