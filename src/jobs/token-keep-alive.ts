import type { PartnerTokens } from '../auth/partner-tokens';
import type { Logger } from '../logger';
import { startPeriodic } from './periodic';

/**
 * The weekly keep-alive of every partner's refresh token, checked hourly: partners whose consent
 * was last used more than `unusedForMs` ago get a forced refresh (a real redemption), so the
 * 90-day inactivity limit never bites. Idempotent: a partner just refreshed is no longer due, so
 * a run repeated by another instance does (almost) nothing. Never throws into the process.
 */

export interface TokenKeepAliveOptions {
  tokens: Pick<PartnerTokens, 'keepAlive'>;
  logger: Logger;
  /** How often to look for due partners. Default one hour; 0 turns the timer off (tests run it by hand). */
  intervalMs?: number;
  /** Refresh a consent unused for this long. Default 7 days. */
  unusedForMs?: number;
  now?: () => number;
}

export interface TokenKeepAlive {
  /** One run now (the timer's work). */
  run(): Promise<{ refreshed: number; failed: number }>;
  /** Stops the timer and waits for a run in progress. */
  stop(): Promise<void>;
}

const HOUR_MS = 3_600_000;
const WEEK_MS = 7 * 24 * HOUR_MS;

export function startTokenKeepAlive(options: TokenKeepAliveOptions): TokenKeepAlive {
  const intervalMs = options.intervalMs ?? HOUR_MS;
  const unusedForMs = options.unusedForMs ?? WEEK_MS;
  const now = options.now ?? Date.now;
  const abort = new AbortController();
  return startPeriodic(intervalMs, async () => {
    try {
      const result = await options.tokens.keepAlive(new Date(now() - unusedForMs), { signal: abort.signal });
      if (result.refreshed + result.failed > 0) options.logger.info(result, 'token keep-alive run');
      return result;
    } catch (err) {
      options.logger.error({ err }, 'token keep-alive run failed');
      return { refreshed: 0, failed: 0 };
    }
  }, () => abort.abort());
}
