import { inert } from '../../cards/inert-text';
import { againIn, Messages } from '../../onboarding/messages';
import type { CooldownRepository } from '../../store/cooldowns';
import type { Expiring } from '../../watch/expiry';
import { daysLeft } from '../../watch/expiry';
import type { Membership } from '../membership';
import type { Command } from '../routes';
import type { Partner } from '../../domain/partner';

/** What the `expiry` command needs of the watch: a look now, and sending what it found due. */
export interface ExpiryLook {
  look(partner: Partner): Promise<{ items: Expiring[]; recorded: number }>;
  send(): Promise<unknown>;
}

const NAMES: Record<Expiring['item'], string> = {
  'app-secret': 'Entra app client secret',
  'pc-secret': 'Partner Center web app key',
  'refresh-token': 'Service account sign-in (refresh token, 90 days after its last use)',
  gdap: 'GDAP relationship',
  consent: 'Consent',
};

/** One line per item that ends, soonest first. */
export function expiryLines(items: readonly Expiring[], now: Date): string[] {
  return [...items].sort((a, b) => a.expiresAt.getTime() - b.expiresAt.getTime()).map((e) => {
    const left = daysLeft(e.expiresAt, now);
    const what = e.item === 'gdap' && e.detail ? `${NAMES.gdap} with ${inert(e.detail)}` : NAMES[e.item];
    return `- **${what}**: ${left <= 0 ? 'ended' : 'ends'} ${e.expiresAt.toISOString().slice(0, 10)}${left > 0 ? ` (${left} day${left === 1 ? '' : 's'})` : ''}`;
  });
}

/**
 * `expiry`: the expiry scan on demand for this partner. Lists everything that ends (read fresh from
 * Graph), and any warning now due is recorded and sent as the daily scan would have: once.
 */
export function expiryCommand(membership: Membership, watch: ExpiryLook, cooldowns: Pick<CooldownRepository, 'take'>): Command {
  return {
    name: 'expiry', aliases: ['expiries', 'what expires', 'check expiry'],
    description: 'What ends when: secrets, the sign-in, GDAP relationships (read now)',
    handle: async (context, turn) => {
      const access = await membership.connected(context, turn);
      if (!access) return;
      const until = await cooldowns.take(access.tenantId, 'expiry');
      if (until) {
        await context.sendActivity(Messages.expiryCooldown(againIn(until)));
        return;
      }
      await context.sendActivity({ type: 'typing' });
      const { items, recorded } = await watch.look(access.partner);
      await context.sendActivity(Messages.expiryReport(expiryLines(items, new Date()), recorded));
      if (recorded > 0) await watch.send();
    },
  };
}
