import { createHash } from 'node:crypto';
import type { JobWithMetadata } from 'pg-boss';
import type { Logger } from '../logger';
import { renderSyncCard } from '../cards/render';
import { ownerOf } from '../domain/partner';
import { Messages } from '../onboarding/messages';
import type { CustomerSync, CustomerSyncRepository } from '../store/customer-syncs';
import type { PartnerRepository } from '../store/partners';
import { progressCardData, summaryCardData } from '../sync/progress';
import type { Notifier } from '../teams/notifier';
import type { CustomerSyncRunner } from '../sync/customer-sync';
import type { CustomerSyncService } from '../sync/sync-service';
import { ensureQueue, type JobEngine } from '../store/job-engine';

/**
 * The customer sync on the job engine. A sync runs as a chain of slice jobs (each a few pages,
 * `sliceSeconds` of work): a slice that is not finished sends the next one before it ends, so a
 * worker that dies mid-slice leaves an active job that pg-boss expires and retries, from the last
 * committed page, in whichever instance polls first. A slice held by Microsoft (a long Retry-After)
 * stops before its job's expiry and hands on to the next slice, so a live slice is never expired.
 * The queue is `stately` on the sync id: one job waiting per sync, so sending again (a re-start, a
 * restart) never doubles the chain.
 * The nightly schedule runs in every instance (pg-boss fires each cron slot once) and starts one
 * sync per onboarded partner, spread over a window so partners don't all start at once.
 */

export const SYNC_QUEUE = 'customer-sync';
export const SYNC_START_QUEUE = 'customer-sync-start';
export const NIGHTLY_QUEUE = 'customer-sync-nightly';

export interface CustomerSyncJobsOptions {
  engine: JobEngine;
  runner: CustomerSyncRunner;
  syncs: CustomerSyncRepository;
  /** Builds the service once the queue exists (the service enqueues through `enqueue`). */
  service: (enqueue: (syncId: string) => Promise<void>) => CustomerSyncService;
  logger: Logger;
  /** Work per slice. Default 20 s; a slice job expires (its worker presumed dead) after 3×. */
  sliceSeconds?: number;
  /** Nightly full sync at this UTC time, "HH:MM"; empty: no nightly sync. */
  nightlyAt?: string;
  /** Spread the nightly starts over this many minutes. */
  spreadMinutes?: number;
  /** Tenants to sync nightly: the onboarded partners. */
  onboarded(): Promise<string[]>;
}

export interface CustomerSyncJobs {
  readonly service: CustomerSyncService;
  /** The nightly run now (tests). */
  nightly(): Promise<number>;
  stop(): Promise<void>;
}

class TakenBack extends Error {}

/** When a slice stops, in ms after it started: before its job's expiry, with time left to hand on (a sixth of it, at least 2 s). */
export function stopBeforeExpiryMs(expireInSeconds: number): number {
  const expiry = expireInSeconds * 1000;
  return Math.max(expiry - Math.max(expiry / 6, 2000), 1000);
}

/** Minutes into the window for a partner: stable, spread evenly by a hash of its id. */
export function spreadOffsetMinutes(tenantId: string, windowMinutes: number): number {
  if (windowMinutes <= 0) return 0;
  return createHash('sha256').update(tenantId).digest().readUInt32BE(0) % windowMinutes;
}

