import assert from 'node:assert/strict';
import { GRAPH_APP_PERMISSIONS } from '../../src/checks/microsoft';
import { secretName } from '../../src/credentials/credential-service';
import { SetupMessages } from '../../src/setup/setup-messages';
import { PartnerSetupRepository } from '../../src/store/partner-setups';
import { pageText, textsOf } from '../auth/consent-harness';
import type { BotUnderTest } from '../helpers/chat';
import { APP_ID, PARTNER_TENANT_ID, SERVICE_ACCOUNT_ID, SETUP_APP_TAG, SIM_SETUP_REDIRECT_URIS } from '../simulator/scenarios/ids';
import { startSimulator, type Simulator } from '../simulator/server';
import { adminChat, adminSignIn, chooseSetup, setupBot, waitForText } from './setup-harness';

/**
 * "Set it up for me" on a tenant half set up by hand (issue 30 acceptance): the app exists with the
 * tag, consent missing, its service principal not in AdminAgents, a redirect URI missing. The run
 * repairs that app instead of making a second one; what was there stays as it was.
 */
describe('Set it up for me: a tenant half set up by hand', function () {
  this.timeout(180_000);
  let sim: Simulator;
  let bot: BotUnderTest;

  before(async () => {
    sim = await startSimulator({ scenario: 'setup-half' });
  });
  after(async () => {
    await bot?.stop({ keepSimulator: true });
    await sim.stop();
  });

  const tenant = () => sim.scenario.tenants.find((t) => t.id === PARTNER_TENANT_ID)!;

  it('repairs the hand-made app: one app, consent granted, the missing redirect URI added, its service principal in AdminAgents once', async () => {
    const before = tenant().applications.filter((a) => a.tags.includes(SETUP_APP_TAG));
    assert.equal(before.length, 1);
    const { objectId, servicePrincipalId } = before[0]!;
    assert.equal(before[0]!.redirectUris.length, 1);
    bot = await setupBot(sim);
    const chat = adminChat(bot);
    const page = await adminSignIn(bot, await chooseSetup(chat));
    assert.equal(page.status, 200, pageText(page.text));
    await waitForText(chat, /Sign in as the service account/, 120_000);

    const apps = tenant().applications.filter((a) => a.tags.includes(SETUP_APP_TAG));
    assert.equal(apps.length, 1, 'repaired, not duplicated');
    const app = apps[0]!;
    assert.equal(app.objectId, objectId);
    assert.equal(app.appId, APP_ID);
    assert.equal(app.servicePrincipalId, servicePrincipalId);
    assert.deepEqual([...app.redirectUris].sort(), [...SIM_SETUP_REDIRECT_URIS].sort());
    assert.deepEqual([...app.grantedAppRoles].sort(), GRAPH_APP_PERMISSIONS.map((p) => p.name).sort());
    assert.ok(app.grantedScopes.includes('User.Read'));
    assert.equal(app.partnerCenterConsent, true);
    assert.equal(app.secrets.length, 1);
    assert.deepEqual(app.servicePrincipalGroups.filter((g) => g === 'AdminAgents'), ['AdminAgents']);
    const account = tenant().users.find((u) => u.id === SERVICE_ACCOUNT_ID)!;
    assert.deepEqual(account.groups.filter((g) => g === 'AdminAgents'), ['AdminAgents'], 'the service account was a member already: not added twice');
    assert.equal(await bot.app.secrets.get(secretName(PARTNER_TENANT_ID, 'appSecret')), app.secrets[0]!.value);

    const setup = (await new PartnerSetupRepository(bot.app.db).get(PARTNER_TENANT_ID))!;
    assert.equal(setup.status, 'done');
    assert.deepEqual(setup.steps.app, { appObjectId: objectId, appId: APP_ID, created: false, repaired: ['redirectUris'] });
    assert.deepEqual(setup.steps.servicePrincipal, { spId: servicePrincipalId, created: false });
    assert.deepEqual(setup.steps.adminAgents?.added, [servicePrincipalId]);
    assert.ok(textsOf(await chat.client.transcript()).some((t) => t.startsWith(SetupMessages.done('').slice(0, 25))));
  });
});
