import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startJobEngine, type JobEngine } from '../../src/store/job-engine';
import { createLogger } from '../../src/logger';
import { CheckFollowUpRepository, prepareFollowUpQueue } from '../../src/store/check-followups';
import { CheckRunRepository } from '../../src/store/check-runs';
import type { Db } from '../../src/store/db';
import { PartnerRepository } from '../../src/store/partners';
import { announcePostgresSkip, databasesUnderTest } from '../helpers/databases';

announcePostgresSkip();

for (const target of databasesUnderTest()) {
  describe(`CheckFollowUpRepository (on the job engine) and CheckRunRepository (${target.name})`, () => {
    let db: Db;
    let followUps: CheckFollowUpRepository;
    let partners: PartnerRepository;

    let engine: JobEngine | undefined;

    beforeEach(async () => {
      db = await target.open();
      engine ??= await startJobEngine(db, { logger: createLogger({ level: 'silent' }).logger });
      await prepareFollowUpQueue(engine.boss);
      followUps = new CheckFollowUpRepository(db, engine);
      partners = new PartnerRepository(db);
    });
    after(async () => {
      await engine?.stop();
      await target.cleanup();
    });

    async function partner(): Promise<string> {
      const tenant = randomUUID();
      await partners.createIfMissing(tenant, { aadObjectId: randomUUID(), name: 'Megan Bowen' }, 'a:owner');
      return tenant;
    }

    it('one pending follow-up per partner: a second ask returns the first; cancelPending ends a waiting one', async () => {
      const tenant = await partner();
      const due = new Date(Date.now() + 15 * 60_000);
      const first = await followUps.schedule(tenant, 'conv-1', 'user-1', due);
      const second = await followUps.schedule(tenant, 'conv-2', 'user-2', new Date(Date.now() + 30 * 60_000));
      assert.equal(first.created, true);
      assert.equal(second.created, false);
      assert.equal(second.followUp.id, first.followUp.id);
      assert.equal(second.followUp.dueAt.getTime(), due.getTime());
      assert.equal((await followUps.pending(tenant))?.conversationId, 'conv-1');
      await followUps.cancelPending(tenant, 'superseded');
      assert.equal(await followUps.pending(tenant), undefined);
      assert.equal((await followUps.schedule(tenant, 'conv-1', 'user-1', due)).created, true, 'after it ended, a new one may be asked');
    });

    it('20 asks for one partner at once: one follow-up, every ask answered with it', async () => {
      const tenant = await partner();
      const asks = await Promise.all(Array.from({ length: 20 }, (_, i) => followUps.schedule(tenant, `conv-${i}`, 'u', new Date(Date.now() + 60_000))));
      assert.equal(asks.filter((a) => a.created).length, 1);
      assert.equal(new Set(asks.map((a) => a.followUp.id)).size, 1);
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
