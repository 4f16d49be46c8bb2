import type { Logger } from '../logger';
import type { NoticeDispatcher } from '../watch/dispatcher';
import type { ExpiryWatch } from '../watch/expiry-watch';
import type { JobEngine } from './job-engine';

export const SCAN_QUEUE = 'expiry-scan';
export const DRAIN_QUEUE = 'notice-drain';

export interface ExpiryJobsOptions {
  engine: JobEngine;
  watch: ExpiryWatch;
  dispatcher: NoticeDispatcher;
  logger: Logger;
  /** The daily scan at this UTC time ("HH:MM"), or undefined: no daily scan. */
  dailyAt?: string;
}

/**
 * The expiry watch on the job engine: the daily scan (each cron slot runs once across instances),
 * then a drain; a drain every minute sends what waited (throttled, failed). Draining twice at once
 * is safe: notices are claimed row by row.
 */
export async function startExpiryJobs(o: ExpiryJobsOptions): Promise<void> {
  const { boss, pollingSeconds } = o.engine;
  await boss.createQueue(SCAN_QUEUE, { name: SCAN_QUEUE, policy: 'singleton', retryLimit: 2, retryDelay: 300, expireInSeconds: 3600 });
  await boss.createQueue(DRAIN_QUEUE, { name: DRAIN_QUEUE, policy: 'singleton', retryLimit: 1, expireInSeconds: 900 });
  await boss.work(SCAN_QUEUE, { pollingIntervalSeconds: Math.max(pollingSeconds, 5) }, async () => {
    const scanned = await o.watch.scan();
    o.logger.info(scanned, 'expiry scan');
    await o.dispatcher.drain();
  });
  await boss.work(DRAIN_QUEUE, { pollingIntervalSeconds: Math.max(pollingSeconds, 5) }, async () => { await o.dispatcher.drain(); });
  const at = o.dailyAt ? /^(\d{1,2}):(\d{2})$/.exec(o.dailyAt) : null;
  if (at) await boss.schedule(SCAN_QUEUE, `${Number(at[2])} ${Number(at[1])} * * *`, {}, { tz: 'UTC' });
  else await boss.unschedule(SCAN_QUEUE).catch(() => undefined);
  await boss.schedule(DRAIN_QUEUE, '* * * * *', {}, { tz: 'UTC' });
}
