import { renderTakeOverCard } from '../cards/render';
import { Verbs } from '../cards/verbs';
import type { Membership } from '../bot/membership';
import type { Command } from '../bot/routes';
import { Messages } from '../onboarding/messages';
import { SetupMessages } from './setup-messages';
import type { SetupSignIn } from './setup-sign-in';

/**
 * "Rotate it for me" (issue 30 item 5), the app secret's expiry notice's button (or typed): for an
 * app the bot created, the owner gets a Global Administrator's sign-in link; the sign-in starts the
 * rotation (SetupRunner.rotate). An app made by hand is left to "update credentials".
 */
export function rotateForMeCommand(membership: Membership, signIn: Pick<SetupSignIn, 'link'>): Command {
  return {
    name: 'rotate for me', aliases: ['rotate it for me'], verb: Verbs.setupRotate,
    description: 'Replace the client secret of the app I created for you (a Global Administrator signs in)',
    handle: async (context, turn) => {
      const owned = await membership.owned(context, turn, Messages.ownerOnlyCredentials);
      if (!owned) return;
      const c = owned.partner.connection;
      if (!c) {
        await context.sendActivity(Messages.noCredentialsYet);
        return;
      }
      if (!c.botCreatedAppId || c.botCreatedAppId.toLowerCase() !== c.appId.toLowerCase()) {
        await context.sendActivity(SetupMessages.rotateNotOurs);
        return;
      }
      const url = await signIn.link(owned.tenantId, turn.person, context.activity.conversation.id, 'rotate');
      await context.sendActivity({
        attachments: [renderTakeOverCard({
          title: 'A Global Administrator signs in to replace the secret',
          text: 'I’ll add a new client secret to your app, prove it with Microsoft, use it in place of the old one, and only then remove the old one: your connection keeps working throughout. A Global Administrator of your partner tenant signs in once for it.',
          note: 'The link works once, for 10 minutes. The sign-in is used for this only and never stored.',
          buttonTitle: 'Sign in as an administrator', url,
        })],
      });
    },
  };
}
