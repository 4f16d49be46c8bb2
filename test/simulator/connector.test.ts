import assert from 'node:assert/strict';
import {
  CloudAdapter,
  ConfigurationBotFrameworkAuthentication,
  MessageFactory,
  TeamsInfo,
  type ConversationParameters,
  type ConversationReference,
  type TurnContext,
} from 'botbuilder';
import { ConnectorClient, MicrosoftAppCredentials } from 'botframework-connector';
import { startSimulator, type Simulator } from './server';
import { connectorOf, type BotConnector, type TranscriptEntry } from './services/connector';

const TENANT = '11111111-1111-1111-1111-111111111111';
const PERSONAL = 'a:1Xq9fMhRkW8zq1n-EXAMPLE_personal';
const THREAD = '19:0b7f32667e064dd9b25d7969801541f4@thread.tacv2;messageid=1700000000000';
const TEAM = '19:zFLSDFWsesfzcmKArqKJ-65aOXJz@sgf462H2wz41@thread.tacv2';
const USER = { id: '29:1ljv6N86roXr5pjPrCJVIz6xHh5QxjI', name: 'Adele Vance', aadObjectId: 'eddfa9d4-346e-4cce-a18f-fa6261ad776b', userPrincipalName: 'adele@contosopartner.onmicrosoft.com' };

