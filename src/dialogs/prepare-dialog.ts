import { Dialog, type DialogContext, type DialogTurnResult } from 'botbuilder-dialogs';
import { renderPrepareChecklist, renderSectionSummary } from '../cards/render';
import { Verbs } from '../cards/verbs';
import { cleanPrepItems, PREP_ITEM_COUNT, PREP_ITEM_IDS } from '../domain/preparation';
import { stepLabel } from '../domain/steps';
import { Messages } from '../onboarding/messages';
import { SetupMessages } from '../setup/setup-messages';
import type { SetupChoice } from '../store/partner-setups';
import type { Submission } from '../teams/submission';
import type { Turn } from '../teams/turn';
import { CardStepDialog, type CardStepState, type Opening } from './card-step-dialog';
import type { OnboardingServices } from './onboarding-services';

export const PREPARE_DIALOG = 'prepare';

/** The ticked items of a checklist submit and the setup choice (when offered), or the unexpected fields it carried. */
function ticked(fields: Record<string, unknown>, setupOffered: boolean): { done: string[]; choice?: SetupChoice } | { unexpected: string[] } {
  const { setupChoice, ...items } = fields;
  const unexpected = Object.keys(items).filter((k) => !PREP_ITEM_IDS.has(k) || (items[k] !== 'true' && items[k] !== 'false'));
  if (setupChoice !== undefined && (!setupOffered || (setupChoice !== 'setup' && setupChoice !== 'manual'))) unexpected.push('setupChoice');
  if (unexpected.length > 0) return { unexpected };
  return { done: cleanPrepItems(Object.keys(items).filter((k) => items[k] === 'true')), choice: setupChoice as SetupChoice | undefined };
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
    return { card: renderPrepareChecklist({ cardId, stepLabel: stepLabel('prepare'), done: partner.preparation.done, publicBaseUrl: this.services.publicBaseUrl, setupChoice: await this.choice(partner.tenantId) }) };
  }

  /** The partner's "Set it up for me" choice when it is offered (recommended, so the default); undefined when it is not. */
  private async choice(tenantId: string): Promise<SetupChoice | undefined> {
    const setup = this.services.setup;
    return setup ? ((await setup.setups.get(tenantId))?.choice ?? 'setup') : undefined;
  }

  protected async submit(dc: DialogContext, turn: Turn, submission: Submission, state: CardStepState): Promise<DialogTurnResult> {
    const { context } = dc;
    if (submission.verb !== Verbs.prepSave && submission.verb !== Verbs.prepDone) {
      await context.sendActivity(Messages.wrongSection);
      return Dialog.EndOfTurn;
    }
    const result = ticked(submission.fields, !!this.services.setup);
    if ('unexpected' in result) {
      await context.sendActivity(Messages.unexpectedFields(result.unexpected));
      return Dialog.EndOfTurn;
    }
    const tenantId = turn.requireTenant();
    const actor = turn.person.aadObjectId;
    // The choice can change until the setup starts; after that the app it makes is the partner's.
    if (result.choice && this.services.setup && !(await this.services.setup.setups.choose(tenantId, result.choice, actor))) {
      await context.sendActivity(SetupMessages.cannotSwitch);
    }
    if (submission.verb === Verbs.prepSave) {
      const saved = await this.services.connections.setPreparation(tenantId, result.done, actor);
      if (saved) turn.refresh(saved);
      const message = Messages.prepSaved(result.done.length, PREP_ITEM_COUNT);
      return this.again(dc, submission, state, renderPrepareChecklist({ cardId: state.cardId, stepLabel: stepLabel('prepare'), done: result.done, publicBaseUrl: this.services.publicBaseUrl, setupChoice: await this.choice(tenantId) }), message);
    }
    const saved = await this.services.connections.confirmPreparation(tenantId, result.done, actor, state.cardId);
    if (!saved) return this.alreadySaved(context);
    turn.refresh(saved);
    const open = PREP_ITEM_COUNT - result.done.length;
    const choice = this.services.setup ? ((await this.services.setup.setups.get(tenantId))?.choice ?? 'manual') : undefined;
    return this.finish(dc, submission, state, renderSectionSummary({
      title: 'Preparation done',
      facts: [
        { label: 'Ticked', value: `${result.done.length} of ${PREP_ITEM_COUNT}` },
        ...(choice ? [{ label: 'Entra app', value: choice === 'setup' ? 'Set up for you' : 'Set up by you' }] : []),
      ],
      note: open > 0 ? Messages.prepOpenItems(open) : 'I check every item myself once you have signed in.',
    }), { prepared: true });
  }
}
