import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Activity, ConversationReference, TurnContext } from 'botbuilder';
import { conversationDefinitions, connectorServiceUrl, teamsConversation } from '../harness/activities';
import { BotUnderTest } from '../helpers/chat';
import { connectorOf } from '../simulator/services/connector';

type Call = (...args: unknown[]) => Promise<{ id?: string }>;
interface Conversations { sendToConversation: Call; replyToActivity: Call; updateActivity: Call }
interface Refusal { statusCode?: number; code?: string; message: string; response?: { headers: { get(name: string): string | undefined } } }

/**
 * The bot sends, replies to and updates activities as one JSON request through the connector
 * client's own pipeline (bot/adapter.ts, issue 29), not through core-client's serializer. Each call
 * is made both ways on the same client, the lean one and botbuilder's own (the prototype's method),
 * against the simulator's connector with bot tokens required: Teams must receive the same activity
 * at the same place, and a refusal must reach the caller with the same status, code, message and
 * Retry-After (the notifier and the retry rule read them).
 */
describe('bot: activity calls as JSON through the connector client\'s pipeline', function () {
  this.timeout(60_000);
  let bot: BotUnderTest;
  before(async () => { bot = await BotUnderTest.start({ teamsLimits: false, authenticated: true }); });
  after(async () => { await bot?.stop(); });

  /**
   * A channel thread (its id needs encoding in the path: `19:…@thread.tacv2;messageid=…`) and a
   * proactive turn in it, at the simulator's connector or at `serviceUrl`.
   */
  async function inThread<T>(fn: (calls: { lean: Conversations; stock: Conversations; conversationId: string }) => Promise<T>, serviceUrl = connectorServiceUrl(bot.sim.baseUrl)): Promise<T> {
    const tenantId = randomUUID();
    const conv = teamsConversation({ tenantId, scope: 'channel', serviceUrl });
    for (const def of conversationDefinitions(conv)) connectorOf(bot.sim).defineConversation(def);
    const reference: Partial<ConversationReference> = {
      channelId: 'msteams', serviceUrl: conv.serviceUrl, bot: { id: `28:${bot.botId}`, name: 'bot' },
      conversation: { id: conv.conversationId, conversationType: 'channel', tenantId, isGroup: true, name: '' },
    };
    // The adapter's onTurnError would take a failed assertion in the turn: it is carried out instead.
    let out: { value: T } | { error: unknown } | undefined;
    await bot.app.adapter.continueConversationAsync(bot.botId, reference, async (context: TurnContext) => {
      try {
        out = { value: await calls(context) };
      } catch (error) {
        out = { error };
      }
    });
    assert.ok(out, 'the turn ran');
    if ('error' in out) throw out.error;
    return out.value;

    async function calls(context: TurnContext): Promise<T> {
      const client = context.turnState.get<{ conversations: Conversations }>(context.adapter.ConnectorClientKey);
      const lean = client.conversations;
      const proto = Object.getPrototypeOf(lean) as Conversations;
      const stock: Conversations = {
        sendToConversation: (...a) => proto.sendToConversation.apply(lean, a),
        replyToActivity: (...a) => proto.replyToActivity.apply(lean, a),
        updateActivity: (...a) => proto.updateActivity.apply(lean, a),
      };
      assert.notEqual(lean.sendToConversation, proto.sendToConversation, 'the bot\'s client sends as JSON');
      return fn({ lean, stock, conversationId: conv.conversationId });
    }
  }

  const card = (n: number): Partial<Activity> => ({
    type: 'message', text: `Ünïcödé & <b>"quotes"</b> ${n}`, textFormat: 'markdown', summary: 'a card', locale: 'en-US',
    channelData: { notification: { alert: false } },
    entities: [{ type: 'mention', text: '<at>Sam</at>', mentioned: { id: '29:1abc', name: 'Sam' } }],
    attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', content: { type: 'AdaptiveCard', version: '1.5', body: [{ type: 'TextBlock', text: `Card ${n}`, wrap: true }], actions: [{ type: 'Action.Execute', title: 'Go', verb: 'go', data: { n, nested: { list: [1, 'two', null] } } }] } }],
  });
  /** What Teams recorded for an activity, without what differs by call (its id, time, reply target). */
  const received = (conversationId: string, id: string | undefined): Record<string, unknown> => {
    const entry = connectorOf(bot.sim).transcript(conversationId).get(id ?? '');
    assert.ok(entry, `activity ${id} is in the thread`);
    const { id: _id, timestamp: _t, localTimestamp: _l, replyToId: _r, ...rest } = entry.activity as unknown as Record<string, unknown>;
    return rest;
  };

  it('a send, a reply and an update: the same activity arrives at the same place as with botbuilder\'s serializer', async () => {
    await inThread(async ({ lean, stock, conversationId }) => {
      const sentLean = await lean.sendToConversation(conversationId, card(1));
      const sentStock = await stock.sendToConversation(conversationId, card(1));
      assert.ok(sentLean.id && sentStock.id, 'both answered with the new activity id');
      assert.deepEqual(received(conversationId, sentLean.id), received(conversationId, sentStock.id));

      const replyLean = await lean.replyToActivity(conversationId, sentLean.id, { ...card(2), replyToId: sentLean.id });
      const replyStock = await stock.replyToActivity(conversationId, sentStock.id, { ...card(2), replyToId: sentStock.id });
      assert.deepEqual(received(conversationId, replyLean.id), received(conversationId, replyStock.id));

      await lean.updateActivity(conversationId, sentLean.id, { ...card(3), id: sentLean.id });
      await stock.updateActivity(conversationId, sentStock.id, { ...card(3), id: sentStock.id });
      const updated = received(conversationId, sentLean.id);
      assert.deepEqual(updated, received(conversationId, sentStock.id));
      assert.match(JSON.stringify(updated), /Card 3/, 'the update replaced the card');
    });
  });

  it('a connector on plain http (the Agents Playground\'s local one): the same request, path and body, as botbuilder\'s', async () => {
    const seen: Array<{ method?: string; url?: string; type?: string; body: unknown }> = [];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, type: req.headers['content-type'], body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown });
        res.writeHead(req.method === 'PUT' ? 200 : 201, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id: `a${seen.length}` }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/_connector`;
      await inThread(async ({ lean, stock, conversationId }) => {
        assert.equal((await lean.replyToActivity(conversationId, 'root', card(1))).id, 'a1');
        assert.equal((await stock.replyToActivity(conversationId, 'root', card(1))).id, 'a2');
        await lean.updateActivity(conversationId, 'a1', { ...card(2), id: 'a1' });
        await stock.updateActivity(conversationId, 'a1', { ...card(2), id: 'a1' });
      }, url);
      assert.equal(seen.length, 4);
      for (const [lean, stock] of [[seen[0]!, seen[1]!], [seen[2]!, seen[3]!]] as const) {
        assert.deepEqual({ method: lean.method, url: lean.url, body: lean.body }, { method: stock.method, url: stock.url, body: stock.body });
        assert.match(lean.type ?? '', /^application\/json/);
      }
      assert.match(seen[0]!.url!, /^\/_connector\/v3\/conversations\/19%3A[^/]+%3Bmessageid%3D\d+\/activities\/root$/);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('a refusal: the same status, code, message and Retry-After as botbuilder\'s (429 Throttled, 403 MessageWritesBlocked, 404)', async () => {
    const connector = connectorOf(bot.sim);
    const refusal = async (call: () => Promise<unknown>): Promise<Refusal> => {
      try {
        await call();
      } catch (err) {
        return err as Refusal;
      }
      assert.fail('the call was not refused');
    };
    const same = (a: Refusal, b: Refusal, status: number) => {
      assert.equal(a.statusCode, status);
      assert.deepEqual(
        { statusCode: a.statusCode, code: a.code, message: a.message, retryAfter: a.response?.headers.get('retry-after') },
        { statusCode: b.statusCode, code: b.code, message: b.message, retryAfter: b.response?.headers.get('retry-after') },
      );
    };
    await inThread(async ({ lean, stock, conversationId }) => {
      const { id } = await lean.sendToConversation(conversationId, card(1));
      connector.refuseWith({ status: 429, retryAfterSeconds: 3600 }, [conversationId]);
      try {
        const throttled = await refusal(() => lean.updateActivity(conversationId, id, { ...card(2), id }));
        same(throttled, await refusal(() => stock.updateActivity(conversationId, id, { ...card(2), id })), 429);
        assert.equal(throttled.code, 'Throttled');
        assert.equal(throttled.response?.headers.get('retry-after'), '3600');
      } finally {
        connector.refuseWith(undefined);
      }
      same(await refusal(() => lean.updateActivity(conversationId, 'no-such-activity', card(2))), await refusal(() => stock.updateActivity(conversationId, 'no-such-activity', card(2))), 404);
      connector.uninstall(conversationId, 'MessageWritesBlocked');
      try {
        same(await refusal(() => lean.sendToConversation(conversationId, card(3))), await refusal(() => stock.sendToConversation(conversationId, card(3))), 403);
      } finally {
        connector.reinstall(conversationId);
      }
    });
  });
});
