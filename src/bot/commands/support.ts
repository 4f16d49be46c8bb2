import type { AdaptiveCardInvokeResponse, AdaptiveCardInvokeValue, TurnContext } from 'botbuilder';
import { Verbs } from '../../cards/verbs';
import { againIn, Messages } from '../../onboarding/messages';
import type { ConversationReferenceRepository } from '../../store/conversation-references';
import { isSupportVerb, type SupportDesk } from '../../support/support-desk';
import { conversationReferenceOf } from '../../teams/activity';
import type { Turn } from '../../teams/turn';
import type { Membership } from '../membership';
import { verbOf, type Command } from '../routes';

/**
 * `support` / "Ask support": the partner's case opens (or reopens) in the support channel. From the
 * checks card's button, that card is the checklist a re-run from support updates.
 */
export function supportCommand(membership: Membership, desk: SupportDesk): Command {
  return {
    name: 'support', aliases: ['ask support', 'help me', 'escalate'], verb: Verbs.supportAsk,
    description: 'Ask the support team for help (they see your checks and sync, never a secret)',
    handle: async (context, turn) => {
      const access = await membership.started(context, turn);
      if (!access) return;
      const fromCard = verbOf(turn) === Verbs.supportAsk && turn.submission?.ok ? turn.submission.submission.replyToId : undefined;
      const outcome = await desk.escalate(access.partner, turn.person, context.activity.conversation.id, fromCard);
      await context.sendActivity(
        outcome.kind === 'folded' ? Messages.supportFolded(againIn(outcome.until))
          : outcome.kind === 'no-channel' ? Messages.supportNoChannel
          : outcome.kind === 'not-posted' ? Messages.supportNotPosted
            : outcome.kind === 'updated' ? Messages.supportUpdated
              : outcome.kind === 'reopened' ? Messages.supportReopened : Messages.supportOpened,
      );
    },
  };
}

/**
 * `@bot set support channel`, by a support engineer in a standard channel of a team the bot is in
 * (bots get channel messages only when @mentioned, and cannot be in private channels): that
 * channel becomes where escalations land. Anyone else is refused and nothing changes.
 */
export function setSupportChannelCommand(desk: SupportDesk, references: ConversationReferenceRepository): Command {
  return {
    name: 'set support channel',
    description: 'Support engineers: make this team channel the support channel (type it in the channel, @mentioning me)',
    handle: async (context, turn) => {
      const channelData = context.activity.channelData as { channel?: { id?: string; name?: string }; team?: { id?: string; name?: string } } | undefined;
      const channelId = channelData?.channel?.id;
      if (turn.conversation !== 'channel' || !channelId || !turn.tenantId) {
        await context.sendActivity(Messages.supportChannelOnlyInChannel);
        return;
      }
      if (!(await desk.isEngineer(turn.person, turn.tenantId))) {
        await context.sendActivity(Messages.supportChannelRefused);
        return;
      }
      // The channel itself (not this message's thread) is where new threads start.
      const reference = conversationReferenceOf(context);
      await references.save(turn.tenantId, { ...reference, conversation: { ...reference.conversation!, id: channelId, conversationType: 'channel', isGroup: true } }, channelData?.team?.id);
      await desk.setChannel({ tenantId: turn.tenantId, channelId, ...(channelData?.team?.id ? { teamId: channelData.team.id } : {}), setBy: turn.person.aadObjectId });
      const name = channelData?.channel?.name ?? (channelId === channelData?.team?.id ? 'General' : 'This channel');
      await context.sendActivity(Messages.supportChannelSet(name));
    },
  };
}

/**
 * An `Action.Execute` (Universal Actions) invoke: the support card's buttons and its automatic
 * refresh. The response is the card the clicker sees; a refusal is a message and leaves the card
 * as posted; unknown verbs answer 400.
 */
export async function supportInvoke(context: TurnContext, turn: Turn, value: AdaptiveCardInvokeValue, desk: SupportDesk): Promise<AdaptiveCardInvokeResponse> {
  const verb = value?.action?.verb;
  if (!isSupportVerb(verb)) {
    return { statusCode: 400, type: 'application/vnd.microsoft.error', value: { code: 'BadRequest', message: 'This card action is not one I know.' } as never };
  }
  const { activity } = context;
  const answer = await desk.act(verb, { tenantId: turn.tenantId, kind: turn.conversation, conversationId: activity.conversation.id, cardActivityId: activity.replyToId }, turn.person);
  if (answer.kind === 'card') return { statusCode: 200, type: 'application/vnd.microsoft.card.adaptive', value: answer.card.content as never };
  // Teams shows a message answer to the clicker and keeps the card as it is.
  const text = answer.kind === 'refused' ? Messages.supportActionRefused : Messages.supportNoCaseHere;
  return { statusCode: 200, type: 'application/vnd.microsoft.activity.message', value: text as never };
}
