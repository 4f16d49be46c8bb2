import { ComponentDialog, WaterfallDialog, type DialogTurnResult, type WaterfallStepContext } from 'botbuilder-dialogs';
import { currentStep, STEPS, type StepId } from '../domain/steps';
import { Messages } from '../onboarding/messages';
import { turnOf } from '../teams/turn';
import { CardFormDialog, FORM_DIALOG_OF } from './card-form-dialog';
import { CHECKS_DIALOG, ChecksDialog } from './checks-dialog';
import { CONSENT_DIALOG, ConsentDialog } from './consent-dialog';
import { SYNC_DIALOG, SyncDialog } from './sync-dialog';
import { CREDENTIAL_DIALOG_OF, CredentialsDialog } from './credentials-dialog';
import type { OnboardingServices } from './onboarding-services';
import { PREPARE_DIALOG, PrepareDialog } from './prepare-dialog';
import { REVIEW_DIALOG, ReviewDialog } from './review-dialog';
import { SETUP_DIALOG, SetupDialog } from './setup-dialog';
import { VERIFY_EMAIL_DIALOG, VerifyEmailDialog } from './verify-email-dialog';

export const ONBOARDING_DIALOG = 'onboarding';
const STEPS_DIALOG = 'onboardingSteps';

/** The dialog that runs each step of the table in domain/steps.ts. */
export const DIALOG_OF: Readonly<Record<StepId, string>> = {
  company: FORM_DIALOG_OF.company,
  primaryContact: FORM_DIALOG_OF.primaryContact,
  secondaryContact: FORM_DIALOG_OF.secondaryContact,
  review: REVIEW_DIALOG,
  verifyEmail: VERIFY_EMAIL_DIALOG,
  prepare: PREPARE_DIALOG,
  entraApp: CREDENTIAL_DIALOG_OF.entraApp,
  partnerCenterApp: CREDENTIAL_DIALOG_OF.partnerCenterApp,
  consent: CONSENT_DIALOG,
  checks: CHECKS_DIALOG,
  sync: SYNC_DIALOG,
};

/** Whether dialog `id` is where the journey waits on `step` ("Set it up for me" runs the Entra step too). */
export function isStepDialog(step: StepId, id: string | undefined): boolean {
  return id === DIALOG_OF[step] || (step === 'entraApp' && id === SETUP_DIALOG);
}

/**
 * The journey up to the connection, one waterfall step per entry of STEPS. Steps already done (for
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
    this.addDialog(new PrepareDialog(services));
    this.addDialog(new CredentialsDialog('entraApp', services));
    this.addDialog(new CredentialsDialog('partnerCenterApp', services));
    if (services.setup) this.addDialog(new SetupDialog(services));
    this.addDialog(new ConsentDialog(services));
    this.addDialog(new ChecksDialog(services));
    this.addDialog(new SyncDialog(services));
    this.addDialog(new WaterfallDialog(STEPS_DIALOG, [
      ...STEPS.map((step) => async (wf: WaterfallStepContext) => {
        const partner = turnOf(wf.context).partner;
        if (partner && step.done(partner)) return wf.next();
        // "Set it up for me": the Entra step is the setup run instead of the Entra card.
        if (step.id === 'entraApp' && partner && services.setup && (await services.setup.setups.get(partner.tenantId))?.choice === 'setup') {
          return wf.beginDialog(SETUP_DIALOG);
        }
        return wf.beginDialog(DIALOG_OF[step.id]);
      }),
      (wf) => this.finish(wf),
    ]));
    this.initialDialogId = STEPS_DIALOG;
  }

  private async finish(wf: WaterfallStepContext): Promise<DialogTurnResult> {
    // An edit elsewhere (another member, a restart) can leave a step open again: go round once more,
    // but only once: a step that ends without being done (it said why) must not spin the waterfall.
    if (currentStep(turnOf(wf.context).partner) !== undefined) {
      const again = (wf.options as { again?: boolean } | undefined)?.again;
      return again ? wf.endDialog() : wf.replaceDialog(STEPS_DIALOG, { again: true });
    }
    await wf.context.sendActivity(Messages.onboardingComplete);
    return wf.endDialog();
  }
}
