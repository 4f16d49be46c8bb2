import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { createApp, type App } from '../../src/app';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/logger';
import { Messages } from '../../src/onboarding/messages';
import { SupportRepository, type SupportCase } from '../../src/store/support';
import { ConsentHarness, type TestPartner } from '../auth/consent-harness';
import { BotClient } from '../harness/bot-client';
import { cardText } from '../helpers/chat';
import { announcePostgresSkip, ownSchema, TEST_DATABASE_URL } from '../helpers/databases';
import { connectorOf } from '../simulator/services/connector';
import { onboardedPartner } from '../sync/sync-harness';

const ENGINEER = { aadObjectId: randomUUID(), name: 'Sam Support' };
const SECOND_ENGINEER = { aadObjectId: randomUUID(), name: 'Rae Support' };
const OPERATOR_TENANT = randomUUID();
const TEAM = { id: `19:${randomBytes(16).toString('hex')}@thread.tacv2`, name: 'Partner Support' };
const CHANNEL = { id: `19:${randomBytes(16).toString('hex')}@thread.tacv2`, name: 'Escalations' };

interface OutboxRow { item: string; item_key: string; conversation_id: string; status: string; detail: string | null }

/**
 * Claim and Resolve tell the partner through the notices outbox: the click answers from one
 * database transaction (the case's change and one outbox row per partner chat), and the
 * dispatcher sends the rows, once, whatever Teams does meanwhile and across a restart.
 * The simulator's connector plays a slow Teams (answerAfter) and a refusing one (refuseWith) for
 * the partner's chat only, so the support thread itself answers at once. On PostgreSQL a second
 * instance drains the same outbox at the same time.
 */
