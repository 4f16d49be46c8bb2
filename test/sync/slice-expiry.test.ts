import assert from 'node:assert/strict';
import { SYNC_QUEUE } from '../../src/jobs/customer-sync-jobs';
import { ConsentHarness } from '../auth/consent-harness';
import { customerRows, onboardedPartner, syncFinished } from './sync-harness';

const RETRY_AFTER_SECONDS = 12;

/**
 * A slice job held past its expiry by Microsoft: Graph answers 429 with a Retry-After longer than
 * the slice job may stay active (1 s slices, 5 s expiry). The chaos run met it as "customer-sync
 * … job failed by timeout in active state": the engine failed the slice while it still waited, and
 * the waiting slice then carried on beside the engine's retry. The slice stops before its expiry,
 * its cursor is the last committed page, and the next slice (not a retry) continues from there.
 */
describe('customer sync: a slice held past its expiry by a 429 with a long Retry-After (job engine on PGlite)', function () {
  this.timeout(120_000);
  let h: ConsentHarness;
  before(async () => {
    h = await ConsentHarness.start('healthy', { env: { SYNC_SPREAD_MINUTES: '0', SYNC_SLICE_SECONDS: '1', JOB_POLL_SECONDS: '0.5', JOB_MAINTENANCE_SECONDS: '1' } });
    h.sim.setRandomThrottling(false);
  });
  after(async () => { await h?.stop(); });

  it(`Graph answers the sync's first request 429 + Retry-After: ${RETRY_AFTER_SECONDS} (past the slice's 5 s expiry): the slice stops before its expiry, no slice job fails or is retried, no orphan slice is left, every customer once`, async () => {
    const p = await onboardedPartner(h);
    // The next Graph request (the sync's first) is throttled, none after it.
    const graph = h.sim.scenario.throttling.graph;
    let throttled = 0;
    Object.defineProperty(graph, 'every', { configurable: true, get: () => (throttled++ === 0 ? 1 : 0) });
    graph.retryAfterSeconds = RETRY_AFTER_SECONDS;
    try {
      const { sync: started } = await h.app.syncJobs.service.start(p.tenant, 'nightly', 'system');
      const sync = await syncFinished(h.app.syncs, started.id, 90_000);
      assert.equal(sync.status, 'succeeded', sync.error);
      assert.ok(throttled > 1, 'Graph was asked after the 429');
      assert.deepEqual(await customerRows(h.app.db, p.tenant), { rows: 25, distinct: 25 });
      const jobs = await h.app.engine.boss.findJobs(SYNC_QUEUE, { key: started.id });
      assert.ok(jobs.length >= 2, `the held slice handed on to a next one (${jobs.length} slice jobs)`);
      assert.deepEqual(jobs.filter((j) => j.state !== 'completed' || j.retryCount > 0).map((j) => `${j.state} after ${j.retryCount} retries: ${JSON.stringify(j.output)}`), [],
        'every slice job completed on its first attempt');
    } finally {
      Object.defineProperty(graph, 'every', { configurable: true, writable: true, value: 0 });
    }
  });
});
