import assert from 'node:assert/strict';
import { renderSyncCard } from '../../src/cards/render';
import type { CustomerSync } from '../../src/store/customer-syncs';
import { Messages } from '../../src/onboarding/messages';
import { progressCardData, summaryCardData, syncDoing, syncStatusLine } from '../../src/sync/progress';
import { cardText } from '../helpers/chat';

const T0 = new Date('2026-03-02T10:00:00Z');
const at = (s: number) => new Date(T0.getTime() + s * 1000);

function sync(over: Partial<CustomerSync>): CustomerSync {
  return {
    id: '1', tenantId: 't', trigger: 'chat', requestedBy: 'u', status: 'running', phase: 'gdap', step: 0, nextLink: null,
    pages: 0, gdapPages: 0, relationships: 0, seen: 0, added: 0, changed: 0, removed: 0, notManageable: {}, retries: 0,
    startedAt: T0, phaseStartedAt: T0, ...over,
  };
}

/** The card's facts as label → value, and its whole text as Teams would show it. */
function card(s: CustomerSync, options: Parameters<typeof progressCardData>[1]) {
  const data = progressCardData(s, options);
  const text = cardText(renderSyncCard(data).content as Record<string, unknown>);
  return { title: data.title, facts: Object.fromEntries(data.facts.map((f) => [f.label, f.value])), text };
}

const LAST = { customers: 20_000, relationships: 18_000 };

