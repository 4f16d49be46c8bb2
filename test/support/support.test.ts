import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { Messages } from '../../src/onboarding/messages';
import { SupportRepository, type SupportCase } from '../../src/store/support';
import { ConsentHarness, type TestPartner } from '../auth/consent-harness';
import { teamEventActivity } from '../harness/activities';
import { BotClient } from '../harness/bot-client';
import { cardText } from '../helpers/chat';
import { connectorOf, type TranscriptEntry } from '../simulator/services/connector';
import { APP_SECRET_VALUE } from '../simulator/scenarios/ids';
import { onboardedPartner } from '../sync/sync-harness';

type Card = Record<string, unknown> & { actions?: Array<{ title: string; verb?: string }>; refresh?: { userIds?: string[] } };

const ENGINEER = { aadObjectId: randomUUID(), name: 'Sam Support' };
const SECOND_ENGINEER = { aadObjectId: randomUUID(), name: 'Rae Support' };
const STRANGER = { aadObjectId: randomUUID(), name: 'Casey Sales' };
const OPERATOR_TENANT = randomUUID();
const TEAM = { id: `19:${randomBytes(16).toString('hex')}@thread.tacv2`, name: 'Partner Support' };
const CHANNEL = { id: `19:${randomBytes(16).toString('hex')}@thread.tacv2`, name: 'Escalations' };

/**
 * The support channel over HTTP: the bot in this process, the simulator as Microsoft's cloud and
 * Teams (its connector keeps what the bot posted and updated in each conversation). Engineers are
 * operator config; the channel is a standard channel of the operator's team.
 */
