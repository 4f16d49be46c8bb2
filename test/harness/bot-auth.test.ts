import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { ActivityTypes } from 'botbuilder';
import restify from 'restify';
import { createAdapter } from '../../src/bot/adapter';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/logger';
import { BotUnderTest } from '../helpers/chat';
import { SIM_BOT_APP_ID, SIM_BOT_SECRET, SIM_BOT_TENANT_ID } from '../simulator/scenarios/ids';
import { startSimulator, type Simulator } from '../simulator/server';
import { connectorOf } from '../simulator/services/connector';
import { BotClient, channelToken, requireBotAuth } from './bot-client';

const TENANT = 'a0a0a0a0-1111-4111-8111-000000000001';
const ADELE = { aadObjectId: 'eddfa9d4-346e-4cce-a18f-fa6261ad776b', name: 'Adele Vance', userPrincipalName: 'adele@contosopartner.onmicrosoft.com' };

/**
 * The authenticated channel, both ways, with the project's own adapter (src/bot/adapter.ts)
 * pointed at the simulator through configuration: Teams → bot activities carry a channel token the
 * simulated Bot Framework signs (its key in its OpenID metadata); bot → connector calls carry a
 * token Entra ID issued to the bot (SingleTenant client credentials).
 */
describe('Authenticated Bot Framework channel', function () {
  this.timeout(30_000);
  let sim: Simulator;
  let server: restify.Server;
  let endpoint: string;

  before(async () => {
    sim = await startSimulator({ randomThrottling: false });
    await requireBotAuth(sim.baseUrl, true);
    const config = loadConfig({
      BOT_ID: SIM_BOT_APP_ID, BOT_PASSWORD: SIM_BOT_SECRET, BOT_TENANT_ID: SIM_BOT_TENANT_ID, BOT_TYPE: 'SingleTenant',
      BOT_LOGIN_URL: `${sim.baseUrl}/${SIM_BOT_TENANT_ID}`,
      BOT_OPENID_METADATA_URL: `${sim.baseUrl}/botframework/v1/.well-known/openidconfiguration`,
      ALLOW_UNAUTHENTICATED: 'false',
      DATA_DIR: '.data/bot-auth-test',
    });
    const { logger } = createLogger({ level: 'silent' });
    const adapter = createAdapter(config, logger);
    server = restify.createServer();
    server.use(restify.plugins.bodyParser({ mapParams: false }));
    server.post('/api/messages', async (req, res) => {
      await adapter.process(req, res, async (ctx) => {
        if (ctx.activity.type === ActivityTypes.Message) await ctx.sendActivity(`echo: ${ctx.activity.text}`);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/messages`;
  });
  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await sim.stop();
  });

  const client = (options: { signFor?: string; headers?: () => Promise<Record<string, string>> } = {}): BotClient =>
    new BotClient({ endpoint, simulatorUrl: sim.baseUrl, conversation: { tenantId: TENANT, user: ADELE }, ...options });

  it('serves a signed activity, and the reply reaches the connector with a verified bot token', async () => {
    const turn = await client({ signFor: SIM_BOT_APP_ID }).say('hello', { count: 1 });
    assert.equal(turn.status, 200);
    assert.deepEqual(turn.texts, ['echo: hello']);
    assert.equal(turn.activities[0]!.auth.verified, true);
    assert.equal(turn.activities[0]!.auth.appId, SIM_BOT_APP_ID);
    const paths = sim.requests.map((r) => r.path);
    assert.ok(paths.includes('/botframework/v1/.well-known/keys'), 'the bot read the channel signing keys');
    assert.ok(paths.includes(`/${SIM_BOT_TENANT_ID}/oauth2/v2.0/token`), 'the bot got its token from its own tenant');
  });

  const refused: Array<[string, (serviceUrl: string) => Promise<Record<string, string>>]> = [
    ['unsigned', async () => ({})],
    ['expired', async (serviceUrl) => ({ authorization: `Bearer ${await channelToken(sim.baseUrl, { audience: SIM_BOT_APP_ID, serviceUrl, lifetimeSeconds: -900 })}` })],
    ['for another bot (audience)', async (serviceUrl) => ({ authorization: `Bearer ${await channelToken(sim.baseUrl, { audience: 'b0b0b0b0-4444-4444-8444-0000000000ff', serviceUrl })}` })],
    ['for another serviceUrl', async () => ({ authorization: `Bearer ${await channelToken(sim.baseUrl, { audience: SIM_BOT_APP_ID, serviceUrl: 'https://smba.trafficmanager.net/amer/' })}` })],
    ['signed by Entra ID instead of the Bot Framework', async () => ({
      authorization: `Bearer ${sim.signer.sign({ iss: 'https://api.botframework.com', aud: SIM_BOT_APP_ID, serviceurl: `${sim.baseUrl}/connector/`, exp: Math.floor(Date.now() / 1000) + 600 })}`,
    })],
  ];
  for (const [what, headers] of refused) {
    it(`answers 401 to an activity ${what}`, async () => {
      const probe: BotClient = client({ headers: () => headers(probe.conversation.serviceUrl) });
      const refusedTurn = await probe.say('let me in', { quietMs: 100 });
      assert.equal(refusedTurn.status, 401);
      assert.deepEqual(refusedTurn.texts, []);
    });
  }

  it('the connector refuses calls without a bot token for https://api.botframework.com', async () => {
    const url = `${sim.baseUrl}/connector/v3/conversations/${encodeURIComponent('a:1none')}/activities`;
    const body = JSON.stringify({ type: 'message', text: 'sneaky' });
    const none = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    assert.equal(none.status, 401);
    assert.deepEqual(await none.json(), { message: 'Authorization has been denied for this request.' });
    const graphToken = sim.signer.sign({ aud: 'https://graph.microsoft.com', appid: SIM_BOT_APP_ID, exp: Math.floor(sim.now() / 1000) + 600 });
    const wrongAudience = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${graphToken}` }, body });
    assert.equal(wrongAudience.status, 401);
    assert.ok(connectorOf(sim).requests.slice(-2).every((r) => r.status === 401 && !r.auth.verified));
  });
});

describe('The real bot, authenticated against the simulator (BotUnderTest)', function () {
  this.timeout(60_000);
  let bot: BotUnderTest;
  before(async () => { bot = await BotUnderTest.start({ authenticated: true, teamsLimits: false }); });
  after(() => bot.stop());

  it('welcomes on install and answers help, every activity signed and every reply carrying a bot token', async () => {
    const chat = bot.chat({ tenantId: TENANT, user: { name: 'Megan Bowen', aadObjectId: randomUUID() } });
    const welcome = await chat.install();
    assert.equal(welcome.status, 200);
    assert.equal(welcome.activities.length, 1);
    const help = await chat.say('help', 1);
    assert.equal(help.status, 200);
    const entries = await chat.client.transcript();
    assert.ok(entries.length >= 2);
    assert.ok(entries.every((e) => e.auth.verified && e.auth.appId === SIM_BOT_APP_ID), 'a reply without a valid bot token');

    const unsigned = new BotClient({ endpoint: `${bot.url}/api/messages`, simulatorUrl: bot.sim.baseUrl, conversation: { tenantId: TENANT, user: ADELE } });
    assert.equal((await unsigned.say('help', { quietMs: 100 })).status, 401);
  });
});
