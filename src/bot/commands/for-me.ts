import type { TurnContext } from 'botbuilder';
import { renderTakeOverCard } from '../../cards/render';
import { Verbs } from '../../cards/verbs';
import type { Membership } from '../membership';
import type { Command } from '../routes';
import { botCreatedApp } from '../../domain/partner';
import { Messages } from '../../onboarding/messages';
import type { Turn } from '../../teams/turn';
import { SetupMessages } from '../../setup/setup-messages';
import type { ForMeCard } from '../../store/partner-setups';
import type { SetupSignIn } from '../../setup/setup-sign-in';

/**
 * "Rotate it for me" and "Fix it for me" (issue 30 item 5), for an app the bot created: the
 * buttons of the app secret's expiry notice and of a checklist with a failing app check (or typed).
 * The owner gets a Global Administrator's sign-in link; the sign-in starts the rotation
 * (SetupRunner.rotate) or the setup run again, repairing what is wrong (SetupRunner.start). An app
 * made by hand is left to the partner ("update credentials", the portal).
 */
export function rotateForMeCommand(membership: Membership, signIn: Pick<SetupSignIn, 'link' | 'rememberCards'>): Command {
  return {
    name: 'rotate for me', aliases: ['rotate it for me'], verb: Verbs.setupRotate,
    description: 'Replace the client secret of the app I created for you (a Global Administrator signs in)',
    handle: (context, turn) => offerSignIn(context, turn, membership, signIn, 'rotate', SetupMessages.rotateNotOurs, {
      title: 'A Global Administrator signs in to replace the secret',
      text: 'I’ll add a new client secret to your app, prove it with Microsoft, use it in place of the old one, and only then remove the old one: your connection keeps working throughout. A Global Administrator of your partner tenant signs in once for it.',
    }),
  };
}

export function repairForMeCommand(membership: Membership, signIn: Pick<SetupSignIn, 'link' | 'rememberCards'>): Command {
  return {
    name: 'fix it for me', aliases: ['repair for me', 'repair my app'], verb: Verbs.setupRepair,
    description: 'Repair the app I created for you: its permissions, consent, redirect addresses, AdminAgents (a Global Administrator signs in)',
    handle: (context, turn) => offerSignIn(context, turn, membership, signIn, 'repair', SetupMessages.repairNotOurs, {
      title: 'A Global Administrator signs in to repair your app',
      text: 'I’ll go over the app I set up for you, step by step as at the setup, and repair only what is wrong: its permissions and redirect addresses, admin consent, AdminAgents, its secret if Microsoft no longer accepts it. A Global Administrator of your partner tenant signs in once for it.',
    }),
  };
}

async function offerSignIn(context: TurnContext, turn: Turn, membership: Membership, signIn: Pick<SetupSignIn, 'link' | 'rememberCards'>, intent: 'rotate' | 'repair', notOurs: string, words: { title: string; text: string }): Promise<void> {
  const owned = await membership.owned(context, turn, Messages.ownerOnlyCredentials);
  if (!owned) return;
  if (!owned.partner.connection) {
    await context.sendActivity(Messages.noCredentialsYet);
    return;
  }
  if (!botCreatedApp(owned.partner)) {
    await context.sendActivity(notOurs);
    return;
  }
  const conversationId = context.activity.conversation.id;
  const url = await signIn.link(owned.tenantId, turn.person, conversationId, intent);
  const sent = await context.sendActivity({
    attachments: [renderTakeOverCard({
      ...words, note: 'The link works once, for 10 minutes. The sign-in is used for this only and never stored.', buttonTitle: 'Sign in as an administrator', url,
    })],
  });
  // The card pressed and this sign-in card become what was done once it is (SetupRunner), so
  // neither keeps a button that would start it again.
  const pressed = turn.submission?.ok ? turn.submission.submission.replyToId : undefined;
  const cards: ForMeCard[] = [
    ...(pressed ? [{ conversationId, activityId: pressed, role: 'pressed' as const }] : []),
    ...(sent?.id ? [{ conversationId, activityId: sent.id, role: 'signIn' as const }] : []),
  ];
  await signIn.rememberCards(owned.tenantId, intent, cards);
}
