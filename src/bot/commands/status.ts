import type { Partner } from '../../domain/partner';
import { currentStep, STEPS } from '../../domain/steps';
import { Messages } from '../../onboarding/messages';
import type { Membership } from '../membership';
import type { Command } from '../routes';

/** `status`: done, current and remaining steps. */
export function statusText(partner: Partner | undefined): string {
  const current = currentStep(partner);
  const at = current ? STEPS.indexOf(current) : STEPS.length;
  const lines = STEPS.map((s, i) => `${i < at ? '✓' : i === at ? '→' : '·'} ${s.name}`);
  const head = current
    ? `You're at step ${at + 1} of ${STEPS.length}: **${current.name}**.`
    : 'Company and contact details are complete and the contact email is verified.';
  return `${head}\n\n${lines.join('\n\n')}`;
}

export function statusCommand(membership: Membership): Command {
  return {
    name: 'status', aliases: ['progress', 'where am i'], description: 'Where you are and what is left',
    handle: async (context, turn) => {
      const access = await membership.access(context, turn, false);
      if (!access) return;
      await context.sendActivity(access.partner ? statusText(access.partner) : Messages.notStarted);
    },
  };
}
