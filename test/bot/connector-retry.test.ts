import assert from 'node:assert/strict';
import { createLogger } from '../../src/logger';
import type { Notice } from '../../src/store/notices';
import { NoticeDispatcher } from '../../src/watch/dispatcher';
import { noticeActivity } from '../../src/watch/notices';
import { ConsentHarness, type TestPartner } from '../auth/consent-harness';
import { connectorOf, TEAMS_LIMITS } from '../simulator/services/connector';

const DAY = 86_400_000;
/** One call per thread an hour: the next call in a thread that has had one answers 429 + Retry-After of about 3600 s. */
const HOURLY = { perThread: [{ limit: 1, windowMs: 3_600_000 }] };

/**
 * The Bot Framework connector client retries nothing itself: a 429 with Retry-After: 3600 gives a
 * proactive send back to the outbox at once and ends a turn in seconds, never an hour's wait.
 * (botbuilder's client came with core-rest-pipeline's default retry policy, which waits any
 * Retry-After out; these tests time out on it.)
 */
describe('bot: connector calls retried within a cap only (the simulator\'s connector, 429 + Retry-After: 3600)', function () {
  this.timeout(90_000);
  let h: ConsentHarness;
  before(async () => {
    h = await ConsentHarness.start('healthy');
    // The app's own drains would take this test's notice.
    await h.app.engine.stop();
  });
  after(async () => { await h?.stop(); });
  afterEach(() => { connectorOf(h.sim).setLimits({ ...TEAMS_LIMITS }); });

  const silent = createLogger({ level: 'silent' }).logger;
  const callsSince = (p: TestPartner, mark: number) => connectorOf(h.sim).requests.slice(mark).filter((r) => r.conversationId === p.conversationId);
  const keyNotice = (p: TestPartner): Omit<Notice, 'id' | 'attempts'> => ({
    tenantId: p.tenant, item: 'pc-secret', itemKey: `pcK:${p.tenant}`, threshold: 7, expiresAt: new Date(Date.now() + 7 * DAY - 3_600_000), conversationId: p.conversationId,
  });
  const noticesIn = async (p: TestPartner) => (await p.chat.client.transcript()).filter((e) => /Partner Center web app key/.test(e.text ?? '')).length;

  it('a proactive send: given back to the outbox after one call, then sent once when the connector takes sends again', async () => {
    const p = await h.partner();
    await h.app.notices.record([keyNotice(p)]);
    const connector = connectorOf(h.sim);
    connector.setLimits(HOURLY);
    const mark = connector.requests.length;
    const d = new NoticeDispatcher({ notices: h.app.notices, notifier: h.app.notifier, render: noticeActivity, logger: silent });

    assert.equal(await d.drain(), 0, 'not sent');
    const refused = callsSince(p, mark);
    assert.deepEqual(refused.map((r) => r.status), [429], 'one call: nothing waited the hour out or tried again');
    assert.ok(refused[0]!.retryAfterSeconds! > 3_000, `Retry-After ${refused[0]!.retryAfterSeconds}`);
    const [row] = await h.app.db.query<{ status: string; attempts: number; claimed_until: Date | null }>(
      'SELECT status, attempts, claimed_until FROM notices WHERE tenant_id = $1', [p.tenant]);
    assert.deepEqual(row, { status: 'pending', attempts: 1, claimed_until: null }, 'back in the outbox, its lease given up');

    connector.setLimits({ ...TEAMS_LIMITS });
    await h.app.db.query('UPDATE notices SET not_before = now() WHERE tenant_id = $1', [p.tenant]);
    assert.equal(await d.drain(), 1);
    assert.equal(await noticesIn(p), 1, 'the notice arrived once');
    assert.deepEqual(await h.app.notices.counts(p.tenant), { pending: 0, sent: 1, dead: 0 });
  });

  it('an in-turn reply: the turn ends after one refused call per send (no hour\'s wait), and the next reply arrives once when the connector takes sends again', async () => {
    const p = await h.partner();
    const connector = connectorOf(h.sim);
    connector.setLimits(HOURLY);
    const mark = connector.requests.length;

    const refused = await p.chat.say('help');
    assert.equal(refused.status, 200);
    assert.deepEqual(refused.activities, []);
    const calls = callsSince(p, mark);
    assert.ok(calls.length >= 1 && calls.every((r) => r.status === 429), `only refused calls: ${JSON.stringify(calls.map((r) => r.status))}`);
    // The reply, and the turn's apology at most: each tried once.
    assert.ok(calls.length <= 2, `${calls.length} calls`);

    connector.setLimits({ ...TEAMS_LIMITS });
    const answered = await p.chat.say('help');
    assert.equal(answered.activities.length, 1, `one reply: ${JSON.stringify(answered.texts)}`);
    assert.ok(!answered.texts.some((t) => /something went wrong/.test(t)), 'not the failed turn\'s apology');
  });

  it('an in-turn reply throttled for a few seconds is sent after the Retry-After, once, and the turn does not fail', async () => {
    const p = await h.partner();
    const connector = connectorOf(h.sim);
    // The partner's first turn has just called the connector in this thread: the next call within 5 s is refused.
    connector.setLimits({ perThread: [{ limit: 1, windowMs: 5_000 }] });
    const mark = connector.requests.length;

    const turn = await p.chat.say('help');
    const calls = callsSince(p, mark);
    assert.ok(calls.some((r) => r.status === 429 && r.retryAfterSeconds! <= 5), `a 429 in the turn: ${JSON.stringify(calls.map((r) => [r.status, r.retryAfterSeconds]))}`);
    assert.equal(turn.activities.length, 1, `one reply: ${JSON.stringify(turn.texts)}`);
    assert.equal(calls.filter((r) => r.status === 201).length, 1);
    assert.ok(!turn.texts.some((t) => /something went wrong/.test(t)), 'not the failed turn\'s apology');
  });

  it('one connector client for every turn on a service URL: built (its retry policy replaced) once, not per turn', async () => {
    const clients: unknown[] = [];
    h.app.adapter.use(async (context, next) => {
      clients.push(context.turnState.get(context.adapter.ConnectorClientKey));
      await next();
    });
    const [a, b] = [await h.partner(), await h.partner()];
    for (const p of [a, b, a]) assert.equal((await p.chat.say('help')).activities.length, 1);
    assert.ok(clients.length >= 3 && clients.every((c) => c !== undefined), `${clients.length} turns seen`);
    assert.equal(new Set(clients).size, 1, 'the same client in every turn, across conversations');
  });
});
