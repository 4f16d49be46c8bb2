import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { createLogger } from '../../src/logger';
import type { Notice, NoticeRepository } from '../../src/store/notices';
import { Pacer } from '../../src/sync/pacer';
import type { Notifier } from '../../src/teams/notifier';
import { NoticeDispatcher, type NoticeDispatcherOptions } from '../../src/watch/dispatcher';
import { noticeActivity } from '../../src/watch/notices';
import { ConsentHarness, type TestPartner } from '../auth/consent-harness';
import { connectorOf, TEAMS_LIMITS } from '../simulator/services/connector';
import { noonInDays } from '../helpers/days';

/** The real notifier, watched: the most sends in flight at once, overall and to one conversation. */
function watched(real: Notifier) {
  const open = new Map<string, number>();
  let now = 0;
  const seen = { most: 0, mostToOne: 0 };
  const notifier: NoticeDispatcherOptions['notifier'] = {
    async deliver(tenantId, conversationId, activity) {
      now += 1;
      open.set(conversationId, (open.get(conversationId) ?? 0) + 1);
      seen.most = Math.max(seen.most, now);
      seen.mostToOne = Math.max(seen.mostToOne, open.get(conversationId)!);
      try {
        return await real.deliver(tenantId, conversationId, activity);
      } finally {
        now -= 1;
        open.set(conversationId, open.get(conversationId)! - 1);
      }
    },
  };
  return { notifier, seen };
}

/** The real outbox, counted: notices held by the dispatcher (claimed, not yet settled) at most, and claims made. */
function counted(real: NoticeRepository) {
  let held = 0;
  const seen = { mostHeld: 0, claims: 0 };
  const settled = () => { held -= 1; };
  const notices: NoticeDispatcherOptions['notices'] = {
    async claim(limit, leaseMs) {
      const page = await real.claim(limit, leaseMs);
      seen.claims += 1;
      held += page.length;
      seen.mostHeld = Math.max(seen.mostHeld, held);
      return page;
    },
    sent: (id) => real.sent(id).then(settled),
    later: (id, notBefore, error) => real.later(id, notBefore, error).then(settled),
    dead: (id, error) => real.dead(id, error).then(settled),
  };
  return { notices, seen };
}

/** Log lines as objects. */
function capturedLogger() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({ write(chunk: Buffer, _e, cb) { lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>); cb(); } });
  return { logger: createLogger({ level: 'info', destination }).logger, lines };
}

describe('watch: the pacer as the dispatcher uses it, several sends in flight (pure clock)', () => {
  it('429s for sends that left before the pace changed are old news: one slows it, the rest do not', () => {
    let t = 1_000;
    const pacer = new Pacer(() => t);
    void pacer.turn();
    for (let i = 0; i < 100; i++) { t += 10; pacer.ok(); }
    pacer.throttled(1_500);
    const gap = pacer.gapMs;
    assert.ok(gap > 0);
    for (const sentAt of [1_600, 1_700, 1_900]) pacer.throttled(sentAt);
    assert.equal(pacer.gapMs, gap, 'sent before the change');
    t += 100;
    pacer.throttled(t);
    assert.ok(pacer.gapMs > gap, 'sent after it: news');
  });

  it('maxSlowdown: one 429 slows the pace by that factor at most', () => {
    /** How much the second 429 slows the pace: 100 successes in a second, then one in the next. */
    const slowdown = (options?: { maxSlowdown: number }) => {
      let t = 1_000;
      const pacer = new Pacer(() => t, options);
      void pacer.turn();
      for (let i = 0; i < 100; i++) { t += 10; pacer.ok(); }
      pacer.throttled(t);
      const gap = pacer.gapMs;
      t += 1_000;
      pacer.ok();
      pacer.throttled(t);
      return Math.round((pacer.gapMs / gap) * 100) / 100;
    };
    assert.equal(slowdown(), 100, 'unbounded: the rate of the last second');
    assert.equal(slowdown({ maxSlowdown: 1.25 }), 1.25);
  });
});

