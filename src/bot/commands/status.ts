import { inert } from '../../cards/inert-text';
import { statusCount } from '../../cards/render';
import { maskSecret } from '../../domain/credentials';
import type { CheckRun, CheckRunRepository } from '../../store/check-runs';
import type { CustomerSyncRepository } from '../../store/customer-syncs';
import { syncStatusLine } from '../../sync/progress';
import type { CredentialMeta, Partner } from '../../domain/partner';
import { currentStep, STEPS } from '../../domain/steps';
import type { Membership } from '../membership';
import type { Command } from '../routes';

/** `status`: done, current and remaining steps. */
export function statusText(partner: Partner | undefined): string {
  const current = currentStep(partner);
  const at = current ? STEPS.indexOf(current) : STEPS.length;
  const lines = STEPS.map((s, i) => `${i < at ? '✓' : i === at ? '→' : '·'} ${s.name}`);
  const head = current
    ? `You're at step ${at + 1} of ${STEPS.length}: **${current.name}**.`
    : '**Onboarding is complete**: your tenant is connected and verified and your customers are synced.';
  const connection = partner ? connectionLines(partner) : [];
  return [head, lines.join('\n\n'), ...(connection.length > 0 ? [connection.join('\n\n')] : [])].join('\n\n');
}

const day = (d: Date | string | undefined): string => (d ? new Date(d).toISOString().slice(0, 10) : '—');

function secretLine(label: string, meta: CredentialMeta | undefined): string | undefined {
  if (!meta) return undefined;
  return `**${label}**: ${maskSecret(meta.hint)}, ${meta.expiresAt ? `expires ${day(meta.expiresAt)}` : 'expiry not known yet'} (set ${day(meta.setAt)})`;
}

/** Which credentials are in, their expiry, and the consent's state: never a secret. */
export function connectionLines(partner: Partner): string[] {
  const c = partner.connection;
  if (!c) return [];
  const consent = partner.consent;
  const lines = [
    `**Partner tenant**: ${c.partnerTenantName ? `${inert(c.partnerTenantName)} (${c.partnerTenantId})` : c.partnerTenantId}`,
    `**Service account**: ${inert(c.serviceAccountUpn)}`,
    secretLine('Client secret', partner.credentials.appSecret),
    secretLine('Partner Center key', partner.credentials.pcSecret),
    consent.brokenAt
      ? `**Consent**: stopped working on ${day(consent.brokenAt)} (${inert(consent.brokenReason ?? 'unknown reason')}): the service account needs to sign in again`
      : consent.at
        ? `**Consent**: given by ${inert(consent.account ?? 'the service account')} on ${day(consent.at)}, last used ${day(consent.usedAt)}`
        : '**Consent**: not given yet',
    `**Admin consent**: ${consent.adminConsentAt ? `granted (seen ${day(consent.adminConsentAt)})` : 'not granted yet'}`,
  ];
  return lines.filter((l): l is string => l !== undefined);
}

/** The last run of the checks, in one line: counts in the checks card's words, when, which kind. */
export function lastCheckLine(run: CheckRun | undefined): string | undefined {
  if (!run) return undefined;
  const r = run.results;
  const later = r.filter((x) => x.afterSignIn).length;
  const parts = [
    statusCount('fail', r.filter((x) => x.status === 'fail').length),
    statusCount('warn', r.filter((x) => x.status === 'warn').length),
    ...nonZero(r.filter((x) => x.status === 'unknown' && !x.afterSignIn && !x.lasting).length, (n) => statusCount('unknown', n)),
    ...nonZero(r.filter((x) => x.status === 'unknown' && x.lasting).length, (n) => `${n} not visible`),
    statusCount('pass', r.filter((x) => x.status === 'pass').length),
    ...nonZero(later, (n) => `${n} run after you sign in`),
  ];
  return `**Last checks** (${run.kind === 'preflight' ? 'before sign-in, with your app\'s own permissions' : 'full'}, ${run.runAt.toISOString().slice(0, 16).replace('T', ' ')} UTC): ${parts.join(', ')}. Type **recheck** to run them again.`;
}

function nonZero(n: number, words: (n: number) => string): string[] {
  return n > 0 ? [words(n)] : [];
}

export function statusCommand(membership: Membership, checkRuns: Pick<CheckRunRepository, 'latest'>, syncs: Pick<CustomerSyncRepository, 'latest'>): Command {
  return {
    name: 'status', aliases: ['progress', 'where am i'], description: 'Where you are and what is left',
    handle: async (context, turn) => {
      const access = await membership.started(context, turn);
      if (!access) return;
      const checks = lastCheckLine(await checkRuns.latest(access.tenantId));
      const sync = syncStatusLine(await syncs.latest(access.tenantId));
      await context.sendActivity([statusText(access.partner), checks, sync].filter(Boolean).join('\n\n'));
    },
  };
}
