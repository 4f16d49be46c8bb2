import type { TurnContext } from 'botbuilder';
import { Messages } from '../../onboarding/messages';
import type { PartnerRepository } from '../../store/partners';
import type { Turn } from '../../teams/turn';
import { confirmedCommand, type ConfirmedAction } from '../confirmations';
import type { Membership } from '../membership';
import type { OnboardingRunner } from '../onboarding-runner';
import type { Command } from '../routes';

/** `restart`: the owner clears the entered details (asked first) and begins again. */
export function restartAction(partners: PartnerRepository, onboarding: OnboardingRunner): ConfirmedAction {
  return {
    action: 'restart',
    refusal: Messages.ownerOnlyRestart,
    card: {
      title: 'Start over?', text: 'This clears the company and contact details you entered. Your place as owner stays.',
      yesTitle: 'Yes, start over', noTitle: 'No, keep going',
    },
    yesSummary: 'Started over', noSummary: 'Kept your details', noMessage: Messages.restartKept,
    onYes: async (context: TurnContext, turn: Turn, owned) => {
      turn.refresh(await partners.reset(owned.tenantId, turn.person.aadObjectId));
      await context.sendActivity(Messages.restarted);
      await onboarding.start(context, { announceResume: false });
    },
  };
}

/** With no partner yet there is nothing to clear: it is `start`. */
export function restartCommand(membership: Membership, start: Command, action: ConfirmedAction): Command {
  return confirmedCommand(membership, action, { name: 'restart', aliases: ['cancel', 'start over'], description: 'Start over (asks first)' }, (context, turn) => start.handle(context, turn));
}
