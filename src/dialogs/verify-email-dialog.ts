import type { TurnContext } from 'botbuilder';
import { Dialog, DialogReason, type DialogContext, type DialogInstance, type DialogTurnResult } from 'botbuilder-dialogs';
import { renderSectionSummary, renderVerifyEmailCard } from '../cards/render';
import { Verbs } from '../cards/verbs';
import { stepLabel } from '../domain/steps';
import { maskEmail, type CodeResult, type SendResult } from '../onboarding/email-verification';
import { Messages } from '../onboarding/messages';
import { replaceCard } from '../teams/card-activity';
import type { Submission } from '../teams/submission';
import { turnOf, type Turn } from '../teams/turn';
import { CardStepDialog, type CardStepState, type Opening } from './card-step-dialog';
import type { OnboardingServices } from './onboarding-services';

export const VERIFY_EMAIL_DIALOG = 'verifyEmail';

interface VerifyState extends CardStepState {
  maskedEmail: string;
}

function codeMessage(result: Exclude<CodeResult, { ok: true }>): string {
  switch (result.reason) {
    case 'wrong': return Messages.codeWrong(result.attemptsLeft);
    case 'locked': return Messages.codeLocked(result.minutes);
    case 'expired': return Messages.codeExpired;
    case 'used': return Messages.codeUsed;
    case 'malformed': return Messages.codeMalformed;
    case 'none': return Messages.codeExpired;
    case 'daily_limit': return Messages.dailyLimit;
    case 'stale': return Messages.codeStale;
  }
}

/** What the verify card becomes, however the address was verified. */
function verifiedSummary(state: VerifyState) {
  return renderSectionSummary({ title: 'Contact email verified', facts: [{ label: 'Email', value: state.maskedEmail }] });
}

/** What to say when a mail could not be sent now; undefined when it was sent. */
function sendMessage(result: SendResult): string | undefined {
  if (result.ok) return undefined;
  return result.reason === 'too_soon' ? Messages.resendTooSoon(Math.ceil(result.waitMs / 1000)) : Messages.dailyLimit;
}

/**
 * Verifies the primary contact's email: at once when the chatting Teams user signs in with that
 * address (and is no guest), otherwise by a code (typed here) or the link from the mail (whose
 * page tells this chat when used).
 */
export class VerifyEmailDialog extends CardStepDialog<VerifyState> {
  constructor(services: OnboardingServices) {
    super(VERIFY_EMAIL_DIALOG, 'verifyEmail', services);
  }

  protected async open(turn: Turn, cardId: string, context: TurnContext): Promise<Opening<VerifyState>> {
    const tenantId = turn.requireTenant();
    const email = turn.partner?.primaryContact?.email;
    if (!turn.partner || !email) return { done: { incomplete: true } };
    if (turn.partner.emailVerifiedAt) return { done: { verified: true } };

    // Only the sign-in name proves the address: `mail` can be set to anything by an admin, and a
    // guest's UPN belongs to another organization.
    const identity = await this.services.teamsIdentity(context);
    const mine = identity?.userRole !== 'guest' && identity?.userPrincipalName?.toLowerCase() === email.toLowerCase();
    if (mine) {
      const verified = await this.services.partners.verifyEmail(tenantId, email, turn.person.aadObjectId, 'teams-identity');
      if (verified) {
        turn.refresh(verified);
        await context.sendActivity(Messages.emailVerifiedByTeams);
        return { done: { verified: true } };
      }
    }
    // Coming back to this step (start, resume) reuses a code that still works instead of mailing again.
    const notice = (await this.services.verification.hasPendingCode(tenantId, email))
      ? Messages.codeAlreadySent(maskEmail(email))
      : sendMessage(await this.services.verification.send(tenantId, email, turn.person, context.activity.conversation.id));
    const maskedEmail = maskEmail(email);
    return { card: renderVerifyEmailCard({ cardId, stepLabel: stepLabel('verifyEmail'), maskedEmail }), state: { maskedEmail }, notice };
  }

  override async continueDialog(dc: DialogContext): Promise<DialogTurnResult> {
    const state = dc.activeDialog!.state as VerifyState;
    // The link may have been used meanwhile: whatever this turn is (the link's own carry-on turn,
    // or anything typed), that settles it, once.
    if (this.isVerified(dc)) {
      if (!(await this.claimDone(dc, turnOf(dc.context), state))) return Dialog.EndOfTurn;
      await replaceCard(dc.context, state.activityId, verifiedSummary(state));
      return dc.endDialog({ verified: true });
    }
    return super.continueDialog(dc);
  }

  /** Left for a fresh start (`start`): a verified address's card becomes its summary, not a live code form. */
  override async endDialog(context: TurnContext, instance: DialogInstance, reason: DialogReason): Promise<void> {
    const state = instance.state as VerifyState | undefined;
    if (reason === DialogReason.cancelCalled && turnOf(context).partner?.emailVerifiedAt && state?.activityId) {
      await replaceCard(context, state.activityId, verifiedSummary(state));
    }
  }

  private isVerified(dc: DialogContext): boolean {
    return !!turnOf(dc.context).partner?.emailVerifiedAt;
  }

  /** A 6-digit reply is taken as the code, which is what most people will type. */
  protected override async text(dc: DialogContext, turn: Turn, state: VerifyState): Promise<DialogTurnResult> {
    const text = (dc.context.activity.text ?? '').trim();
    if (!/^\d{3}\s?\d{3}$/.test(text)) return super.text(dc, turn, state);
    return this.check(dc, turn, text, undefined, state);
  }

  protected async submit(dc: DialogContext, turn: Turn, submission: Submission, state: VerifyState): Promise<DialogTurnResult> {
    const { context } = dc;
    if (submission.verb === Verbs.verifyResend) {
      const email = turn.partner?.primaryContact?.email;
      if (!email) return dc.endDialog({ incomplete: true });
      const result = await this.services.verification.send(turn.requireTenant(), email, turn.person, context.activity.conversation.id);
      await context.sendActivity(sendMessage(result) ?? Messages.resent(state.maskedEmail));
      return Dialog.EndOfTurn;
    }
    if (submission.verb !== Verbs.verifyCode) {
      await context.sendActivity(Messages.wrongSection);
      return Dialog.EndOfTurn;
    }
    const unexpected = Object.keys(submission.fields).filter((k) => k !== 'code');
    if (unexpected.length > 0) {
      await context.sendActivity(Messages.unexpectedFields(unexpected));
      return Dialog.EndOfTurn;
    }
    return this.check(dc, turn, typeof submission.fields.code === 'string' ? submission.fields.code : '', submission, state);
  }

  private async check(dc: DialogContext, turn: Turn, code: string, submission: Submission | undefined, state: VerifyState): Promise<DialogTurnResult> {
    const result = await this.services.verification.checkCode(turn.requireTenant(), code, turn.person.aadObjectId);
    if (!result.ok) {
      const message = codeMessage(result);
      return this.again(dc, submission, state, renderVerifyEmailCard({ cardId: state.cardId, stepLabel: stepLabel('verifyEmail'), maskedEmail: state.maskedEmail, error: message }), message);
    }
    turn.refresh(result.partner);
    if (!(await this.claimDone(dc, turn, state))) return Dialog.EndOfTurn;
    return this.finish(dc, submission, state, verifiedSummary(state), { verified: true });
  }
}
