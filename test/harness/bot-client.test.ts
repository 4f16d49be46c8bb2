import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import {
  CardFactory,
  CloudAdapter,
  ConfigurationBotFrameworkAuthentication,
  MessageFactory,
  TeamsActivityHandler,
  TeamsInfo,
  TurnContext,
  type AdaptiveCardInvokeResponse,
  type AdaptiveCardInvokeValue,
  type ChannelAccount,
} from 'botbuilder';
import restify from 'restify';
import { startSimulator, type Simulator } from '../simulator/server';
import { connectorOf } from '../simulator/services/connector';
import { adaptiveCardsOf } from './activities';
import { BotClient, setConnectorLimits } from './bot-client';

const TENANT = '11111111-1111-1111-1111-111111111111';
const ADELE = { aadObjectId: 'eddfa9d4-346e-4cce-a18f-fa6261ad776b', name: 'Adele Vance', userPrincipalName: 'adele@contosopartner.onmicrosoft.com' };

const statusCard = (state: string): Record<string, unknown> => ({
  type: 'AdaptiveCard', version: '1.5',
  body: [{ type: 'TextBlock', text: `Case: ${state}` }],
  actions: [{ type: 'Action.Execute', title: 'Claim', verb: 'claim', data: { caseId: 'c1' } }],
});

/** Just enough bot to exercise the harness: echo, roster lookup, cards, a proactive follow-up. */
class HarnessBot extends TeamsActivityHandler {
  constructor(private readonly adapter: CloudAdapter) {
    super();
    this.onMessage(async (ctx, next) => {
      const text = TurnContext.removeRecipientMention(ctx.activity)?.trim() ?? '';
      if (ctx.activity.value) {
        await ctx.sendActivity(`Submitted ${JSON.stringify(ctx.activity.value)}`);
      } else if (text === 'whoami') {
        const me = await TeamsInfo.getMember(ctx, ctx.activity.from.id);
        await ctx.sendActivity(`You are ${me.name} (${me.userPrincipalName})`);
      } else if (text === 'card') {
        await ctx.sendActivity(MessageFactory.attachment(CardFactory.adaptiveCard(statusCard('open'))));
      } else if (text === 'later') {
        await ctx.sendActivity('Working on it…');
        const ref = TurnContext.getConversationReference(ctx.activity);
        // After the turn: the HTTP response has gone, the message arrives on its own.
        setTimeout(() => {
          void this.adapter.continueConversationAsync('', ref, async (c) => { await c.sendActivity('Done, later.'); });
        }, 300);
      } else if (text === 'three') {
        for (const n of ['one', 'two', 'three']) await ctx.sendActivity(n);
      } else {
        await ctx.sendActivity(`You said: ${text}`);
      }
      await next();
    });
    this.onMembersAdded(async (ctx, next) => {
      const added: ChannelAccount[] = ctx.activity.membersAdded ?? [];
      if (added.some((m) => m.id === ctx.activity.recipient.id)) await ctx.sendActivity('Welcome!');
      await next();
    });
  }

  protected override async onAdaptiveCardInvoke(ctx: TurnContext, invoke: AdaptiveCardInvokeValue): Promise<AdaptiveCardInvokeResponse> {
    const card = statusCard(`claimed by ${ctx.activity.from.name}`);
    if (ctx.activity.replyToId) {
      await ctx.updateActivity({ ...MessageFactory.attachment(CardFactory.adaptiveCard(card)), id: ctx.activity.replyToId });
    }
    assert.equal(invoke.action.verb, 'claim');
    return { statusCode: 200, type: 'application/vnd.microsoft.card.adaptive', value: card };
  }
}

