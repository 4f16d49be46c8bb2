import assert from 'node:assert/strict';
import { toChatText } from '../../src/microsoft/sign-in-errors';
import { SETUP_DECLINED, SetupMessages, SetupRefusals } from '../../src/setup/setup-messages';
import { PartnerSetupRepository } from '../../src/store/partner-setups';
import { pageText, textsOf } from '../auth/consent-harness';
import { cardText, type BotUnderTest, type Chat } from '../helpers/chat';
import {
  GUEST_USER_UPN, PARTNER_TENANT_ID, PRA_USER_UPN, SERVICE_ACCOUNT_PASSWORD, SERVICE_ACCOUNT_UPN, SETUP_ADMIN_UPN, SETUP_APP_TAG,
} from '../simulator/scenarios/ids';
import { startSimulator, type Simulator } from '../simulator/server';
import { adminChat, adminSignIn, chooseSetup, open, openUrlOf, setupBot, waitForText } from './setup-harness';

const HELPDESK_UPN = 'helpdesk@contosopartner.onmicrosoft.com';
const as = (upn: string) => ({ upn, password: SERVICE_ACCOUNT_PASSWORD });

/**
 * "Set it up for me" refusals (issue 30 acceptance): each gives its specific message in the chat
 * and on the page, changes nothing it shouldn't, and leaves "Try again from here".
 */
