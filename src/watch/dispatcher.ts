import { setTimeout as delay } from 'node:timers/promises';
import type { Activity } from 'botbuilder';
import type { Logger } from '../logger';
import type { Notice, NoticeRepository } from '../store/notices';
import { Pacer } from '../sync/pacer';
import type { Delivery, Notifier } from '../teams/notifier';

export interface NoticeDispatcherOptions {
  notices: Pick<NoticeRepository, 'claim' | 'sent' | 'later' | 'dead'>;
  notifier: Pick<Notifier, 'deliver'>;
  /** The notice as a chat activity (it may read the partner first). */
  render(notice: Notice, now: Date): Partial<Activity> | Promise<Partial<Activity>>;
  logger: Logger;
  now?: () => Date;
  /** Notices held at once (claimed, waiting or being sent): no more. Default 100. */
  pageSize?: number;
  /** Sends in flight at once, each to another conversation. Default 16. */
  concurrency?: number;
}

const LEASE_MS = 2 * 60_000;
/**
 * A send may take most of a minute (the notifier waits 15 s at most, 3 times): none starts later
 * than this into its lease, so no lease runs out mid-send and no other instance sends it too.
 */
const START_WITHIN_MS = LEASE_MS - 60_000;
const MAX_ATTEMPTS = 8;
/**
 * The notifier waits out throttling itself and says only how a send ended. It waits at least a
 * second before trying again (Retry-After is whole seconds, backoff starts at 1 s), so a send that
 * took that long was throttled (or retried after a 5xx). The pacer hears of it when the send is
 * back, the wait behind it: what the service allowed over that time is the pace it learns.
 */
const THROTTLED_AFTER_MS = 1_000;
/**
 * Sends that retried after a 429 go again unpaced and meet the next ones: a burst of 429s then says
 * the window is full, not that the allowed rate fell, so one slows the pace by a quarter at most.
 */
const PACE = { maxSlowdown: 1.25 };

/**
 * Teams' published limits per bot per thread (DESIGN.md "Platform facts"), kept per conversation so
 * that the 429s left come from the limits per app, which the pacer learns. The hourly 1800 is left
 * to 429s: a drain sends one conversation a handful.
 */
const THREAD_LIMITS = [{ limit: 7, windowMs: 1_000 }, { limit: 8, windowMs: 2_000 }, { limit: 60, windowMs: 30_000 }];
const LONGEST_THREAD_WINDOW_MS = 30_000;

/** When each conversation took sends (the last 60 at most, in the last 30 s). */
class ThreadWindows {
  private readonly sends = new Map<string, number[]>();

  /** Milliseconds until a send to `conversationId` keeps every limit (0 or less: now). */
  waitMs(conversationId: string, now: number): number {
    const times = this.sends.get(conversationId);
    if (!times) return 0;
    let wait = 0;
    for (const w of THREAD_LIMITS) if (times.length >= w.limit) wait = Math.max(wait, times[times.length - w.limit]! + w.windowMs - now);
    return wait;
  }

  /** A send accepted by `at` (its answer came then: the connector counted it before). */
  record(conversationId: string, at: number): void {
    const times = this.sends.get(conversationId) ?? [];
    times.push(at);
    if (times.length > 60) times.shift();
    this.sends.set(conversationId, times);
  }

  /** Forgets conversations no window holds any more. */
  prune(now: number): void {
    for (const [id, times] of this.sends) if (times[times.length - 1]! <= now - LONGEST_THREAD_WINDOW_MS) this.sends.delete(id);
  }
}

interface Claimed {
  notice: Notice;
  /** When its lease began (just before the claim). */
  claimedAt: number;
}

/**
 * Sends the notices outbox: pending notices claimed a page at a time (row leases, `SKIP LOCKED`,
 * so several instances drain it without sending one twice), each sent once; a conversation the
 * connector refuses for good (403, 404) makes them dead, and a failed send makes them wait and go
 * again. A page goes out several sends at once but one at a time per conversation, in the order
 * claimed, within Teams' published limits per thread; the pace across conversations is learnt from
 * throttling (a {@link Pacer}, afresh each drain).
 */
export class NoticeDispatcher {
  private running?: Promise<number>;
  private next?: Promise<number>;
  private readonly stopping = new AbortController();

  constructor(private readonly o: NoticeDispatcherOptions) {}

  /**
   * Sends what is due until nothing is; returns how many were sent. A call while a drain runs waits
   * for it and drains again (what was recorded meanwhile goes too); calls piling up share that one.
   */
  drain(): Promise<number> {
    if (!this.running) {
      this.running = new Drain(this.o, this.stopping.signal).run().finally(() => { this.running = undefined; });
      return this.running;
    }
    this.next ??= this.running.then(() => undefined, () => undefined).then(() => {
      this.next = undefined;
      return this.drain();
    });
    return this.next;
  }

