import type { TurnContext } from 'botbuilder';
import type { ChatMessage } from '../auth/consent-messages';
import type { StepId } from '../domain/steps';
import type { Logger } from '../logger';
import type { Notifier } from '../teams/notifier';

/** Where a carry-on turn runs: the bot, which loads and saves the conversation's dialog state. */
export interface CarryOnTurn {
  carryOn(context: TurnContext, tenantId: string, step: StepId): Promise<boolean>;
}

/**
 * A journey step that finishes outside a turn (the mail's link confirmed on its page, the
 * sign-in page's callback, the sync job) carries the journey on by itself in the chat where it
 * was asked: a proactive turn in which the waiting step sees it done, turns its card into the
 * summary and the next step begins. No "Continue" button: the partner has no choice to make.
 * The turn runs without the caller waiting (a callback page answers at once, whatever the next
 * step does); `drain` waits for those in flight (a graceful stop).
 */
export class JourneyCarryOn {
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(private readonly o: { notifier: Notifier; bot: () => CarryOnTurn; logger: Logger }) {}

  /** Says `text` (when given) in the chat, then carries the journey on there after `step`. False when the text could not be delivered. */
  async stepDone(tenantId: string, conversationId: string, step: StepId, text?: string): Promise<boolean> {
    const told = text === undefined ? true : await this.o.notifier.send(tenantId, conversationId, { text });
    const turn = this.o.notifier.turn(tenantId, conversationId, async (context) => {
      await this.o.bot().carryOn(context, tenantId, step);
    }).catch((err: unknown) => this.o.logger.warn({ err, tenantId, step }, 'carrying the journey on failed; the next turn in the chat picks it up'));
    this.inFlight.add(turn);
    void turn.finally(() => this.inFlight.delete(turn));
    return told;
  }

  /** The consent flow's answer in the chat: a finished (or failed) sign-in or consent carries the consent step on. */
  readonly tellChat = (tenantId: string, conversationId: string, message: ChatMessage): Promise<boolean> =>
    message.carryOn ? this.stepDone(tenantId, conversationId, 'consent', message.text) : this.o.notifier.send(tenantId, conversationId, { text: message.text });

  async drain(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }
}
