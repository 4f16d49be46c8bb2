import type { Attachment, TurnContext } from 'botbuilder';
import { Dialog, type DialogContext, type DialogTurnResult } from 'botbuilder-dialogs';
import { renderSectionSummary, renderSetupAccountCard, renderSetupProgress, renderSignInCard } from '../cards/render';
import { Verbs } from '../cards/verbs';
import { stepLabel, stepOf } from '../domain/steps';
import { Messages } from '../onboarding/messages';
import { SetupMessages } from '../setup/setup-messages';
import { firstOpenStep, SETUP_STEPS, setupStepLabel } from '../setup/setup-steps';
import { isInterrupted, type PartnerSetup } from '../store/partner-setups';
import { replaceCard, sendCard } from '../teams/card-activity';
import type { Submission } from '../teams/submission';
import { turnOf, type Turn } from '../teams/turn';
import { CardStepDialog, type CardStepState, type Opening } from './card-step-dialog';
import { CREDENTIAL_DIALOG_OF } from './credentials-dialog';
import type { OnboardingServices } from './onboarding-services';

export const SETUP_DIALOG = 'setupForMe';

/** A user's sign-in name in the partner tenant (the Entra card's rule). */
const UPN = /^[a-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63})$/;

/**
 * Journey step 7 on the "Set it up for me" path: which account the platform works as (a short
 * card), then a Global Administrator's sign-in, which starts the setup run (src/setup/setup-run.ts).
 * The run carries the journey on by itself when the app is set up; "Try again from here" on its
 * card gives a new sign-in that resumes at the step it stopped. "I'll do it myself" switches to
 * the Entra card until the run has started.
 */
export class SetupDialog extends CardStepDialog {
  constructor(services: OnboardingServices) {
    super(SETUP_DIALOG, 'entraApp', services);
  }

  private get setup() {
    return this.services.setup!;
  }

  protected async open(turn: Turn, cardId: string, context: TurnContext): Promise<Opening<CardStepState>> {
    const partner = turn.partner;
    if (!partner) return { done: { incomplete: true } };
    if (stepOf('entraApp').done(partner)) return { done: { saved: true } };
    const setup = await this.setup.setups.get(partner.tenantId);
    if (setup?.status === 'running' && !isInterrupted(setup)) return { card: this.accountCard(cardId, setup), notice: SetupMessages.running };
    if (setup?.serviceAccountUpn) return { card: await this.signInCard(turn, context, cardId, setup.serviceAccountUpn) };
    return { card: this.accountCard(cardId, setup) };
  }

  override async continueDialog(dc: DialogContext): Promise<DialogTurnResult> {
    // "Try again from here" sits on the run's progress card, posted outside this dialog: it needs no card id.
    const parsed = turnOf(dc.context).submission;
    if (parsed?.ok && parsed.submission.verb === Verbs.setupRetry) return this.retry(dc, turnOf(dc.context));
    return super.continueDialog(dc);
  }

  protected async submit(dc: DialogContext, turn: Turn, submission: Submission, state: CardStepState): Promise<DialogTurnResult> {
    const tenantId = turn.requireTenant();
    const setup = await this.setup.setups.get(tenantId);
    if (submission.verb === Verbs.setupManual) {
      if (!(await this.setup.setups.choose(tenantId, 'manual', turn.person.aadObjectId))) {
        await dc.context.sendActivity(SetupMessages.cannotSwitch);
        return Dialog.EndOfTurn;
      }
      await dc.context.sendActivity(SetupMessages.switchedToManual);
      return dc.replaceDialog(CREDENTIAL_DIALOG_OF.entraApp);
    }
    if (submission.verb !== Verbs.setupAccount && submission.verb !== Verbs.signInNewLink) {
      await dc.context.sendActivity(Messages.wrongSection);
      return Dialog.EndOfTurn;
    }
    if (submission.verb === Verbs.signInNewLink) {
      if (!setup?.serviceAccountUpn) return this.again(dc, submission, state, this.accountCard(state.cardId, setup), Messages.fixFields(1));
      return this.again(dc, submission, state, await this.signInCard(turn, dc.context, state.cardId, setup.serviceAccountUpn), 'Here is a new sign-in link.');
    }
    const { serviceAccount, ...rest } = submission.fields;
    if (Object.keys(rest).length > 0) {
      await dc.context.sendActivity(Messages.unexpectedFields(Object.keys(rest)));
      return Dialog.EndOfTurn;
    }
    const upn = typeof serviceAccount === 'string' ? serviceAccount.trim().toLowerCase() : '';
    if (!UPN.test(upn)) {
      const error = 'Enter a sign-in name like onboarding@contoso.onmicrosoft.com';
      return this.again(dc, submission, state, renderSetupAccountCard({ cardId: state.cardId, stepLabel: stepLabel('entraApp'), serviceAccount: typeof serviceAccount === 'string' ? serviceAccount.slice(0, 113) : '', error }), Messages.fixFields(1));
    }
    if (!(await this.setup.setups.setServiceAccount(tenantId, upn))) {
      await dc.context.sendActivity(setup?.choice === 'manual' ? SetupMessages.notOffered : SetupMessages.alreadyRunning);
      return Dialog.EndOfTurn;
    }
    await dc.context.sendActivity(SetupMessages.accountSaved(upn));
    return this.again(dc, submission, state, await this.signInCard(turn, dc.context, state.cardId, upn), 'Select **Sign in as an administrator** when you are ready.');
  }