describe('the sync progress card, in words', () => {
  describe('GDAP phase: relationships read so far, their rate, an honest ETA', () => {
    const rows: Array<{ name: string; s: Partial<CustomerSync>; now: number; last?: typeof LAST; read: RegExp; rate: RegExp; eta: RegExp }> = [
      { name: 'just started, first sync', s: { relationships: 0 }, now: 1, read: /^0 so far$/, rate: /after the first page/, eta: /no total from Microsoft/ },
      { name: 'first sync: a count, no total', s: { relationships: 1_200, gdapPages: 4 }, now: 20, read: /^1,200 so far$/, rate: /^60 relationships\/s$/, eta: /no total from Microsoft: it does not say how many there are/ },
      { name: 'with a last sync: of about its total', s: { relationships: 1_200, gdapPages: 4 }, now: 20, last: LAST, read: /^1,200 of about 18,000 \(the last sync's total\)$/, rate: /^60 relationships\/s$/, eta: /^about 4 min 40 s$/ },
      { name: 'more than last time', s: { relationships: 18_300 }, now: 300, last: LAST, read: /^18,300 \(18,000 at the last sync\)$/, rate: /^61 relationships\/s$/, eta: /any moment/ },
    ];
    for (const r of rows) {
      it(r.name, () => {
        const c = card(sync(r.s), { now: at(r.now), estimate: r.last });
        assert.match(c.title, /^Customer sync: reading your GDAP relationships \(step 1 of 2\)/);
        assert.match(c.facts['GDAP relationships read']!, r.read);
        assert.match(c.facts['Rate']!, r.rate);
        assert.match(c.facts['ETA for this step']!, r.eta);
        assert.match(c.facts['Customers']!, /next, from Partner Center/);
        assert.doesNotMatch(c.text, /Pages|of GDAP relationships|Customers synced/);
      });
    }
  });

  describe('customers phase: customers read so far of the last sync\'s total, the rate since the phase began', () => {
    // The phase began at 60 s: 1,000 customers in the 20 s since is 50/s (over the whole sync it would be 12.5/s).
    const base: Partial<CustomerSync> = { phase: 'customers', phaseStartedAt: at(60), relationships: 18_000, gdapPages: 60, seen: 1_000, pages: 2 };
    const rows: Array<{ name: string; s: Partial<CustomerSync>; now: number; last?: typeof LAST; read: RegExp; rate: RegExp; eta: RegExp }> = [
      { name: 'first sync', s: base, now: 80, read: /^1,000 so far$/, rate: /^50 customers\/s$/, eta: /no total from Microsoft: Partner Center does not say how many there are/ },
      { name: 'with a last sync', s: base, now: 80, last: LAST, read: /^1,000 of about 20,000 \(the last sync's total\)$/, rate: /^50 customers\/s$/, eta: /^about 6 min 20 s$/ },
      { name: 'fast: thousands a second, written as a person reads them', s: { ...base, seen: 30_000 }, now: 80, read: /^30,000 so far$/, rate: /^1,500 customers\/s$/, eta: /no total from Microsoft/ },
      { name: 'the phase just began', s: { ...base, seen: 0, pages: 0 }, now: 60.5, last: LAST, read: /^0 of about 20,000/, rate: /after the first page/, eta: /after the first page/ },
    ];
    for (const r of rows) {
      it(r.name, () => {
        const c = card(sync(r.s), { now: at(r.now), estimate: r.last });
        assert.match(c.title, /^Customer sync: reading your customers \(step 2 of 2\)/);
        assert.match(c.facts['Customers read']!, r.read);
        assert.match(c.facts['Rate']!, r.rate);
        assert.match(c.facts['ETA for this step']!, r.eta);
        assert.equal(c.facts['GDAP relationships']!, '18,000 read');
        assert.doesNotMatch(c.text, /Pages|Customers synced/);
      });
    }
  });

  it('throttled: "paced by Microsoft", never a retry count on the card', () => {
    for (const phase of ['gdap', 'customers'] as const) {
      const c = card(sync({ phase, relationships: 6_000, seen: phase === 'customers' ? 500 : 0, retries: 589 }), { now: at(100), estimate: LAST });
      assert.match(c.facts['Pace']!, /^paced by Microsoft/);
      assert.doesNotMatch(c.text, /589|Retries|retr/i);
    }
    assert.equal(card(sync({ relationships: 300 }), { now: at(5) }).facts['Pace'], undefined, 'no pace line when Microsoft never asked to wait');
  });

  it('done: the card\'s final state and the summary keep the totals, with no retry count', () => {
    const done = sync({
      status: 'succeeded', phase: 'done', relationships: 18_000, gdapPages: 60, seen: 20_000, pages: 40, added: 20_000, retries: 589,
      notManageable: { none: 2_000 }, phaseStartedAt: at(53), finishedAt: at(62),
    });
    const final = card(done, { now: at(62) });
    assert.match(final.title, /Customer sync finished: the summary is below/);
    assert.equal(final.facts['Customers synced'], '20,000');
    assert.equal(final.facts['GDAP relationships read'], '18,000');
    assert.doesNotMatch(final.text, /Pages|589|Retries|of GDAP relationships/);
    const summary = summaryCardData(done);
    const facts = Object.fromEntries(summary.facts.map((f) => [f.label, f.value]));
    assert.equal(facts['Customers'], '20,000');
    assert.equal(facts['New'], '20,000');
    assert.equal(facts['Manageable'], '18,000');
    assert.equal(facts['Not manageable'], '2,000');
    assert.equal(facts['GDAP relationships read'], '18,000');
    assert.equal(facts['Duration'], '1 min 2 s');
    assert.match(facts['Pace']!, /^paced by Microsoft/);
    assert.doesNotMatch(cardText(renderSyncCard(summary).content as Record<string, unknown>), /589|Retries/);
  });

  it('`status` keeps the retries count and says the phase while it runs', () => {
    assert.match(syncStatusLine(sync({ relationships: 1_200, retries: 589 }))!, /reading GDAP relationships: 1,200 so far.*589 retries/);
    assert.match(syncStatusLine(sync({ phase: 'customers', relationships: 18_000, seen: 3_000, retries: 7 }))!, /reading customers: 3,000 so far.*7 retries/);
    const done = syncStatusLine(sync({ status: 'succeeded', phase: 'done', seen: 20_000, relationships: 18_000, retries: 589, finishedAt: at(62) }))!;
    assert.match(done, /20,000 customers/);
    assert.match(done, /589 retries/);
    assert.doesNotMatch(syncStatusLine(sync({ status: 'succeeded', phase: 'done', seen: 25, finishedAt: at(2) }))!, /retr/, 'no retries, no words about them');
  });
});

describe('the chat lines about a running sync, in its phase\'s terms', () => {
  it('"sync" while one runs says what the running sync is reading, not "0 customers so far" during the GDAP phase', () => {
    const gdap = sync({ relationships: 1_200 });
    assert.equal(Messages.syncAlreadyRunning('10:00', syncDoing(gdap), false),
      'A customer sync is already running (started 10:00 UTC, reading GDAP relationships: 1,200 so far). I\'ll post the summary when it ends.');
    assert.match(Messages.syncWaiting(syncDoing(sync({ phase: 'customers', relationships: 3_600, seen: 250 }))),
      /^The customer sync is running \(reading customers: 250 so far \(3,600 GDAP relationships read\)\)/);
  });
});
