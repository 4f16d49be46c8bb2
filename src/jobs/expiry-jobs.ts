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

export interface ExpiryJobs {
  /** Stops sending: sends in flight end, notices claimed and not started go back to the outbox. */
  stop(): Promise<void>;
}

/**
 * The expiry watch on the job engine: the daily scan (each cron slot runs once across instances)
 * records the notices, then asks for a drain; a drain every minute sends what waited (throttled,
 * failed, left by an instance that died). Drains run in any number of instances at once (notices
 * are claimed row by row), so the drain queue holds one waiting job and never lets a running one,
 * perhaps of a dead instance, hold the others back; in one instance drains run one at a time.
 * The scan records nothing twice, so a scan retried after its instance died is safe.
 */
export async function startExpiryJobs(o: ExpiryJobsOptions): Promise<ExpiryJobs> {
  const { boss, pollingSeconds } = o.engine;
  const scanQueue = { name: SCAN_QUEUE, policy: 'singleton', retryLimit: 2, retryDelay: 60, expireInSeconds: 1800 } as const;
  const drainQueue = { name: DRAIN_QUEUE, policy: 'short', retryLimit: 1, expireInSeconds: 3600 } as const;
  // createQueue keeps an existing queue as it is: updateQueue brings one made by an earlier version in line.
  for (const q of [scanQueue, drainQueue]) {
    await boss.createQueue(q.name, q);
    await boss.updateQueue(q.name, q);
  }
  await boss.work(SCAN_QUEUE, { pollingIntervalSeconds: Math.max(pollingSeconds, 5) }, async () => {
    const scanned = await o.watch.scan();
    o.logger.info(scanned, 'expiry scan');
    if (scanned.recorded > 0) await boss.send(DRAIN_QUEUE, {});
  });
  await boss.work(DRAIN_QUEUE, { pollingIntervalSeconds: Math.max(pollingSeconds, 5) }, async () => { await o.dispatcher.drain(); });
  const at = o.dailyAt ? /^(\d{1,2}):(\d{2})$/.exec(o.dailyAt) : null;
  if (at) await boss.schedule(SCAN_QUEUE, `${Number(at[2])} ${Number(at[1])} * * *`, {}, { tz: 'UTC' });
  else await boss.unschedule(SCAN_QUEUE).catch(() => undefined);
  await boss.schedule(DRAIN_QUEUE, '* * * * *', {}, { tz: 'UTC' });
  // What an instance that stopped or died left (released, or leased until its lease ends) goes now, not at the next minute.
  await boss.send(DRAIN_QUEUE, {});
  return { stop: () => o.dispatcher.stop() };
}