for (const engine of TEST_DATABASE_URL ? ['PGlite', 'PostgreSQL'] as const : ['PGlite'] as const) describe(`support messages through the notices outbox (simulator, in-process bot, ${engine})`, function () {
  this.timeout(180_000);
  let h: ConsentHarness;
  let schema: Awaited<ReturnType<typeof ownSchema>> | undefined;
  let other: App | undefined;
  const inChannel = (user: typeof ENGINEER, conversationId?: string) => new BotClient({
    endpoint: `${h.url}/api/messages`, simulatorUrl: h.sim.baseUrl, quietMs: 150,
    conversation: { tenantId: OPERATOR_TENANT, scope: 'channel', user, team: TEAM, channel: CHANNEL, ...(conversationId ? { conversationId } : {}) },
  });
  const click = async (who: typeof ENGINEER, verb: 'claim' | 'resolve', c: SupportCase): Promise<string> => {
    const body = (await inChannel(who, c.threadId).execute({ verb: `support.${verb}`, data: {} }, { replyToId: c.cardActivityId! })).body as { statusCode: number; value: Record<string, unknown> };
    assert.equal(body.statusCode, 200, JSON.stringify(body));
    return cardText(body.value);
  };
  /** How often the partner's chat got `text`. */
  const told = async (p: TestPartner, text: string) => (await p.chat.client.transcript()).filter((e) => e.activity.text === text).length;
  const outbox = (p: TestPartner) => h.app.db.query<OutboxRow>(
    "SELECT item, item_key, conversation_id, status, detail FROM notices WHERE tenant_id = $1 AND item LIKE 'support-%' ORDER BY id", [p.tenant]);
  /** A partner with an open case in the support channel. */
  const escalated = async (): Promise<{ p: TestPartner; c: SupportCase }> => {
    const p = await onboardedPartner(h);
    assert.deepEqual((await p.chat.say('support', 1)).texts, [Messages.supportOpened]);
    return { p, c: (await new SupportRepository(h.app.db).get(p.tenant))! };
  };

  before(async () => {
    if (engine === 'PGlite') announcePostgresSkip();
    schema = engine === 'PostgreSQL' ? await ownSchema(TEST_DATABASE_URL!, 'support_outbox') : undefined;
    h = await ConsentHarness.start('healthy', { env: { SUPPORT_ENGINEERS: `${ENGINEER.aadObjectId},${SECOND_ENGINEER.aadObjectId}`, ...(schema ? { DATABASE_URL: schema.url } : {}) } });
    assert.deepEqual((await inChannel(ENGINEER).say('set support channel')).texts, [Messages.supportChannelSet('This channel')]);
  });
  after(async () => {
    await other?.stop();
    await h?.stop();
    await schema?.drop();
  });
  /** Every instance's dispatcher drains at once (PostgreSQL: this one and another on the same database). */
  const drainEverywhere = async () => {
    if (schema && !other) {
      const { logger, redactor } = createLogger({ level: 'silent' });
      other = await createApp(loadConfig(h.env), logger, redactor, { keepAliveIntervalMs: 0, followUpIntervalMs: 0 });
    }
    await Promise.all([h.app.dispatcher.drain(), other?.dispatcher.drain()]);
  };
  afterEach(() => {
    connectorOf(h.sim).answerAfter(0);
    connectorOf(h.sim).refuseWith(undefined);
  });

  it('a slow Teams: Claim answers with the claimed card before the partner is told; the dispatcher tells the chat once', async () => {
    const { p, c } = await escalated();
    const claimed = Messages.supportClaimed(ENGINEER.name);
    connectorOf(h.sim).answerAfter(5_000, [p.conversationId]);

    assert.match(await click(ENGINEER, 'claim', c), /Claimed by Sam Support/);
    // The answer came from the database: the partner's chat (5 s to answer) has not been told yet,
    // and the telling waits in the outbox, one row for the one chat, keyed by the case's version.
    assert.equal(await told(p, claimed), 0, 'the click did not wait for the partner\'s chat');
    const version = (await new SupportRepository(h.app.db).get(p.tenant))!.version;
    assert.deepEqual((await outbox(p)).map((r) => [r.item, r.item_key, r.conversation_id, r.detail]), [['support-claimed', `v${version}`, p.conversationId, ENGINEER.name]]);

    // Too late: the second engineer's click changes nothing and records nothing.
    assert.match(await click(SECOND_ENGINEER, 'claim', c), /Already claimed by Sam Support\./);
    assert.equal((await outbox(p)).length, 1);

    await drainEverywhere();
    assert.equal(await told(p, claimed), 1);
    assert.deepEqual((await outbox(p)).map((r) => r.status), ['sent']);
    // The posted card is updated for everyone, after the answer.
    await h.app.support.settled();
    const card = (await inChannel(ENGINEER).transcript(c.threadId!)).find((e) => e.id === c.cardActivityId)!;
    assert.match(cardText(card.activity.attachments![0]!.content as Record<string, unknown>), /Claimed by Sam Support/);

    await h.app.dispatcher.drain();
    assert.equal(await told(p, claimed), 1, 'a second drain sends nothing again');
  });

  it('Teams refusing at the click, the bot restarted before the send: Resolve answers, and the partner is told once after the restart', async () => {
    const { p, c } = await escalated();
    const resolved = Messages.supportResolved(ENGINEER.name);
    // A Retry-After over the connector cap: the send is given back at once, to be tried again later.
    connectorOf(h.sim).refuseWith({ status: 429, retryAfterSeconds: 3600 }, [p.conversationId]);

    assert.match(await click(ENGINEER, 'resolve', c), /Resolved by Sam Support/);
    await h.app.dispatcher.drain();
    assert.equal(await told(p, resolved), 0);
    assert.deepEqual((await outbox(p)).map((r) => [r.item, r.status]), [['support-resolved', 'pending']], 'kept in the outbox to go again');

    connectorOf(h.sim).refuseWith(undefined);
    await h.restart();
    // The outbox's back-off (minutes) has passed.
    await h.app.db.query("UPDATE notices SET not_before = now() WHERE tenant_id = $1 AND status = 'pending'", [p.tenant]);
    await drainEverywhere();
    assert.equal(await told(p, resolved), 1);
    assert.deepEqual((await outbox(p)).map((r) => r.status), ['sent']);
    await h.app.dispatcher.drain();
    assert.equal(await told(p, resolved), 1, 'once');
  });
});