describe('Set it up for me: refusals', function () {
  this.timeout(240_000);
  let sim: Simulator;
  let bot: BotUnderTest | undefined;

  before(async () => {
    sim = await startSimulator({ scenario: 'setup-empty' });
  });
  after(() => sim.stop());
  afterEach(async () => {
    await bot?.stop({ keepSimulator: true });
    bot = undefined;
  });

  const tenant = () => sim.scenario.tenants.find((t) => t.id === PARTNER_TENANT_ID)!;
  const taggedApps = () => tenant().applications.filter((a) => a.tags.includes(SETUP_APP_TAG));
  const texts = async (chat: Chat) => textsOf(await chat.client.transcript());
  const setupOf = async () => new PartnerSetupRepository(bot!.app.db).get(PARTNER_TENANT_ID);

  /** "Try again from here" on the newest card that has it: a new administrator sign-in link. */
  async function tryAgain(chat: Chat): Promise<string> {
    await chat.refresh();
    await chat.press('Try again from here');
    assert.match(cardText(chat.lastCard().card), /A Global Administrator signs in for the setup/);
    return openUrlOf(chat);
  }

  it('the administrator declines the permissions; someone who is no administrator is stopped at "Need admin approval"', async () => {
    await sim.loadScenario('setup-empty');
    bot = await setupBot(sim);
    const chat = adminChat(bot);
    const declined = await adminSignIn(bot, await chooseSetup(chat), as(SETUP_ADMIN_UPN), 'cancel');
    assert.equal(declined.status, 403);
    assert.match(pageText(declined.text), /The permissions were declined/);
    await waitForText(chat, /The permissions were declined/);
    assert.ok((await texts(chat)).includes(toChatText(SETUP_DECLINED)));
    assert.equal(taggedApps().length, 0);
    assert.equal((await setupOf())?.status, 'chosen');

    // "Need admin approval": the only way back is "Return to the application without granting consent", which Entra answers as a decline (AADSTS65004).
    const helpdesk = await adminSignIn(bot, await tryAgain(chat), as(HELPDESK_UPN), 'cancel');
    assert.equal(helpdesk.status, 403);
    assert.match(pageText(helpdesk.text), /may not grant them/);
    assert.equal(taggedApps().length, 0);
    assert.equal((await setupOf())?.status, 'chosen');

    // Entra's redirect for a non-administrator at an admin-only permission (AADSTS90094, as the admin
    // consent endpoint sends it) is told as that, not as a decline.
    const s = new URL(await tryAgain(chat), 'http://localhost').searchParams.get('s')!;
    const notAdmin = await open(bot, `/auth/callback?error=access_denied&error_description=${encodeURIComponent('AADSTS90094: The grant requires admin permission.')}&state=${s}`);
    assert.equal(notAdmin.status, 403);
    assert.match(pageText(notAdmin.text), /not an administrator of your tenant/);
    await waitForText(chat, /That account is not an administrator of your tenant/);
    assert.equal((await setupOf())?.status, 'chosen');
  });

  it('a guest as the service account is refused before anything is made; a signed-in member without an admin role changes nothing', async () => {
    await sim.loadScenario('setup-empty');
    bot = await setupBot(sim);
    const chat = adminChat(bot);
    // The Global Administrator consents for the whole organization as they sign in.
    const page = await adminSignIn(bot, await chooseSetup(chat, GUEST_USER_UPN.toLowerCase()), as(SETUP_ADMIN_UPN), 'accept', true);
    assert.equal(page.status, 200, pageText(page.text));
    await waitForText(chat, /The service account is a guest/);
    assert.ok((await texts(chat)).includes(toChatText(SetupRefusals.accountGuest(GUEST_USER_UPN.toLowerCase()))));
    assert.equal(taggedApps().length, 0);
    const setup = (await setupOf())!;
    assert.equal(setup.status, 'failed');
    assert.equal(setup.failure?.code, 'setup_account_guest');
    assert.deepEqual(setup.steps, {});
    await chat.refresh();
    assert.match(cardText(chat.lastCard().card), /The setup stopped at: Check the service account[\s\S]*Try again from here/);

    // Consent is in place now, so a member without a role gets through Entra: our role check refuses them.
    await chat.refresh();
    await chat.press('Try again from here');
    assert.match(cardText(chat.lastCard().card), /Set up the Entra app for me/, 'an account refusal goes back to the account card');
    await chat.press('Continue', { serviceAccount: SERVICE_ACCOUNT_UPN });
    const member = await adminSignIn(bot, openUrlOf(chat), as(HELPDESK_UPN));
    assert.equal(member.status, 403, pageText(member.text));
    assert.match(pageText(member.text), /not an administrator of your tenant/);
    assert.equal(taggedApps().length, 0);
    assert.equal((await setupOf())?.status, 'failed');
  });

  it('a Privileged Role + Application Administrator gets as far as AdminAgents; a Global Administrator goes on from there', async () => {
    await sim.loadScenario('setup-empty');
    bot = await setupBot(sim);
    const chat = adminChat(bot);
    // Consent for the organization first (a Global Administrator's sign-in, stopped at a guest service account: nothing made).
    await adminSignIn(bot, await chooseSetup(chat, GUEST_USER_UPN.toLowerCase()), as(SETUP_ADMIN_UPN), 'accept', true);
    await waitForText(chat, /The service account is a guest/);
    await chat.refresh();
    await chat.press('Try again from here');
    await chat.press('Continue', { serviceAccount: SERVICE_ACCOUNT_UPN });
    const page = await adminSignIn(bot, openUrlOf(chat), as(PRA_USER_UPN));
    assert.equal(page.status, 200, pageText(page.text));
    await waitForText(chat, /Microsoft refused to add AdminAgents members/);
    const stopped = (await setupOf())!;
    assert.equal(stopped.failure?.step, 'adminAgents');
    assert.deepEqual(Object.keys(stopped.steps).sort(), ['account', 'app', 'consent', 'resources', 'secret', 'servicePrincipal']);
    assert.equal(taggedApps().length, 1);
    const before = { ...taggedApps()[0]!, secrets: [...taggedApps()[0]!.secrets] };

    const again = await adminSignIn(bot, await tryAgain(chat), as(SETUP_ADMIN_UPN));
    assert.equal(again.status, 200, pageText(again.text));
    await waitForText(chat, /Sign in as the service account/, 120_000);
    const apps = taggedApps();
    assert.equal(apps.length, 1);
    assert.equal(apps[0]!.objectId, before.objectId);
    assert.deepEqual(apps[0]!.secrets.map((s) => s.keyId), before.secrets.map((s) => s.keyId), 'the secret made before the stop is the one kept');
    assert.ok(apps[0]!.servicePrincipalGroups.includes('AdminAgents'));
    assert.equal((await setupOf())?.status, 'done');
  });

  it('a policy capping secrets at 180 days: the secret lasts 180 days, and the chat says so', async () => {
    await sim.loadScenario('setup-capped');
    bot = await setupBot(sim);
    const chat = adminChat(bot);
    await adminSignIn(bot, await chooseSetup(chat));
    await waitForText(chat, /Sign in as the service account/, 120_000);
    const app = taggedApps()[0]!;
    assert.equal(app.secrets.length, 1);
    const setup = (await setupOf())!;
    assert.equal(setup.steps.secret?.days, 180);
    const until = String(setup.steps.secret?.endDateTime).slice(0, 10);
    assert.ok((await texts(chat)).includes(SetupMessages.secretCapped(180, until)));
    const partner = (await bot.app.partners.get(PARTNER_TENANT_ID))!;
    assert.equal(partner.credentials.appSecret?.expiresAt?.slice(0, 10), until);
  });

  it('replication slower than usual: the chat hears it waits; past the waits it stops with "Try again from here", and goes on without a second app', async () => {
    await sim.loadScenario('setup-slow');
    bot = await setupBot(sim);
    const chat = adminChat(bot);
    await adminSignIn(bot, await chooseSetup(chat));
    await waitForText(chat, /Sign in as the service account/, 120_000);
    assert.ok((await texts(chat)).some((t) => t.startsWith('Microsoft hasn’t finished replicating')));
    assert.equal(taggedApps().length, 1);
    await bot.stop({ keepSimulator: true });

    await sim.loadScenario('setup-empty');
    // New objects stay invisible for 10 minutes of the simulator's clock: every wait of the run passes in vain.
    tenant().replication = { newObjectNotFoundReads: 0, newObjectNotFoundSeconds: 600, newSecretRefusedAttempts: 0, newSecretRefusedSeconds: 0 };
    bot = await setupBot(sim);
    const slow = adminChat(bot);
    await adminSignIn(bot, await chooseSetup(slow));
    await waitForText(slow, /Microsoft is slower than usual today/, 120_000);
    const stopped = (await setupOf())!;
    assert.equal(stopped.status, 'failed');
    assert.equal(stopped.failure?.code, 'setup_replication_slow');
    assert.equal(taggedApps().length, 1);

    tenant().replication = undefined;
    sim.advanceClock(601_000);
    await adminSignIn(bot, await tryAgain(slow));
    await waitForText(slow, /Sign in as the service account/, 120_000);
    assert.equal(taggedApps().length, 1);
    assert.equal(taggedApps()[0]!.secrets.length, 1);
    assert.equal((await setupOf())?.status, 'done');
  });
});
