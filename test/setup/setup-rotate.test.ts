import assert from 'node:assert/strict';
import { requestAppToken } from '../../src/credentials/client-credentials';
import { secretName } from '../../src/credentials/credential-service';
import { GRAPH_DEFAULT } from '../../src/credentials/scopes';
import pino from 'pino';
import { SetupMessages } from '../../src/setup/setup-messages';
import { SetupRunner } from '../../src/setup/setup-run';
import { PartnerSetupRepository } from '../../src/store/partner-setups';
import { CheckRunRepository } from '../../src/store/check-runs';
import { expiringItems } from '../../src/watch/expiry';
import { pageText, textsOf } from '../auth/consent-harness';
import { BotUnderTest, cardText } from '../helpers/chat';
import { PARTNER_TENANT_ID, SETUP_APP_TAG, SIM_SETUP_APP_ID, SIM_SETUP_APP_SECRET } from '../simulator/scenarios/ids';
import { SecretSchema } from '../simulator/scenario';
import { startSimulator, type Simulator } from '../simulator/server';
import { actionTitles, adminChat, adminSignIn, onboardWithSetup, openUrlOf, waitForText } from './setup-harness';

const DAY = 86_400_000;

/**
 * "Rotate it for me" (issue 30 item 5) against the simulator, on an app the bot created: the app
 * secret's expiry notice offers it; a Global Administrator signs in; a new secret is added and
 * proven while the stored one stays in use (the simulator refuses a new secret twice, as
 * replication does: each wait finds the old secret stored and still accepted by Microsoft); only
 * then the stored one is replaced and the old one removed (a leftover of an earlier rotation that
 * stopped before storing its secret goes first); the checks pass after; the chat is told, and the
 * expiry notices start over for the new secret.
 */
