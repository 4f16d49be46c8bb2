import type { TurnContext } from 'botbuilder';
import { renderOpenPersonalChatCard } from '../cards/render';
import { Messages } from '../onboarding/messages';
import type { Command, Route } from './routes';

/** Onboarding handles company data and, later, credentials: never in a shared conversation. */
export async function sayPersonalOnly(context: TurnContext): Promise<void> {
  const botId = context.activity.recipient?.id ?? '';
  await context.sendActivity({
    text: Messages.personalOnly,
    attachments: [renderOpenPersonalChatCard({ chatUrl: `https://teams.microsoft.com/l/chat/0/0?users=${encodeURIComponent(botId)}` })],
  });
}

export function personalOnly(command: Command): Command {
  return { ...command, handle: (context, turn) => (turn.personal ? command.handle(context, turn) : sayPersonalOnly(context)) };
}

export function personalOnlyRoute(route: Route): Route {
  return { ...route, handle: (context, turn) => (turn.personal ? route.handle(context, turn) : sayPersonalOnly(context)) };
}
