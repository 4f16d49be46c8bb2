import { Dialog, type DialogContext, type DialogReason, type DialogTurnResult } from 'botbuilder-dialogs';
import { companyFacts, contactFacts, renderReviewCard, renderSectionSummary } from '../cards/render';
import { Verbs } from '../cards/verbs';
import type { Section } from '../domain/partner';
import { stepLabel } from '../domain/steps';
import { Messages } from '../onboarding/messages';
import { replaceCard } from '../teams/card-activity';
import type { Submission } from '../teams/submission';
import type { Turn } from '../teams/turn';
import { FORM_DIALOG_OF } from './card-form-dialog';
import { CardStepDialog, type CardStepState, type Opening } from './card-step-dialog';
import type { OnboardingServices } from './onboarding-services';

export const REVIEW_DIALOG = 'review';

const SECTIONS: ReadonlySet<string> = new Set<Section>(['company', 'primaryContact', 'secondaryContact']);

function sectionTitle(section: Section): string {
  return section === 'company' ? 'company details' : section === 'primaryContact' ? 'the primary contact' : 'the secondary contact';
}

/**
 * Everything entered, with an Edit button per section and Confirm. Edit runs that section's form
 * (prefilled) and comes back here with a fresh review card.
 */
export class ReviewDialog extends CardStepDialog {
  constructor(services: OnboardingServices) {
    super(REVIEW_DIALOG, 'review', services);
  }

  protected async open(turn: Turn, cardId: string): Promise<Opening<CardStepState>> {
    const partner = turn.partner;
    if (!partner?.company || !partner.primaryContact) return { done: { incomplete: true } };
    return {
      card: renderReviewCard({
        cardId, stepLabel: stepLabel('review'), company: partner.company, primaryContact: partner.primaryContact, secondaryContact: partner.secondaryContact,
      }),
    };
  }

  protected async submit(dc: DialogContext, turn: Turn, submission: Submission, state: CardStepState): Promise<DialogTurnResult> {
    const { context } = dc;
    const tenantId = turn.requireTenant();
    const actor = turn.person.aadObjectId;
    if (submission.verb === Verbs.reviewEdit && submission.section && SECTIONS.has(submission.section)) {
      if (!(await this.services.partners.answerCard(tenantId, state.cardId, 'review-edit', actor))) return this.alreadySaved(context);
      const section = submission.section as Section;
      await replaceCard(context, this.cardMessage(submission, state), renderSectionSummary({ title: `Editing ${sectionTitle(section)}`, facts: [], note: 'A fresh review follows once you save.' }));
      return dc.beginDialog(FORM_DIALOG_OF[section]);
    }
    if (submission.verb === Verbs.reviewConfirm && Object.keys(submission.fields).length === 0) {
      const partner = turn.partner;
      const confirmed = await this.services.partners.confirm(tenantId, actor, state.cardId);
      if (!confirmed) return this.alreadySaved(context);
      turn.refresh(confirmed);
      const facts = partner?.company && partner.primaryContact
        ? [...companyFacts(partner.company).slice(0, 1), ...contactFacts(partner.primaryContact).slice(0, 2)]
        : [];
      return this.finish(dc, submission, state, renderSectionSummary({ title: 'Details confirmed', facts }), { confirmed: true });
    }
    await context.sendActivity(Messages.wrongSection);
    return Dialog.EndOfTurn;
  }

  /** Back from an edit: show the review again, with what changed. */
  override async resumeDialog(dc: DialogContext, _reason: DialogReason, _result?: unknown): Promise<DialogTurnResult> {
    return this.beginDialog(dc);
  }
}
