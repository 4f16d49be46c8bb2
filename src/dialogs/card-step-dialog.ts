import { randomUUID } from 'node:crypto';
import type { Attachment, TurnContext } from 'botbuilder';
import { Dialog, type DialogContext, type DialogTurnResult } from 'botbuilder-dialogs';
import type { StepId } from '../domain/steps';
import { stepOf } from '../domain/steps';
import { Messages } from '../onboarding/messages';
import { replaceCard, replaceCardBeside, sendCard } from '../teams/card-activity';
import type { Submission } from '../teams/submission';
import { turnOf, type Turn } from '../teams/turn';
import { isCarryOn } from './carry-on';
import type { OnboardingServices } from './onboarding-services';
import { takeOverClaim } from './step-claims';

/** Set by `alreadySaved` in a submit: the card this step waits on was saved before (by this step's card id). */
const SAVED_BEFORE = Symbol('partner-onboarding.saved-before');

/** What every card step remembers between turns: which card it waits on, and where it is. */
export interface CardStepState {
  cardId: string;
  activityId?: string;
}

/** A card to show, or the step's result when there is nothing to ask (already done, say). */
export type Opening<S> = { card: Attachment; state?: Omit<S, keyof CardStepState>; notice?: string } | { done: object };

/**
 * The skeleton every card step shares: show a card, wait for *this* card's submit (a hint for
 * free text, the reason for an outdated or malformed submit), then let the step validate and save
 * it once, and either replace the card with a summary or re-render it in place with messages.
 */
export abstract class CardStepDialog<S extends CardStepState = CardStepState> extends Dialog {
  protected constructor(id: string, protected readonly step: StepId, protected readonly services: OnboardingServices) {
    super(id);
  }

  /** The card (or the result, when nothing needs asking) as the step begins. */
  protected abstract open(turn: Turn, cardId: string, context: TurnContext): Promise<Opening<S>>;

  /** This card's submit, already claimed: validate, save once, and finish or re-render. */
  protected abstract submit(dc: DialogContext, turn: Turn, submission: Submission, state: S): Promise<DialogTurnResult>;

  /** Free text while the card waits; steps that take typed answers override this. */
  protected async text(dc: DialogContext, _turn: Turn, _state: S): Promise<DialogTurnResult> {
    await dc.context.sendActivity(Messages.hint(stepOf(this.step).name));
    return Dialog.EndOfTurn;
  }

  override async beginDialog(dc: DialogContext): Promise<DialogTurnResult> {
    const turn = turnOf(dc.context);
    const cardId = randomUUID();
    const opening = await this.open(turn, cardId, dc.context);
    if ('done' in opening) return dc.endDialog(opening.done);
    const activityId = await sendCard(dc.context, opening.card);
    if (opening.notice) await dc.context.sendActivity(opening.notice);
    dc.activeDialog!.state = { ...opening.state, cardId, activityId } as S;
    return Dialog.EndOfTurn;
  }

