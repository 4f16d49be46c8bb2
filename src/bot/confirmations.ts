import { randomUUID } from 'node:crypto';
import type { TurnContext } from 'botbuilder';
import { renderConfirmCard, type ConfirmCardData } from '../cards/render';
import { Verbs } from '../cards/verbs';
import type { Partner } from '../domain/partner';
import { Messages } from '../onboarding/messages';
import { closeCard } from '../teams/card-activity';
import type { Turn } from '../teams/turn';
import { requireOwner, type Membership } from './membership';
import { verbRoute, type Command, type Route } from './routes';

/** An owner-only action that asks "are you sure?" first (start over, delete everything). */
export interface ConfirmedAction {
  readonly action: 'restart' | 'delete';
  /** Who may not: the owner's name goes in. */
  refusal(owner: string): string;
  card: Omit<ConfirmCardData, 'cardId' | 'action'>;
  /** After "yes" (the card already closed with `yesSummary`). */
  onYes(context: TurnContext, turn: Turn, owned: { tenantId: string; partner: Partner }): Promise<void>;
  yesSummary: string;
  noSummary: string;
  noMessage: string;
}

/**
 * The command that asks for `action`: members only, the owner only once there is a partner
 * (`withoutPartner` runs when there is none yet).
 */
export function confirmedCommand(
  membership: Membership, action: ConfirmedAction, command: Pick<Command, 'name' | 'aliases' | 'description'>,
  withoutPartner: (context: TurnContext, turn: Turn) => Promise<void>,
): Command {
  return {
    ...command,
    handle: async (context, turn) => {
      const access = await membership.access(context, turn, false);
      if (!access) return;
      if (!access.partner) {
        await withoutPartner(context, turn);
        return;
      }
      if (await requireOwner(context, turn, access.partner, action.refusal)) await askToConfirm(context, action);
    },
  };
}

/** Sends the confirmation card of `action`. */
export async function askToConfirm(context: TurnContext, action: ConfirmedAction): Promise<void> {
  await context.sendActivity({ attachments: [renderConfirmCard({ ...action.card, cardId: randomUUID(), action: action.action })] });
}

/** The answer to a confirmation card: owner-only again (whoever holds the card), once only. */
export function confirmationRoute(membership: Membership, actions: readonly ConfirmedAction[], answerCard: (tenantId: string, cardId: string, kind: string, actor: string) => Promise<boolean>): Route {
  return verbRoute([Verbs.confirmYes, Verbs.confirmNo], async (context, turn) => {
    if (!turn.submission?.ok) return;
    const { submission } = turn.submission;
    const action = actions.find((a) => a.action === submission.action);
    if (!submission.cardId || !action) {
      await context.sendActivity(Messages.staleCard);
      return;
    }
    const owned = await membership.owned(context, turn, action.refusal);
    if (!owned) return;
    if (!(await answerCard(owned.tenantId, submission.cardId, `confirm-${action.action}`, turn.person.aadObjectId))) {
      await context.sendActivity(Messages.alreadySaved);
      return;
    }
    if (submission.verb !== Verbs.confirmYes) {
      await closeCard(context, submission.replyToId, action.noSummary);
      await context.sendActivity(action.noMessage);
      return;
    }
    await closeCard(context, submission.replyToId, action.yesSummary);
    await action.onYes(context, turn, owned);
  });
}
