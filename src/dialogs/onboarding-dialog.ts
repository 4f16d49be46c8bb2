import { ComponentDialog, WaterfallDialog, type DialogTurnResult, type WaterfallStepContext } from 'botbuilder-dialogs';
import { Messages } from '../onboarding/messages';
import type { Partner } from '../store/partners';
import {
  CardFormDialog, COMPANY_FORM_DIALOG, PRIMARY_CONTACT_FORM_DIALOG, SECONDARY_CONTACT_FORM_DIALOG,
} from './card-form-dialog';
import { REVIEW_DIALOG, ReviewDialog } from './review-dialog';
import { requireTenant, STEPS, type OnboardingServices, type StepName } from './services';
import { VERIFY_EMAIL_DIALOG, VerifyEmailDialog } from './verify-email-dialog';

export const ONBOARDING_DIALOG = 'onboarding';
const STEPS_DIALOG = 'onboardingSteps';

/** Where a partner stands: the first step not done yet, or undefined when all are. */
export function currentStep(partner: Partner | undefined): StepName | undefined {
  if (!partner?.company) return 'Company details';
  if (!partner.primaryContact) return 'Primary contact';
  if (!partner.secondaryContact && !partner.secondarySkipped) return 'Secondary contact';
  if (!partner.confirmedAt) return 'Review';
  if (!partner.emailVerifiedAt) return 'Email verification';
  return undefined;
}

/** `status`: done, current and remaining steps. */
export function statusText(partner: Partner | undefined): string {
  const current = currentStep(partner);
  const at = current ? STEPS.indexOf(current) : STEPS.length;
  const lines = STEPS.map((s, i) => `${i < at ? '✓' : i === at ? '→' : '·'} ${s}`);
  const head = current
    ? `You're at step ${at + 1} of ${STEPS.length}: **${current}**.`
    : 'Company and contact details are complete and the contact email is verified.';
  return `${head}\n\n${lines.join('\n\n')}`;
}

/**
 * The first half of the journey, one step group per dialog: company → primary contact →
 * secondary contact → review → email verification. Steps already done (for instance after a
 * restart of the conversation) are skipped, so `start` always resumes where the partner is.
 */
export class OnboardingDialog extends ComponentDialog {
  constructor(private readonly services: OnboardingServices) {
    super(ONBOARDING_DIALOG);
    this.addDialog(new CardFormDialog('company', services));
    this.addDialog(new CardFormDialog('primaryContact', services));
    this.addDialog(new CardFormDialog('secondaryContact', services));
    this.addDialog(new ReviewDialog(services));
    this.addDialog(new VerifyEmailDialog(services));
    this.addDialog(new WaterfallDialog(STEPS_DIALOG, [
      (step) => this.runUnless(step, (p) => !!p?.company, COMPANY_FORM_DIALOG),
      (step) => this.runUnless(step, (p) => !!p?.primaryContact, PRIMARY_CONTACT_FORM_DIALOG),
      (step) => this.runUnless(step, (p) => !!p?.secondaryContact || !!p?.secondarySkipped, SECONDARY_CONTACT_FORM_DIALOG),
      (step) => this.runUnless(step, (p) => !!p?.confirmedAt, REVIEW_DIALOG),
      (step) => this.runUnless(step, (p) => !!p?.emailVerifiedAt, VERIFY_EMAIL_DIALOG),
      (step) => this.finishStep(step),
    ]));
    this.initialDialogId = STEPS_DIALOG;
  }

  private async runUnless(step: WaterfallStepContext, done: (p: Partner | undefined) => boolean, dialogId: string): Promise<DialogTurnResult> {
    const partner = await this.services.partners.get(requireTenant(step.context));
    return done(partner) ? step.next() : step.beginDialog(dialogId);
  }

  private async finishStep(step: WaterfallStepContext): Promise<DialogTurnResult> {
    const partner = await this.services.partners.get(requireTenant(step.context));
    // An edit elsewhere (another member, a restart) can leave a step open again: go round once more.
    if (currentStep(partner) !== undefined) return step.replaceDialog(STEPS_DIALOG);
    await step.context.sendActivity(Messages.partOneDone);
    return step.endDialog();
  }
}
