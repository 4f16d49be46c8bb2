import type { TurnContext } from 'botbuilder';
import type { JobWithMetadata, Queue } from 'pg-boss';
import type { ChatMessage } from '../auth/consent-messages';
import type { StepId } from '../domain/steps';
import type { Logger } from '../logger';
import { ensureQueue, type JobEngine } from '../store/job-engine';
import type { Notifier } from '../teams/notifier';

/** Where a carry-on turn runs: the bot, which loads and saves the conversation's dialog state. */
export interface CarryOnTurn {
  carryOn(context: TurnContext, tenantId: string, step: StepId): Promise<boolean>;
}

export const CARRY_ON_QUEUE = 'journey-carry-on';

/** A carry-on to run; `text`: said first (it could not be said when the step finished). */
interface CarryOnData {
  tenantId: string;
  conversationId: string;
  step: StepId;
  text?: string;
}

/**
 * Tried again 10 s later, then 20, 40…, 8 tries in all (about 40 minutes): a Teams refusal
 * (429 with a Retry-After over the connector cap, 503, a timeout) is waited out by the job, not by
 * the callback or the process. A worker killed mid-turn leaves its job to expire after 2 minutes
 * (a turn takes seconds) and run elsewhere.
 */
const QUEUE: Queue = { name: CARRY_ON_QUEUE, policy: 'standard', retryLimit: 7, retryDelay: 10, retryBackoff: true, expireInSeconds: 120 };

export interface JourneyCarryOnOptions {
  notifier: Notifier;
  bot: () => CarryOnTurn;
  logger: Logger;
  /** Where carry-ons are kept until they ran; without it (unit use) they run in this process only. */
  engine?: JobEngine;
}

/**
 * A journey step that finishes outside a turn (the mail's link confirmed on its page, the
 * sign-in page's callback, the sync job) carries the journey on by itself in the chat where it
 * was asked: a proactive turn in which the waiting step sees it done, turns its card into the
 * summary and the next step begins. No "Continue" button: the partner has no choice to make.
 *
 * The carry-on is a job on the job engine, recorded before it runs and run at once here (a callback
 * page answers without waiting for it): a turn Teams refuses is tried again later, and one cut by a
 * crash runs on another instance, so the journey never stalls after a sign-in. A turn that runs
 * again is harmless: the waiting step carries on once (its card is claimed in answered_cards, and a
 * claim whose turn died is taken over, see CardStepDialog), and a chat that has moved on ignores it.
 * `drain` waits for those running here (a graceful stop).
 */
export class JourneyCarryOn {
  private readonly inFlight = new Set<Promise<unknown>>();
  private stopped = false;

  constructor(private readonly o: JourneyCarryOnOptions) {}

  /** Creates the queue and works it from this instance (after the bot exists: a job may run at once). */
  async start(): Promise<void> {
    const engine = this.o.engine;
    if (!engine) return;
    await ensureQueue(engine.boss, QUEUE);
    await engine.boss.work(CARRY_ON_QUEUE, { pollingIntervalSeconds: Math.max(engine.pollingSeconds, 0.5), batchSize: 1, includeMetadata: true }, async ([job]: JobWithMetadata<CarryOnData>[]) => (job ? this.handle(job) : undefined));
  }

  /**
   * Says `text` (when given) in the chat, then carries the journey on there after `step`: both are
   * recorded first, as one job (a crash loses neither), then run. True when recorded (the chat is
   * told now or on a later try); without the job engine, or when recording fails, whether the text
   * arrived now.
   */
  async stepDone(tenantId: string, conversationId: string, step: StepId, text?: string): Promise<boolean> {
    const engine = this.o.engine;
    if (engine) {
      try {
        await engine.boss.send(CARRY_ON_QUEUE, { tenantId, conversationId, step, ...(text === undefined ? {} : { text }) } satisfies CarryOnData);
        if (!this.stopped) this.track(this.runDue());
        return true;
      } catch (err) {
        // Not recorded (the database is out): said and carried on here, once; else the next turn in the chat picks it up.
        this.o.logger.warn({ err, tenantId, step }, 'carrying the journey on could not be recorded; trying it here once');
      }
    }
    const told = text === undefined ? true : await this.o.notifier.send(tenantId, conversationId, { text });
    this.track(this.turn({ tenantId, conversationId, step }).catch((err: unknown) => this.o.logger.warn({ err, tenantId, step }, 'carrying the journey on failed; the next turn in the chat picks it up')));
    return told;
  }

  /** The consent flow's answer in the chat: a finished (or failed) sign-in or consent carries the consent step on. */
  readonly tellChat = (tenantId: string, conversationId: string, message: ChatMessage): Promise<boolean> =>
    message.carryOn ? this.stepDone(tenantId, conversationId, 'consent', message.text) : this.o.notifier.send(tenantId, conversationId, { text: message.text });

  async drain(): Promise<void> {
    this.stopped = true;
    await Promise.allSettled([...this.inFlight]);
  }

  private track(p: Promise<unknown>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  /** Runs what is due in the queue now, here (the one just recorded, or one another instance has not taken yet). */
  private async runDue(): Promise<void> {
    const boss = this.o.engine!.boss;
    try {
      const due = await boss.fetch<CarryOnData>(CARRY_ON_QUEUE, { batchSize: 1, includeMetadata: true });
      for (const job of due) {
        try {
          await boss.complete(CARRY_ON_QUEUE, job.id, await this.handle(job));
        } catch (err) {
          await boss.fail(CARRY_ON_QUEUE, job.id, { message: (err as Error).message }).catch(() => undefined);
        }
      }
    } catch (err) {
      this.o.logger.warn({ err }, 'carrying the journey on: reading the queue failed; the worker tries again');
    }
  }

  /** One try; throws for the engine to try again later (not on the last try). */
  private async handle(job: JobWithMetadata<CarryOnData>): Promise<{ outcome: string }> {
    const d = job.data;
    const last = job.retryCount >= job.retryLimit;
    let told = d.text === undefined;
    if (!told) {
      const delivery = await this.o.notifier.deliver(d.tenantId, d.conversationId, { text: d.text! });
      if (delivery === 'gone') return { outcome: 'the conversation is gone' };
      told = delivery === 'sent';
      if (!told) return this.again(job, last, 'Teams did not take the message');
    }
    const outcome = await this.turn(d);
    if (outcome !== 'failed') return { outcome };
    // The message went: only the carry-on goes again, as a job of its own, so the chat is not told twice.
    if (d.text !== undefined && !last) {
      await this.o.engine!.boss.send(CARRY_ON_QUEUE, { tenantId: d.tenantId, conversationId: d.conversationId, step: d.step }, { startAfter: QUEUE.retryDelay! });
      return { outcome: 'told; the carry-on goes again' };
    }
    return this.again(job, last, 'the carry-on turn failed');
  }

  private again(job: JobWithMetadata<CarryOnData>, last: boolean, why: string): { outcome: string } {
    const d = job.data;
    if (!last) throw new Error(`${why}; tried again later`);
    this.o.logger.warn({ tenantId: d.tenantId, step: d.step, attempts: job.retryCount + 1 }, `carrying the journey on gave up: ${why}; the next turn in the chat picks it up`);
    return { outcome: `gave up: ${why}` };
  }

  private turn(d: CarryOnData): Promise<string> {
    return this.o.notifier.turn(d.tenantId, d.conversationId, async (context) => {
      await this.o.bot().carryOn(context, d.tenantId, d.step);
    });
  }
}
