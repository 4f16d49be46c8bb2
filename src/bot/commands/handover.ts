import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { renderHandoverCard } from '../../cards/render';
import { Verbs } from '../../cards/verbs';
import { Messages } from '../../onboarding/messages';
import type { PartnerRepository } from '../../store/partners';
import { closeCard } from '../../teams/card-activity';
import type { Notifier } from '../../teams/notifier';
import type { Membership } from '../membership';
import { verbRoute, type Command, type Route } from '../routes';

/** What the handover card sends back: the member picked, checked against the members on the server. */
const HandoverChoice = z.object({ memberId: z.string().min(1).max(128) });

/** `hand over`: the owner picks a member to own onboarding; the previous owner stays a member. */
export function handoverCommand(membership: Membership): Command {
  return {
    name: 'hand over', aliases: ['handover', 'transfer ownership', 'change owner'], description: 'Hand onboarding over to a colleague (owner only)',
    handle: async (context, turn) => {
      const owned = await membership.owned(context, turn, Messages.ownerOnlyHandover);
      if (!owned) return;
      const members = owned.partner.members.filter((m) => m.role === 'member').map((m) => ({ id: m.aadObjectId, name: m.name }));
      if (members.length === 0) {
        await context.sendActivity(Messages.handoverNoMembers);
        return;
      }
      await context.sendActivity({ attachments: [renderHandoverCard({ cardId: randomUUID(), members })] });
    },
  };
}

export function handoverAnswerRoute(membership: Membership, partners: PartnerRepository, notifier: Notifier): Route {
  return verbRoute([Verbs.handoverSubmit, Verbs.handoverCancel], async (context, turn) => {
    if (!turn.submission?.ok) return;
    const { submission } = turn.submission;
    const owned = await membership.owned(context, turn, Messages.ownerOnlyHandover);
    if (!owned) return;
    // A handover answer without its card id (a tampered or outdated client) is told so, not ignored.
    if (!submission.cardId) {
      await context.sendActivity(Messages.staleCard);
      return;
    }
    const choice = HandoverChoice.safeParse(submission.fields);
    const to = choice.success ? owned.partner.members.find((m) => m.role === 'member' && m.aadObjectId === choice.data.memberId) : undefined;
    if (submission.verb === Verbs.handoverSubmit && !to) {
      await context.sendActivity(Messages.staleCard);
      return;
    }
    if (!(await partners.answerCard(owned.tenantId, submission.cardId, 'owner-handover', turn.person.aadObjectId))) {
      await context.sendActivity(Messages.alreadySaved);
      return;
    }
    if (!to) {
      await closeCard(context, submission.replyToId, 'Ownership kept');
      await context.sendActivity(Messages.handoverKept);
      return;
    }
    await partners.transferOwnership(owned.tenantId, to, turn.person.aadObjectId, 'handover');
    await closeCard(context, submission.replyToId, `Handed over to ${to.name}`);
    await context.sendActivity(Messages.handoverDone(to.name));
    if (to.conversationId) await notifier.send(owned.tenantId, to.conversationId, { text: Messages.handoverReceived(turn.person.name) });
  });
}