  /** Free text while waiting: where the setup is, and a way on. */
  protected override async text(dc: DialogContext, turn: Turn, state: CardStepState): Promise<DialogTurnResult> {
    const setup = await this.setup.setups.get(turn.requireTenant());
    if (setup?.status === 'running' && !isInterrupted(setup)) {
      await dc.context.sendActivity(SetupMessages.running);
      return Dialog.EndOfTurn;
    }
    if (setup && isInterrupted(setup)) return this.retry(dc, turn);
    return super.text(dc, turn, state);
  }

  /** The run's end carries the journey on: the Entra step is done, the next step begins. */
  protected override async carriedOn(dc: DialogContext, turn: Turn, state: CardStepState): Promise<DialogTurnResult> {
    const partner = turn.partner;
    if (!partner || !stepOf('entraApp').done(partner)) return Dialog.EndOfTurn;
    // Once: the run's carry-on turn and a typed turn may both find the step done.
    if (!(await this.services.partners.answerCard(partner.tenantId, state.cardId, 'entraApp-done', turn.person.aadObjectId || 'bot'))) return Dialog.EndOfTurn;
    // The sign-in card that started the run is spent: it becomes what it did.
    const setup = await this.setup.setups.get(partner.tenantId);
    await replaceCard(dc.context, state.activityId, renderSectionSummary({
      title: '✓ A Global Administrator signed in for the setup',
      facts: setup?.serviceAccountUpn ? [{ label: 'Service account', value: setup.serviceAccountUpn }] : [],
      note: 'The sign-in was used for the setup only and not kept.',
    })).catch(() => undefined);
    return dc.endDialog({ saved: true });
  }

  /** "Try again from here": a new sign-in, since the last one's token was never kept. */
  private async retry(dc: DialogContext, turn: Turn): Promise<DialogTurnResult> {
    const setup = await this.setup.setups.get(turn.requireTenant());
    if (setup?.status === 'running' && !isInterrupted(setup)) {
      await dc.context.sendActivity(SetupMessages.alreadyRunning);
      return Dialog.EndOfTurn;
    }
    const state = dc.activeDialog!.state as CardStepState;
    // The card pressed keeps what it showed, without its button; the step's earlier card (its link
    // spent or refused) points to the new one. Neither keeps a button that would do nothing now.
    const pressed = turn.submission?.ok ? turn.submission.submission.replyToId : undefined;
    if (pressed) await replaceCard(dc.context, pressed, stoppedCard(setup)).catch(() => undefined);
    if (state.activityId && state.activityId !== pressed) {
      await replaceCard(dc.context, state.activityId, renderSectionSummary({ title: 'Set up the Entra app for me', facts: [], note: 'Carry on with the newer card below.' })).catch(() => undefined);
    }
    // The service account was refused (missing, a guest, disabled): it is fixed on its card first.
    const accountRefused = setup?.status === 'failed' && setup.failure?.code.startsWith('setup_account_');
    const card = setup?.serviceAccountUpn && !accountRefused ? await this.signInCard(turn, dc.context, state.cardId, setup.serviceAccountUpn) : this.accountCard(state.cardId, setup);
    state.activityId = await sendCard(dc.context, card);
    return Dialog.EndOfTurn;
  }

  private accountCard(cardId: string, setup: PartnerSetup | undefined): Attachment {
    return renderSetupAccountCard({ cardId, stepLabel: stepLabel('entraApp'), serviceAccount: setup?.serviceAccountUpn });
  }

  private async signInCard(turn: Turn, context: TurnContext, cardId: string, upn: string): Promise<Attachment> {
    const url = await this.setup.signIn.link(turn.requireTenant(), turn.person, context.activity.conversation.id);
    return renderSignInCard({
      cardId, stepLabel: stepLabel('entraApp'), title: 'A Global Administrator signs in for the setup',
      text: 'A Global Administrator of your partner tenant (or a Privileged Role Administrator who is also an Application Administrator) signs in once and accepts the permissions the setup asks for. Then I create and wire the app, showing each step here.',
      facts: [{ label: 'Service account', value: upn }],
      note: 'The link works once, for 10 minutes. The sign-in is used for this setup run only: its token is never stored.',
      buttonTitle: 'Sign in as an administrator', url,
    });
  }
}

/** Where a run stopped, as its card showed it, without "Try again from here" (pressed already). */
function stoppedCard(setup: PartnerSetup | undefined): Attachment {
  const steps = setup?.steps ?? {};
  const at = setup?.failure?.step ?? (setup?.status === 'running' ? firstOpenStep(steps) : undefined);
  if (!at && Object.keys(steps).length === 0) {
    return renderSetupProgress({ title: 'The setup hasn’t started', lines: [], note: 'Nothing was changed in your tenant. You tried again: the card below goes on.', retry: false });
  }
  return renderSetupProgress({
    title: at ? `The setup stopped at: ${setupStepLabel(at)}` : 'The setup stopped',
    lines: SETUP_STEPS.map((s) => ({ text: s.label, state: s.id in steps ? 'done' : s.id === at ? 'failed' : 'pending' })),
    note: 'You tried again: the card below goes on from this step. Nothing done so far is lost or done twice.',
    retry: false,
  });
}