/** A JWT-looking bearer with an `appid` claim (the connector reads it for per-app limits, unverified). */
function fakeToken(appid: string): string {
  const part = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part({ appid, aud: 'https://api.botframework.com' })}.sig`;
}

describe('Bot Connector simulator', () => {
  let sim: Simulator;
  let connector: BotConnector;
  let serviceUrl: string;
  /** botbuilder with no app id: no token is fetched, nothing is sent to login.microsoftonline.com. */
  let adapter: CloudAdapter;

  before(async () => {
    sim = await startSimulator();
    connector = connectorOf(sim);
    serviceUrl = `${sim.baseUrl}/connector/`;
    adapter = new CloudAdapter(new ConfigurationBotFrameworkAuthentication({}));
  });
  after(async () => { await sim.stop(); });
  beforeEach(async () => { await sim.loadScenario('healthy'); });

  const reference = (conversationId: string): Partial<ConversationReference> => ({
    channelId: 'msteams',
    serviceUrl,
    conversation: { id: conversationId, conversationType: 'personal', tenantId: TENANT, isGroup: false, name: '' },
    bot: { id: '28:bot', name: 'Bot' },
    user: { id: USER.id, name: USER.name },
  });

  const continueIn = (conversationId: string, logic: (ctx: TurnContext) => Promise<void>): Promise<void> =>
    adapter.continueConversationAsync('', reference(conversationId), logic);

  it('takes ConnectorClient calls with or without the trailing slash and decodes Teams conversation ids', async () => {
    for (const baseUri of [serviceUrl, serviceUrl.replace(/\/$/, '')]) {
      const client = new ConnectorClient(MicrosoftAppCredentials.Empty, { baseUri });
      for (const id of [PERSONAL, THREAD]) {
        const res = await client.conversations.sendToConversation(id, MessageFactory.text(`to ${id} via ${baseUri}`));
        assert.match(res.id ?? '', /^\d{13,}$/, 'Teams-style activity id');
      }
    }
    for (const id of [PERSONAL, THREAD]) {
      const entries = connector.transcript(id).entries;
      assert.equal(entries.length, 2);
      assert.ok(entries.every((e) => e.conversationId === id && e.text?.startsWith(`to ${id}`)));
      assert.deepEqual(entries[0]!.auth, { present: false, verified: false });
    }
  });

  it('records a send, an in-place update and a delete from a CloudAdapter without app id', async () => {
    let sentId = '';
    let replyId = '';
    await continueIn(PERSONAL, async (ctx) => {
      sentId = (await ctx.sendActivity('Checking your tenant…'))?.id ?? '';
      await ctx.updateActivity({ ...MessageFactory.text('All 12 checks passed'), id: sentId });
      replyId = (await ctx.sendActivity(MessageFactory.text('temporary')))?.id ?? '';
      await ctx.deleteActivity(replyId);
    });
    const t = connector.transcript(PERSONAL);
    assert.deepEqual(t.entries.map((e) => [e.text, e.deleted]), [['All 12 checks passed', false], ['temporary', true]]);
    const sent = t.get(sentId)!;
    assert.equal(sent.original.text, 'Checking your tenant…');
    assert.deepEqual(sent.updates.map((u) => u.activity.text), ['All 12 checks passed']);
    assert.deepEqual(t.events.map((e) => e.kind), ['posted', 'updated', 'posted', 'deleted']);
    assert.equal(t.visible().length, 1);
    // A continuation activity has an id, so botbuilder sends proactive messages as replies to it.
    assert.deepEqual(connector.requests.map((r) => `${r.op} ${r.status}`), ['reply 201', 'update 200', 'reply 201', 'delete 200']);
  });

  it('treats a send with replyToId as a reply and keeps attachments', async () => {
    const client = new ConnectorClient(MicrosoftAppCredentials.Empty, { baseUri: serviceUrl });
    const card = { contentType: 'application/vnd.microsoft.card.adaptive', content: { type: 'AdaptiveCard', version: '1.5', body: [] } };
    await client.conversations.replyToActivity(THREAD, '1700000000000', { ...MessageFactory.attachment(card), replyToId: '1700000000000' });
    const [entry] = connector.transcript(THREAD).entries as TranscriptEntry[];
    assert.equal(entry?.via, 'reply');
    assert.equal(entry?.replyToId, '1700000000000');
    assert.deepEqual(entry?.attachments, [card]);
  });

  it('answers 404 ActivityNotFound when updating an activity it never saw', async () => {
    const client = new ConnectorClient(MicrosoftAppCredentials.Empty, { baseUri: serviceUrl });
    await assert.rejects(
      client.conversations.updateActivity(PERSONAL, '123', MessageFactory.text('x')),
      (err: { statusCode?: number; code?: string }) => err.statusCode === 404 && err.code === 'ActivityNotFound',
    );
  });

  it('lets TeamsInfo.getMember see the members a test defined (1:1 by id or AAD object id; team roster)', async () => {
    connector.defineConversation({ id: PERSONAL, tenantId: TENANT, conversationType: 'personal', members: [USER] });
    let byId: Awaited<ReturnType<typeof TeamsInfo.getMember>> | undefined;
    let byAad: typeof byId;
    await continueIn(PERSONAL, async (ctx) => {
      byId = await TeamsInfo.getMember(ctx, USER.id);
      byAad = await TeamsInfo.getMember(ctx, USER.aadObjectId);
    });
    assert.equal(byId?.name, 'Adele Vance');
    assert.equal(byId?.aadObjectId, USER.aadObjectId);
    assert.equal(byId?.userPrincipalName, USER.userPrincipalName);
    assert.equal(byId?.tenantId, TENANT);
    assert.equal(byAad?.id, USER.id);

    // In a team, TeamsInfo asks v3/conversations/{teamId}/members/{userId}.
    connector.defineConversation({ id: THREAD, tenantId: TENANT, conversationType: 'channel', teamId: TEAM, teamName: 'Support', members: [USER] });
    const client = new ConnectorClient(MicrosoftAppCredentials.Empty, { baseUri: serviceUrl });
    const member = await client.conversations.getConversationMember(TEAM, USER.aadObjectId);
    assert.equal(member.name, 'Adele Vance');
    await assert.rejects(
      client.conversations.getConversationMember(TEAM, '29:someone-else'),
      (err: { statusCode?: number; code?: string }) => err.statusCode === 404 && err.code === 'MemberNotFoundInConversation',
    );
    const res = await fetch(`${serviceUrl}v3/teams/${encodeURIComponent(TEAM)}/conversations`);
    assert.deepEqual(await res.json(), { conversations: [{ id: THREAD.split(';')[0] }] });
  });

  it('creates (or reuses) the 1:1 conversation and posts its first activity', async () => {
    connector.defineConversation({ id: PERSONAL, tenantId: TENANT, conversationType: 'personal', members: [USER] });
    const params = {
      isGroup: false,
      bot: { id: '28:bot', name: 'Bot' },
      members: [{ id: USER.aadObjectId, name: '' }],
      tenantId: TENANT,
      channelData: { tenant: { id: TENANT } },
      activity: MessageFactory.text('Your client secret expires in 14 days.'),
    } as unknown as ConversationParameters;
    let seen = '';
    await adapter.createConversationAsync('', 'msteams', serviceUrl, '', params, async (ctx) => {
      seen = ctx.activity.conversation.id;
      await ctx.sendActivity('A follow-up in the same chat');
    });
    assert.equal(seen, PERSONAL, 'the existing 1:1 chat with that user');
    assert.deepEqual(connector.transcript(PERSONAL).entries.map((e) => [e.via, e.text]), [
      ['createConversation', 'Your client secret expires in 14 days.'],
      ['reply', 'A follow-up in the same chat'],
    ]);

    const client = new ConnectorClient(MicrosoftAppCredentials.Empty, { baseUri: serviceUrl });
    await assert.rejects(
      client.conversations.createConversation({ isGroup: false, bot: { id: '28:bot', name: 'Bot' }, members: [{ id: USER.id, name: '' }] } as unknown as ConversationParameters),
      (err: { statusCode?: number; code?: string }) => err.statusCode === 400 && err.code === 'BadArgument',
      'Teams needs the tenant id to create a 1:1 conversation',
    );
  });

  it('starts a new channel thread and names it channel;messageid=<root activity id>', async () => {
    const channel = THREAD.split(';')[0]!;
    const client = new ConnectorClient(MicrosoftAppCredentials.Empty, { baseUri: serviceUrl });
    const res = await client.conversations.createConversation({
      isGroup: true,
      channelData: { channel: { id: channel } },
      activity: MessageFactory.text('Escalation: Contoso Partner'),
    } as unknown as ConversationParameters);
    assert.equal(res.id, `${channel};messageid=${res.activityId}`);
    assert.equal(connector.transcript(res.id).entries[0]?.text, 'Escalation: Contoso Partner');
  });

  it('throttles a thread at 7 sends per second with 429 Throttled and an integer Retry-After', async () => {
    const url = `${serviceUrl}v3/conversations/${encodeURIComponent(THREAD)}/activities`;
    const post = (): Promise<Response> => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: 'message', text: 'x' }) });
    for (let i = 0; i < 7; i++) assert.equal((await post()).status, 201);
    const limited = await post();
    assert.equal(limited.status, 429);
    assert.equal(limited.headers.get('retry-after'), '1');
    assert.deepEqual(await limited.json(), { error: { code: 'Throttled', message: 'Too many requests. Retry after 1 seconds.' } });
    sim.advanceClock(1000);
    assert.equal((await post()).status, 201, 'the 1 s window has moved on (8 per 2 s still allows it)');
    assert.equal((await post()).status, 429, '8 per 2 s');
    assert.equal(connector.transcript(THREAD).entries.length, 8, 'refused sends are not in the transcript');
  });

  it('computes Retry-After from the sliding window: 60 per 30 s', async () => {
    const url = `${serviceUrl}v3/conversations/${encodeURIComponent(PERSONAL)}/activities`;
    const post = (): Promise<Response> => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: 'message', text: 'x' }) });
    for (let i = 0; i < 60; i++) {
      assert.equal((await post()).status, 201, `send ${i}`);
      sim.advanceClock(300); // 3.3/s: under 7/1 s and 8/2 s
    }
    const limited = await post();
    assert.equal(limited.status, 429);
    // The first send leaves the 30 s window 30 s after it was made; 60 × 300 ms have passed.
    assert.equal(limited.headers.get('retry-after'), '12');
  });

  it('limits an app to 50 calls per second across conversations, keyed by the token appid', async () => {
    const post = (conversation: string, appid: string): Promise<Response> =>
      fetch(`${serviceUrl}v3/conversations/${encodeURIComponent(conversation)}/activities`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${fakeToken(appid)}` },
        body: JSON.stringify({ type: 'message', text: 'x' }),
      });
    for (let i = 0; i < 50; i++) assert.equal((await post(`a:1conversation-${i % 10}`, 'app-one')).status, 201);
    const limited = await post('a:1a-fresh-conversation', 'app-one');
    assert.equal(limited.status, 429);
    assert.equal((await post('a:1a-fresh-conversation', 'app-two')).status, 201, 'another app has its own budget');
    const last = connector.requests.at(-1)!;
    assert.deepEqual(last.auth, { present: true, appId: 'app-two', verified: false });
  });

  it('ConnectorClient retries a 429 three times after Retry-After, then throws a RestError', async function () {
    this.timeout(20_000);
    const client = new ConnectorClient(MicrosoftAppCredentials.Empty, { baseUri: serviceUrl });
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => client.conversations.sendToConversation(THREAD, MessageFactory.text(`burst ${i}`))),
    );
    const ok = results.filter((r) => r.status === 'fulfilled').length;
    const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as { statusCode?: number; code?: string }] : []));
    const throttled = connector.requests.filter((r) => r.status === 429);
    // 7 get through at once; retries 1 s apart let more in (8 per 2 s); a few run out of retries.
    assert.ok(ok > 7, `retries got some through (${ok} of 20)`);
    assert.ok(throttled.length >= 13, `the connector answered 429 at least for the first wave (${throttled.length})`);
    assert.ok(throttled.every((r) => r.code === 'Throttled' && Number.isInteger(r.retryAfterSeconds) && r.retryAfterSeconds! >= 1));
    assert.ok(failures.every((e) => e.statusCode === 429 && e.code === 'Throttled'), 'what is left surfaces as 429 Throttled');
    // Every 429 was retried, except the 4th answer to each call that failed.
    assert.equal(connector.requests.length, 20 + throttled.length - failures.length);
    assert.equal(connector.transcript(THREAD).entries.length, ok);
  });

  it('answers 403 MessageWritesBlocked after uninstall, in the body Teams documents; reads still work', async () => {
    connector.defineConversation({ id: PERSONAL, tenantId: TENANT, conversationType: 'personal', members: [USER] });
    const res = await fetch(`${sim.baseUrl}/_sim/connector/conversations/${encodeURIComponent(PERSONAL)}/uninstall`, { method: 'POST' });
    assert.equal(res.status, 200);
    const client = new ConnectorClient(MicrosoftAppCredentials.Empty, { baseUri: serviceUrl });
    const err = await client.conversations.sendToConversation(PERSONAL, MessageFactory.text('still there?')).then(
      () => assert.fail('expected a 403'),
      (e: unknown) => e as { statusCode?: number; code?: string; message: string },
    );
    // No {error:{code}} envelope here: botbuilder's RestError has no code, the subCode is in the message.
    assert.equal(err.statusCode, 403);
    assert.equal(err.code, undefined);
    assert.match(err.message, /"subCode": "MessageWritesBlocked"/);
    assert.equal((await client.conversations.getConversationMember(PERSONAL, USER.id)).name, USER.name);
    assert.equal(connector.requests.find((r) => r.status === 403)?.code, 'MessageWritesBlocked');

    connector.uninstall(PERSONAL, 'BotNotInConversationRoster');
    await assert.rejects(
      client.conversations.getConversationMembers(PERSONAL),
      (e: { statusCode?: number; code?: string }) => e.statusCode === 403 && e.code === 'BotNotInConversationRoster',
    );
    connector.reinstall(PERSONAL);
    await client.conversations.sendToConversation(PERSONAL, MessageFactory.text('welcome back'));
    assert.equal(connector.transcript(PERSONAL).entries.length, 1);
  });

  it('answers 413 MessageSizeTooBig above 28 KB', async () => {
    const client = new ConnectorClient(MicrosoftAppCredentials.Empty, { baseUri: serviceUrl });
    await assert.rejects(
      client.conversations.sendToConversation(PERSONAL, MessageFactory.text('x'.repeat(30 * 1024))),
      (e: { statusCode?: number; code?: string }) => e.statusCode === 413 && e.code === 'MessageSizeTooBig',
    );
  });

  it('wakes transcript waiters in process and long-polls over the control route', async () => {
    const t = connector.transcript(PERSONAL);
    const waiting = t.waitFor((entries) => entries.find((e) => e.text === 'done'), { timeoutMs: 2000 });
    const polled = fetch(`${sim.baseUrl}/_sim/connector/conversations/${encodeURIComponent(PERSONAL)}/transcript?after=0&waitMs=5000`)
      .then((r) => r.json() as Promise<{ seq: number; events: Array<{ kind: string }> }>);
    const started = Date.now();
    await new ConnectorClient(MicrosoftAppCredentials.Empty, { baseUri: serviceUrl }).conversations.sendToConversation(PERSONAL, MessageFactory.text('done'));
    assert.equal((await waiting).text, 'done');
    const body = await polled;
    assert.equal(body.seq, 1);
    assert.deepEqual(body.events.map((e) => e.kind), ['posted']);
    assert.ok(Date.now() - started < 2000, 'the long poll returned on the post, not on its timeout');
    await assert.rejects(t.waitFor((entries) => entries.length > 5, { timeoutMs: 50 }), /condition not met within 50 ms; it holds #1 message "done"/);
  });

  it('defines conversations and lists them over the control routes; a scenario load resets everything', async () => {
    const define = await fetch(`${sim.baseUrl}/_sim/connector/conversations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: PERSONAL, tenantId: TENANT, conversationType: 'personal', members: [USER] }),
    });
    assert.equal(define.status, 201);
    const member = await new ConnectorClient(MicrosoftAppCredentials.Empty, { baseUri: serviceUrl }).conversations.getConversationMember(PERSONAL, USER.id);
    assert.equal(member.name, USER.name);
    const list = (await (await fetch(`${sim.baseUrl}/_sim/connector/conversations`)).json()) as { conversations: Array<{ id: string; defined: boolean }> };
    assert.deepEqual(list.conversations.map((c) => [c.id, c.defined]), [[PERSONAL, true]]);
    await sim.loadScenario('healthy');
    assert.deepEqual(connector.listConversations().filter((c) => c.defined), []);
    assert.equal(connector.requests.length, 0);
  });
});