export async function startCustomerSyncJobs(o: CustomerSyncJobsOptions): Promise<CustomerSyncJobs> {
  const { boss, pollingSeconds } = o.engine;
  const sliceSeconds = o.sliceSeconds ?? 20;
  const abort = new AbortController();
  await ensureQueue(boss, {
    name: SYNC_QUEUE, policy: 'stately', retryLimit: 8, retryDelay: 5, retryBackoff: true, expireInSeconds: Math.max(3 * sliceSeconds, 5),
  });
  await ensureQueue(boss, { name: SYNC_START_QUEUE, policy: 'stately', retryLimit: 3, retryDelay: 30 });
  await ensureQueue(boss, { name: NIGHTLY_QUEUE, policy: 'standard', retryLimit: 2, retryDelay: 60 });

  const enqueue = async (syncId: string): Promise<void> => {
    await boss.send(SYNC_QUEUE, { syncId }, { singletonKey: syncId });
  };
  const service = o.service(enqueue);

  /**
   * A slice with more to do sends the next one and completes its own job in one transaction: a
   * kill between the two would leave an active job whose expiry cannot retry it (the queue holds
   * one waiting job per sync, the next slice) and fails it instead. A job the engine took back
   * meanwhile sends nothing (its retry goes on).
   */
  const handOn = async (job: JobWithMetadata<{ syncId: string }>): Promise<boolean> => {
    try {
      await o.engine.inTransaction(async (db) => {
        await boss.send(SYNC_QUEUE, { syncId: job.data.syncId }, { singletonKey: job.data.syncId, db });
        const done = await boss.complete(SYNC_QUEUE, { id: job.id, retryCount: job.retryCount }, { outcome: 'more' }, { db });
        if ((done as { affected?: number }).affected !== 1) throw new TakenBack();
      });
      return true;
    } catch (err) {
      if (!(err instanceof TakenBack)) throw err;
      o.logger.info({ syncId: job.data.syncId, job: job.id }, 'customer sync slice ended after the job engine took its job back; its retry goes on');
      return false;
    }
  };

  /** Whether the sync has a slice job waiting or running (perhaps in an instance that died: its expiry retries it). */
  const hasSliceJob = async (syncId: string): Promise<boolean> => {
    if ((await boss.findJobs(SYNC_QUEUE, { key: syncId, queued: true, limit: 1 })).length > 0) return true;
    for (let after: string | undefined; ;) {
      const page = await boss.findJobs(SYNC_QUEUE, { key: syncId, limit: 1000, ...(after ? { after } : {}) });
      if (page.some((j) => j.state === 'active' || j.state === 'created' || j.state === 'retry')) return true;
      if (page.length < 1000) return false;
      after = page[page.length - 1]!.id;
    }
  };

  await boss.work(SYNC_QUEUE, { pollingIntervalSeconds: pollingSeconds, includeMetadata: true, batchSize: 1 }, async ([job]: JobWithMetadata<{ syncId: string }>[]) => {
    if (!job) return;
    const { syncId } = job.data;
    // A slice ends before the engine would take its job back (a 429's Retry-After can hold a page
    // longer than the job may stay active): what it committed is the cursor, and the next slice
    // goes on from there. Should the engine take the job back all the same (job.signal), the slice
    // stops and sends nothing: the job's retry continues from the cursor.
    const beforeExpiry = AbortSignal.timeout(stopBeforeExpiryMs(job.expireInSeconds));
    const signal = AbortSignal.any([abort.signal, job.signal, beforeExpiry]);
    let outcome: 'done' | 'more';
    o.logger.info({ syncId, job: job.id, attempt: job.retryCount + 1 }, 'customer sync slice started');
    try {
      outcome = await o.runner.runSlice(syncId, { budgetMs: sliceSeconds * 1000, signal });
      o.logger.info({ syncId, job: job.id, outcome }, 'customer sync slice ended');
    } catch (err) {
      if (abort.signal.aborted) throw err; // shutting down: the job is retried, here after a restart or elsewhere
      if (job.signal.aborted) {
        o.logger.info({ syncId, job: job.id }, 'customer sync slice stopped: the job engine took its job back; its retry continues from the last committed page');
        return;
      }
      if (beforeExpiry.aborted) {
        o.logger.info({ syncId, job: job.id }, 'customer sync slice stopped before its job expires (Microsoft held a request); the next slice continues from the last committed page');
        outcome = 'more';
      } else if (job.retryCount >= job.retryLimit) {
        await o.runner.giveUp(syncId, err);
        return;
      } else {
        o.logger.info({ syncId, attempt: job.retryCount + 1, err }, 'customer sync slice failed; the job engine retries it');
        throw err;
      }
    }
    if (outcome === 'more' && !job.signal.aborted) await handOn(job);
  });

  await boss.work<{ tenantId: string }>(SYNC_START_QUEUE, { pollingIntervalSeconds: Math.max(pollingSeconds, 5) }, async ([job]) => {
    if (job) await service.start(job.data.tenantId, 'nightly', 'system');
  });

  const nightly = async (): Promise<number> => {
    const tenants = await o.onboarded();
    const window = o.spreadMinutes ?? 120;
    for (const tenantId of tenants) {
      await boss.send(SYNC_START_QUEUE, { tenantId }, { singletonKey: tenantId, startAfter: spreadOffsetMinutes(tenantId, window) * 60 });
    }
    return tenants.length;
  };
  await boss.work(NIGHTLY_QUEUE, { pollingIntervalSeconds: Math.max(pollingSeconds, 5) }, async () => { await nightly(); });
  const at = /^(\d{1,2}):(\d{2})$/.exec(o.nightlyAt ?? '02:00');
  if (at) await boss.schedule(NIGHTLY_QUEUE, `${Number(at[2])} ${Number(at[1])} * * *`, {}, { tz: 'UTC' });
  else await boss.unschedule(NIGHTLY_QUEUE).catch(() => undefined);

  // A sync left running with no job (its start died before the engine had it) is sent again. One
  // whose slice an instance that died still holds is left to that job's expiry and retry: a job
  // sent beside it would take the one waiting place, and the expired slice would fail, not retry.
  for (const sync of await o.syncs.allRunning()) {
    if (!(await hasSliceJob(sync.id))) await enqueue(sync.id);
  }

  return {
    service,
    nightly,
    async stop() {
      abort.abort();
    },
  };
}

