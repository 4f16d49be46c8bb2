import { setTimeout as delay } from 'node:timers/promises';

export interface PacerOptions {
  /** The most one 429 slows the pace (a factor on the gap). Default: as much as it says. */
  maxSlowdown?: number;
}

/**
 * Paces one stream of requests from the service's own answers. Partner Center's limits are dynamic
 * and not published per call; it says "too fast" with 429 and `Retry-After`
 * (https://learn.microsoft.com/en-us/partner-center/developer/api-throttling-guidance). Until the
 * first 429 the stream goes as fast as answers come. Each 429 sets the pace to what the service
 * allowed since the one before (successes over that time, 2% under it); every 50 successes in a
 * row the pace creeps up 1%, so a raised limit is found again. The HTTP layer still honours each
 * `Retry-After`; the pacer only keeps the next 429 from coming. With several requests in flight
 * (the notices dispatcher), those sent before the pace last changed answer 429 together: only the
 * first of them is news, so `throttled(sentAt)` ignores the rest; and a burst of them says the
 * window is full rather than that the rate collapsed, so `maxSlowdown` bounds one step.
 */
export class Pacer {
  private intervalMs = 0;
  private nextAt = 0;
  private since = 0;
  private successes = 0;
  private streak = 0;
  private changedAt = -Infinity;

  constructor(private readonly now: () => number = Date.now, private readonly options: PacerOptions = {}) {}

  /** The gap kept between requests now (0 = none yet). */
  get gapMs(): number {
    return this.intervalMs;
  }

  /** Waits for this request's turn. */
  async turn(signal?: AbortSignal): Promise<void> {
    if (this.since === 0) this.since = this.now();
    const wait = this.nextAt - this.now();
    if (wait > 0) await delay(wait, undefined, { signal });
    this.nextAt = this.now() + this.intervalMs;
  }

  ok(): void {
    this.successes += 1;
    this.streak += 1;
    if (this.streak >= 50 && this.intervalMs > 0) {
      this.intervalMs *= 0.99;
      this.streak = 0;
    }
  }

  /** A 429 (for a request sent at `sentAt`, when several are in flight): slows the pace. */
  throttled(sentAt?: number): void {
    if (sentAt !== undefined && sentAt < this.changedAt) return;
    const t = this.now();
    this.changedAt = t;
    const span = t - (this.since || t);
    const before = this.intervalMs;
    if (this.successes > 0 && span > 0) this.intervalMs = Math.max(this.intervalMs * 0.9, (span / this.successes) * 1.02);
    else this.intervalMs = Math.max(this.intervalMs * 1.5, 50);
    if (this.options.maxSlowdown && before > 0) this.intervalMs = Math.min(this.intervalMs, before * this.options.maxSlowdown);
    this.since = t;
    this.successes = 0;
    this.streak = 0;
  }
}
