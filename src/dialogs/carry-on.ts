import type { TurnContext } from 'botbuilder';

const CARRY_ON = Symbol('partner-onboarding.carry-on');

/**
 * This turn was opened because the step waiting in the chat finished outside a turn (the mail's
 * link, the sign-in page, the sync job): nobody said anything, so a step that is not done after
 * all stays quiet instead of answering as if something had been typed.
 */
export function markCarryOn(context: TurnContext): void {
  context.turnState.set(CARRY_ON, true);
}

export function isCarryOn(context: TurnContext): boolean {
  return context.turnState.get(CARRY_ON) === true;
}
