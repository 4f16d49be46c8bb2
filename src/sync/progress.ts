import type { Fact, SyncCardData } from '../cards/render';
import type { CustomerSync, SyncTotals } from '../store/customer-syncs';
import { REASON_WORDS, type NotManageableReason } from './gdap';

const n = (x: number) => x.toLocaleString('en-US');
const plural = (x: number, one: string, many: string) => `${n(x)} ${x === 1 ? one : many}`;

function duration(ms: number): string {
  if (ms < 1000) return 'under a second';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m} min ${s % 60} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

function reasonLines(sync: CustomerSync): string[] {
  return Object.entries(sync.notManageable).filter(([, count]) => count > 0).sort((a, b) => b[1] - a[1])
    .map(([reason, count]) => `${n(count)}: ${REASON_WORDS[reason as NotManageableReason] ?? reason}`);
}

const PACED = 'paced by Microsoft: the bot waits when asked and goes on';

/**
 * One phase's own progress: how many read so far (of the last sync's total, when there is one:
 * neither Graph nor Partner Center says how many there are), the rate since the phase began, and
 * the time left in it.
 */
function phaseFacts(p: { label: string; unit: string; read: number; total: number | undefined; noTotal: string; since: Date; now: Date }): Fact[] {
  const { read, total, now, since } = p;
  const seconds = (now.getTime() - since.getTime()) / 1000;
  const rate = read > 0 && seconds > 0 ? read / seconds : 0;
  const count = total === undefined ? `${n(read)} so far`
    : read <= total ? `${n(read)} of about ${n(total)} (the last sync's total)` : `${n(read)} (${n(total)} at the last sync)`;
  const eta = total === undefined ? `no total from Microsoft: ${p.noTotal} (the next sync estimates from this one)`
    : read >= total ? 'any moment now' : rate > 0 ? `about ${duration(((total - read) / rate) * 1000)}` : 'known after the first page';
  return [
    { label: p.label, value: count },
    { label: 'Rate', value: rate > 0 ? `${rate < 10 ? rate.toFixed(1) : n(Math.round(rate))} ${p.unit}/s` : 'known after the first page' },
    { label: 'ETA for this step', value: eta },
  ];
}

/**
 * The progress card while the sync runs: the phase it is in (GDAP relationships, then customers),
 * that phase's count, rate and ETA, and "paced by Microsoft" when it asked the bot to wait (the
 * count of retries is for `status` and the logs). Pure: `now` is given; `estimate` is what the
 * last successful sync read.
 */
export function progressCardData(sync: CustomerSync, options: { now: Date; estimate?: SyncTotals }): SyncCardData {
  const started = sync.startedAt.toISOString().slice(11, 16);
  if (sync.status !== 'running') {
    return {
      title: sync.status === 'succeeded' ? '✓ Customer sync finished: the summary is below' : `Customer sync ${sync.status}: the summary is below`,
      subtitle: `Started ${started} UTC.`,
      facts: [{ label: 'Customers synced', value: n(sync.seen) }, { label: 'GDAP relationships read', value: n(sync.relationships) }],
      running: false,
    };
  }
  const last = options.estimate;
  const pace: Fact[] = sync.retries > 0 ? [{ label: 'Pace', value: PACED }] : [];
  const gdap = sync.phase === 'gdap';
  const facts: Fact[] = gdap
    ? [
      ...phaseFacts({
        label: 'GDAP relationships read', unit: 'relationships', read: sync.relationships, total: last?.relationships,
        noTotal: 'it does not say how many there are', since: sync.phaseStartedAt, now: options.now,
      }),
      { label: 'Customers', value: `next, from Partner Center${last ? ` (${n(last.customers)} at the last sync)` : ''}` },
    ]
    : [
      { label: 'GDAP relationships', value: `${n(sync.relationships)} read` },
      ...phaseFacts({
        label: 'Customers read', unit: 'customers', read: sync.seen, total: last?.customers,
        noTotal: 'Partner Center does not say how many there are', since: sync.phaseStartedAt, now: options.now,
      }),
    ];
  return {
    title: gdap ? 'Customer sync: reading your GDAP relationships (step 1 of 2)…' : 'Customer sync: reading your customers (step 2 of 2)…',
    subtitle: `Started ${started} UTC${sync.trigger === 'nightly' ? ' (nightly sync)' : ''}. First your GDAP relationships (which customers the platform can manage), then your customers from Partner Center. This card updates as it goes.`,
    facts: [...facts, ...pace],
    linesTitle: 'Not manageable so far', lines: reasonLines(sync),
    note: sync.cancelRequestedAt ? 'Stopping after the current page…' : 'Type **cancel sync** (or select Cancel sync) to stop it; what is synced so far stays.',
    running: true,
  };
}

