import type { ConversationState, StatePropertyAccessor, TurnContext } from 'botbuilder';
import { DialogSet, DialogTurnStatus, type DialogState } from 'botbuilder-dialogs';
import { ONBOARDING_DIALOG, OnboardingDialog } from '../dialogs/onboarding-dialog';
import type { OnboardingServices } from '../dialogs/onboarding-services';
import { UPDATE_CREDENTIALS_DIALOG, UpdateCredentialsDialog } from '../dialogs/update-credentials-dialog';
import { Messages } from '../onboarding/messages';

/** The onboarding dialog stack of a conversation: what commands start, resume and clear. */
export class OnboardingRunner {
  private readonly dialogState: StatePropertyAccessor<DialogState>;
  private readonly dialogs: DialogSet;

  constructor(conversationState: ConversationState, services: OnboardingServices) {
    this.dialogState = conversationState.createProperty<DialogState>('dialogState');
    this.dialogs = new DialogSet(this.dialogState).add(new OnboardingDialog(services)).add(new UpdateCredentialsDialog(services));
  }

  /** From the first step not done; a step in progress is shown again with a fresh card. */
  async start(context: TurnContext, options: { announceResume: boolean }): Promise<void> {
    const dc = await this.dialogs.createContext(context);
    if (dc.activeDialog) {
      if (options.announceResume) await context.sendActivity(Messages.resumed);
      await dc.cancelAllDialogs();
    }
    await dc.beginDialog(ONBOARDING_DIALOG);
  }

  /** `update credentials`: the credential cards again, whatever step was waiting. */
  async updateCredentials(context: TurnContext): Promise<void> {
    const dc = await this.dialogs.createContext(context);
    await dc.cancelAllDialogs();
    await dc.beginDialog(UPDATE_CREDENTIALS_DIALOG);
  }

  async isActive(context: TurnContext): Promise<boolean> {
    return !!(await this.dialogs.createContext(context)).activeDialog;
  }

  /** Hands the turn to the step waiting; false when no step took it. */
  async continue(context: TurnContext): Promise<boolean> {
    const dc = await this.dialogs.createContext(context);
    const result = await dc.continueDialog();
    return result.status !== DialogTurnStatus.empty;
  }

  async forget(context: TurnContext): Promise<void> {
    await this.dialogState.delete(context);
  }
}