  /** No send starts after this: those in flight end, the notices claimed and not started are released. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await Promise.allSettled([this.running, this.next]);
  }
}

/** One drain: the notices it holds (waiting or being sent), its pace and the thread windows it keeps. */
class Drain {
  private readonly pageSize: number;
  private readonly concurrency: number;
  private readonly waiting: Claimed[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  /** Conversations with a send in flight. */
  private readonly busy = new Set<string>();
  private readonly threads = new ThreadWindows();
  /** Made when the first send is back: it goes alone, untimed (it gets the bot's token, opens the connection). */
  private pacer?: Pacer;
  private more = true;
  private failure: unknown;
  private readonly tally = { sent: 0, dead: 0, later: 0, released: 0 };

  constructor(private readonly o: NoticeDispatcherOptions, private readonly signal: AbortSignal) {
    this.pageSize = o.pageSize ?? 100;
    this.concurrency = Math.max(1, Math.min(o.concurrency ?? 16, this.pageSize));
  }

  private get slots(): number {
    return this.pacer ? this.concurrency : 1;
  }

  private get stopped(): boolean {
    return this.signal.aborted || this.failure !== undefined;
  }

  async run(): Promise<number> {
    for (;;) {
      if (!this.stopped && this.inFlight.size < this.slots && (await this.startNext() || await this.claimMore())) continue;
      if (this.inFlight.size === 0 && (this.waiting.length === 0 || this.stopped)) break;
      await this.nextChange();
    }
    // Stopped (or a store call failed): what was claimed and not started goes back at once.
    while (this.waiting.length > 0) await this.release(this.waiting.shift()!, 'the drain stopped before its turn').catch(() => undefined);
    const { sent, dead, later, released } = this.tally;
    if (sent + dead + later + released > 0) this.o.logger.info({ ...this.tally, paceMs: Math.round(this.pacer?.gapMs ?? 0) }, 'notices drained');
    if (this.failure !== undefined) throw this.failure;
    return sent;
  }

  /** Starts the first waiting notice whose conversation is free and within its limits, at the pacer's turn; false when none may start now. */
  private async startNext(): Promise<boolean> {
    const now = Date.now();
    const i = this.waiting.findIndex((c) => !this.busy.has(c.notice.conversationId) && this.threads.waitMs(c.notice.conversationId, now) <= 0);
    if (i < 0) return false;
    const c = this.waiting.splice(i, 1)[0]!;
    const id = c.notice.conversationId;
    this.busy.add(id);
    try {
      await this.pacer?.turn(this.signal);
      if (Date.now() - c.claimedAt > START_WITHIN_MS) {
        this.busy.delete(id);
        await this.release(c, 'its lease ran out before its turn');
        return true;
      }
    } catch (err) {
      this.busy.delete(id);
      if (!this.signal.aborted) this.failure ??= err;
      this.waiting.unshift(c);
      return true;
    }
    const task: Promise<void> = this.send(c.notice)
      .then((outcome) => { this.tally[outcome] += 1; }, (err: unknown) => { this.failure ??= err; })
      .finally(() => {
        this.busy.delete(id);
        this.inFlight.delete(task);
        this.pacer ??= new Pacer(Date.now, PACE);
      });
    this.inFlight.add(task);
    return true;
  }

  /** Claims more, up to a page held in all; false when nothing more is due (or there is no room). */
  private async claimMore(): Promise<boolean> {
    const room = this.pageSize - this.waiting.length - this.inFlight.size;
    if (!this.more || room <= 0) return false;
    try {
      const claimedAt = Date.now();
      const page = await this.o.notices.claim(room, LEASE_MS);
      if (page.length < room) this.more = false;
      for (const notice of page) this.waiting.push({ notice, claimedAt });
      this.threads.prune(claimedAt);
      return page.length > 0;
    } catch (err) {
      this.failure ??= err;
      return true;
    }
  }

  /** Until a send ends, a waiting conversation's window opens (with a slot free), or the drain is stopped. */
  private async nextChange(): Promise<void> {
    const now = Date.now();
    const opens = this.stopped || this.inFlight.size >= this.slots ? []
      : this.waiting.filter((c) => !this.busy.has(c.notice.conversationId)).map((c) => this.threads.waitMs(c.notice.conversationId, now));
    const done = new AbortController();
    const waits: Promise<unknown>[] = [...this.inFlight];
    if (opens.length > 0) waits.push(delay(Math.max(1, Math.min(...opens)), undefined, { signal: done.signal }).catch(() => undefined));
    if (!this.stopped) waits.push(new Promise<void>((resolve) => this.signal.addEventListener('abort', () => resolve(), { once: true, signal: done.signal })));
    await Promise.race(waits);
    done.abort();
  }

  /** Back to the outbox, due now, with the conversation's later notices here (kept behind it). */
  private async release(c: Claimed, why: string): Promise<void> {
    const behind = this.waiting.filter((q) => q.notice.conversationId === c.notice.conversationId);
    for (const q of behind) this.waiting.splice(this.waiting.indexOf(q), 1);
    for (const q of [c, ...behind]) {
      await this.o.notices.later(q.notice.id, new Date(), why);
      this.tally.released += 1;
    }
  }

  /** One notice: sent, dead or tried again later. Tells the pacer and the thread windows how it went. */
  private async send(n: Notice): Promise<'sent' | 'dead' | 'later'> {
    const startedAt = Date.now();
    let outcome: Delivery;
    try {
      outcome = await this.o.notifier.deliver(n.recipientTenantId ?? n.tenantId, n.conversationId, await this.o.render(n, this.o.now?.() ?? new Date()));
    } catch (err) {
      this.o.logger.warn({ err, tenantId: n.tenantId, notice: n.id }, 'notice could not be sent');
      outcome = 'failed';
    }
    const endedAt = Date.now();
    if (endedAt - startedAt >= THROTTLED_AFTER_MS) this.pacer?.throttled(startedAt);
    else if (outcome === 'sent') this.pacer?.ok();
    if (outcome === 'sent') {
      this.threads.record(n.conversationId, endedAt);
      await this.o.notices.sent(n.id);
      return 'sent';
    }
    if (outcome === 'gone') {
      await this.o.notices.dead(n.id, 'the conversation is gone (uninstalled, 403 or 404)');
      return 'dead';
    }
    if (n.attempts >= MAX_ATTEMPTS) {
      await this.o.notices.dead(n.id, `not delivered after ${n.attempts} attempts`);
      return 'dead';
    }
    await this.o.notices.later(n.id, new Date(Date.now() + 60_000 * 2 ** Math.min(n.attempts, 6)), 'not delivered');
    return 'later';
  }
}
