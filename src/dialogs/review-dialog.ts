import { randomUUID } from 'node:crypto';
import { Dialog, type DialogContext, type DialogReason, type DialogTurnResult } from 'botbuilder-dialogs';
import { companyFacts, contactFacts, renderReviewCard, renderSectionSummary } from '../cards/render';
import { Verbs } from '../cards/verbs';
import { Messages } from '../onboarding/messages';
import type { Section } from '../store/partners';
import { FORM_DIALOG_OF } from './card-form-dialog';
import { replaceCard, sendCard, submissionFor } from './cards';
import { personOf, requireTenant, stepLabel, type OnboardingServices } from './services';

export const REVIEW_DIALOG = 'review';

interface ReviewState {
  cardId: string;
  activityId?: string;
}

const SECTIONS: ReadonlySet<string> = new Set<Section>(['company', 'primaryContact', 'secondaryContact']);

/**
 * Everything entered, with an Edit button per section and Confirm. Edit runs that section's form
 * (prefilled) and comes back here with a fresh review card.
 */
export class ReviewDialog extends Dialog {
  constructor(private readonly services: OnboardingServices) {
    super(REVIEW_DIALOG);
  }

  override async beginDialog(dc: DialogContext): Promise<DialogTurnResult> {
    const partner = await this.services.partners.get(requireTenant(dc.context));
    if (!partner?.company || !partner.primaryContact) return dc.endDialog({ incomplete: true });
    const cardId = randomUUID();
    const activityId = await sendCard(dc.context, renderReviewCard({
      cardId, stepLabel: stepLabel('Review'), company: partner.company, primaryContact: partner.primaryContact, secondaryContact: partner.secondaryContact,
    }));
    const state: ReviewState = { cardId, activityId };
    dc.activeDialog!.state = state;
    return Dialog.EndOfTurn;
  }

  override async continueDialog(dc: DialogContext): Promise<DialogTurnResult> {
    const { context } = dc;
    const state = dc.activeDialog!.state as ReviewState;
    const tenantId = requireTenant(context);
    const actor = personOf(context).aadObjectId;
    const submission = await submissionFor(context, this.services.partners, tenantId, state.cardId, Messages.hint('Review'));
    if (!submission || submission === 'text') return Dialog.EndOfTurn;
    const activityId = submission.replyToId ?? state.activityId;

    if (submission.verb === Verbs.reviewEdit && submission.section && SECTIONS.has(submission.section)) {
      if (!(await this.services.partners.answerCard(tenantId, state.cardId, 'review-edit', actor))) {
        await context.sendActivity(Messages.alreadySaved);
        return Dialog.EndOfTurn;
      }
      const section = submission.section as Section;
      await replaceCard(context, activityId, renderSectionSummary({ title: `Editing ${sectionTitle(section)}`, facts: [], note: 'A fresh review follows once you save.' }));
      return dc.beginDialog(FORM_DIALOG_OF[section]);
    }
    if (submission.verb === Verbs.reviewConfirm && Object.keys(submission.fields).length === 0) {
      const partner = await this.services.partners.get(tenantId);
      if ((await this.services.partners.confirm(tenantId, actor, state.cardId)) === 'already-saved') {
        await context.sendActivity(Messages.alreadySaved);
        return Dialog.EndOfTurn;
      }
      const facts = partner?.company && partner.primaryContact
        ? [...companyFacts(partner.company).slice(0, 1), ...contactFacts(partner.primaryContact).slice(0, 2)]
        : [];
      await replaceCard(context, activityId, renderSectionSummary({ title: 'Details confirmed', facts }));
      return dc.endDialog({ confirmed: true });
    }
    await context.sendActivity(Messages.wrongSection);
    return Dialog.EndOfTurn;
  }

  /** Back from an edit: show the review again, with what changed. */
  override async resumeDialog(dc: DialogContext, _reason: DialogReason, _result?: unknown): Promise<DialogTurnResult> {
    return this.beginDialog(dc);
  }
}

function sectionTitle(section: Section): string {
  return section === 'company' ? 'company details' : section === 'primaryContact' ? 'the primary contact' : 'the secondary contact';
}
