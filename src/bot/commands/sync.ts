import { Verbs } from '../../cards/verbs';
import type { OnboardingServices } from '../../dialogs/onboarding-services';
import { startSyncHere } from '../../dialogs/sync-dialog';
import { checksPassed } from '../../domain/steps';
import { Messages } from '../../onboarding/messages';
import type { Membership } from '../membership';
import type { Command } from '../routes';

type Services = Pick<OnboardingServices, 'sync' | 'syncs'>;

/** `sync`: a customer sync now (or the running one), once the checks have passed. */
export function syncCommand(membership: Membership, services: Services): Command {
  return {
    name: 'sync', aliases: ['sync now', 'sync customers'],
    description: 'Sync your customers from Partner Center now',
    handle: async (context, turn) => {
      const access = await membership.started(context, turn);
      if (!access) return;
      if (!checksPassed(access.partner)) {
        await context.sendActivity(Messages.syncNeedsChecks);
        return;
      }
      await startSyncHere(context, turn, services);
    },
  };
}

/** `cancel sync` / the progress card's button: the worker stops after the page it is on. */
export function cancelSyncCommand(membership: Membership, services: Services): Command {
  return {
    name: 'cancel sync', aliases: ['stop sync'], verb: Verbs.syncCancel,
    description: 'Stop the customer sync that is running',
    handle: async (context, turn) => {
      const access = await membership.access(context, turn, false);
      if (!access) return;
      const cancelled = access.partner ? await services.sync.cancel(access.partner.tenantId) : undefined;
      await context.sendActivity(cancelled ? Messages.syncCancelling : Messages.syncNoneToCancel);
    },
  };
}