describe('Rotate it for me', function () {
  this.timeout(240_000);
  let sim: Simulator;
  let bot: BotUnderTest;
  /** While the rotation waits for Microsoft: what was stored, and whether Microsoft accepted it. */
  const duringWaits: Array<{ stored: string | undefined; accepted: boolean }> = [];
  let watching: { appId: string } | undefined;

  before(async () => {
    sim = await startSimulator({ scenario: 'setup-slow' });
    bot = await BotUnderTest.start({
      sim, teamsLimits: false,
      sleep: async () => {
        if (!watching) return;
        const stored = await bot.app.secrets.get(secretName(PARTNER_TENANT_ID, 'appSecret'));
        const token = stored ? await requestAppToken(sim.baseUrl, PARTNER_TENANT_ID, watching.appId, stored, GRAPH_DEFAULT) : undefined;
        duringWaits.push({ stored, accepted: token?.ok === true });
      },
      env: { SETUP_APP_ID: SIM_SETUP_APP_ID, SETUP_APP_SECRET: SIM_SETUP_APP_SECRET },
    });
  });
  after(async () => {
    await bot?.stop();
  });

  const app = () => sim.scenario.tenants.find((t) => t.id === PARTNER_TENANT_ID)!.applications.find((a) => a.tags.includes(SETUP_APP_TAG))!;

  it('replaces the secret of the app it created: the new one proven before it is used, the old one removed after, checks green before and after, the notices start over', async () => {
    const chat = adminChat(bot);
    await onboardWithSetup(bot, chat);
    const before = (await bot.app.partners.get(PARTNER_TENANT_ID))!;
    const runs = new CheckRunRepository(bot.app.db);
    const checksBefore = (await runs.latest(PARTNER_TENANT_ID))!;
    assert.equal(checksBefore.kind, 'full');
    assert.match(checksBefore.verdict, /^passed/, 'the checks pass before');
    const old = { ...app().secrets[0]! };
    assert.equal(app().secrets.length, 1);
    const oldEnd = Date.parse(before.credentials.appSecret!.expiresAt!);
    const oldKey = expiringItems(before, undefined).find((i) => i.item === 'app-secret')!.key;

    // Ten days before the end, the scan records the app secret's 14-day notice; it offers the rotation.
    const scanned = await bot.app.watch.look(before, new Date(oldEnd - 10 * DAY));
    assert.ok(scanned.recorded >= 1);
    assert.ok((await bot.app.dispatcher.drain()) >= 1);
    await chat.refresh();
    const noticeEntry = (await chat.client.transcript()).find((e) => /Entra app's client secret expires in/.test(cardText(e.activity.attachments?.[0]?.content as Record<string, unknown> | undefined)));
    assert.ok(noticeEntry, 'the app secret\'s notice is in the chat');
    const notice = { id: noticeEntry.id, card: chat.card(noticeEntry.id)! };
    assert.match(cardText(notice.card), /Rotate it for me[\s\S]*Update credentials/);

    // A secret of ours left on the app by a rotation that stopped before storing its secret: never used, it goes.
    app().secrets.push(SecretSchema.parse({
      keyId: '0f0f0f0f-0000-4000-8000-000000000001', displayName: 'Partner onboarding platform (2028-12-01)', value: 'Lft8Q~leftover-never-stored-000000000000',
      endDateTime: new Date(oldEnd).toISOString(),
    }));
    await chat.press('Rotate it for me', {}, { id: notice.id });
    const signInCard = chat.lastCard();
    assert.match(cardText(signInCard.card), /A Global Administrator signs in to replace the secret/);
    watching = { appId: app().appId };
    const page = await adminSignIn(bot, openUrlOf(chat));
    assert.equal(page.status, 200, pageText(page.text));
    assert.match(pageText(page.text), /client secret is being replaced/);
    await waitForText(chat, /client secret is replaced: the new one/, 120_000);
    watching = undefined;

    // The cards that started it are spent: the notice says what was done, and neither keeps a button that would rotate again.
    await chat.refresh();
    const spentNotice = chat.card(notice.id)!;
    assert.deepEqual(actionTitles(spentNotice), [], `the notice keeps no button: ${cardText(spentNotice)}`);
    assert.match(cardText(spentNotice), /Client secret replaced for you[\s\S]*New secret valid until/);
    assert.deepEqual(actionTitles(chat.card(signInCard.id)!), [], 'the sign-in card\'s link is spent');

    // While Microsoft refused the new secret, the old one was stored and accepted.
    assert.ok(duringWaits.length >= 2, `the rotation waited for Microsoft: ${duringWaits.length}`);
    assert.deepEqual(duringWaits.map((w) => [w.stored === old.value, w.accepted]), duringWaits.map(() => [true, true]));

    const now = app();
    assert.equal(now.secrets.length, 1, 'the old secret and the leftover are gone: one live secret');
    assert.notEqual(now.secrets[0]!.keyId, old.keyId);
    const stored = await bot.app.secrets.get(secretName(PARTNER_TENANT_ID, 'appSecret'));
    assert.equal(stored, now.secrets[0]!.value);
    assert.equal((await requestAppToken(sim.baseUrl, PARTNER_TENANT_ID, now.appId, old.value, GRAPH_DEFAULT)).ok, false, 'Microsoft refuses the old secret now');
    const transcript = await chat.client.transcript();
    assert.ok(!JSON.stringify(transcript).includes(stored!.slice(3)), 'the new secret is not in the chat');
    const texts = textsOf(transcript);
    assert.ok(texts.includes(SetupMessages.rotateStarted));
    const progress = transcript.map((e) => cardText(e.activity.attachments?.[0]?.content as Record<string, unknown> | undefined)).find((t) => /client secret is replaced/.test(t));
    assert.ok(progress && (progress.match(/✅/g) ?? []).length === 5, progress);

    const after = (await bot.app.partners.get(PARTNER_TENANT_ID))!;
    const checksAfter = (await runs.latest(PARTNER_TENANT_ID))!;
    assert.notEqual(checksAfter.id, checksBefore.id);
    assert.equal(checksAfter.kind, 'full');
    assert.match(checksAfter.verdict, /^passed/, 'the checks pass after, on the new secret');
    assert.equal(after.credentials.appSecret?.hint, stored!.slice(0, 3));
    assert.equal(after.connection?.appId, before.connection?.appId);
    const newEnd = Date.parse(after.credentials.appSecret!.expiresAt!);
    assert.ok(newEnd > oldEnd, 'the new secret ends later');
    // The notices start over: the new secret is a new item, so its 14-day notice is due again.
    const newKey = expiringItems(after, undefined).find((i) => i.item === 'app-secret')!.key;
    assert.notEqual(newKey, oldKey);
    assert.ok((await bot.app.watch.look(after, new Date(newEnd - 10 * DAY))).recorded >= 1);
  });

  it('an app made by hand is not rotated: the partner is sent to update credentials', async () => {
    const partner = (await bot.app.partners.get(PARTNER_TENANT_ID))!;
    const chat = adminChat(bot);
    await bot.app.db.query("UPDATE partners SET connection = connection - 'botCreatedAppId' WHERE tenant_id = $1", [PARTNER_TENANT_ID]);
    const secrets = app().secrets.map((s) => s.keyId);
    const turn = await chat.say('rotate for me', 1);
    assert.deepEqual(turn.texts, [SetupMessages.rotateNotOurs]);
    assert.deepEqual(app().secrets.map((s) => s.keyId), secrets);
    assert.ok(partner.connection?.botCreatedAppId);
  });

  it('one rotation at a time across instances: of two runners on one database, one starts and the other is told it is busy', async () => {
    const setups = new PartnerSetupRepository(bot.app.db);
    const instance = () => new SetupRunner({
      setups, partners: bot.app.partners, connections: bot.app.connections, secrets: bot.app.secrets, checks: bot.app.checks, notifier: bot.app.notifier,
      logger: pino({ level: 'silent' }), graphBaseUrl: sim.baseUrl, authorityHost: sim.baseUrl, publicBaseUrl: bot.url, carryOn: async () => undefined,
    });
    const [a, b] = [instance(), instance()];
    const rotate = (r: SetupRunner) => r.rotate(PARTNER_TENANT_ID, 'a-conversation-of-the-test', 'an-administrator-token', 'test');
    const secrets = app().secrets.map((s) => s.keyId);
    assert.deepEqual((await Promise.all([rotate(a), rotate(b)])).sort(), ['busy', 'started']);
    await Promise.all([a.drain(), b.drain()]);
    // The rotation ended: its claim is let go, and the other instance may rotate now.
    assert.equal(await rotate(b), 'started');
    await b.drain();
    // An instance that died holding the claim: refused while its lease lasts, claimed once it lapsed.
    await bot.app.db.query("INSERT INTO secret_rotations (tenant_id, run_id, lease_until) VALUES ($1, 'a-gone-instance', now() + interval '1 hour')", [PARTNER_TENANT_ID]);
    assert.equal(await rotate(a), 'busy');
    await bot.app.db.query("UPDATE secret_rotations SET lease_until = now() - interval '1 second' WHERE tenant_id = $1", [PARTNER_TENANT_ID]);
    assert.equal(await rotate(a), 'started');
    await a.drain();
    assert.deepEqual((await bot.app.db.query('SELECT run_id FROM secret_rotations')).length, 0, 'every claim let go');
    assert.deepEqual(app().secrets.map((s) => s.keyId), secrets);
  });
});
