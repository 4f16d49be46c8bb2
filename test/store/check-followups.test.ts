import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { CheckFollowUpRepository } from '../../src/store/check-followups';
import { CheckRunRepository } from '../../src/store/check-runs';
import type { Db } from '../../src/store/db';
import { PartnerRepository } from '../../src/store/partners';
import { announcePostgresSkip, databasesUnderTest } from '../helpers/databases';

announcePostgresSkip();

for (const target of databasesUnderTest()) {
  describe(`CheckFollowUpRepository and CheckRunRepository (${target.name})`, () => {
    let db: Db;
    let followUps: CheckFollowUpRepository;
    let partners: PartnerRepository;

    beforeEach(async () => {
      db = await target.open();
      followUps = new CheckFollowUpRepository(db);
      partners = new PartnerRepository(db);
    });
    after(() => target.cleanup());

    async function partner(): Promise<string> {
      const tenant = randomUUID();
      await partners.createIfMissing(tenant, { aadObjectId: randomUUID(), name: 'Megan Bowen' }, 'a:owner');
      return tenant;
    }

    it('one pending follow-up per partner: a second ask returns the first', async () => {
      const tenant = await partner();
      const due = new Date(Date.now() + 15 * 60_000);
      const first = await followUps.schedule(tenant, 'conv-1', 'user-1', due);
      const second = await followUps.schedule(tenant, 'conv-2', 'user-2', new Date(Date.now() + 30 * 60_000));
      assert.equal(first.created, true);
      assert.equal(second.created, false);
      assert.equal(second.followUp.id, first.followUp.id);
      assert.equal(second.followUp.dueAt.getTime(), due.getTime());
      await followUps.complete(first.followUp.id, 'told');
      assert.equal((await followUps.schedule(tenant, 'conv-1', 'user-1', due)).created, true, 'after it ran, a new one may be asked');
    });

    it('four workers claiming 20 due follow-ups at once: each is claimed exactly once; not-due ones wait', async () => {
      const tenants = await Promise.all(Array.from({ length: 21 }, () => partner()));
      for (const [i, t] of tenants.entries()) await followUps.schedule(t, `conv-${i}`, 'u', new Date(Date.now() + (i === 20 ? 60_000 : -1000)));
      const claims = await Promise.all(Array.from({ length: 4 }, async () => {
        const mine: string[] = [];
        for (;;) {
          const got = await followUps.claimDue(3, 60_000);
          if (got.length === 0) return mine;
          mine.push(...got.map((f) => f.tenantId));
        }
      }));
      const all = claims.flat();
      assert.equal(all.length, 20);
      assert.equal(new Set(all).size, 20, 'no follow-up claimed twice');
      assert.ok(!all.includes(tenants[20]!), 'not due: not claimed');
    });

    it('a claim is a lease: released, it is claimable again with its attempt counted; cancelPending leaves a claimed one alone', async () => {
      const tenant = await partner();
      await followUps.schedule(tenant, 'conv', 'u', new Date(Date.now() - 1000));
      const [claimed] = await followUps.claimDue(5, 60_000);
      assert.equal(claimed?.attempts, 1);
      await followUps.cancelPending(tenant, 'superseded');
      assert.ok(await followUps.pending(tenant), 'a run in progress is not cancelled under its worker');
      await followUps.release(claimed!.id, new Date(Date.now() - 1000));
      const [again] = await followUps.claimDue(5, 60_000);
      assert.equal(again?.attempts, 2);
      await followUps.release(again!.id, new Date(Date.now() + 60_000));
      await followUps.cancelPending(tenant, 'superseded');
      assert.equal(await followUps.pending(tenant), undefined);
    });

    it('a full run becomes the partner\'s verdict in the same write; a pre-flight does not', async () => {
      const tenant = await partner();
      const runs = new CheckRunRepository(db);
      await runs.record({ tenantId: tenant, kind: 'preflight', actor: 'u', verdict: 'passed', results: [], roundTrips: { graph: 3, partnerCenter: 2 } });
      assert.equal((await partners.get(tenant))!.checks, undefined);
      const full = await runs.record({ tenantId: tenant, kind: 'full', actor: 'u', verdict: 'blocked', results: [], roundTrips: { graph: 2, partnerCenter: 2 } });
      const p = (await partners.get(tenant))!;
      assert.equal(p.checks?.verdict, 'blocked');
      assert.equal(p.checks?.at.getTime(), full.runAt.getTime());
      assert.equal((await runs.latest(tenant, 'preflight'))?.kind, 'preflight');
      assert.equal((await runs.get(tenant, full.id))?.verdict, 'blocked');
    });
  });
}