describe('BotClient against a botbuilder bot over HTTP', () => {
  let sim: Simulator;
  let server: restify.Server;
  let endpoint: string;
  const turnErrors: Array<Error & { statusCode?: number }> = [];

  before(async () => {
    sim = await startSimulator();
    const adapter = new CloudAdapter(new ConfigurationBotFrameworkAuthentication({}));
    adapter.onTurnError = async (_ctx, err) => { turnErrors.push(err); };
    const bot = new HarnessBot(adapter);
    server = restify.createServer();
    server.use(restify.plugins.bodyParser({ mapParams: false }));
    server.post('/api/messages', async (req, res) => { await adapter.process(req, res, (ctx) => bot.run(ctx)); });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/messages`;
  });
  // Fresh connector state (transcripts, rate windows) per test: every client here is Adele's 1:1 chat.
  beforeEach(async () => { await sim.loadScenario('healthy'); });
  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await sim.stop();
  });

  const client = (conversation: Partial<ConstructorParameters<typeof BotClient>[0]['conversation']> = {}): BotClient =>
    new BotClient({ endpoint, simulatorUrl: sim.baseUrl, conversation: { tenantId: TENANT, user: ADELE, ...conversation } });

  it('say() returns what the bot replied, read from the connector transcript', async () => {
    const turn = await client().say('hello');
    assert.equal(turn.status, 200);
    assert.deepEqual(turn.texts, ['You said: hello']);
    assert.equal(turn.activities[0]?.replyToId !== undefined, true, 'a reply to the user message');
  });

  it('install() sends installationUpdate and conversationUpdate; the welcome comes back', async () => {
    const turn = await client().install();
    assert.deepEqual(turn.texts, ['Welcome!']);
  });

  it('registers the conversation and its user, so TeamsInfo.getMember works inside the bot', async () => {
    const turn = await client().say('whoami');
    assert.deepEqual(turn.texts, ['You are Adele Vance (adele@contosopartner.onmicrosoft.com)']);
  });

  it('submit() and execute() carry card data; the invoke response is the HTTP body; the card update is reported', async () => {
    const c = client();
    const [card] = (await c.say('card', { count: 1 })).activities;
    assert.ok(card);
    assert.equal(adaptiveCardsOf(card.activity).length, 1);

    const submitted = await c.submit({ action: 'save', company: 'Contoso' }, card.id);
    assert.deepEqual(submitted.texts, ['Submitted {"action":"save","company":"Contoso"}']);

    const executed = await c.execute({ verb: 'claim', data: { caseId: 'c1' } }, { replyToId: card.id });
    assert.equal(executed.status, 200);
    assert.deepEqual(executed.body, { statusCode: 200, type: 'application/vnd.microsoft.card.adaptive', value: statusCard('claimed by Adele Vance') });
    assert.deepEqual(executed.updated.map((e) => e.id), [card.id]);
    assert.deepEqual(adaptiveCardsOf(executed.updated[0]!.activity), [statusCard('claimed by Adele Vance')]);
  });

  it('waitFor() sees a message the bot sends after its turn, without polling sleeps', async () => {
    const c = client();
    const turn = await c.say('later');
    assert.deepEqual(turn.texts, ['Working on it…']);
    const done = await c.waitFor((entries) => entries.find((e) => e.text === 'Done, later.'), { timeoutMs: 5000 });
    assert.equal(done.text, 'Done, later.');
  });

  it('count: returns once N activities arrived, and fails naming what did arrive', async () => {
    const c = client();
    assert.deepEqual((await c.say('three', { count: 3 })).texts, ['one', 'two', 'three']);
    await assert.rejects(c.say('hello', { count: 2, timeoutMs: 600 }), /expected 2 activities .* got 1: message "You said: hello"/);
  });

  it('uninstall() blocks the bot\'s writes and tells it; the connector answers 403 from then on', async () => {
    const c = client();
    await c.say('hello');
    const removed = await c.uninstall();
    assert.equal(removed.status, 200);
    turnErrors.length = 0;
    const refused = await c.say('hello again');
    assert.deepEqual(refused.texts, []);
    assert.equal(turnErrors[0]?.statusCode, 403);
    assert.match(turnErrors[0]?.message ?? '', /MessageWritesBlocked/);
    assert.equal(connectorOf(sim).requests.at(-1)?.code, 'MessageWritesBlocked');
  });

  it('setConnectorLimits() switches the rate limits off for a burst', async () => {
    const c = client();
    await setConnectorLimits(sim.baseUrl, { enabled: false });
    for (let i = 0; i < 3; i++) assert.deepEqual((await c.say('three', { count: 3 })).texts, ['one', 'two', 'three']);
    assert.ok(connectorOf(sim).requests.every((r) => r.status === 201));
  });

  it('group chats and channels: the message @mentions the bot and the reply lands in that conversation', async () => {
    const group = client({ scope: 'groupChat', chatName: 'Onboarding' });
    assert.deepEqual((await group.say('hi team')).texts, ['You said: hi team']);
    const channel = client({ scope: 'channel', team: { name: 'Partner Support' } });
    assert.deepEqual((await channel.say('hi channel')).texts, ['You said: hi channel']);
    assert.match(channel.conversation.conversationId, /^19:[0-9a-f]{32}@thread\.tacv2;messageid=\d+$/);
    assert.equal((await channel.transcript()).length, 1);
    assert.deepEqual((await channel.say('whoami')).texts, ['You are Adele Vance (adele@contosopartner.onmicrosoft.com)'], 'TeamsInfo asks the team roster');
    const install = await channel.install();
    assert.deepEqual(install.texts, ['Welcome!']);
    assert.equal(install.activities[0]?.conversationId, channel.conversation.channel?.id, 'install events arrive on the channel, not the thread');
    assert.deepEqual(connectorOf(sim).requests.filter((r) => r.status >= 400), []);
  });
});
