import assert from 'node:assert/strict';
import { GRAPH_APP_PERMISSIONS } from '../../src/checks/microsoft';
import { secretName } from '../../src/credentials/credential-service';
import { Messages } from '../../src/onboarding/messages';
import { SetupMessages } from '../../src/setup/setup-messages';
import { PartnerSetupRepository } from '../../src/store/partner-setups';
import { completeEntraPage, pageText, textsOf } from '../auth/consent-harness';
import { cardText, type BotUnderTest } from '../helpers/chat';
import {
  PARTNER_TENANT_ID, SERVICE_ACCOUNT_ID, SERVICE_ACCOUNT_PASSWORD, SERVICE_ACCOUNT_UPN, SETUP_APP_TAG, SIM_SETUP_REDIRECT_URIS,
} from '../simulator/scenarios/ids';
import { startSimulator, type Simulator } from '../simulator/server';
import { adminChat, adminSignIn, chooseSetup, liveButtons, open, openUrlOf, setupBot, waitForText } from './setup-harness';

/**
 * "Set it up for me" (issue 30) over HTTP against the simulator: the preparation card's choice, the
 * service account card, a Global Administrator's sign-in to the operator's setup app, the setup run
 * through Graph (its progress card ticking over), then the journey at the service account's sign-in,
 * the full checks and the sync, on the app the bot created.
 */
describe('Set it up for me', function () {
  this.timeout(240_000);
  let sim: Simulator;
  let bot: BotUnderTest;

  before(async () => {
    sim = await startSimulator({ scenario: 'setup-empty' });
  });
  after(() => sim.stop());
  afterEach(async () => {
    await bot?.stop({ keepSimulator: true });
  });

  const tenant = () => sim.scenario.tenants.find((t) => t.id === PARTNER_TENANT_ID)!;
  const taggedApps = () => tenant().applications.filter((a) => a.tags.includes(SETUP_APP_TAG));

  it('from the choice to a green pre-flight, the service account\'s sign-in and the full checks, on the app it created', async () => {
    await sim.loadScenario('setup-empty');
    bot = await setupBot(sim);
    const chat = adminChat(bot);
    const url = await chooseSetup(chat);
    assert.equal(taggedApps().length, 0, 'nothing is created before the sign-in');

    // Declined once on Microsoft's page: the chat offers "Try again from here", which gives a new sign-in card.
    const declined = await adminSignIn(bot, url, undefined, 'cancel');
    assert.equal(declined.status, 403);
    await waitForText(chat, /The setup hasn’t started/);
    await chat.refresh();
    await chat.press('Try again from here');
    assert.match(cardText(chat.lastCard().card), /A Global Administrator signs in for the setup/);
    const page = await adminSignIn(bot, openUrlOf(chat));
    assert.equal(page.status, 200, pageText(page.text));
    assert.match(pageText(page.text), /the setup is running/);

    // The run ends by carrying the journey on: the service account's sign-in card.
    await waitForText(chat, /Sign in as the service account/, 120_000);
    const texts = textsOf(await chat.client.transcript());
    assert.ok(texts.includes(SetupMessages.started));
    assert.ok(texts.some((t) => t.startsWith('Your Entra app is set up')), texts.join('\n---\n'));
    assert.ok(texts.some((t) => t.includes(SetupMessages.partnerCenterOptional)));
    const transcript = await chat.client.transcript();
    const progress = transcript.map((e) => cardText(e.activity.attachments?.[0]?.content as Record<string, unknown> | undefined)).find((t) => /Your Entra app is set up/.test(t));
    assert.ok(progress, 'the progress card ends ticked over');
    assert.equal((progress.match(/✅/g) ?? []).length, 9, progress);

    // Exactly one app, wired as the checklist would have had it.
    const apps = taggedApps();
    assert.equal(apps.length, 1);
    const app = apps[0]!;
    assert.deepEqual([...app.grantedAppRoles].sort(), GRAPH_APP_PERMISSIONS.map((p) => p.name).sort());
    assert.ok(app.grantedScopes.includes('User.Read'));
    assert.equal(app.partnerCenterConsent, true);
    assert.equal(app.secrets.length, 1);
    assert.ok(app.servicePrincipalGroups.includes('AdminAgents'));
    assert.deepEqual([...app.redirectUris].sort(), [...SIM_SETUP_REDIRECT_URIS].sort());
    assert.ok(tenant().users.find((u) => u.id === SERVICE_ACCOUNT_ID)!.groups.includes('AdminAgents'));

    // The secret went straight into the store: never in the chat, and the database keeps only its hint.
    const stored = await bot.app.secrets.get(secretName(PARTNER_TENANT_ID, 'appSecret'));
    assert.equal(stored, app.secrets[0]!.value);
    assert.ok(!JSON.stringify(transcript).includes(stored!));
    const partner = (await bot.app.partners.get(PARTNER_TENANT_ID))!;
    assert.equal(partner.connection?.appId, app.appId);
    assert.equal(partner.connection?.botCreatedAppId, app.appId);
    assert.equal(partner.credentials.appSecret?.hint, stored!.slice(0, 3));
    const rows = await bot.app.db.query<{ t: string }>('SELECT row_to_json(s)::text AS t FROM partner_setups s');
    assert.equal(rows.length, 1);
    assert.ok(!rows[0]!.t.includes(stored!) && !/eyJ[A-Za-z0-9_-]{10,}/.test(rows[0]!.t), 'no secret or token in the setup record');
    const setup = await new PartnerSetupRepository(bot.app.db).get(PARTNER_TENANT_ID);
    assert.equal(setup?.status, 'done');

    // The journey goes on at the service account's sign-in, on the app the bot made.
    const signIn = await open(bot, openUrlOf(chat));
    assert.equal(signIn.status, 302, pageText(signIn.text));
    assert.equal(new URL(signIn.location!).searchParams.get('client_id'), app.appId);
    const entra = await completeEntraPage(signIn.location!, { upn: SERVICE_ACCOUNT_UPN, password: SERVICE_ACCOUNT_PASSWORD, mfa: true });
    assert.equal(entra.status, 302, pageText(entra.text).slice(0, 400));
    const done = await open(bot, entra.location!);
    assert.equal(done.status, 200, pageText(done.text));
    await waitForText(chat, new RegExp(Messages.onboardingComplete.slice(0, 20).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), 180_000);
    const after = (await bot.app.partners.get(PARTNER_TENANT_ID))!;
    assert.ok(after.checks && (after.checks.verdict === 'passed' || after.checks.verdict === 'passed-with-advisories'), JSON.stringify(after.checks));
    assert.equal(taggedApps().length, 1);
    // No earlier card keeps a button that would do nothing now: the spent sign-in cards, the "Try again" card.
    assert.deepEqual(await liveButtons(chat), []);
  });
});
