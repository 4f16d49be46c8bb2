import { Verbs } from '../../cards/verbs';
import { checksOutcome, runChecksForTurn } from '../../dialogs/checks-dialog';
import type { OnboardingServices } from '../../dialogs/onboarding-services';
import { botCreatedApp } from '../../domain/partner';
import { checksPassed, consentComplete } from '../../domain/steps';
import { againIn, Messages } from '../../onboarding/messages';
import type { CooldownRepository } from '../../store/cooldowns';
import { replaceCard } from '../../teams/card-activity';
import type { Membership } from '../membership';
import type { OnboardingRunner } from '../onboarding-runner';
import { verbOf, type Command } from '../routes';

type Services = Pick<OnboardingServices, 'checks' | 'partners' | 'followUps' | 'checkRuns' | 'setup'>;

/** The card the button was on, when the turn is that button's submit. */
function cardOf(turn: Parameters<Command['handle']>[1], verb: string): string | undefined {
  return verbOf(turn) === verb && turn.submission?.ok ? turn.submission.submission.replyToId : undefined;
}

/**
 * `recheck` / "Re-run checks": runs the checks again (the full run once the consent is complete,
 * else the app-only pre-flight); from the card's button it updates that card in place, typed it
 * posts a fresh one. When the run clears the journey's checks step, the journey carries on.
 */
export function recheckCommand(membership: Membership, services: Services, onboarding: OnboardingRunner, cooldowns: Pick<CooldownRepository, 'take'>): Command {
  return {
    name: 'recheck', aliases: ['re-run checks', 'rerun checks', 'check again', 'checks'], verb: Verbs.checksRerun,
    description: 'Run the checks again',
    handle: async (context, turn) => {
      const access = await membership.connected(context, turn);
      if (!access) return;
      // A run in flight is joined (it costs nothing more; held now, so it is that run even if it ends
      // before this turn awaits it); otherwise one run per cooldown.
      const joining = services.checks.inFlightRun(access.tenantId);
      const until = joining ? undefined : await cooldowns.take(access.tenantId, 'recheck');
      if (until) {
        await context.sendActivity(Messages.recheckCooldown(againIn(until)));
        return;
      }
      const wasPassed = checksPassed(access.partner);
      const run = await runChecksForTurn(context, turn, services, joining);
      const { card, message } = checksOutcome(run, undefined, { fixForMe: !!services.setup && botCreatedApp(turn.partner) });
      const fromCard = cardOf(turn, Verbs.checksRerun);
      if (fromCard) await replaceCard(context, fromCard, card);
      else await context.sendActivity({ attachments: [card] });
      await context.sendActivity(message);
      // The journey waits at its checks step: a pass moves it on, here and now.
      if (!wasPassed && turn.partner && checksPassed(turn.partner) && (await onboarding.isActive(context))) await onboarding.continue(context);
    },
  };
}

/** "Re-check in 15 minutes": a follow-up row any instance runs when due; the card says when. */
export function recheckLaterCommand(membership: Membership, services: Services, delayMs: number): Command {
  return {
    name: 'recheck later', aliases: ['re-check later', 'check later'], verb: Verbs.checksLater,
    description: 'Run the checks again in 15 minutes and post the result',
    handle: async (context, turn) => {
      const partner = (await membership.connected(context, turn))?.partner;
      if (!partner) return;
      if (!consentComplete(partner)) {
        await context.sendActivity(Messages.recheckNeedsConsent);
        return;
      }
      const { followUp, created } = await services.followUps.schedule(partner.tenantId, context.activity.conversation.id, turn.person.aadObjectId, new Date(Date.now() + delayMs));
      const at = followUp.dueAt.toISOString().slice(11, 16);
      const fromCard = cardOf(turn, Verbs.checksLater);
      const latest = fromCard ? await services.checkRuns.latest(partner.tenantId) : undefined;
      if (fromCard && latest) await replaceCard(context, fromCard, checksOutcome(latest, `⏱ Re-check scheduled for ${at} UTC.`).card);
      await context.sendActivity(created ? Messages.recheckScheduled(at) : Messages.recheckAlreadyScheduled(at));
    },
  };
}
