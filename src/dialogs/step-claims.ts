import { setTimeout as delay } from 'node:timers/promises';
import type { TurnContext } from 'botbuilder';
import type { OnboardingServices } from './onboarding-services';

/**
 * How long the turn that claimed a step's card (answered_cards) has to move the chat on, that is to
 * post the next card and save the dialog, before another turn may take over: longer than a turn
 * takes, Teams' capped retries included.
 */
export const CLAIM_LEASE_MS = 30_000;
const LOOK_EVERY_MS = 250;

/**
 * `cardId` is claimed, yet this turn's dialog still waits on it. Either another turn is moving the
 * chat on right now (a double click; a carry-on and a typed turn at once), or the turn that claimed
 * it died after the claim (a SIGKILL, a Teams refusal) and never posted the next card. Looks until
 * it knows: the stored dialog moved on (false: the other turn did it), or the newest claim is older
 * than the lease and the stored dialog still waits (true: this turn has taken the claim over, once,
 * as `<cardId>/resumed/<n>`, and moves the chat on itself).
 */
export async function takeOverClaim(context: TurnContext, services: OnboardingServices, tenantId: string, cardId: string, kind: string, actor: string, options: { wait?: boolean } = {}): Promise<boolean> {
  const stillWaits = services.storedDialogWaitsOn;
  if (!stillWaits) return false;
  if (options.wait === false) {
    // A typed message: one read when, as nearly always, the card is not claimed or its lease still runs.
    const claim = await services.partners.claimOf(tenantId, cardId);
    if (!claim || claim.ageSeconds * 1000 < CLAIM_LEASE_MS) return false;
  }
  for (;;) {
    if (!(await stillWaits(context, cardId))) return false;
    const claim = await services.partners.claimOf(tenantId, cardId);
    if (!claim) return false;
    const left = CLAIM_LEASE_MS - claim.ageSeconds * 1000;
    // `wait: false` (a typed message): only a claim whose lease has already lapsed is taken over.
    if (left > 0 && options.wait === false) return false;
    if (left <= 0) {
      const taken = await services.partners.answerCard(tenantId, `${cardId}/resumed/${claim.takeovers + 1}`, `${kind}-resumed`, actor);
      if (taken) services.logger.warn({ tenantId, kind, takeovers: claim.takeovers + 1 }, 'a step saved by a turn that did not finish: this turn moves the chat on');
      return taken;
    }
    await delay(Math.min(LOOK_EVERY_MS, left));
  }
}
