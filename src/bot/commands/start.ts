import { Verbs } from '../../cards/verbs';
import type { Membership } from '../membership';
import type { OnboardingRunner } from '../onboarding-runner';
import { verbOf, type Command } from '../routes';

/** `start`: begins onboarding (the person becomes the owner of a new partner), or resumes it. */
export function startCommand(membership: Membership, onboarding: OnboardingRunner): Command {
  return {
    name: 'start', aliases: ['begin', 'continue', 'resume'], verb: Verbs.start, description: 'Start onboarding, or pick up where you left off',
    handle: async (context, turn) => {
      if (!(await membership.access(context, turn, true))) return;
      // "Continue" on a card (after a sign-in or a link in a mail) just carries on; typed, it says so.
      await onboarding.start(context, { announceResume: verbOf(turn) !== Verbs.start });
    },
  };
}
