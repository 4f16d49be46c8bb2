import assert from 'node:assert/strict';
import { secretName } from '../../src/credentials/credential-service';
import pino from 'pino';
import { SetupMessages } from '../../src/setup/setup-messages';
import { SetupRunner } from '../../src/setup/setup-run';
import { PartnerSetupRepository } from '../../src/store/partner-setups';
import { pageText, textsOf } from '../auth/consent-harness';
import { cardText, type BotUnderTest } from '../helpers/chat';
import {
  PARTNER_TENANT_ID, PRA_USER_UPN, SERVICE_ACCOUNT_PASSWORD, SETUP_APP_TAG, SIM_SETUP_REDIRECT_URIS,
} from '../simulator/scenarios/ids';
import { startSimulator, type Simulator } from '../simulator/server';
import { actionTitles, adminChat, adminSignIn, onboardWithSetup, openUrlOf, setupBot, waitForText } from './setup-harness';

/**
 * "Fix it for me" (issue 30 item 5): after onboarding on the setup path, someone takes the app the
 * bot created out of AdminAgents and drops one of its redirect URIs. The checklist's failing app
 * check offers "Fix it for me"; a Global Administrator signs in; the setup run goes over every
 * step again and repairs only those two things (the app, its secret and its consent are kept);
 * the checks pass again.
 */
