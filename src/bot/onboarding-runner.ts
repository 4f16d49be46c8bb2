import { TurnContext, type ConversationState, type StatePropertyAccessor } from 'botbuilder';
import { DialogSet, DialogTurnStatus, type DialogContext, type DialogState } from 'botbuilder-dialogs';
import { markCarryOn } from '../dialogs/carry-on';
import { isStepDialog, ONBOARDING_DIALOG, OnboardingDialog } from '../dialogs/onboarding-dialog';
import type { OnboardingServices } from '../dialogs/onboarding-services';
import { UPDATE_CREDENTIALS_DIALOG, UpdateCredentialsDialog } from '../dialogs/update-credentials-dialog';
import type { StepId } from '../domain/steps';
import { Messages } from '../onboarding/messages';

/** The card (or sync) id the innermost active dialog waits on; botbuilder keeps the active dialog last and a component's own stack in its state's `dialogs`. */
function waitingOn(state: DialogState | undefined): string | undefined {
  const top = (s: DialogState | undefined) => s?.dialogStack?.[s.dialogStack.length - 1];
  let instance = top(state);
  for (let inner = instance; inner; inner = top((inner.state as { dialogs?: DialogState } | undefined)?.dialogs)) instance = inner;
  const s = instance?.state as { cardId?: unknown; waitId?: unknown } | undefined;
  return typeof s?.cardId === 'string' ? s.cardId : typeof s?.waitId === 'string' ? s.waitId : undefined;
}

/** The onboarding dialog stack of a conversation: what commands start, resume and clear. */
export class OnboardingRunner {
  private readonly dialogState: StatePropertyAccessor<DialogState>;
  private readonly dialogs: DialogSet;

  constructor(private readonly conversationState: ConversationState, services: OnboardingServices) {
    this.dialogState = conversationState.createProperty<DialogState>('dialogState');
    const withState: OnboardingServices = { ...services, storedDialogWaitsOn: (context, cardId) => this.storedDialogWaitsOn(context, cardId) };
    this.dialogs = new DialogSet(this.dialogState).add(new OnboardingDialog(withState)).add(new UpdateCredentialsDialog(withState));
  }

  /** Whether the dialog as stored (another turn may have saved it since this one read it) still waits on `cardId`. */
  private async storedDialogWaitsOn(context: TurnContext, cardId: string): Promise<boolean> {
    // A context of its own: the state is read afresh from storage and this turn's copy stays as it is.
    const fresh = new TurnContext(context.adapter, context.activity);
    await this.conversationState.load(fresh, true);
    return waitingOn(await this.dialogState.get(fresh)) === cardId;
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
