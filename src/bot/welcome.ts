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
    const firstName = context.activity.from?.name?.split(' ')[0];
    await context.sendActivity({ attachments: [renderWelcomeCard({ ...WELCOME, userName: context.activity.conversation.conversationType === 'personal' ? firstName : undefined })] });
  }

  /** Uninstalled: a later install welcomes again. */
  async forget(context: TurnContext): Promise<void> {
    await this.state.delete(context);
  }
}
