import type { PartnerTokens } from '../auth/partner-tokens';
import { PARTNER_CENTER_USER } from '../credentials/scopes';
import type { Logger } from '../logger';
import type { ConnectionRepository } from '../store/connections';
import type { PartnerRepository } from '../store/partners';
import { ensureQueue, type JobEngine } from '../store/job-engine';

/**
 * The keep-alive of every partner's refresh token, on the job engine: partners whose consent was
 * last used more than `unusedForMs` ago get a forced refresh (a real redemption), so the 90-day
 * inactivity limit never bites. An hourly schedule (each cron slot runs once across instances)
 * looks for the due partners and sends one job per partner, keyed by tenant and the hour, so a
 * partner is refreshed once per period however many instances or runs ask; a crash loses at most
 * the one partner being refreshed, whose job expires and is retried. The partner's job looks again
 * before refreshing (a refresh since the look makes it not due). Never throws into the process.
 */

export const KEEP_ALIVE_QUEUE = 'token-keep-alive';
export const KEEP_ALIVE_PARTNER_QUEUE = 'token-keep-alive-partner';

export interface TokenKeepAliveOptions {
  engine: JobEngine;
  tokens: Pick<PartnerTokens, 'userToken'>;
  connections: Pick<ConnectionRepository, 'consentsUsedBefore'>;
  partners: Pick<PartnerRepository, 'get'>;
  logger: Logger;
  /** 0: neither the schedule nor the workers in this instance (tests call `run()`); otherwise the hourly schedule runs. */
  intervalMs?: number;
  /** Refresh a consent unused for this long. Default 7 days. */
  unusedForMs?: number;
  now?: () => number;
}

export interface TokenKeepAlive {
  /** One period now, here: the due partners' jobs sent and worked in this process. */
  run(): Promise<{ refreshed: number; failed: number }>;
  stop(): Promise<void>;
}

const PERIOD_SECONDS = 3600;
const WEEK_MS = 7 * 24 * 3_600_000;
/** Due partners sent per period; the rest go in the next hour's. */
const PER_PERIOD = 1000;

type Outcome = 'refreshed' | 'failed' | 'not due';

export async function startTokenKeepAlive(o: TokenKeepAliveOptions): Promise<TokenKeepAlive> {
  const { boss, pollingSeconds } = o.engine;
  const unusedForMs = o.unusedForMs ?? WEEK_MS;
  const now = o.now ?? Date.now;
  const tickQueue = { name: KEEP_ALIVE_QUEUE, policy: 'singleton', retryLimit: 2, retryDelay: 60, expireInSeconds: 300 } as const;
  const partnerQueue = { name: KEEP_ALIVE_PARTNER_QUEUE, policy: 'standard', retryLimit: 2, retryDelay: 60, expireInSeconds: 120 } as const;
  for (const q of [tickQueue, partnerQueue]) await ensureQueue(boss, q);
  let stopped = false;
  const cutoff = () => new Date(now() - unusedForMs);

  /** Sends a job per due partner; one per partner per period (the key and the hour slot). */
  const fanOut = async (): Promise<number> => {
    const due = await o.connections.consentsUsedBefore(cutoff(), PER_PERIOD);
    for (const tenantId of due) {
      await boss.send(KEEP_ALIVE_PARTNER_QUEUE, { tenantId }, { singletonKey: tenantId, singletonSeconds: PERIOD_SECONDS });
    }
    return due.length;
  };

  const refresh = async (tenantId: string): Promise<Outcome> => {
    const partner = await o.partners.get(tenantId);
    const used = partner?.consent.usedAt;
    if (!partner?.consent.at || partner.consent.brokenAt || (used && used >= cutoff())) return 'not due';
    const result = await o.tokens.userToken(tenantId, [PARTNER_CENTER_USER], { forceRefresh: true });
    if (!result.ok) o.logger.info({ tenantId, reason: result.reason }, 'token keep-alive: refresh failed');
    return result.ok ? 'refreshed' : 'failed';
  };

  if (o.intervalMs !== 0) {
    await boss.work(KEEP_ALIVE_QUEUE, { pollingIntervalSeconds: Math.max(pollingSeconds, 5) }, async () => {
      const sent = await fanOut();
      if (sent > 0) o.logger.info({ due: sent }, 'token keep-alive: partners due');
    });
    await boss.work<{ tenantId: string }>(KEEP_ALIVE_PARTNER_QUEUE, { pollingIntervalSeconds: Math.max(pollingSeconds, 5), batchSize: 1 }, async ([job]) => {
      if (job) return { outcome: await refresh(job.data.tenantId) };
      return undefined;
    });
    await boss.schedule(KEEP_ALIVE_QUEUE, '17 * * * *', {}, { tz: 'UTC' });
  }

  return {
    async run() {
      const counts = { refreshed: 0, failed: 0 };
      try {
        await fanOut();
        while (!stopped) {
          const jobs = await boss.fetch<{ tenantId: string }>(KEEP_ALIVE_PARTNER_QUEUE, { batchSize: 10 });
          if (jobs.length === 0) break;
          for (const job of jobs) {
            const outcome = await refresh(job.data.tenantId).catch((err: unknown) => {
              o.logger.warn({ err, tenantId: job.data.tenantId }, 'token keep-alive: refresh threw');
              return 'failed' as const;
            });
            if (outcome !== 'not due') counts[outcome]++;
            await boss.complete(KEEP_ALIVE_PARTNER_QUEUE, job.id, { outcome });
          }
        }
        if (counts.refreshed + counts.failed > 0) o.logger.info(counts, 'token keep-alive run');
      } catch (err) {
        o.logger.error({ err }, 'token keep-alive run failed');
      }
      return counts;
    },
    async stop() {
      stopped = true;
    },
  };
}