/**
 * The sync as the chat sees it: the progress card updated in place (the runner asks at most every
 * 3 s), then at the end its final state and the summary card; the first sync of the journey then
 * carries the journey on in that chat (its end is the journey's last step). A nightly sync has no
 * card; only its failure is told, to the owner.
 */
export function presentSyncInChat(d: {
  syncs: CustomerSyncRepository;
  partners: PartnerRepository;
  notifier: Notifier;
  /** The journey's sync step is done: it goes on in that chat. */
  carryOn(tenantId: string, conversationId: string): Promise<unknown>;
}): (sync: CustomerSync, moment: 'progress' | 'end') => Promise<void> {
  const { syncs, notifier } = d;
  return async (sync, moment) => {
    if (moment === 'progress') {
      if (sync.conversationId && sync.progressActivityId) {
        const card = renderSyncCard(progressCardData(sync, { now: new Date(), estimate: await syncs.lastTotal(sync.tenantId) }));
        await notifier.update(sync.tenantId, sync.conversationId, sync.progressActivityId, { attachments: [card] });
      }
      return;
    }
    let conversationId = sync.conversationId;
    if (!conversationId) {
      if (sync.status !== 'failed') return;
      const partner = await d.partners.get(sync.tenantId);
      conversationId = partner ? ownerOf(partner)?.conversationId : undefined;
      if (!conversationId) return;
    }
    if (sync.progressActivityId && sync.conversationId) {
      await notifier.update(sync.tenantId, sync.conversationId, sync.progressActivityId, { attachments: [renderSyncCard(progressCardData(sync, { now: new Date() }))] });
    }
    const first = sync.status === 'succeeded' && sync.trigger === 'chat' && (await syncs.succeededCount(sync.tenantId)) === 1;
    await notifier.send(sync.tenantId, conversationId, {
      text: sync.status === 'succeeded' ? Messages.syncDone(first) : undefined,
      attachments: [renderSyncCard(summaryCardData(sync))],
    });
    if (first) await d.carryOn(sync.tenantId, conversationId);
  };
}
