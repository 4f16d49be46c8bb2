import type { SyncCardData } from '../cards/render';
import type { CustomerSync } from '../store/customer-syncs';
import { REASON_WORDS, type NotManageableReason } from './gdap';

const n = (x: number) => x.toLocaleString('en-US');

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

/**
 * The progress card while the sync runs: customers so far, pages, rate, ETA (from the last
 * successful sync's total, when there is one: Partner Center does not say how many there are),
 * retries. Pure: `now` is given.
 */
export function progressCardData(sync: CustomerSync, options: { now: Date; estimate?: number }): SyncCardData {
  if (sync.status !== 'running') {
    return {
      title: sync.status === 'succeeded' ? '✓ Customer sync finished: the summary is below' : `Customer sync ${sync.status}: the summary is below`,
      subtitle: `Started ${sync.startedAt.toISOString().slice(11, 16)} UTC.`,
      facts: [{ label: 'Customers synced', value: n(sync.seen) }, { label: 'Pages', value: `${n(sync.pages)} of customers, ${n(sync.gdapPages)} of GDAP relationships` }],
      running: false,
    };
  }
  const elapsed = options.now.getTime() - sync.startedAt.getTime();
  const rate = elapsed > 0 ? sync.seen / (elapsed / 1000) : 0;
  const left = options.estimate !== undefined ? Math.max(0, options.estimate - sync.seen) : undefined;
  const eta = sync.phase === 'gdap' ? 'after the GDAP relationships'
    : left !== undefined && rate > 0 ? `about ${duration((left / rate) * 1000)} (${n(options.estimate!)} customers last time)` : 'not known yet (first sync)';
  return {
    title: sync.phase === 'gdap' ? 'Customer sync: reading your GDAP relationships…' : 'Customer sync: reading your customers…',
    subtitle: `Started ${sync.startedAt.toISOString().slice(11, 16)} UTC${sync.trigger === 'nightly' ? ' (nightly sync)' : ''}. This card updates as it goes.`,
    facts: [
      { label: 'Customers synced', value: n(sync.seen) },
      { label: 'Pages', value: `${n(sync.pages)} of customers, ${n(sync.gdapPages)} of GDAP relationships (${n(sync.relationships)})` },
      { label: 'Rate', value: `${rate.toFixed(rate < 10 ? 1 : 0)} customers/s` },
      { label: 'ETA', value: eta },
      { label: 'Retries', value: sync.retries === 0 ? 'none' : `${n(sync.retries)} (Microsoft asked the bot to slow down or did not answer; it waited and went on)` },
    ],
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
    { label: 'Retries', value: n(sync.retries) },
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

/** One line for `status`. */
export function syncStatusLine(sync: CustomerSync | undefined): string | undefined {
  if (!sync) return undefined;
  if (sync.status === 'running') return `**Customer sync** running: ${n(sync.seen)} customers so far (started ${sync.startedAt.toISOString().slice(11, 16)} UTC). Type **cancel sync** to stop it.`;
  const when = (sync.finishedAt ?? sync.startedAt).toISOString().slice(0, 16).replace('T', ' ');
  const notManageable = Object.values(sync.notManageable).reduce((a, b) => a + b, 0);
  if (sync.status === 'succeeded') return `**Last customer sync** (${when} UTC): ${n(sync.seen)} customers, ${n(sync.added)} new, ${n(sync.changed)} changed, ${n(sync.removed)} removed, ${n(notManageable)} not manageable.`;
  return `**Last customer sync** (${when} UTC) ${sync.status}${sync.error ? `: ${sync.error}` : ''}. Type **sync** to start one.`;
}