describe('Fix it for me', function () {
  this.timeout(240_000);
  let sim: Simulator;
  let bot: BotUnderTest;

  before(async () => {
    sim = await startSimulator({ scenario: 'setup-empty' });
    bot = await setupBot(sim);
  });
  after(async () => {
    await bot?.stop();
  });

  const app = () => sim.scenario.tenants.find((t) => t.id === PARTNER_TENANT_ID)!.applications.find((a) => a.tags.includes(SETUP_APP_TAG))!;

  it('repairs only what is wrong with the app it created, and the checks pass again', async () => {
    const chat = adminChat(bot);
    await onboardWithSetup(bot, chat);
    const { objectId, appId } = app();
    const secret = app().secrets.map((s) => s.keyId);
    const stored = await bot.app.secrets.get(secretName(PARTNER_TENANT_ID, 'appSecret'));

    // Broken by hand in the portal.
    app().servicePrincipalGroups = app().servicePrincipalGroups.filter((g) => g !== 'AdminAgents');
    app().redirectUris = [SIM_SETUP_REDIRECT_URIS[0]!];

    await chat.say('recheck');
    await chat.refresh();
    const checks = chat.lastCard();
    assert.match(cardText(checks.card), /Checks: fix these before customer sync[\s\S]*App in AdminAgents/);
    await chat.press('Fix it for me', {}, { id: checks.id });
    const signInCard = chat.lastCard();
    assert.match(cardText(signInCard.card), /A Global Administrator signs in to repair your app/);
    const page = await adminSignIn(bot, openUrlOf(chat));
    assert.equal(page.status, 200, pageText(page.text));
    // The message, not the spent checks card (its title says the same, a moment before).
    await waitForText(chat, /^Your app is repaired: /, 120_000);
    // The checks card that offered it says what was done, without "Fix it for me"; the spent sign-in card has no button.
    await chat.refresh();
    const spentChecks = chat.card(checks.id)!;
    assert.deepEqual(actionTitles(spentChecks), [], `the checks card keeps no button: ${cardText(spentChecks)}`);
    assert.match(cardText(spentChecks), /Your app is repaired[\s\S]*its redirect addresses[\s\S]*newer card below/);
    assert.deepEqual(actionTitles(chat.card(signInCard.id)!), []);

    const texts = textsOf(await chat.client.transcript());
    const said = texts.find((t) => t.startsWith('Your app is repaired'))!;
    assert.equal(said, SetupMessages.repaired(['the app registration (its redirect addresses)', 'the app added to AdminAgents']));
    const now = sim.scenario.tenants.find((t) => t.id === PARTNER_TENANT_ID)!.applications.filter((a) => a.tags.includes(SETUP_APP_TAG));
    assert.equal(now.length, 1, 'repaired, not duplicated');
    assert.equal(now[0]!.objectId, objectId);
    assert.equal(now[0]!.appId, appId);
    assert.deepEqual(now[0]!.secrets.map((s) => s.keyId), secret, 'the working secret is kept');
    assert.equal(await bot.app.secrets.get(secretName(PARTNER_TENANT_ID, 'appSecret')), stored);
    assert.deepEqual(now[0]!.servicePrincipalGroups.filter((g) => g === 'AdminAgents'), ['AdminAgents']);
    assert.deepEqual([...now[0]!.redirectUris].sort(), [...SIM_SETUP_REDIRECT_URIS].sort());
    const partner = (await bot.app.partners.get(PARTNER_TENANT_ID))!;
    assert.match(String(partner.checks?.verdict), /^passed/, JSON.stringify(partner.checks));
    assert.ok(!texts.some((t) => /Sign in as the service account/.test(t) && texts.indexOf(t) > texts.indexOf(said)), 'the journey is not started again');
  });

  it('a repair that stops (no right to change AdminAgents) offers "Try again from here", which gives a new sign-in and goes on', async () => {
    const chat = adminChat(bot);
    app().servicePrincipalGroups = app().servicePrincipalGroups.filter((g) => g !== 'AdminAgents');
    await chat.say('fix it for me');
    assert.match(cardText(chat.lastCard().card), /A Global Administrator signs in to repair your app/);
    // A Privileged Role + Application Administrator may grant consent but not change AdminAgents.
    assert.equal((await adminSignIn(bot, openUrlOf(chat), { upn: PRA_USER_UPN, password: SERVICE_ACCOUNT_PASSWORD })).status, 200);
    await waitForText(chat, /Microsoft refused to add AdminAgents members/);
    await chat.refresh();
    const stopped = chat.lastCard();
    assert.match(cardText(stopped.card), /The setup stopped at: Add the app and the service account to AdminAgents[\s\S]*Try again from here/);
    await chat.press('Try again from here');
    assert.match(cardText(chat.lastCard().card), /A Global Administrator signs in to repair your app/);
    assert.equal((await adminSignIn(bot, openUrlOf(chat))).status, 200);
    await waitForText(chat, /Your app is repaired: the app added to AdminAgents/);
    await chat.refresh();
    assert.deepEqual(actionTitles(chat.card(stopped.id)!), [], 'the stopped run\'s "Try again from here" is spent');
    assert.deepEqual(app().servicePrincipalGroups.filter((g) => g === 'AdminAgents'), ['AdminAgents']);
  });

  it('a repair whose instance died is taken up after the restart with the repair\'s own "Try again from here": a new sign-in, and it goes on', async () => {
    const chat = adminChat(bot);
    const said = async (re: RegExp) => textsOf(await chat.client.transcript()).filter((t) => re.test(t)).length;
    app().servicePrincipalGroups = app().servicePrincipalGroups.filter((g) => g !== 'AdminAgents');
    // The repair's run as an instance killed during its AdminAgents step leaves it: 'running', the
    // lease lapsed (nobody renews it), the steps before recorded. Its kind was recorded when it began.
    const setups = new PartnerSetupRepository(bot.app.db);
    await bot.app.db.query(
      `UPDATE partner_setups SET status = 'running', lease_until = now() - interval '1 second', finished_at = NULL,
         steps = steps - 'adminAgents' - 'prove' - 'preflight' WHERE tenant_id = $1`, [PARTNER_TENANT_ID],
    );
    const progressId = (await setups.get(PARTNER_TENANT_ID))!.progressActivityId!;
    const repaired = /^Your app is repaired: the app added to AdminAgents/;
    const repairedBefore = await said(repaired);
    // The restarted instance's sweep.
    const restarted = new SetupRunner({
      setups, partners: bot.app.partners, connections: bot.app.connections, secrets: bot.app.secrets, checks: bot.app.checks,
      notifier: bot.app.notifier, logger: pino({ level: 'silent' }), graphBaseUrl: '', authorityHost: '', publicBaseUrl: '', carryOn: async () => undefined,
    });
    assert.equal(await restarted.sweepInterrupted(), 1);
    await chat.refresh();
    assert.match(textsOf(await chat.client.transcript()).at(-1)!, /The repair of your app stopped at “Add the app and the service account to AdminAgents” because the bot restarted/);
    assert.match(cardText(chat.card(progressId)!), /stopped at: Add the app and the service account to AdminAgents[\s\S]*Try again from here/);
    await chat.press('Try again from here', {}, { id: progressId });
    assert.match(cardText(chat.lastCard().card), /A Global Administrator signs in to repair your app/);
    assert.equal((await adminSignIn(bot, openUrlOf(chat))).status, 200);
    await chat.client.waitFor((e) => (textsOf(e).filter((t) => repaired.test(t)).length > repairedBefore ? e : undefined), { timeoutMs: 60_000 });
    assert.deepEqual(app().servicePrincipalGroups.filter((g) => g === 'AdminAgents'), ['AdminAgents']);
    assert.equal((await setups.get(PARTNER_TENANT_ID))!.status, 'done');
  });
});
