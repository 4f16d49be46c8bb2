import { randomUUID } from 'node:crypto';
import { Dialog, type DialogContext, type DialogTurnResult } from 'botbuilder-dialogs';
import { renderSectionSummary, renderVerifyEmailCard } from '../cards/render';
import { Verbs } from '../cards/verbs';
import { maskEmail, type CodeResult, type SendResult } from '../onboarding/email-verification';
import { Messages } from '../onboarding/messages';
import { replaceCard, sendCard, submissionFor } from './cards';
import { personOf, requireTenant, stepLabel, type OnboardingServices } from './services';

export const VERIFY_EMAIL_DIALOG = 'verifyEmail';

interface VerifyState {
  cardId: string;
  activityId?: string;
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

/** What to say when a mail could not be sent now; undefined when it was sent. */
function sendMessage(result: SendResult): string | undefined {
  if (result.ok) return undefined;
  return result.reason === 'too_soon' ? Messages.resendTooSoon(Math.ceil(result.waitMs / 1000)) : Messages.dailyLimit;
}

/**
 * Verifies the primary contact's email: at once when the chatting Teams user is that contact,
 * otherwise by a code (typed here) or the link from the mail (which tells this chat when used).
 */
export class VerifyEmailDialog extends Dialog {
  constructor(private readonly services: OnboardingServices) {
    super(VERIFY_EMAIL_DIALOG);
  }

  override async beginDialog(dc: DialogContext): Promise<DialogTurnResult> {
    const { context } = dc;
    const tenantId = requireTenant(context);
    const partner = await this.services.partners.get(tenantId);
    const email = partner?.primaryContact?.email;
    if (!partner || !email) return dc.endDialog({ incomplete: true });
    if (partner.emailVerifiedAt) return dc.endDialog({ verified: true });
    const person = personOf(context);

    // Only the sign-in name proves the address: `mail` can be set to anything by an admin, and a
    // guest's UPN belongs to another organization.
    const identity = await this.services.teamsIdentity(context);
    const mine = identity?.userRole !== 'guest' && identity?.userPrincipalName?.toLowerCase() === email.toLowerCase();
    if (mine && (await this.services.partners.verifyEmail(tenantId, email, person.aadObjectId, 'teams-identity'))) {
      await context.sendActivity(Messages.emailVerifiedByTeams);
      return dc.endDialog({ verified: true });
    }
    // Coming back to this step (start, resume) reuses a code that still works instead of mailing again.
    let notice: string | undefined;
    if (await this.services.verification.hasPendingCode(tenantId, email)) {
      notice = Messages.codeAlreadySent(maskEmail(email));
    } else {
      notice = sendMessage(await this.services.verification.send(tenantId, email, person, context.activity.conversation.id));
    }
    const cardId = randomUUID();
    const maskedEmail = maskEmail(email);
    const activityId = await sendCard(context, renderVerifyEmailCard({ cardId, stepLabel: stepLabel('Email verification'), maskedEmail }));
    if (notice) await context.sendActivity(notice);
    const state: VerifyState = { cardId, activityId, maskedEmail };
    dc.activeDialog!.state = state;
    return Dialog.EndOfTurn;
  }

  override async continueDialog(dc: DialogContext): Promise<DialogTurnResult> {
    const { context } = dc;
    const state = dc.activeDialog!.state as VerifyState;
    const tenantId = requireTenant(context);
    const actor = personOf(context).aadObjectId;
    const partner = await this.services.partners.get(tenantId);
    // The link may have been used meanwhile: whatever this turn is, that settles it.
    if (partner?.emailVerifiedAt) {
      await replaceCard(context, state.activityId, renderSectionSummary({ title: 'Contact email verified', facts: [] }));
      return dc.endDialog({ verified: true });
    }

    const submission = await submissionFor(context, this.services.partners, tenantId, state.cardId, Messages.hint('Email verification'), { allowText: true });
    if (!submission) return Dialog.EndOfTurn;
    let code: string;
    if (submission === 'text') {
      const text = (context.activity.text ?? '').trim();
      // A 6-digit reply is taken as the code, which is what most people will type.
      if (!/^\d{3}\s?\d{3}$/.test(text)) {
        await context.sendActivity(Messages.hint('Email verification'));
        return Dialog.EndOfTurn;
      }
      code = text;
    } else {
      if (submission.verb === Verbs.verifyResend) {
        const email = partner?.primaryContact?.email;
        if (!email) return dc.endDialog({ incomplete: true });
        const result = await this.services.verification.send(tenantId, email, personOf(context), context.activity.conversation.id);
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
      code = typeof submission.fields.code === 'string' ? submission.fields.code : '';
    }

    const result = await this.services.verification.checkCode(tenantId, code, actor);
    const activityId = (submission === 'text' ? undefined : submission.replyToId) ?? state.activityId;
    if (!result.ok) {
      const message = codeMessage(result);
      await replaceCard(context, activityId, renderVerifyEmailCard({ cardId: state.cardId, stepLabel: stepLabel('Email verification'), maskedEmail: state.maskedEmail, error: message }));
      await context.sendActivity(message);
      return Dialog.EndOfTurn;
    }
    await replaceCard(context, activityId, renderSectionSummary({ title: 'Contact email verified', facts: [{ label: 'Email', value: state.maskedEmail }] }));
    return dc.endDialog({ verified: true });
  }
}
