import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { spreadOffsetMinutes } from '../../src/jobs/customer-sync-jobs';
import { ConsentHarness, type TestPartner } from '../auth/consent-harness';
import { cardText } from '../helpers/chat';
import { customerRows, onboardedPartner, syncFinished } from './sync-harness';

const finished = (h: ConsentHarness, id: string, timeoutMs?: number) => syncFinished(h.app.syncs, id, timeoutMs);

describe('customer sync (simulator, job engine on PGlite)', function () {
  this.timeout(300_000);
  let h: ConsentHarness;
  before(async () => { h = await ConsentHarness.start('healthy', { env: { SYNC_SPREAD_MINUTES: '0' } }); });
  after(async () => { await h?.stop(); });

  async function onboarded(scenario: string): Promise<TestPartner> {
    await h.loadScenario(scenario);
    return onboardedPartner(h);
  }

  it('nightly: every onboarded partner gets a sync, started at its offset in the window (here 0), silently', async () => {
    const p = await onboarded('healthy');
    const other = await h.partner(); // started, never onboarded: no nightly sync
    const partners = await h.app.syncJobs.nightly();
    assert.equal(partners, 1);
    let sync = await h.app.syncs.latest(p.tenant);
    for (let i = 0; i < 100 && !sync; i++) { await delay(100); sync = await h.app.syncs.latest(p.tenant); }
    assert.ok(sync, 'the start job ran');
    const done = await finished(h, sync.id);
    assert.equal(done.trigger, 'nightly');
    assert.equal(done.status, 'succeeded');
    assert.equal(await h.app.syncs.latest(other.tenant), undefined);
    const said = (await p.chat.client.transcript()).filter((e) => JSON.stringify(e.activity.attachments ?? []).includes('Customer sync'));
    assert.deepEqual(said, [], 'a nightly sync that succeeds posts nothing');
  });

  it('spreads nightly starts by a hash of the tenant: stable, inside the window', () => {
    const offsets = Array.from({ length: 200 }, (_, i) => spreadOffsetMinutes(`tenant-${i}`, 120));
    assert.ok(offsets.every((m) => m >= 0 && m < 120));
    assert.equal(spreadOffsetMinutes('tenant-1', 120), spreadOffsetMinutes('tenant-1', 120));
    assert.ok(new Set(offsets).size > 60, 'spread, not bunched');
    assert.equal(spreadOffsetMinutes('tenant-1', 0), 0);
  });

  it('healthy: `sync` posts a progress card, every customer lands once with its GDAP verdict, the summary follows', async () => {
    const p = await onboarded('healthy');
    const turn = await p.chat.say('sync', 1);
    const progress = turn.activities[0]!;
    assert.match(cardText(progress.activity.attachments![0]!.content as Record<string, unknown>), /Customer sync/);
    const running = (await h.app.syncs.running(p.tenant))!;
    const sync = await finished(h, running.id);
    assert.equal(sync.status, 'succeeded', sync.error);
    assert.equal(sync.seen, 25);
    assert.deepEqual(await h.app.syncs.counts(p.tenant), { listed: 25, manageable: 23, removed: 0 });
    assert.deepEqual(sync.notManageable, { none: 2 });
    // The progress card ends in its final state, in place; the summary follows as its own card.
    let transcript = await p.chat.client.transcript();
    for (let i = 0; i < 50 && !transcript.some((e) => e.activity.text?.includes('Your customers are in')); i++) {
      await delay(100);
      transcript = await p.chat.client.transcript();
    }
    const card = transcript.find((e) => e.id === progress.id)!;
    assert.match(cardText(card.activity.attachments![0]!.content as Record<string, unknown>), /Customer sync finished: the summary is below/);
    const summary = transcript.map((e) => cardText(e.activity.attachments?.[0]?.content as Record<string, unknown>)).find((t) => t.includes('Customer sync done'));
    assert.ok(summary, 'a summary card');
    assert.match(summary, /Customers\n25/);
    assert.match(summary, /2: no GDAP relationship/);
    assert.match(transcript.map((e) => e.activity.text ?? '').join('\n'), /Your customers are in/);
  });

  it('gdap-mixed: listed but not manageable, each with its reason (none, expired, terminated, missing roles, no access, pending); a second sync marks nothing new', async () => {
    const p = await onboarded('gdap-mixed');
    const { sync } = await h.app.syncJobs.service.start(p.tenant, 'chat', p.person.aadObjectId, p.conversationId);
    const done = await finished(h, sync.id);
    assert.equal(done.status, 'succeeded', done.error);
    const rows = await h.app.db.query<{ customer_tenant_id: string; manageable: boolean; not_manageable_reason: string | null; gdap_relationship_ids: string[] }>(
      'SELECT customer_tenant_id, manageable, not_manageable_reason, gdap_relationship_ids FROM customers WHERE tenant_id = $1 ORDER BY customer_tenant_id', [p.tenant]);
    const byIndex = new Map(rows.map((r) => [parseInt(r.customer_tenant_id.slice(-12), 16), r]));
    assert.deepEqual([...Array(7).keys()].map((i) => byIndex.get(i)?.not_manageable_reason ?? 'manageable'),
      ['manageable', 'expired', 'terminated', 'none', 'missing-roles', 'no-access', 'pending']);
    assert.deepEqual(byIndex.get(1)!.gdap_relationship_ids.sort(), ['b0b0b0b0-7777-4777-8777-000000000010', 'b0b0b0b0-7777-4777-8777-000000000011'], 'both relationship ids kept');
    assert.deepEqual(done.notManageable, { expired: 1, terminated: 1, none: 1, 'missing-roles': 1, 'no-access': 1, pending: 1 });
    const again = await finished(h, (await h.app.syncJobs.service.start(p.tenant, 'chat', p.person.aadObjectId, p.conversationId)).sync.id);
    assert.deepEqual([again.seen, again.added, again.changed, again.removed], [7, 0, 0, 0]);
  });

  it('reconcile: a customer gone from Partner Center is marked removed (not deleted); back again, it is changed, not new', async () => {
    const p = await onboarded('healthy');
    const first = await finished(h, (await h.app.syncJobs.service.start(p.tenant, 'chat', p.person.aadObjectId, p.conversationId)).sync.id);
    assert.equal(first.added, 25);
    const partnerTenant = h.sim.scenario.tenants[0]!;
    partnerTenant.customers.count = 23;
    const second = await finished(h, (await h.app.syncJobs.service.start(p.tenant, 'chat', p.person.aadObjectId, p.conversationId)).sync.id);
    assert.deepEqual([second.seen, second.added, second.removed], [23, 0, 2]);
    assert.deepEqual(await h.app.syncs.counts(p.tenant), { listed: 23, manageable: 21, removed: 2 });
    partnerTenant.customers.count = 25;
    const third = await finished(h, (await h.app.syncJobs.service.start(p.tenant, 'chat', p.person.aadObjectId, p.conversationId)).sync.id);
    assert.deepEqual([third.seen, third.added, third.changed, third.removed], [25, 0, 2, 0]);
  });

  it('one sync per partner: a second start attaches; cancel stops it cleanly and keeps what was synced', async () => {
    const p = await onboarded('healthy');
    const [a, b] = await Promise.all([
      h.app.syncJobs.service.start(p.tenant, 'chat', p.person.aadObjectId, p.conversationId),
      h.app.syncJobs.service.start(p.tenant, 'nightly', 'system'),
    ]);
    assert.equal(a.sync.id, b.sync.id);
    assert.equal([a.created, b.created].filter(Boolean).length, 1);
    assert.ok(await h.app.syncJobs.service.cancel(p.tenant));
    const done = await finished(h, a.sync.id);
    assert.equal(done.status, 'cancelled');
    assert.equal(await h.app.syncJobs.service.cancel(p.tenant), undefined, 'nothing running any more');
  });

  it('large: 20,000 customers with throttling on: the database holds each exactly once; a second sync changes nothing and removes none', async () => {
    const p = await onboarded('large');
    const t0 = Date.now();
    const { sync } = await h.app.syncJobs.service.start(p.tenant, 'chat', p.person.aadObjectId, p.conversationId);
    const done = await finished(h, sync.id, 280_000);
    const ms = Date.now() - t0;
    assert.equal(done.status, 'succeeded', done.error);
    assert.deepEqual(await customerRows(h.app.db, p.tenant), { rows: 20_000, distinct: 20_000 });
    assert.equal(done.seen, 20_000);
    assert.equal(done.added, 20_000);
    assert.deepEqual(done.notManageable, { none: 2_000 }, 'every 10th customer is reseller-only');
    console.log(`      20,000 customers in ${(ms / 1000).toFixed(1)} s (${done.pages} pages, ${done.gdapPages} GDAP pages, ${done.relationships} relationships, ${done.retries} retries)`);
  });
});
