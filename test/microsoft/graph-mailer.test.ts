import assert from 'node:assert/strict';
import { createMailer } from '../../src/app';
import { loadConfig } from '../../src/config';
import { isAppError } from '../../src/errors';
import { graphOutbox } from '../simulator/services/graph';
import { ScenarioSchema, type Scenario } from '../simulator/scenario';
import { startSimulator, type Simulator } from '../simulator/server';

// The operator's own tenant: the bot's app registration may send as the onboarding mailbox.
const OPERATOR = '0b0e0000-0000-4000-8000-000000000001';
const APP = { appId: '0b0e0000-0000-4000-8000-0000000000a1', secret: 'Operator~Mail.Secret_0123456789abcdef' };
const SENDER = 'onboarding@operator.example';

function operatorScenario(grantMailSend: boolean): Scenario {
  return ScenarioSchema.parse({
    name: grantMailSend ? 'operator-mail' : 'operator-no-mail',
    description: 'The platform operator tenant with the bot app and its sending mailbox',
    tenants: [{
      id: OPERATOR, displayName: 'Operator', domains: ['operator.onmicrosoft.com', 'operator.example'],
      users: [{ id: '0b0e0000-0000-4000-8000-0000000000f1', userPrincipalName: SENDER, displayName: 'Partner Onboarding' }],
      applications: [{
        appId: APP.appId, objectId: '0b0e0000-0000-4000-8000-0000000000a2', servicePrincipalId: '0b0e0000-0000-4000-8000-0000000000a3',
        displayName: 'Partner Onboarding Bot', requestedAppRoles: ['Mail.Send'], grantedAppRoles: grantMailSend ? ['Mail.Send'] : [],
        secrets: [{ keyId: '0b0e0000-0000-4000-8000-0000000000c1', value: APP.secret, endDateTime: { daysFromNow: 365 } }],
      }],
    }],
  });
}

describe('GraphMailer against the simulated Graph', () => {
  let sim: Simulator;
  const config = () => loadConfig({
    BOT_ID: APP.appId, BOT_PASSWORD: APP.secret, BOT_TENANT_ID: OPERATOR, BOT_TYPE: 'SingleTenant',
    AUTHORITY_HOST: sim.baseUrl, GRAPH_BASE_URL: `${sim.baseUrl}/graph`, MAIL_SENDER: SENDER,
  });

  before(async () => { sim = await startSimulator({ scenario: operatorScenario(true) }); });
  after(() => sim.stop());

  it('sends from the operator mailbox with the bot identity (client credentials, Mail.Send)', async () => {
    const mailer = createMailer(config());
    assert.equal(mailer.kind, 'graph');
    await mailer.send({ to: 'megan@contoso-cloud.de', subject: 'Confirm your email', text: 'Code: 123456' });
    const [mail] = graphOutbox(sim);
    assert.ok(mail);
    assert.equal(mail.from, SENDER);
    assert.deepEqual(mail.to, ['megan@contoso-cloud.de']);
    assert.equal(mail.subject, 'Confirm your email');
    assert.equal(mail.content, 'Code: 123456');
  });

  it('without Mail.Send the failure is a clear, safe error', async () => {
    await sim.loadScenario(operatorScenario(false));
    const mailer = createMailer(config());
    await assert.rejects(mailer.send({ to: 'x@contoso.com', subject: 's', text: 't' }), (err: unknown) =>
      isAppError(err, 'mail_failed') && /HTTP 403/.test(err.message) && !err.message.includes(APP.secret)
      && err.userMessage === "I couldn't send the verification mail just now. Please try again in a minute.");
    assert.equal(graphOutbox(sim).length, 0);
  });
});