describe('watch: the notices dispatcher (in-process bot, the simulator\'s connector)', function () {
  this.timeout(180_000);
  let h: ConsentHarness;
  before(async () => {
    h = await ConsentHarness.start('healthy');
    // The app's own drains (at start, every minute) would take these tests' notices.
    await h.app.engine.stop();
  });
  after(async () => { await h?.stop(); });
  afterEach(() => { connectorOf(h.sim).setLimits({ ...TEAMS_LIMITS }); });

  const silent = createLogger({ level: 'silent' }).logger;
  const keyNotice = (p: TestPartner, days = 7): Omit<Notice, 'id' | 'attempts'> => ({
    tenantId: p.tenant, item: 'pc-secret', itemKey: `pcK:${p.tenant}`, threshold: days, expiresAt: noonInDays(days), conversationId: p.conversationId,
  });
  const cards = async (p: TestPartner, pattern: RegExp) => (await p.chat.client.transcript()).map((e) => e.activity.text ?? '').filter((t) => pattern.test(t));
  const partners = async (n: number) => {
    const out: TestPartner[] = [];
    for (let i = 0; i < n; i++) out.push(await h.partner());
    return out;
  };

  it('a page goes out several sends at once, one at a time per conversation and in order there, within Teams\' limits per thread; no more than a page held', async () => {
    const busy = await h.partner();
    const many = await partners(16);
    // The connector counts every call in a thread (the welcome, its roster read): those leave the 1 s and 2 s windows first.
    const last = connectorOf(h.sim).requests.filter((r) => r.conversationId === busy.conversationId).at(-1)!;
    await delay(Math.max(0, Date.parse(last.at) + 2_000 - Date.now()));
    // Ten notices to one chat first (more than Teams takes in a thread in a second), then one to each of 16 others.
    await h.app.notices.record(Array.from({ length: 10 }, (_, i) => ({
      tenantId: busy.tenant, item: 'gdap' as const, itemKey: `rel-${i + 1}`, threshold: 14, expiresAt: noonInDays(13), conversationId: busy.conversationId, detail: `Customer ${i + 1}`,
    })));
    await h.app.notices.record(many.map((p) => keyNotice(p)));
    const sends = watched(h.app.notifier);
    const outbox = counted(h.app.notices);
    const d = new NoticeDispatcher({ notices: outbox.notices, notifier: sends.notifier, render: noticeActivity, logger: silent, concurrency: 8, pageSize: 12 });

    assert.equal(await d.drain(), 26);
    assert.ok(sends.seen.most > 1, 'several sends in flight at once');
    assert.ok(sends.seen.most <= 8, `at most 8 in flight, saw ${sends.seen.most}`);
    assert.equal(sends.seen.mostToOne, 1, 'never two at once to one conversation');
    assert.ok(outbox.seen.mostHeld <= 12, `at most a page held, saw ${outbox.seen.mostHeld}`);
    assert.ok(outbox.seen.claims >= 3, 'claimed a page at a time');
    assert.deepEqual((await cards(busy, /GDAP relationship/)).map((t) => /with (Customer \d+)/.exec(t)?.[1]), Array.from({ length: 10 }, (_, i) => `Customer ${i + 1}`));
    for (const p of many) assert.deepEqual(await cards(p, /Partner Center web app key/), [`**Your Partner Center web app key expires in 7 days** (${keyNotice(p).expiresAt.toISOString().slice(0, 10)}).`]);
    const throttled = connectorOf(h.sim).requests.filter((r) => r.conversationId === busy.conversationId && r.status === 429);
    assert.equal(throttled.length, 0, 'ten to one thread without a 429: the published limits per thread were kept');
    assert.deepEqual(await h.app.notices.counts(busy.tenant), { pending: 0, sent: 10, dead: 0 });
  });

  it('a limit per app binds (429s): the pace is learnt from them and every notice still arrives once', async () => {
    const some = await partners(12);
    await h.app.notices.record(some.map((p) => keyNotice(p, 3)));
    const connector = connectorOf(h.sim);
    connector.setLimits({ perAppGlobal: [{ limit: 5, windowMs: 1_000 }] });
    const mark = connector.requests.length;
    const { logger, lines } = capturedLogger();
    const d = new NoticeDispatcher({ notices: h.app.notices, notifier: h.app.notifier, render: noticeActivity, logger, concurrency: 4 });

    assert.equal(await d.drain(), 12);
    for (const p of some) assert.equal((await cards(p, /Partner Center web app key/)).length, 1);
    assert.ok(connector.requests.slice(mark).some((r) => r.status === 429), 'the limit bound');
    const drained = lines.find((l) => l.msg === 'notices drained');
    assert.equal(drained?.sent, 12);
    assert.ok(Number(drained?.paceMs) > 0, `a pace was learnt: ${JSON.stringify(drained)}`);
  });

  it('a send the connector refuses waits and goes again later (backoff); at the eighth attempt the notice is dead', async () => {
    const [p] = await partners(1);
    await h.app.notices.record([keyNotice(p!)]);
    // Too big for this connector: 413 MessageSizeTooBig, not a 403/404 (gone), not retried.
    connectorOf(h.sim).setLimits({ maxActivityBytes: 100 });
    const d = new NoticeDispatcher({ notices: h.app.notices, notifier: h.app.notifier, render: noticeActivity, logger: silent });

    assert.equal(await d.drain(), 0);
    const [row] = await h.app.db.query<{ status: string; attempts: number; not_before: Date; claimed_until: Date | null; error: string }>(
      'SELECT status, attempts, not_before, claimed_until, error FROM notices WHERE tenant_id = $1', [p!.tenant]);
    assert.deepEqual([row!.status, row!.attempts, row!.claimed_until, row!.error], ['pending', 1, null, 'not delivered']);
    assert.ok(new Date(row!.not_before).getTime() > Date.now() + 60_000, 'tried again after a backoff');
    assert.equal(await d.drain(), 0, 'not due yet');
    assert.deepEqual(await h.app.notices.counts(p!.tenant), { pending: 1, sent: 0, dead: 0 });

    await h.app.db.query('UPDATE notices SET attempts = 7, not_before = now() WHERE tenant_id = $1', [p!.tenant]);
    assert.equal(await d.drain(), 0);
    const [dead] = await h.app.db.query<{ status: string; error: string }>('SELECT status, error FROM notices WHERE tenant_id = $1', [p!.tenant]);
    assert.deepEqual(dead, { status: 'dead', error: 'not delivered after 8 attempts' });
    assert.deepEqual(await cards(p!, /Partner Center web app key/), []);
  });

  it('stop(): no send starts after it; those in flight end and are marked, the claimed rest goes back to the outbox at once', async () => {
    const some = await partners(12);
    await h.app.notices.record(some.map((p) => keyNotice(p, 1)));
    const connector = connectorOf(h.sim);
    connector.setLimits({ perAppGlobal: [{ limit: 2, windowMs: 1_000 }] });
    const d = new NoticeDispatcher({ notices: h.app.notices, notifier: h.app.notifier, render: noticeActivity, logger: silent, concurrency: 2 });
    const arrived = () => some.filter((p) => connector.transcript(p.conversationId).entries.some((e) => /web app key/.test(e.text ?? ''))).length;

    const draining = d.drain();
    await connector.waitFor(() => arrived() >= 2, { timeoutMs: 30_000 });
    await d.stop();
    const sent = await draining;
    assert.ok(sent >= 2 && sent < 12, `stopped mid-way: ${sent} sent`);
    assert.equal(arrived(), sent, 'what arrived is what the outbox marked sent');
    const rows = await h.app.db.query<{ status: string; claimed_until: Date | null }>(
      'SELECT status, claimed_until FROM notices WHERE tenant_id = ANY($1::text[])', [some.map((p) => p.tenant)]);
    assert.equal(rows.filter((r) => r.status === 'sent').length, sent);
    assert.deepEqual(rows.filter((r) => r.status === 'pending').map((r) => r.claimed_until), Array(12 - sent).fill(null), 'released, not left to their lease');
    assert.equal(await d.drain(), 0, 'a stopped dispatcher sends nothing');
  });
});
