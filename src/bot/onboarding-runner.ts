import type { ConversationState, StatePropertyAccessor, TurnContext } from 'botbuilder';
import { DialogSet, DialogTurnStatus, type DialogContext, type DialogState } from 'botbuilder-dialogs';
import { markCarryOn } from '../dialogs/carry-on';
import { isStepDialog, ONBOARDING_DIALOG, OnboardingDialog } from '../dialogs/onboarding-dialog';
import type { OnboardingServices } from '../dialogs/onboarding-services';
import { UPDATE_CREDENTIALS_DIALOG, UpdateCredentialsDialog } from '../dialogs/update-credentials-dialog';
import type { StepId } from '../domain/steps';
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

  /**
   * `step` finished outside a turn (the mail's link, the sign-in page, the sync job): when this
   * chat is waiting on that step, its dialog takes it from there (its card becomes the summary,
   * the next step begins). False when the chat waits on something else, or on nothing.
   */
  async carryOn(context: TurnContext, step: StepId): Promise<boolean> {
    const dc = await this.dialogs.createContext(context);
    let waiting: DialogContext = dc;
    while (waiting.child) waiting = waiting.child;
    if (!isStepDialog(step, waiting.activeDialog?.id)) return false;
    markCarryOn(context);
    await dc.continueDialog();
    return true;
  }

  async forget(context: TurnContext): Promise<void> {
    await this.dialogState.delete(context);
  }
}
