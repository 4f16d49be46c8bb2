import type { Attachment, TurnContext } from 'botbuilder';
import { renderSectionSummary } from '../cards/render';
import { Messages } from '../onboarding/messages';
import type { PartnerRepository } from '../store/partners';
import { parseSubmission, type Submission } from './submission';

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
 * The submission of this turn if it is for the card `cardId` that a dialog is waiting on.
 * Otherwise the person has been answered already (a hint for free text, the reason for a bad or
 * outdated submission) and the result is undefined: the dialog just waits on.
 * `allowText` lets the caller read free text itself (a typed code).
 */
export async function submissionFor(
  context: TurnContext, partners: PartnerRepository, tenantId: string, cardId: string, hint: string, options: { allowText?: boolean } = {},
): Promise<Submission | 'text' | undefined> {
  const parsed = parseSubmission(context.activity);
  if (!parsed) {
    if (options.allowText) return 'text';
    await context.sendActivity(hint);
    return undefined;
  }
  if (!parsed.ok) {
    await context.sendActivity(parsed.message);
    return undefined;
  }
  const { submission } = parsed;
  if (submission.cardId !== cardId) {
    const answered = submission.cardId ? await partners.isAnswered(tenantId, submission.cardId) : false;
    await context.sendActivity(answered ? Messages.alreadySaved : Messages.staleCard);
    return undefined;
  }
  return submission;
}
