import { ActivityTypes, TeamsActivityHandler, type ConversationReference, type ConversationState, type StatePropertyAccessor, type TurnContext } from 'botbuilder';
import { renderHelpCard, renderWelcomeCard, type WelcomeCardData } from '../cards/render';
import { Verbs } from '../cards/verbs';
import type { Logger } from '../logger';
import type { ConversationReferenceRepository } from '../store/conversation-references';
import { commandRoute, type Command, type Route } from './commands';

export interface PartnerBotDeps {
  conversationState: ConversationState;
  references: ConversationReferenceRepository;
  logger: Logger;
}

interface WelcomeState {
  sentAt?: string;
}

const WELCOME: Omit<WelcomeCardData, 'userName'> = {
  platformName: 'the partner management platform',
  minutes: 20,
  steps: [
    { number: 1, text: 'Your company and contact details' },
    { number: 2, text: 'A short checklist to prepare your tenant' },
    { number: 3, text: 'Credentials and a sign-in to grant consent' },
    { number: 4, text: 'I verify every permission and explain any fix' },
    { number: 5, text: 'Your customers are synced, with live progress' },
  ],
  prerequisites: [
    'Your Partner ID (MPN) and company address',
    'A service account that is Global Administrator and Admin Agent, with MFA enforced',
    'Rights to create an app registration in Microsoft Entra ID',
    'Admin access to Partner Center (to create the web app secret)',
  ],
};

/** The tenant a Teams activity belongs to: Teams puts it in channelData and on the conversation. */
export function tenantOf(context: TurnContext): string | undefined {
  const channelData: unknown = context.activity.channelData;
  const fromChannelData = (channelData as { tenant?: { id?: unknown } } | undefined)?.tenant?.id;
  if (typeof fromChannelData === 'string' && fromChannelData) return fromChannelData;
  return context.activity.conversation?.tenantId || undefined;
}

/**
 * Routes each turn: remembers the conversation, welcomes on install, dispatches commands, and
 * saves conversation state at the end of the turn.
 */
export class PartnerBot extends TeamsActivityHandler {
  private readonly routes: Route[];
  private readonly commands: Command[];
  private readonly welcome: StatePropertyAccessor<WelcomeState>;

  constructor(private readonly deps: PartnerBotDeps) {
    super();
    this.welcome = deps.conversationState.createProperty<WelcomeState>('welcome');
    this.commands = [
      {
        name: 'help',
        aliases: ['?', 'commands', 'menu'],
        verb: Verbs.help,
        description: 'Show what I can do',
        handle: async (context) => { await context.sendActivity({ attachments: [renderHelpCard({ commands: this.helpEntries() })] }); },
      },
    ];
    this.routes = this.commands.map(commandRoute);

    this.onMembersAdded(async (context, next) => {
      const botId = context.activity.recipient?.id;
      if (context.activity.membersAdded?.some((m) => m.id === botId)) await this.sendWelcomeOnce(context);
      await next();
    });
    this.onInstallationUpdateAdd(async (context, next) => {
      await this.sendWelcomeOnce(context);
      await next();
    });
    this.onInstallationUpdateRemove(async (context, next) => {
      const tenantId = tenantOf(context);
      if (tenantId) await this.deps.references.markUninstalled(tenantId, context.activity.conversation.id);
      await this.welcome.delete(context);
      await next();
    });
    this.onMessage(async (context, next) => {
      const route = this.routes.find((r) => r.select(context.activity));
      if (route) await route.handle(context);
      else await context.sendActivity('I didn\'t catch that. Type **help** to see what I can do.');
      await next();
    });
  }

  override async run(context: TurnContext): Promise<void> {
    await this.rememberConversation(context);
    await super.run(context);
    await this.deps.conversationState.saveChanges(context, false);
  }

  /** Commands as the help card lists them. */
  helpEntries(): Array<{ name: string; description: string }> {
    return this.commands.map((c) => ({ name: c.name, description: c.description }));
  }

  private async rememberConversation(context: TurnContext): Promise<void> {
    const { activity } = context;
    // The removal itself is recorded by its handler; every other activity proves we are there.
    if (activity.type === ActivityTypes.InstallationUpdate && activity.action?.startsWith('remove')) return;
    const tenantId = tenantOf(context);
    if (!tenantId) {
      this.deps.logger.debug({ channelId: activity.channelId }, 'activity without a tenant: conversation not recorded');
      return;
    }
    await this.deps.references.save(tenantId, conversationReferenceOf(context));
  }

  /** Teams sends both conversationUpdate and installationUpdate on install: welcome once. */
  private async sendWelcomeOnce(context: TurnContext): Promise<void> {
    const state = await this.welcome.get(context, {});
    if (state.sentAt) return;
    const firstName = context.activity.from?.name?.split(' ')[0];
    await context.sendActivity({ attachments: [renderWelcomeCard({ ...WELCOME, userName: context.activity.conversation.conversationType === 'personal' ? firstName : undefined })] });
    await this.welcome.set(context, { sentAt: new Date().toISOString() });
  }
}

function conversationReferenceOf(context: TurnContext): Partial<ConversationReference> {
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
