import type { Logger } from '../logger';
import type { NoticeDispatcher } from '../watch/dispatcher';
import type { ExpiryWatch } from '../watch/expiry-watch';
import { ensureQueue, stableJobId, type JobEngine } from '../store/job-engine';

export const SCAN_QUEUE = 'expiry-scan';
export const SCAN_SLICE_QUEUE = 'expiry-scan-slice';
export const DRAIN_QUEUE = 'notice-drain';

export interface ExpiryJobsOptions {
  engine: JobEngine;
  watch: ExpiryWatch;
  dispatcher: NoticeDispatcher;
  logger: Logger;
  /** The daily scan at this UTC time ("HH:MM"), or undefined: no daily scan. */
  dailyAt?: string;
  /** Work per scan slice. Default 5 s; a slice job expires (its worker presumed dead) after 4×. */
  sliceSeconds?: number;
}

export interface ExpiryJobs {
  /** Stops sending: sends in flight end, notices claimed and not started go back to the outbox. */
  stop(): Promise<void>;
}

/** A slice of one scan run: the run (the scan job that started it) and the partner cursor. */
interface SliceData {
  run: string;
  after: string;
}

/**
 * The expiry watch on the job engine. The daily scan (each cron slot runs once across instances)
 * is a chain of slice jobs, like the customer sync: each scans a page of partners after its cursor
 * (a few seconds of work), asks for a drain when it recorded notices, and sends the next slice
 * with the cursor it reached. A slice job expires soon, so a worker that dies loses one slice: it
 * is retried, from its own cursor, in whichever instance polls first. Slice ids are derived from
 * the run and the cursor, so a retried slice sending its successor again makes no second chain,
 * and the notices' unique key makes a repeated slice record nothing twice.
 * A drain every minute sends what waited (throttled, failed, left by an instance that died).
 * Drains run in any number of instances at once (notices are claimed row by row), so the drain
 * queue holds one waiting job and never lets a running one, perhaps of a dead instance, hold the
 * others back; in one instance drains run one at a time.
 */
export async function startExpiryJobs(o: ExpiryJobsOptions): Promise<ExpiryJobs> {
  const { boss, pollingSeconds } = o.engine;
  const sliceSeconds = o.sliceSeconds ?? 5;
  const abort = new AbortController();
  // The scan job only starts the chain: it expires as soon as a slice would.
  const scanQueue = { name: SCAN_QUEUE, policy: 'singleton', retryLimit: 2, retryDelay: 60, expireInSeconds: 60 } as const;
  const sliceQueue = { name: SCAN_SLICE_QUEUE, policy: 'standard', retryLimit: 6, retryDelay: 1, retryBackoff: false, expireInSeconds: Math.max(4 * sliceSeconds, 4) } as const;
  const drainQueue = { name: DRAIN_QUEUE, policy: 'short', retryLimit: 1, expireInSeconds: 3600 } as const;
  for (const q of [scanQueue, sliceQueue, drainQueue]) await ensureQueue(boss, q);
  const sendSlice = async (data: SliceData): Promise<void> => {
    await boss.send(SCAN_SLICE_QUEUE, data, { id: stableJobId(SCAN_SLICE_QUEUE, data.run, data.after) });
  };
  await boss.work(SCAN_QUEUE, { pollingIntervalSeconds: Math.max(pollingSeconds, 5), includeMetadata: true }, async ([job]) => {
    if (job) await sendSlice({ run: job.id, after: '' });
  });
  await boss.work<SliceData>(SCAN_SLICE_QUEUE, { pollingIntervalSeconds: pollingSeconds, includeMetadata: true }, async ([job]) => {
    if (!job) return;
    const { run, after } = job.data;
    const slice = await o.watch.scanSlice(after, { budgetMs: sliceSeconds * 1000, signal: abort.signal });
    o.logger.info({ run, after, attempt: job.retryCount + 1, ...slice }, 'expiry scan slice');
    if (slice.recorded > 0) await boss.send(DRAIN_QUEUE, {});
    if (slice.next !== undefined) await sendSlice({ run, after: slice.next });
  });
  await boss.work(DRAIN_QUEUE, { pollingIntervalSeconds: Math.max(pollingSeconds, 5) }, async () => { await o.dispatcher.drain(); });
  const at = o.dailyAt ? /^(\d{1,2}):(\d{2})$/.exec(o.dailyAt) : null;
  if (at) await boss.schedule(SCAN_QUEUE, `${Number(at[2])} ${Number(at[1])} * * *`, {}, { tz: 'UTC' });
  else await boss.unschedule(SCAN_QUEUE).catch(() => undefined);
  await boss.schedule(DRAIN_QUEUE, '* * * * *', {}, { tz: 'UTC' });
  // What an instance that stopped or died left (released, or leased until its lease ends) goes now, not at the next minute.
  await boss.send(DRAIN_QUEUE, {});
  return {
    async stop() {
      abort.abort();
      await o.dispatcher.stop();
    },
  };
}