  override async continueDialog(dc: DialogContext): Promise<DialogTurnResult> {
    const turn = turnOf(dc.context);
    const state = dc.activeDialog!.state as S;
    if (isCarryOn(dc.context)) return this.carriedOn(dc, turn, state);
    const parsed = turn.submission;
    if (!parsed) {
      // The card this step waits on was saved by a turn that died before the next card (its claim
      // lapsed): the card above is a summary with no button, so what the person types moves on.
      if (await this.takeOver(dc, turn, state, { wait: false })) return this.resume(dc, turn);
      return this.text(dc, turn, state);
    }
    if (!parsed.ok) {
      await dc.context.sendActivity(Messages.submission[parsed.problem]);
      return Dialog.EndOfTurn;
    }
    const { submission } = parsed;
    if (submission.cardId !== state.cardId) {
      const answered = submission.cardId ? await this.services.partners.isAnswered(turn.requireTenant(), submission.cardId) : false;
      // A card this dialog never stored: the next step's card, posted by a turn that died before it
      // saved the dialog (the card it waits on is claimed and its lease lapsed). That turn's step is
      // done: the chat moves on (the next step's card afresh) instead of calling every press stale.
      if (!answered && await this.takeOver(dc, turn, state, { wait: false })) return this.resume(dc, turn);
      await dc.context.sendActivity(answered ? Messages.alreadySaved : Messages.staleCard);
      return Dialog.EndOfTurn;
    }
    const result = await this.submit(dc, turn, submission, state);
    if (dc.context.turnState.get(SAVED_BEFORE) !== true) return result;
    dc.context.turnState.delete(SAVED_BEFORE);
    // This very card was saved, yet the dialog still waits on it: the turn that saved it may have
    // died before it posted the next card. Then this turn moves the chat on, else it says so.
    if (await this.takeOver(dc, turn, state)) return this.resume(dc, turn);
    await dc.context.sendActivity(Messages.alreadySaved);
    return Dialog.EndOfTurn;
  }

  /** A carry-on turn found the step not done after all: nothing was said, so nothing is answered. */
  protected async carriedOn(_dc: DialogContext, _turn: Turn, _state: S): Promise<DialogTurnResult> {
    return Dialog.EndOfTurn;
  }

  /**
   * This card's step is done: the database decides which turn says so (a carry-on and a typed
   * answer, or two instances, may find it done at once). False: another turn already did.
   */
  protected async claimDone(dc: DialogContext, turn: Turn, state: S): Promise<boolean> {
    return (await this.services.partners.answerCard(turn.requireTenant(), state.cardId, `${this.step}-done`, turn.person.aadObjectId || 'bot'))
      || this.takeOver(dc, turn, state);
  }

  /** This step's card is claimed but the chat never moved on (its turn died): true when this turn takes over. */
  private takeOver(dc: DialogContext, turn: Turn, state: S, options?: { wait?: boolean }): Promise<boolean> {
    return takeOverClaim(dc.context, this.services, turn.requireTenant(), state.cardId, this.step, turn.person.aadObjectId || 'bot', options);
  }

  /** Moves on for a turn that saved this step and died: the next step (its card) when the step is done, else this step's card afresh. */
  private async resume(dc: DialogContext, turn: Turn): Promise<DialogTurnResult> {
    const partner = await this.services.partners.get(turn.requireTenant());
    if (partner) turn.refresh(partner);
    if (partner && stepOf(this.step).done(partner)) return dc.endDialog({ resumed: true });
    return dc.replaceDialog(this.id);
  }

  /** The message the pressed card is in (Teams sets replyToId), else the one this step sent. */
  protected cardMessage(submission: Submission | undefined, state: S): string | undefined {
    return submission?.replyToId ?? state.activityId;
  }

  /**
   * The card was saved before (a double click, or answered on another device): change nothing; the
   * submit's caller says so, or moves the chat on when the turn that saved it did not.
   */
  protected async alreadySaved(context: TurnContext): Promise<DialogTurnResult> {
    context.turnState.set(SAVED_BEFORE, true);
    return Dialog.EndOfTurn;
  }

  /** The same card again, in place, with what was wrong; the step keeps waiting. */
  protected async again(dc: DialogContext, submission: Submission | undefined, state: S, card: Attachment, message: string): Promise<DialogTurnResult> {
    await replaceCard(dc.context, this.cardMessage(submission, state), card);
    await dc.context.sendActivity(message);
    return Dialog.EndOfTurn;
  }

  /** The card becomes a read-only summary (sent beside the next step's card) and the step ends with `result`. */
  protected async finish(dc: DialogContext, submission: Submission | undefined, state: S, summary: Attachment, result?: object): Promise<DialogTurnResult> {
    await replaceCardBeside(dc.context, this.cardMessage(submission, state), summary);
    return dc.endDialog(result);
  }
}
