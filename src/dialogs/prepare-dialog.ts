import { Dialog, type DialogContext, type DialogTurnResult } from 'botbuilder-dialogs';
import { renderPrepareChecklist, renderSectionSummary } from '../cards/render';
import { Verbs } from '../cards/verbs';
import { cleanPrepItems, PREP_ITEM_COUNT, PREP_ITEM_IDS } from '../domain/preparation';
import { stepLabel } from '../domain/steps';
import { Messages } from '../onboarding/messages';
import type { Submission } from '../teams/submission';
import type { Turn } from '../teams/turn';
import { CardStepDialog, type CardStepState, type Opening } from './card-step-dialog';
import type { OnboardingServices } from './onboarding-services';

export const PREPARE_DIALOG = 'prepare';

/** The ticked items of a checklist submit, or the unexpected fields it carried. */
function ticked(fields: Record<string, unknown>): { done: string[] } | { unexpected: string[] } {
  const unexpected = Object.keys(fields).filter((k) => !PREP_ITEM_IDS.has(k) || (fields[k] !== 'true' && fields[k] !== 'false'));
  if (unexpected.length > 0) return { unexpected };
  return { done: cleanPrepItems(Object.keys(fields).filter((k) => fields[k] === 'true')) };
}

/**
 * Journey step 5: the preparation checklist. Each tick is kept ("Save progress"), so the partner can
 * leave for the portals and come back; "I've done this" moves on whatever is ticked, because the bot
 * proves every item itself later.
 */
export class PrepareDialog extends CardStepDialog {
  constructor(services: OnboardingServices) {
    super(PREPARE_DIALOG, 'prepare', services);
  }

  protected async open(turn: Turn, cardId: string): Promise<Opening<CardStepState>> {
    const partner = turn.partner;
    if (!partner) return { done: { incomplete: true } };
    if (partner.preparation.confirmedAt) return { done: { prepared: true } };
    return { card: renderPrepareChecklist({ cardId, stepLabel: stepLabel('prepare'), done: partner.preparation.done, publicBaseUrl: this.services.publicBaseUrl }) };
  }

  protected async submit(dc: DialogContext, turn: Turn, submission: Submission, state: CardStepState): Promise<DialogTurnResult> {
    const { context } = dc;
    if (submission.verb !== Verbs.prepSave && submission.verb !== Verbs.prepDone) {
      await context.sendActivity(Messages.wrongSection);
      return Dialog.EndOfTurn;
    }
    const result = ticked(submission.fields);
    if ('unexpected' in result) {
      await context.sendActivity(Messages.unexpectedFields(result.unexpected));
      return Dialog.EndOfTurn;
    }
    const tenantId = turn.requireTenant();
    const actor = turn.person.aadObjectId;
    if (submission.verb === Verbs.prepSave) {
      const saved = await this.services.connections.setPreparation(tenantId, result.done, actor);
      if (saved) turn.refresh(saved);
      const message = Messages.prepSaved(result.done.length, PREP_ITEM_COUNT);
      return this.again(dc, submission, state, renderPrepareChecklist({ cardId: state.cardId, stepLabel: stepLabel('prepare'), done: result.done, publicBaseUrl: this.services.publicBaseUrl }), message);
    }
    const saved = await this.services.connections.confirmPreparation(tenantId, result.done, actor, state.cardId);
    if (!saved) return this.alreadySaved(context);
    turn.refresh(saved);
    const open = PREP_ITEM_COUNT - result.done.length;
    return this.finish(dc, submission, state, renderSectionSummary({
      title: 'Preparation done',
      facts: [{ label: 'Ticked', value: `${result.done.length} of ${PREP_ITEM_COUNT}` }],
      note: open > 0 ? Messages.prepOpenItems(open) : 'I check every item myself once you have signed in.',
    }), { prepared: true });
  }
}
