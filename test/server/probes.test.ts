import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { Messages } from '../../src/onboarding/messages';
import { SupportRepository } from '../../src/store/support';
import { ConsentHarness } from '../auth/consent-harness';
import { messageActivity } from '../harness/activities';
import { BotClient } from '../harness/bot-client';
import { BotUnderTest } from '../helpers/chat';
import type { TranscriptEntry } from '../simulator/services/connector';
import { onboardedPartner } from '../sync/sync-harness';

const ENGINEER = { aadObjectId: randomUUID(), name: 'Sam Support' };
const STRANGER = { aadObjectId: randomUUID(), name: 'Casey Sales' };
const MALLORY = { aadObjectId: randomUUID(), name: 'Mallory' };
const OPERATOR_TENANT = randomUUID();
const ATTACKER_TENANT = randomUUID();
const TEAM = { id: `19:${randomBytes(16).toString('hex')}@thread.tacv2`, name: 'Partner Support' };
const CHANNEL = { id: `19:${randomBytes(16).toString('hex')}@thread.tacv2`, name: 'Escalations' };
const OTHER_CHANNEL = { id: `19:${randomBytes(16).toString('hex')}@thread.tacv2`, name: 'Random' };

type InvokeBody = { statusCode: number; type: string; value: unknown };

/**
 * What the security review tried against a running bot, repeated: support cards read or changed
 * from outside the support channel's threads (another tenant, a personal chat, a forged thread),
 * identity taken from a channel other than Teams, and identity without an Entra object id.
 */
