import type { ConversationState, StatePropertyAccessor, TurnContext } from 'botbuilder';
import { renderWelcomeCard, type WelcomeCardData } from '../cards/render';
import type { ConversationReferenceRepository } from '../store/conversation-references';
import type { Turn } from '../teams/turn';

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

const PRIVATE = 'Partner admins connect their tenant in a private chat with me: open **Partner Onboarding** in chat and say **start**.';
const TEAM_LINE = `I connect Microsoft partner tenants to ${WELCOME.platformName}. ${PRIVATE} Support engineers: make this channel the support channel with **@Partner Onboarding set support channel**.`;
const GROUP_LINE = `I connect Microsoft partner tenants to ${WELCOME.platformName}. ${PRIVATE}`;

interface WelcomeState {
  sentAt?: string;
}

/** The welcome card, once per conversation. */
export class Welcome {
  private readonly state: StatePropertyAccessor<WelcomeState>;

  constructor(conversationState: ConversationState, private readonly references: ConversationReferenceRepository) {
    this.state = conversationState.createProperty<WelcomeState>('welcome');
  }

  /**
   * Teams sends installationUpdate and conversationUpdate together on install, handled in
   * parallel: the database decides which one welcomes. Without a tenant (not Teams) there is no
   * row to claim, and the conversation state decides.
   */
  async sendOnce(context: TurnContext, turn: Turn): Promise<void> {
    if (turn.tenantId) {
      if (!(await this.references.claimWelcome(turn.tenantId, context.activity.conversation.id))) return;
    } else {
      if ((await this.state.get(context, {})).sentAt) return;
      await this.state.set(context, { sentAt: new Date().toISOString() });
    }
    // Onboarding is one partner admin's, in personal chat: a team or a group chat gets one line
    // saying what the bot is for, never a "Let's start" for everyone.
    if (turn.conversation === 'channel') return void (await context.sendActivity(TEAM_LINE));
    if (turn.conversation === 'groupChat') return void (await context.sendActivity(GROUP_LINE));
    const firstName = context.activity.from?.name?.split(' ')[0];
    await context.sendActivity({ attachments: [renderWelcomeCard({ ...WELCOME, userName: firstName })] });
  }

  /** Uninstalled: a later install welcomes again. */
  async forget(context: TurnContext): Promise<void> {
    await this.state.delete(context);
  }
}
