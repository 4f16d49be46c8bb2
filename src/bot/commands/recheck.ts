import { renderChecksCard } from '../../cards/render';
import { Verbs } from '../../cards/verbs';
import { summarize } from '../../checks/run';
import type { OnboardingServices } from '../../dialogs/onboarding-services';
import { Messages } from '../../onboarding/messages';
import { replaceCard } from '../../teams/card-activity';
import { preflightCardData } from '../../verification/preflight';
import type { Membership } from '../membership';
import { verbOf, type Command } from '../routes';

/**
 * `recheck` / "Re-run checks": runs the checks again (the app-only ones until the full run lands)
 * and, from the card's button, updates that card in place; typed, it posts a fresh card.
 */
export function recheckCommand(membership: Membership, services: Pick<OnboardingServices, 'preflight'>): Command {
  return {
    name: 'recheck', aliases: ['re-run checks', 'rerun checks', 'check again', 'checks'], verb: Verbs.checksRerun,
    description: 'Run the checks again',
    handle: async (context, turn) => {
      const access = await membership.access(context, turn, false);
      if (!access) return;
      if (!access.partner?.connection) {
        await context.sendActivity(access.partner ? Messages.checksNeedCredentials : Messages.notStarted);
        return;
      }
      const run = await services.preflight.run(access.partner, turn.person.aadObjectId);
      const card = renderChecksCard(preflightCardData(run));
      const fromCard = verbOf(turn) === Verbs.checksRerun && turn.submission?.ok ? turn.submission.submission.replyToId : undefined;
      if (fromCard) await replaceCard(context, fromCard, card);
      else await context.sendActivity({ attachments: [card] });
      const { counts } = summarize(run.results);
      await context.sendActivity(Messages.rechecked(counts.fail, counts.warn));
    },
  };
}
