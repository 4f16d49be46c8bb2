import type { TakeOverLinks } from '../../auth/take-over';
import { TakeOverMessages } from '../../auth/take-over-messages';
import { renderTakeOverCard } from '../../cards/render';
import { isOwner, ownerOf } from '../../domain/partner';
import { Messages } from '../../onboarding/messages';
import type { Membership } from '../membership';
import type { Command } from '../routes';

/**
 * `take over`: a colleague who is an administrator of the tenant becomes the owner, whoever typed
 * `start` first. Members and colleagues not yet added alike (the administrator may never have been
 * added); a guest is refused. The sign-in link proves the role; nothing changes before it does.
 */
export function takeOverCommand(membership: Membership, links: TakeOverLinks): Command {
  return {
    name: 'take over', aliases: ['takeover', 'take ownership'], description: 'Become the owner of onboarding, as an administrator of your organization',
    handle: async (context, turn) => {
      const tenantId = await membership.identified(context, turn);
      if (!tenantId) return;
      const partner = turn.partner;
      if (!partner) {
        await context.sendActivity(Messages.notStarted);
        return;
      }
      if (isOwner(partner, turn.person)) {
        await context.sendActivity(TakeOverMessages.alreadyOwner);
        return;
      }
      const owner = ownerOf(partner)?.name ?? 'a colleague';
      const url = await links.link(tenantId, turn.person, context.activity.conversation.id);
      if (!url) {
        await context.sendActivity(TakeOverMessages.cantVerifyYet(owner));
        return;
      }
      const { card } = TakeOverMessages;
      await context.sendActivity({ attachments: [renderTakeOverCard({ title: card.title, text: card.text(owner), note: card.note, buttonTitle: card.button, url })] });
    },
  };
}
