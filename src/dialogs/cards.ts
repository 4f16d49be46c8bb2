import type { Attachment, TurnContext } from 'botbuilder';

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