describe('security probes (the review\'s attacks, repeated)', function () {
  this.timeout(180_000);

  describe('support cards across tenants and threads', () => {
    let h: ConsentHarness;
    let support: SupportRepository;
    const client = (conversation: ConstructorParameters<typeof BotClient>[0]['conversation']) =>
      new BotClient({ endpoint: `${h.url}/api/messages`, simulatorUrl: h.sim.baseUrl, quietMs: 150, conversation });
    const inChannel = (user: typeof ENGINEER, conversationId?: string, channel = CHANNEL) =>
      client({ tenantId: OPERATOR_TENANT, scope: 'channel', user, team: TEAM, channel, ...(conversationId ? { conversationId } : {}) });
    const attackerChat = () => client({ tenantId: ATTACKER_TENANT, scope: 'personal', user: MALLORY });

    before(async () => {
      // Cooldowns of ten minutes: a loaded machine must not stretch ten concurrent turns past the window.
      h = await ConsentHarness.start('healthy', { env: { SUPPORT_ENGINEERS: ENGINEER.aadObjectId, RECHECK_COOLDOWN_SECONDS: '600', EXPIRY_COOLDOWN_SECONDS: '600' } });
      support = new SupportRepository(h.app.db);
      assert.deepEqual((await inChannel(ENGINEER).say('set support channel')).texts, [Messages.supportChannelSet('This channel')]);
    });
    after(async () => { await h?.stop(); });

    const refusal = (body: unknown) => {
      const b = body as InvokeBody;
      assert.deepEqual(b, { statusCode: 200, type: 'application/vnd.microsoft.activity.message', value: Messages.supportActionRefused });
    };
    const cardEntry = async (threadId: string, activityId: string): Promise<TranscriptEntry> =>
      (await inChannel(ENGINEER).transcript(threadId)).find((e) => e.id === activityId)!;

    it('a user of another tenant, in her own personal chat, naming the victim\'s tenant: the same bare refusal as for a tenant without a case', async () => {
      const victim = await onboardedPartner(h);
      assert.deepEqual((await victim.chat.say('support', 1)).texts, [Messages.supportOpened]);
      const c = (await support.get(victim.tenant))!;
      const company = (await h.app.partners.get(victim.tenant))!.company?.legalName ?? victim.tenant;

      const answers: unknown[] = [];
      for (const verb of ['support.refresh', 'support.claim', 'support.rerun', 'support.resolve']) {
        for (const tenantId of [victim.tenant, randomUUID()]) {
          const res = await attackerChat().execute({ verb, data: { tenantId } });
          refusal(res.body);
          answers.push(res.body);
          const json = JSON.stringify(res.body);
          assert.ok(!json.includes(victim.tenant) && !json.includes(company), 'no partner data in the answer');
        }
      }
      assert.equal(new Set(answers.map((a) => JSON.stringify(a))).size, 1, 'one answer, case or no case');
      const after = (await support.get(victim.tenant))!;
      assert.deepEqual([after.status, after.version], [c.status, c.version], 'nothing changed');
      assert.equal((await cardEntry(c.threadId!, c.cardActivityId!)).updates.length, 0, 'the posted card is untouched');
    });

    it('an engineer outside the support thread (personal chat, another channel) is refused too: the case is found by the thread, never by card data', async () => {
      const victim = await onboardedPartner(h);
      await victim.chat.say('support', 1);
      const c = (await support.get(victim.tenant))!;
      const fromPersonal = await client({ tenantId: OPERATOR_TENANT, scope: 'personal', user: ENGINEER }).execute({ verb: 'support.claim', data: { tenantId: victim.tenant } });
      refusal(fromPersonal.body);
      const fromOtherChannel = await inChannel(ENGINEER, undefined, OTHER_CHANNEL).execute({ verb: 'support.claim', data: { tenantId: victim.tenant } });
      refusal(fromOtherChannel.body);
      // The support channel itself, but a thread that is no case's: the engineer is told so, and no case is found from the data.
      const strayThread = `${CHANNEL.id};messageid=${Date.now()}`;
      const stray = (await inChannel(ENGINEER, strayThread).execute({ verb: 'support.claim', data: { tenantId: victim.tenant } })).body;
      assert.deepEqual(stray, { statusCode: 200, type: 'application/vnd.microsoft.activity.message', value: Messages.supportNoCaseHere });
      assert.equal((await support.get(victim.tenant))!.status, 'open', 'nothing claimed');
      assert.equal((await cardEntry(c.threadId!, c.cardActivityId!)).updates.length, 0, 'the posted card is untouched');
    });

    it('in one case\'s thread, card data naming another partner acts on the thread\'s case only', async () => {
      const a = await onboardedPartner(h);
      await a.chat.say('support', 1);
      const b = await h.partner();
      assert.deepEqual((await b.chat.say('support', 1)).texts, [Messages.supportOpened]);
      const caseA = (await support.get(a.tenant))!;
      const res = await inChannel(ENGINEER, caseA.threadId).execute({ verb: 'support.claim', data: { tenantId: b.tenant } }, { replyToId: caseA.cardActivityId! });
      const body = res.body as InvokeBody;
      assert.equal(body.type, 'application/vnd.microsoft.card.adaptive');
      assert.equal((await support.get(a.tenant))!.status, 'claimed', 'the thread\'s case is claimed');
      assert.equal((await support.get(b.tenant))!.status, 'open', 'the one named in the data is not');
      assert.ok(!JSON.stringify(body.value).includes(b.tenant), 'and its data is not shown');
    });

    it('a non-engineer in the support thread sees the card as posted and a refusal, not a refreshed card', async () => {
      const victim = await onboardedPartner(h);
      await victim.chat.say('support', 1);
      const c = (await support.get(victim.tenant))!;
      for (const verb of ['support.refresh', 'support.claim']) {
        refusal((await inChannel(STRANGER, c.threadId).execute({ verb, data: { tenantId: victim.tenant } }, { replyToId: c.cardActivityId! })).body);
      }
      assert.equal((await support.get(victim.tenant))!.status, 'open');
      assert.equal((await cardEntry(c.threadId!, c.cardActivityId!)).updates.length, 0);
    });

    it('ten `recheck` at once make one check run; fifteen `support` make one thread message; `expiry` and `recheck` say when they can be asked again', async () => {
      const p = await onboardedPartner(h);
      const settled = async () => { for (let i = 0; i < 200 && h.app.checks.running(p.tenant); i++) await new Promise((r) => setTimeout(r, 50)); };
      await settled();
      const runsBefore = await h.app.checkRuns.count(p.tenant);
      const t0 = Date.now();
      const microsoft = () => h.sim.requests.filter((r) => r.path.startsWith('/graph') || r.path.startsWith('/partnercenter')).length;
      const requestsBefore = microsoft();
      const answers = await Promise.all(Array.from({ length: 10 }, () => p.chat.say('recheck', 1)));
      // Each say returns at the first reply in the chat: wait for the run itself to end.
      await settled();
      const runs = await h.app.db.query<{ actor: string; kind: string; run_at: Date }>('SELECT actor, kind, run_at FROM check_runs WHERE tenant_id = $1 ORDER BY id', [p.tenant]);
      assert.equal(runs.length, runsBefore + 1, `one run; the runs: ${JSON.stringify(runs)} (test started at ${new Date(t0).toISOString()})`);
      const used = microsoft() - requestsBefore;
      console.log(`      (ten recheck at once: ${await h.app.checkRuns.count(p.tenant) - runsBefore} check run, ${used} Microsoft requests)`);
      const texts = answers.flatMap((a) => a.texts);
      assert.ok(texts.some((t) => /^Checked again|Every/.test(t) || t.startsWith('✓')), texts.join('\n'));
      const later = await p.chat.say('recheck', 1);
      assert.match(later.texts[0] ?? '', /^I ran the checks moments ago: .* run them again in \d+ minutes \(at \d\d:\d\d UTC\)\.$/);
      assert.equal(await h.app.checkRuns.count(p.tenant), runsBefore + 1, 'still one run');

      assert.deepEqual((await p.chat.say('expiry', 1)).texts.length, 1);
      assert.match((await p.chat.say('expiry', 1)).texts[0] ?? '', /^I read what ends moments ago \(the list above\)\. You can ask again in \d+ minutes \(at \d\d:\d\d UTC\)\.$/);

      assert.deepEqual((await p.chat.say('support', 1)).texts, [Messages.supportOpened]);
      const c = (await support.get(p.tenant))!;
      const threadBefore = (await inChannel(ENGINEER).transcript(c.threadId!)).length;
      for (let i = 0; i < 14; i++) {
        const again = await p.chat.say('support', 1);
        assert.match(again.texts[0] ?? '', /^The support team already has your request, .* once more in \d+ minutes \(at \d\d:\d\d UTC\)\.$/);
      }
      assert.equal((await inChannel(ENGINEER).transcript(c.threadId!)).length, threadBefore, 'no further thread message');
      assert.equal((await support.get(p.tenant))!.escalations, 15, 'each ask is counted on the case');
    });

    it('an activity without an Entra object id has no identity: a from.id equal to an engineer\'s object id is nobody', async () => {
      const forged = inChannel(ENGINEER);
      const activity = messageActivity(forged.conversation, 'set support channel');
      activity.from = { id: ENGINEER.aadObjectId, name: ENGINEER.name };
      const res = await forged.send(activity, { count: 1 });
      assert.deepEqual(res.texts, [Messages.supportChannelRefused]);

      const personal = client({ tenantId: randomUUID(), scope: 'personal', user: { name: 'Nobody' } });
      const start = messageActivity(personal.conversation, 'start');
      start.from = { id: `29:${randomUUID()}`, name: 'Nobody' };
      assert.deepEqual((await personal.send(start, { count: 1 })).texts, [Messages.noIdentity]);
      assert.equal(await h.app.partners.get(personal.conversation.tenantId), undefined, 'no partner created');
    });
  });

  describe('identity only from Microsoft Teams', () => {
    let bot: BotUnderTest;
    before(async () => { bot = await BotUnderTest.start({ authenticated: true, teamsLimits: false }); });
    after(() => bot.stop());

    it('a correctly signed activity from another channel (webchat) is refused with 400 and no turn runs', async () => {
      const chat = new BotClient({ endpoint: `${bot.url}/api/messages`, simulatorUrl: bot.sim.baseUrl, signFor: bot.botId, quietMs: 200, conversation: { tenantId: randomUUID(), user: { name: 'Webchat User' } } });
      const activity = messageActivity(chat.conversation, 'start');
      (activity as { channelId: string }).channelId = 'webchat';
      const res = await chat.send(activity);
      assert.equal(res.status, 400);
      assert.equal((res.body as { error?: string }).error, 'bad_activity');
      assert.match((res.body as { reason?: string }).reason ?? '', /channelId/);
      assert.deepEqual(res.texts, []);
      assert.equal(await bot.app.partners.get(chat.conversation.tenantId), undefined);
      // The same activity from Teams is served.
      const teams = await chat.say('help', { count: 1 });
      assert.equal(teams.status, 200);
    });
  });
});
