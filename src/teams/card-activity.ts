import type { Attachment, TurnContext } from 'botbuilder';
import { renderSectionSummary } from '../cards/render';

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
