import { randomUUID } from 'node:crypto';
import type { TurnContext } from 'botbuilder';
import { Dialog, type DialogContext, type DialogTurnResult } from 'botbuilder-dialogs';
import { renderSyncCard } from '../cards/render';
import { checksPassed, stepLabel } from '../domain/steps';
import { Messages } from '../onboarding/messages';
import { sendCard } from '../teams/card-activity';
import { turnOf, type Turn } from '../teams/turn';
import { progressCardData, syncDoing } from '../sync/progress';
import { isCarryOn } from './carry-on';
import type { OnboardingServices } from './onboarding-services';
import { takeOverClaim } from './step-claims';

export const SYNC_DIALOG = 'sync';

interface SyncState {
  /** Whose turn ends the step is claimed by this id (answered_cards). */
  waitId: string;
}

/**
 * Starts this partner's customer sync from the chat, or attaches to the one running (one at a
 * time, whoever started it). A new sync gets its progress card here; the job engine updates it
 * in place and posts the summary when it ends.
 */
export async function startSyncHere(context: TurnContext, turn: Turn, services: Pick<OnboardingServices, 'sync' | 'syncs'>): Promise<void> {
  const conversationId = context.activity.conversation.id;
  const { sync, created } = await services.sync.start(turn.requireTenant(), 'chat', turn.person.aadObjectId, conversationId);
  if (!created) {
    await context.sendActivity(Messages.syncAlreadyRunning(sync.startedAt.toISOString().slice(11, 16), syncDoing(sync), sync.conversationId === conversationId));
    return;
  }
  const card = renderSyncCard(progressCardData(sync, { now: new Date(), estimate: await services.syncs.lastTotal(sync.tenantId) }));
  const activityId = await sendCard(context, card);
  await services.syncs.setProgressActivity(sync.id, activityId, conversationId);
}

/**
 * Journey step 11: the first customer sync. It runs as jobs (any instance), so the step waits
 * here; the summary arrives proactively, and the sync's end carries the journey on in the chat.
 */
export class SyncDialog extends Dialog {
  constructor(private readonly services: OnboardingServices) {
    super(SYNC_DIALOG);
  }

  override async beginDialog(dc: DialogContext): Promise<DialogTurnResult> {
    const turn = turnOf(dc.context);
    const partner = turn.partner;
    if (!partner || partner.syncedAt) return dc.endDialog({ synced: !!partner?.syncedAt });
    if (!checksPassed(partner)) return dc.endDialog({ incomplete: true });
    await dc.context.sendActivity(Messages.syncStarting(stepLabel('sync')));
    await startSyncHere(dc.context, turn, this.services);
    dc.activeDialog!.state = { waitId: randomUUID() } satisfies SyncState;
    return Dialog.EndOfTurn;
  }

  override async continueDialog(dc: DialogContext): Promise<DialogTurnResult> {
    const turn = turnOf(dc.context);
    const partner = turn.partner;
    if (partner?.syncedAt) {
      // Once: the sync's carry-on turn and a typed turn may both find it done.
      const { waitId } = dc.activeDialog!.state as Partial<SyncState>;
      const actor = turn.person.aadObjectId || 'bot';
      // A claim whose turn died before it moved on (a kill, a Teams refusal) is taken over.
      const claimed = !waitId || (await this.services.partners.answerCard(partner.tenantId, waitId, 'sync-done', actor))
        || (await takeOverClaim(dc.context, this.services, partner.tenantId, waitId, 'sync', actor));
      if (!claimed) return Dialog.EndOfTurn;
      return dc.endDialog({ synced: true });
    }
    // The sync ended without success: its summary card said what to do.
    if (isCarryOn(dc.context)) return Dialog.EndOfTurn;
    const running = partner ? await this.services.syncs.running(partner.tenantId) : undefined;
    await dc.context.sendActivity(running ? Messages.syncWaiting(syncDoing(running)) : Messages.syncNotRunning);
    return Dialog.EndOfTurn;
  }
}
