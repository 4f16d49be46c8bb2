import type { TurnContext } from 'botbuilder';
import { Dialog, DialogReason, type DialogContext, type DialogInstance, type DialogTurnResult } from 'botbuilder-dialogs';
import { renderSectionSummary, renderSignInCard, type Fact } from '../cards/render';
import { inert } from '../cards/inert-text';
import { Verbs } from '../cards/verbs';
import { isOwner, ownerOf, type Partner } from '../domain/partner';
import { consentComplete, stepLabel } from '../domain/steps';
import { Messages } from '../onboarding/messages';
import { replaceCard } from '../teams/card-activity';
import type { Submission } from '../teams/submission';
import { turnOf, type Turn } from '../teams/turn';
import { CardStepDialog, type CardStepState, type Opening } from './card-step-dialog';
import type { OnboardingServices } from './onboarding-services';

export const CONSENT_DIALOG = 'consent';

type Stage = 'signIn' | 'adminConsent';

interface ConsentState extends CardStepState {
  stage: Stage;
}

/** What the sign-in card becomes once the consent is complete. */
function consentSummary(partner: Partner) {
  return renderSectionSummary({ title: 'Signed in and consented', facts: [{ label: 'Account', value: partner.consent.account ?? '—' }] });
}

/** What is still missing: the service account's sign-in first, then the app's admin consent. */
function stageOf(partner: Partner): Stage | undefined {
  if (!partner.consent.at || partner.consent.brokenAt) return 'signIn';
  if (!partner.consent.adminConsentAt) return 'adminConsent';
  return undefined;
}

/**
 * Journey step 7: the sign-in card, then (unless the app already has it) the admin consent card.
 * Each button opens a single-use link in the browser; the callback saves the result and tells this
 * chat, so every turn here first looks at what the partner record says now.
 */
export class ConsentDialog extends CardStepDialog<ConsentState> {
  constructor(services: OnboardingServices) {
    super(CONSENT_DIALOG, 'consent', services);
  }

  private async card(context: TurnContext, turn: Turn, partner: Partner, stage: Stage, cardId: string, message?: string) {
    const links = this.services.signIn;
    const conversationId = context.activity.conversation.id;
    const connection = partner.connection!;
    const facts: Fact[] = [
      { label: 'Tenant', value: connection.partnerTenantName ?? connection.partnerTenantId },
      { label: 'Account', value: connection.serviceAccountUpn },
    ];
    if (stage === 'signIn') {
      return renderSignInCard({
        cardId, stepLabel: stepLabel('consent'), title: partner.consent.brokenAt ? 'Sign in again' : 'Sign in as the service account',
        text: `Select **Sign in** and sign in as **${inert(connection.serviceAccountUpn)}**, with MFA. If Microsoft then shows a permissions page, it lists only what is not granted yet (Partner Center access, the read-only Microsoft Graph permissions the checks use); unless you tick "Consent on behalf of your organization", they are granted to this service account only, which is all the checks need.`,
        facts, note: 'The link works once, for 10 minutes, and only for you. It opens a fresh sign-in (no saved account is picked silently). When you are done, come back here: I will tell you the result.',
        buttonTitle: 'Sign in', url: await links.signIn(turn.requireTenant(), turn.person, conversationId), message,
      });
    }
    return renderSignInCard({
      cardId, stepLabel: stepLabel('consent'), title: 'Grant admin consent to your app',
      text: `Your app registration needs admin consent for its four Microsoft Graph application permissions. Select **Grant consent** and accept as a Global Administrator of ${connection.partnerTenantName ? inert(connection.partnerTenantName) : 'your partner tenant'}.`,
      facts: [{ label: 'App (client) ID', value: connection.appId }, ...facts.slice(0, 1)],
      note: 'The link works once, for 10 minutes, and only for you. You can also select Grant admin consent on the app\'s API permissions page in the portal, then type **start**.',
      buttonTitle: 'Grant consent', url: await links.adminConsent(turn.requireTenant(), turn.person, conversationId), message,
    });
  }

  protected async open(turn: Turn, cardId: string, context: TurnContext): Promise<Opening<ConsentState>> {
    const partner = turn.partner;
    if (!partner?.connection) return { done: { incomplete: true } };
    const stage = stageOf(partner);
    if (!stage) return { done: { consented: true } };
    // The links are bound to the owner: a colleague is told who connects the tenant.
    if (!isOwner(partner, turn.person)) {
      await context.sendActivity(Messages.ownerOnlyConsent(ownerOf(partner)?.name ?? 'the owner'));
      return { done: { notOwner: true } };
    }
    return { card: await this.card(context, turn, partner, stage, cardId), state: { stage } };
  }

  override async continueDialog(dc: DialogContext): Promise<DialogTurnResult> {
    const state = dc.activeDialog!.state as ConsentState;
    const turn = turnOf(dc.context);
    const partner = turn.partner;
    // The browser may have finished meanwhile: whatever this turn is, the partner record settles it.
    if (partner && consentComplete(partner)) {
      // Once: the callback's carry-on turn and a typed turn may both find it complete.
      if (!(await this.claimDone(dc, turn, state))) return Dialog.EndOfTurn;
      await replaceCard(dc.context, state.activityId, consentSummary(partner));
      return dc.endDialog({ consented: true });
    }
    if (partner && isOwner(partner, turn.person) && stageOf(partner) !== state.stage) {
      const stage = stageOf(partner)!;
      await replaceCard(dc.context, state.activityId, await this.card(dc.context, turn, partner, stage, state.cardId));
      dc.activeDialog!.state = { ...state, stage };
      return Dialog.EndOfTurn;
    }
    return super.continueDialog(dc);
  }

  /**
   * The sign-in or consent failed (the chat was told why and the link is spent): the card gets a
   * fresh link in place, so trying again is one click on the same card.
   */
  protected override async carriedOn(dc: DialogContext, turn: Turn, state: ConsentState): Promise<DialogTurnResult> {
    const partner = turn.partner;
    if (!partner?.connection || !isOwner(partner, turn.person)) return Dialog.EndOfTurn;
    await replaceCard(dc.context, state.activityId, await this.card(dc.context, turn, partner, stageOf(partner) ?? state.stage, state.cardId));
    return Dialog.EndOfTurn;
  }

  /** Left for a fresh start (`start`): a finished sign-in card becomes its summary, not a dead link. */
  override async endDialog(context: TurnContext, instance: DialogInstance, reason: DialogReason): Promise<void> {
    const partner = turnOf(context).partner;
    const state = instance.state as ConsentState | undefined;
    if (reason === DialogReason.cancelCalled && partner && consentComplete(partner) && state?.activityId) {
      await replaceCard(context, state.activityId, consentSummary(partner));
    }
  }

  protected async submit(dc: DialogContext, turn: Turn, submission: Submission, state: ConsentState): Promise<DialogTurnResult> {
    if (submission.verb !== Verbs.signInNewLink || Object.keys(submission.fields).length > 0) {
      await dc.context.sendActivity(Messages.wrongSection);
      return Dialog.EndOfTurn;
    }
    const partner = turn.partner;
    if (!partner?.connection || !isOwner(partner, turn.person)) return dc.endDialog({ incomplete: true });
    const stage = stageOf(partner) ?? state.stage;
    await replaceCard(dc.context, this.cardMessage(submission, state), await this.card(dc.context, turn, partner, stage, state.cardId, Messages.newLink));
    return Dialog.EndOfTurn;
  }
}
