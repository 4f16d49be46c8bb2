import type { Attachment, TurnContext } from 'botbuilder';
import { renderSectionSummary } from '../cards/render';

/** The turn's card updates sent beside what follows (replaceCardBeside), settled before the turn ends. */
const UPDATES_IN_FLIGHT = Symbol('partner-onboarding.card-updates-in-flight');

/** An update in flight: it settles to undefined when done, or to Teams' refusal (after the connector's capped retries). */
type UpdateInFlight = Promise<{ refused: unknown } | undefined>;

/** Sends a card and returns the id of the message that carries it (to update it later). */
export async function sendCard(context: TurnContext, card: Attachment): Promise<string | undefined> {
  const res = await context.sendActivity({ attachments: [card] });
  return res?.id;
}

/** Replaces the card in message `activityId` in place (no stale buttons left behind). */
export async function replaceCard(context: TurnContext, activityId: string | undefined, card: Attachment): Promise<void> {
  if (!activityId) {
    await context.sendActivity({ attachments: [card] });
    return;
  }
  await context.updateActivity({ id: activityId, type: 'message', attachments: [card] });
}

/** Replaces a card the person answered with a one-line summary, when we know which message it is. */
export async function closeCard(context: TurnContext, activityId: string | undefined, title: string): Promise<void> {
  if (activityId) await context.updateActivity({ id: activityId, type: 'message', attachments: [renderSectionSummary({ title, facts: [] })] });
}

/**
 * Replaces the card in message `activityId` like replaceCard, without holding the turn up: the
 * update goes out beside what the turn sends next (the next step's card), so a submit waits for one
 * Bot Connector call, not two in a row. The turn settles it before it saves its state
 * (settleCardUpdates). A card with no message id to update is sent as a new message, in order.
 */
export async function replaceCardBeside(context: TurnContext, activityId: string | undefined, card: Attachment): Promise<void> {
  if (!activityId) return replaceCard(context, activityId, card);
  const list = (context.turnState.get(UPDATES_IN_FLIGHT) as UpdateInFlight[] | undefined) ?? [];
  list.push(context.updateActivity({ id: activityId, type: 'message', attachments: [card] }).then(() => undefined, (refused: unknown) => ({ refused })));
  context.turnState.set(UPDATES_IN_FLIGHT, list);
}

/**
 * Waits for this turn's card updates; returns the errors of those Teams refused. A refused update
 * leaves the card as it was (its step is saved, so pressing it again answers "already saved");
 * the chat has moved on all the same.
 */
export async function settleCardUpdates(context: TurnContext): Promise<unknown[]> {
  const list = context.turnState.get(UPDATES_IN_FLIGHT) as UpdateInFlight[] | undefined;
  if (!list) return [];
  context.turnState.delete(UPDATES_IN_FLIGHT);
  return (await Promise.all(list)).flatMap((u) => (u ? [u.refused] : []));
}
