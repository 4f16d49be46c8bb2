import { ComponentDialog, WaterfallDialog, type DialogTurnResult, type WaterfallStepContext } from 'botbuilder-dialogs';
import { currentStep, STEPS, type StepId } from '../domain/steps';
import { Messages } from '../onboarding/messages';
import { turnOf } from '../teams/turn';
import { CardFormDialog, FORM_DIALOG_OF } from './card-form-dialog';
import type { OnboardingServices } from './onboarding-services';
import { REVIEW_DIALOG, ReviewDialog } from './review-dialog';
import { VERIFY_EMAIL_DIALOG, VerifyEmailDialog } from './verify-email-dialog';

export const ONBOARDING_DIALOG = 'onboarding';
const STEPS_DIALOG = 'onboardingSteps';

/** The dialog that runs each step of the table in domain/steps.ts. */
const DIALOG_OF: Record<StepId, string> = {
  company: FORM_DIALOG_OF.company,
  primaryContact: FORM_DIALOG_OF.primaryContact,
  secondaryContact: FORM_DIALOG_OF.secondaryContact,
  review: REVIEW_DIALOG,
  verifyEmail: VERIFY_EMAIL_DIALOG,
};

/**
 * The first half of the journey, one waterfall step per entry of STEPS. Steps already done (for
 * instance after a restart of the conversation) are skipped, so `start` always resumes where the
 * partner is.
 */
export class OnboardingDialog extends ComponentDialog {
  constructor(services: OnboardingServices) {
    super(ONBOARDING_DIALOG);
    this.addDialog(new CardFormDialog('company', services));
    this.addDialog(new CardFormDialog('primaryContact', services));
    this.addDialog(new CardFormDialog('secondaryContact', services));
    this.addDialog(new ReviewDialog(services));
    this.addDialog(new VerifyEmailDialog(services));
    this.addDialog(new WaterfallDialog(STEPS_DIALOG, [
      ...STEPS.map((step) => (wf: WaterfallStepContext) => {
        const partner = turnOf(wf.context).partner;
        return partner && step.done(partner) ? wf.next() : wf.beginDialog(DIALOG_OF[step.id]);
      }),
      (wf) => this.finish(wf),
    ]));
    this.initialDialogId = STEPS_DIALOG;
  }

  private async finish(wf: WaterfallStepContext): Promise<DialogTurnResult> {
    // An edit elsewhere (another member, a restart) can leave a step open again: go round once more.
    if (currentStep(turnOf(wf.context).partner) !== undefined) return wf.replaceDialog(STEPS_DIALOG);
    await wf.context.sendActivity(Messages.partOneDone);
    return wf.endDialog();
  }
}
