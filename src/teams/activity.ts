import type { ConversationReference, TurnContext } from 'botbuilder';
import type { Person } from '../domain/partner';

export type ConversationKind = 'personal' | 'groupChat' | 'channel';

/**
 * The Teams user of this turn. Identity is the Entra object id Teams sends: without it the person
 * is nobody (empty id), never `from.id`, which a caller could set to anything.
 */
export function personOf(context: TurnContext): Person {
  const from = context.activity.from;
  return { aadObjectId: from?.aadObjectId || '', name: from?.name || 'someone' };
}

/** The Teams tenant of this turn: Teams puts it in channelData and on the conversation. */
export function tenantOf(context: TurnContext): string | undefined {
  const channelData: unknown = context.activity.channelData;
  const fromChannelData = (channelData as { tenant?: { id?: unknown } } | undefined)?.tenant?.id;
  if (typeof fromChannelData === 'string' && fromChannelData) return fromChannelData;
  return context.activity.conversation?.tenantId || undefined;
}

/** Personal chat, group chat or team channel (no type at all is taken as personal, as the Emulator sends). */
export function conversationKindOf(context: TurnContext): ConversationKind {
  const type = context.activity.conversation?.conversationType;
  return type === 'groupChat' || type === 'channel' ? type : 'personal';
}

/** What a proactive message needs to reach this conversation later. */
export function conversationReferenceOf(context: TurnContext): Partial<ConversationReference> {
  const { activity } = context;
  // Same shape as TurnContext.getConversationReference, without the per-message activityId,
  // so the stored row changes only when the conversation itself does.
  return {
    bot: activity.recipient,
    channelId: activity.channelId,
    conversation: activity.conversation,
    serviceUrl: activity.serviceUrl,
    locale: activity.locale,
  };
}

/** The team of a channel conversation (Teams puts it in channelData). */
export function teamIdOf(context: TurnContext): string | undefined {
  const team = (context.activity.channelData as { team?: { id?: unknown } } | undefined)?.team?.id;
  return typeof team === 'string' && team ? team : undefined;
}
