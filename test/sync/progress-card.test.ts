import assert from 'node:assert/strict';
import { ConsentHarness } from '../auth/consent-harness';
import { cardText } from '../helpers/chat';
import { onboardedPartner, syncFinished } from './sync-harness';

describe('the sync progress card over a sync (simulator, job engine on PGlite)', function () {
  this.timeout(300_000);
  let h: ConsentHarness;
  before(async () => { h = await ConsentHarness.start('healthy', { env: { SYNC_SPREAD_MINUTES: '0', SYNC_PAGE_SIZE: '100' } }); });
  after(async () => { await h?.stop(); });

  it('large (cut to 4,000 customers, Graph throttling): each version of the card says its phase and what that phase has read; no retry count; `status` keeps it', async () => {
    await h.loadScenario('large');
    // 3,600 GDAP relationships are 12 Graph pages: the card is updated after the first, still in the GDAP phase.
    h.sim.scenario.tenants[0]!.customers.count = 4_000;
    const p = await onboardedPartner(h);
    h.sim.scenario.throttling.graph.every = 40;
    const turn = await p.chat.say('sync', 1);
    const progressId = turn.activities[0]!.id;
    const done = await syncFinished(h.app.syncs, (await h.app.syncs.latest(p.tenant))!.id, 280_000);
    assert.equal(done.status, 'succeeded', done.error);
    assert.equal(done.relationships, 3_600);
    assert.ok(done.retries > 0, 'Microsoft asked the bot to wait');
    const entry = await p.chat.client.waitFor((all) => {
      const e = all.find((x) => x.id === progressId);
      return e && /summary is below/.test(cardText(e.activity.attachments?.[0]?.content as Record<string, unknown>)) && e;
    }, { timeoutMs: 30_000 });
    const versions = [entry.original, ...entry.updates.map((u) => u.activity)].map((a) => cardText(a.attachments?.[0]?.content as Record<string, unknown>));
    const gdap = versions.filter((t) => /reading your GDAP relationships \(step 1 of 2\)/.test(t));
    const counts = gdap.map((t) => Number(/GDAP relationships read\n([\d,]+)/.exec(t)?.[1]?.replace(/,/g, '') ?? NaN));
    assert.ok(counts.some((n) => n > 0), `a GDAP-phase version counts relationships read: ${gdap.join(' | ')}`);
    assert.ok(counts.every((n, i) => i === 0 || n >= counts[i - 1]!), `counts only grow: ${counts.join(', ')}`);
    for (const t of versions) assert.doesNotMatch(t, /Retries|Pages|of GDAP relationships/, t);
    console.log(`      ${versions.length} versions of the card, ${gdap.length} in the GDAP phase (relationships read: ${counts.join(', ')}), ${done.retries} retries`);
    const final = versions.at(-1)!;
    assert.match(final, /Customers synced\n4,000/);
    assert.match(final, /GDAP relationships read\n3,600/);
    const status = await p.chat.say('status', 1);
    assert.match(status.texts.join('\n'), new RegExp(`4,000 customers.*${done.retries.toLocaleString('en-US')} retr`));

    // The next sync estimates each phase from this one's totals.
    const again = await p.chat.say('sync', 1);
    const second = await syncFinished(h.app.syncs, (await h.app.syncs.latest(p.tenant))!.id, 280_000);
    assert.equal(second.status, 'succeeded', second.error);
    const entry2 = await p.chat.client.waitFor((all) => {
      const e = all.find((x) => x.id === again.activities[0]!.id);
      return e && /summary is below/.test(cardText(e.activity.attachments?.[0]?.content as Record<string, unknown>)) && e;
    }, { timeoutMs: 30_000 });
    const versions2 = [entry2.original, ...entry2.updates.map((u) => u.activity)].map((a) => cardText(a.attachments?.[0]?.content as Record<string, unknown>));
    assert.match(versions2[0]!, /GDAP relationships read\n0 of about 3,600 \(the last sync's total\)/);
    assert.match(versions2[0]!, /Customers\nnext, from Partner Center \(4,000 at the last sync\)/);
    assert.ok(versions2.some((t) => /GDAP relationships read\n[\d,]+ of about 3,600[^]*ETA for this step\nabout \d/.test(t)), `an ETA for the GDAP phase: ${versions2.join(' | ')}`);
  });
});
