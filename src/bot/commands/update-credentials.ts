import { Verbs } from '../../cards/verbs';
import { Messages } from '../../onboarding/messages';
import type { Membership } from '../membership';
import type { OnboardingRunner } from '../onboarding-runner';
import type { Command } from '../routes';

/** `update credentials`: the owner replaces a secret or an id through the same cards (rotation). */
export function updateCredentialsCommand(membership: Membership, onboarding: OnboardingRunner): Command {
  return {
    name: 'update credentials', aliases: ['rotate secret', 'update secret', 'change credentials'], verb: Verbs.credentialsUpdate,
    description: 'Replace a client secret or the Partner Center key (owner only)',
    handle: async (context, turn) => {
      const owned = await membership.owned(context, turn, Messages.ownerOnlyCredentials);
      if (!owned) return;
      if (!owned.partner.connection) {
        await context.sendActivity(Messages.noCredentialsYet);
        return;
      }
      await onboarding.updateCredentials(context);
    },
  };
}