/** The card's final state and the summary: totals, new, changed, removed, not manageable by reason, failures, duration. */
export function summaryCardData(sync: CustomerSync): SyncCardData {
  const took = duration((sync.finishedAt ?? new Date()).getTime() - sync.startedAt.getTime());
  const title = sync.status === 'succeeded' ? '✓ Customer sync done'
    : sync.status === 'cancelled' ? 'Customer sync cancelled' : '❌ Customer sync failed';
  const notManageable = Object.values(sync.notManageable).reduce((a, b) => a + b, 0);
  const facts = [
    { label: sync.status === 'succeeded' ? 'Customers' : 'Customers synced', value: n(sync.seen) },
    { label: 'New', value: n(sync.added) },
    { label: 'Changed', value: n(sync.changed) },
    ...(sync.status === 'succeeded' ? [{ label: 'Removed', value: `${n(sync.removed)}${sync.removed ? ' (no longer listed: marked removed, not deleted)' : ''}` }] : []),
    { label: 'Manageable', value: n(sync.seen - notManageable) },
    { label: 'Not manageable', value: n(notManageable) },
    { label: 'GDAP relationships read', value: n(sync.relationships) },
    ...(sync.retries > 0 ? [{ label: 'Pace', value: 'paced by Microsoft: the bot waited when asked; nothing was missed' }] : []),
    { label: 'Failures', value: sync.status === 'failed' ? (sync.error ?? 'yes') : 'none' },
    { label: 'Duration', value: took },
  ];
  const note = sync.status === 'succeeded'
    ? (notManageable > 0 ? 'Not manageable: listed in Partner Center, but the platform cannot manage them until a GDAP relationship with the needed roles reaches the service account. `status` shows the last sync.' : 'Every listed customer is manageable. `status` shows the last sync.')
    : sync.status === 'cancelled' ? 'What was synced before the cancel is kept. Type **sync** to start again.'
      : 'What was synced before the failure is kept. Type **sync** to try again; if it keeps failing, **support** can help.';
  return {
    title, subtitle: `${sync.trigger === 'nightly' ? 'Nightly sync' : 'Sync'} started ${sync.startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC.`,
    facts, linesTitle: notManageable ? 'Not manageable, by reason' : undefined, lines: reasonLines(sync), note, running: false,
  };
}

/** Microsoft's pacing, counted, as a sentence: for `status` (and the support card), not the progress card. */
function paced(sync: CustomerSync): string {
  return sync.retries > 0 ? ` Paced by Microsoft: ${plural(sync.retries, 'retry', 'retries')} when it asked the bot to wait.` : '';
}

/** One line for `status`: the phase and its count while it runs, the totals after. */
/** What a running sync is doing now, in its phase's own terms ("reading GDAP relationships: 300 so far"). */
export function syncDoing(sync: CustomerSync): string {
  return sync.phase === 'gdap' ? `reading GDAP relationships: ${n(sync.relationships)} so far`
    : sync.phase === 'customers' ? `reading customers: ${n(sync.seen)} so far (${plural(sync.relationships, 'GDAP relationship', 'GDAP relationships')} read)`
      : `finishing: ${plural(sync.seen, 'customer', 'customers')} read`;
}

export function syncStatusLine(sync: CustomerSync | undefined): string | undefined {
  if (!sync) return undefined;
  if (sync.status === 'running') {
    return `**Customer sync** running, ${syncDoing(sync)} (started ${sync.startedAt.toISOString().slice(11, 16)} UTC).${paced(sync)} Type **cancel sync** to stop it.`;
  }
  const when = (sync.finishedAt ?? sync.startedAt).toISOString().slice(0, 16).replace('T', ' ');
  const notManageable = Object.values(sync.notManageable).reduce((a, b) => a + b, 0);
  if (sync.status === 'succeeded') return `**Last customer sync** (${when} UTC): ${plural(sync.seen, 'customer', 'customers')}, ${n(sync.added)} new, ${n(sync.changed)} changed, ${n(sync.removed)} removed, ${n(notManageable)} not manageable.${paced(sync)}`;
  return `**Last customer sync** (${when} UTC) ${sync.status}${sync.error ? `: ${sync.error}` : ''}.${paced(sync)} Type **sync** to start one.`;
}
