import type { Attachment, TurnContext } from 'botbuilder';
import { Dialog, type DialogContext, type DialogTurnResult } from 'botbuilder-dialogs';
import { renderChecksCard } from '../cards/render';
import { summarize } from '../checks/run';
import { botCreatedApp } from '../domain/partner';
import { checksPassed, stepLabel } from '../domain/steps';
import { Messages } from '../onboarding/messages';
import type { CheckRun } from '../store/check-runs';
import { sendCard } from '../teams/card-activity';
import { turnOf, type Turn } from '../teams/turn';
import { checksCardData } from '../verification/check-runner';
import { isCarryOn } from './carry-on';
import type { OnboardingServices } from './onboarding-services';

export const CHECKS_DIALOG = 'checks';

interface ChecksState {
  activityId?: string;
}

/** The checks card of a run, and the line that says what it means for the journey. */
export function checksOutcome(run: CheckRun, status?: string, options: { fixForMe?: boolean } = {}): { card: Attachment; message: string } {
  const summary = summarize(run.results);
  const card = renderChecksCard(checksCardData(run, status, options));
  if (run.kind === 'preflight') return { card, message: Messages.rechecked(summary.counts.fail, summary.counts.warn) };
  const message = summary.verdict === 'blocked' ? Messages.checksBlocked(summary.blockingFailures.map((r) => r.title))
    : summary.verdict === 'incomplete' ? Messages.checksIncomplete(summary.blockingUnknown.map((r) => r.title))
      : Messages.checksPassed(summary.advisories);
  return { card, message };
}

/** Runs the checks for this turn's partner (full once consented), then reads the partner again so the turn sees the new verdict. */
export async function runChecksForTurn(context: TurnContext, turn: Turn, services: Pick<OnboardingServices, 'checks' | 'partners' | 'followUps'>, joining?: Promise<CheckRun>): Promise<CheckRun> {
  await context.sendActivity({ type: 'typing' });
  // `joining`: a run in flight when the turn decided to join it; asking again here could start a second one if it ended meanwhile.
  const run = await (joining ?? services.checks.run(turn.partner!, turn.person.aadObjectId));
  // A run in the chat answers any re-check still waiting: it would only repeat this one.
  if (run.kind === 'full') await services.followUps.cancelPending(turn.requireTenant(), 'superseded by a run in the chat');
  turn.refresh(await services.partners.get(turn.requireTenant()));
  return run;
}

/**
 * Journey step 10: the full checks, once the consent is complete. A run that passes (advisories
 * allowed) moves the journey on; a blocking failure, or a blocking check the bot could not see,
 * stops it here, before sync. "Re-run checks" (the `recheck` command) and a follow-up run update the
 * verdict; whatever the next turn is, the partner record settles whether the step is done.
 */
export class ChecksDialog extends Dialog {
  constructor(private readonly services: OnboardingServices) {
    super(CHECKS_DIALOG);
  }

  override async beginDialog(dc: DialogContext): Promise<DialogTurnResult> {
    const turn = turnOf(dc.context);
    if (!turn.partner?.connection) return dc.endDialog({ incomplete: true });
    if (checksPassed(turn.partner)) return dc.endDialog({ passed: true });
    await dc.context.sendActivity(Messages.checksRunning(stepLabel('checks')));
    const run = await runChecksForTurn(dc.context, turn, this.services);
    const { card, message } = checksOutcome(run, undefined, { fixForMe: !!this.services.setup && botCreatedApp(turn.partner) });
    const activityId = await sendCard(dc.context, card);
    await dc.context.sendActivity(message);
    if (turn.partner && checksPassed(turn.partner)) return dc.endDialog({ passed: true });
    dc.activeDialog!.state = { activityId } satisfies ChecksState;
    return Dialog.EndOfTurn;
  }

  override async continueDialog(dc: DialogContext): Promise<DialogTurnResult> {
    const partner = turnOf(dc.context).partner;
    if (partner && checksPassed(partner)) return dc.endDialog({ passed: true });
    if (isCarryOn(dc.context)) return Dialog.EndOfTurn;
    await dc.context.sendActivity(Messages.checksWaiting);
    return Dialog.EndOfTurn;
  }
}