describe('support channel (simulator, in-process bot)', function () {
  this.timeout(120_000);
  let h: ConsentHarness;
  let support: SupportRepository;
  const inChannel = (user: typeof ENGINEER, conversationId?: string) => new BotClient({
    endpoint: `${h.url}/api/messages`, simulatorUrl: h.sim.baseUrl, quietMs: 150,
    conversation: { tenantId: OPERATOR_TENANT, scope: 'channel', user, team: TEAM, channel: CHANNEL, ...(conversationId ? { conversationId } : {}) },
  });

  before(async () => {
    h = await ConsentHarness.start('healthy', { env: { SUPPORT_ENGINEERS: `${ENGINEER.aadObjectId}, ${SECOND_ENGINEER.aadObjectId.toUpperCase()}` } });
    support = new SupportRepository(h.app.db);
  });
  after(async () => { await h?.stop(); });

  const cardOf = (e: TranscriptEntry | undefined): Card => e?.activity.attachments?.[0]?.content as Card;
  const titles = (card: Card) => (card.actions ?? []).map((a) => a.title);
  const invokeCard = (body: unknown): Card => {
    const b = body as { statusCode: number; type: string; value: Card };
    assert.equal(b.statusCode, 200, JSON.stringify(body));
    assert.equal(b.type, 'application/vnd.microsoft.card.adaptive');
    return b.value;
  };
  const threadEntries = async (c: SupportCase) => (await inChannel(ENGINEER).transcript(c.threadId!));
  // The posted card is updated after the click's answer, and the partner told from the notices outbox: both once settled.
  const postedCard = async (c: SupportCase) => {
    await h.app.support.settled();
    return cardOf((await threadEntries(c)).find((e) => e.id === c.cardActivityId));
  };
  const partnerTexts = async (p: TestPartner) => {
    await h.app.dispatcher.drain();
    return (await p.chat.client.transcript()).map((e) => e.activity.text ?? '');
  };

  it('set support channel: only a configured engineer, only in a team channel (with the @mention stripped)', async () => {
    const stranger = await inChannel(STRANGER).say('set support channel');
    assert.deepEqual(stranger.texts, [Messages.supportChannelRefused]);
    assert.equal(await h.app.support.channel(), undefined, 'nothing changed');

    const p = await h.partner();
    assert.deepEqual((await p.chat.say('set support channel', 1)).texts, [Messages.supportChannelOnlyInChannel]);

    // Before a channel exists, a partner asking is told so (and nothing is posted anywhere).
    assert.deepEqual((await p.chat.say('support', 1)).texts, [Messages.supportNoChannel]);

    const set = await inChannel(ENGINEER).say('set support channel');
    assert.deepEqual(set.texts, [Messages.supportChannelSet('This channel')]);
    assert.deepEqual({ ...(await h.app.support.channel()), setAt: undefined }, {
      tenantId: OPERATOR_TENANT, channelId: CHANNEL.id, teamId: TEAM.id, setBy: ENGINEER.aadObjectId, setAt: undefined,
    });
    // Anything else in the channel gets one line saying what the bot does there.
    assert.deepEqual((await inChannel(STRANGER).say('hello')).texts, [Messages.supportChannelHint]);
  });

  it('escalate, a stranger\'s click refused, claim, re-run checks, resolve, ask again: every card and message', async () => {
    const p = await onboardedPartner(h);
    // The partner's checklist in chat, and "Ask support" pressed on it.
    const recheck = await p.chat.say('recheck', 2);
    const checklist = recheck.activities.find((e) => e.attachments.length > 0)!;
    const asked = await p.chat.client.submit({ verb: 'support.ask' }, checklist.id, { count: 1 });
    assert.deepEqual(asked.texts, [Messages.supportOpened]);

    let c = (await support.get(p.tenant))!;
    assert.equal(c.status, 'open');
    assert.ok(c.threadId?.startsWith(`${CHANNEL.id};messageid=`), c.threadId);
    assert.equal(c.checklistActivityId, checklist.id);
    const card = await postedCard(c);
    const text = cardText(card);
    assert.match(text, /Support case: /);
    assert.match(text, /Open: waiting for an engineer \(asked by Megan Bowen/);
    assert.match(text, new RegExp(`Partner tenant\\s*${p.tenant}`));
    assert.match(text, /Journey\s*Step \d+ of 11: /);
    // The run in words, as the checks card counts it: no verdict id, no "1 warnings", no yellow text.
    assert.match(text, /Checks\s*Passed: every blocking check passes \(1 not visible, 24 passed\), \d{4}-\d\d-\d\d \d\d:\d\d UTC/);
    assert.match(text, /❔ Not visible · \*\*"Remember MFA on trusted devices" off\*\*/, 'each issue says its status in words');
    assert.doesNotMatch(JSON.stringify(card), /"color":"Warning"|passed-with-advisories|unseen/);
    assert.deepEqual(titles(card), ['Claim', 'Re-run checks', 'Resolve']);
    assert.equal(card.version, '1.5');
    assert.deepEqual(card.refresh?.userIds, [`8:orgid:${ENGINEER.aadObjectId}`, `8:orgid:${SECOND_ENGINEER.aadObjectId}`]);
    // Never a secret: not the app's secret, not the Partner Center key, no token.
    const json = JSON.stringify(card);
    assert.ok(!json.includes(APP_SECRET_VALUE), 'the secret is not on the card');
    assert.doesNotMatch(json, /eyJ[\w-]{10,}\./, 'no token on the card');

    // A stranger in the channel presses Claim: the card they see says no; nothing changes.
    const thread = c.threadId!;
    const refused = await inChannel(STRANGER, thread).execute({ verb: 'support.claim', data: { tenantId: p.tenant } }, { replyToId: c.cardActivityId! });
    assert.deepEqual(refused.body, { statusCode: 200, type: 'application/vnd.microsoft.activity.message', value: Messages.supportActionRefused });
    assert.equal((await support.get(p.tenant))!.status, 'open');
    assert.equal((await threadEntries(c)).find((e) => e.id === c.cardActivityId)!.updates.length, 0, 'the posted card is untouched');

    // The engineer claims: their view (the invoke response) and everyone's (the posted card) change; the partner is told.
    const before = (await partnerTexts(p)).length;
    const claimed = invokeCard((await inChannel(ENGINEER, thread).execute({ verb: 'support.claim', data: { tenantId: p.tenant } }, { replyToId: c.cardActivityId! })).body);
    assert.match(cardText(claimed), /Claimed by Sam Support/);
    assert.doesNotMatch(JSON.stringify(claimed), /"color":"Warning"/, '"Claimed by…" in the default colour, not yellow on white');
    assert.deepEqual(titles(claimed), ['Re-run checks', 'Resolve']);
    c = (await support.get(p.tenant))!;
    assert.deepEqual([c.status, c.claimedBy, c.claimedByName], ['claimed', ENGINEER.aadObjectId, 'Sam Support']);
    assert.match(cardText(await postedCard(c)), /Claimed by Sam Support/);
    assert.deepEqual((await partnerTexts(p)).slice(before), [Messages.supportClaimed('Sam Support')]);

    // The second engineer is too late: told who has it; nothing changes.
    const late = invokeCard((await inChannel(SECOND_ENGINEER, thread).execute({ verb: 'support.claim', data: { tenantId: p.tenant } })).body);
    assert.match(cardText(late), /Already claimed by Sam Support\./);
    assert.equal((await support.get(p.tenant))!.claimedBy, ENGINEER.aadObjectId);

    // Re-run checks from the support card: the support card and the partner's checklist (in place) both change.
    const runsBefore = await h.app.checkRuns.count(p.tenant);
    const rerun = invokeCard((await inChannel(ENGINEER, thread).execute({ verb: 'support.rerun', data: { tenantId: p.tenant } })).body);
    assert.equal(await h.app.checkRuns.count(p.tenant), runsBefore + 1);
    assert.match(cardText(rerun), /Claimed by Sam Support/);
    const partnerChecklist = (await p.chat.client.transcript()).find((e) => e.id === checklist.id)!;
    assert.ok(partnerChecklist.updates.length >= 1, 'the checklist the partner asked from is updated in place');
    assert.match(cardText(cardOf(partnerChecklist)), /Re-run by Sam Support \(support\)/);
    assert.equal((await partnerTexts(p)).at(-1), Messages.supportRerun('Sam Support'));

    // Resolve: the partner is told; the card has no Claim and no Resolve any more.
    const resolved = invokeCard((await inChannel(SECOND_ENGINEER, thread).execute({ verb: 'support.resolve', data: { tenantId: p.tenant } })).body);
    assert.match(cardText(resolved), /Resolved by Rae Support/);
    assert.deepEqual(titles(resolved), ['Re-run checks']);
    assert.equal((await partnerTexts(p)).at(-1), Messages.supportResolved('Rae Support'));
    c = (await support.get(p.tenant))!;
    assert.match(cardText(await postedCard(c)), /Resolved by Rae Support/);

    // The automatic refresh (Teams, for the listed engineers) answers the current card and changes nothing.
    const refreshed = invokeCard((await inChannel(ENGINEER, thread).execute({ verb: 'support.refresh', data: { tenantId: p.tenant } }, { trigger: 'automatic' })).body);
    assert.match(cardText(refreshed), /Resolved by Rae Support/);

    // Asking again reopens the same case in the same thread, with a line there so the team sees it.
    const threadsBefore = connectorOf(h.sim).listConversations().filter((x) => x.id.startsWith(`${CHANNEL.id};`)).length;
    assert.deepEqual((await p.chat.say('support', 1)).texts, [Messages.supportReopened]);
    c = (await support.get(p.tenant))!;
    assert.deepEqual([c.status, c.escalations, c.threadId], ['open', 2, thread]);
    assert.equal(connectorOf(h.sim).listConversations().filter((x) => x.id.startsWith(`${CHANNEL.id};`)).length, threadsBefore, 'no second thread');
    assert.match((await threadEntries(c)).at(-1)!.activity.text ?? '', /Megan Bowen asked for support again/);
    assert.deepEqual(titles(await postedCard(c)), ['Claim', 'Re-run checks', 'Resolve']);
  });

  it('an unknown verb answers 400 and changes nothing; card data is never read as a case id', async () => {
    const bad = await inChannel(ENGINEER).execute({ verb: 'support.delete', data: { tenantId: 'x' } });
    assert.equal((bad.body as { statusCode: number }).statusCode, 400);
    const malformed = await inChannel(ENGINEER).execute({ verb: 'support.claim', data: { tenantId: 'x y; drop' } });
    assert.deepEqual(malformed.body, { statusCode: 200, type: 'application/vnd.microsoft.activity.message', value: Messages.supportNoCaseHere });
  });

  it('expired and revoked notices: the partner gets the card with the fix, the support thread a copy naming the partner, without the button', async () => {
    const p = await onboardedPartner(h);
    assert.deepEqual((await p.chat.say('support', 1)).texts, [Messages.supportOpened]);
    const c = (await support.get(p.tenant))!;
    const partner = (await h.app.partners.get(p.tenant))!;
    await h.app.connections.saveCredentials(p.tenant, partner.connection!, {
      pcSecret: { ...partner.credentials.pcSecret!, expiresAt: new Date(Date.now() - 86_400_000).toISOString() },
    }, p.person.aadObjectId, 'expired');
    assert.equal(await h.app.watch.scanPartner((await h.app.partners.get(p.tenant))!), 2, 'the owner and the support thread');
    await h.app.dispatcher.drain();
    const copy = cardOf((await threadEntries(c)).at(-1));
    assert.match(cardText(copy), /their Partner Center web app key has expired/);
    assert.match(cardText(copy), new RegExp(p.tenant));
    assert.deepEqual(titles(copy), []);
    const own = cardOf((await p.chat.client.transcript()).at(-1));
    assert.match(cardText(own), /^❌ Your Partner Center web app key has expired/);
    assert.deepEqual(titles(own), ['Update credentials']);

    await h.app.db.query("UPDATE partners SET consent_broken_at = now(), consent_broken_reason = 'AADSTS50173' WHERE tenant_id = $1", [p.tenant]);
    const broken = (await h.app.partners.get(p.tenant))!;
    assert.equal(await h.app.watch.consentRevoked(broken, 'Access was revoked.'), 2);
    assert.equal(await h.app.watch.consentRevoked(broken, 'Access was revoked.'), 0, 'once per revocation');
    await h.app.dispatcher.drain();
    assert.match((await threadEntries(c)).at(-1)!.activity.text ?? '', /the service account's consent was revoked\.\*\*\s+Access was revoked\./);
    assert.match((await partnerTexts(p)).at(-1)!, /^\*\*Re-consent needed\.\*\*/);
  });

  it('the support channel deleted, then the team: its conversations are retired, the channel unset, partners told there is none', async () => {
    const p = await onboardedPartner(h);
    assert.deepEqual((await p.chat.say('support', 1)).texts, [Messages.supportOpened]);
    const c = (await support.get(p.tenant))!;
    const engineer = inChannel(ENGINEER);
    const live = async () => (await h.app.references.listForTenant(OPERATOR_TENANT)).filter((r) => r.installed).map((r) => r.conversationId);
    assert.ok((await live()).includes(c.threadId!), 'the thread is a conversation the bot uses');

    // Another channel of the team is deleted: nothing of the support channel changes.
    await engineer.send(teamEventActivity(engineer.conversation, 'channelDeleted', { id: `19:${randomBytes(8).toString('hex')}@thread.tacv2`, name: 'Old' }));
    assert.ok(await h.app.support.channel());

    await engineer.send(teamEventActivity(engineer.conversation, 'teamDeleted'));
    assert.deepEqual((await live()).filter((id) => id.startsWith(CHANNEL.id) || id.startsWith(TEAM.id)), [], 'every channel conversation and thread of the team retired');
    assert.equal(await h.app.support.channel(), undefined, 'the support channel is unset');
    assert.deepEqual((await p.chat.say('support', 1)).texts, [Messages.supportNoChannel]);
    // A notice to the old thread is not attempted: the conversation is gone.
    assert.equal(await h.app.notifier.deliver(OPERATOR_TENANT, c.threadId!, { text: 'x' }), 'gone');

    // The bot comes back to the team and the channel is set again: the conversation is live again.
    assert.deepEqual((await engineer.say('set support channel')).texts, [Messages.supportChannelSet('This channel')]);
    assert.ok((await live()).includes(CHANNEL.id));
    // The bot removed from the team (teamMemberRemoved): the same retirement.
    await engineer.send(teamEventActivity(engineer.conversation, 'teamMemberRemoved'));
    assert.equal(await h.app.support.channel(), undefined);
    assert.deepEqual((await live()).filter((id) => id.startsWith(CHANNEL.id)), []);
  });
});
