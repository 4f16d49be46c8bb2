import assert from 'node:assert/strict';
import { Messages } from '../../src/onboarding/messages';
import { secretName } from '../../src/credentials/credential-service';
import { listAudit } from '../../src/store/audit-log';
import { loadScenario } from '../simulator/scenario';
import { APP_ID, APP_SECRET_KEY_ID, APP_SECRET_VALUE, PARTNER_CUSTOM_DOMAIN, PARTNER_TENANT_ID, SERVICE_ACCOUNT_UPN } from '../simulator/scenarios/ids';
import { BotUnderTest, cardText, type Chat } from '../helpers/chat';
import { cardIdOf, toPreparation } from '../helpers/onboarding-path';

const ENTRA = { tenant: PARTNER_TENANT_ID, serviceAccount: SERVICE_ACCOUNT_UPN, appId: APP_ID, appSecret: APP_SECRET_VALUE };
const inAYear = new Date(Date.now() + 365 * 86_400_000).toISOString().slice(0, 10);
const PC = { pcAppId: APP_ID, pcSecret: APP_SECRET_VALUE, pcSecretExpires: inAYear };

/** Every text and card the chat holds, as one string: what a leak scan reads. */
async function everythingSaid(chat: Chat): Promise<string> {
  return JSON.stringify(await chat.client.transcript());
}

describe('preparation checklist', function () {
  this.timeout(60_000);
  let bot: BotUnderTest;
  before(async () => { bot = await BotUnderTest.start({ teamsLimits: false }); });
  after(() => bot.stop());

  it('lists every item with its portal link; ticks are kept across "start"; "I\'ve done this" moves on', async () => {
    const { chat, tenant } = await toPreparation(bot);
    const card = chat.lastCard();
    const text = cardText(card.card);
    assert.match(text, /Step 6 of 11 · Prepare your tenant/);
    assert.match(text, /0 of 14 done/);
    assert.match(text, /Global Administrator[\s\S]*Admin Agent[\s\S]*Directory\.ReadWrite\.All[\s\S]*AdminAgents/);
    // The seed steps the bot used to leave out (issue 26): Partner Center roles, the 2-year key, billing, user_impersonation.
    assert.match(text, /Incentives Admin[\s\S]*only the Partner Center portal shows Incentives Admin[\s\S]*validity of \*\*2 years\*\*[\s\S]*invoices must show[\s\S]*user_impersonation/);
    assert.match(text, /don't change its roles or password/);
    assert.match(JSON.stringify(card.card), /https:\/\/entra\.microsoft\.com\/#view\/Microsoft_AAD_RegisteredApps/);
    assert.match(text, /http:\/\/localhost:3978\/auth\/callback and http:\/\/localhost:3978\/auth\/adminconsent\/callback/, "the bot's own redirect URIs");

    const saved = await chat.press('Save progress', { 'account.create': 'true', 'account.mfa': 'true', 'app.register': 'false' }, { count: 1 });
    assert.deepEqual(saved.texts, [Messages.prepSaved(2, 14)]);
    assert.equal(saved.updated.length, 1, 'the checklist is updated in place');
    assert.match(cardText(chat.card(card.id)), /2 of 14 done/);
    assert.deepEqual((await bot.app.partners.get(tenant))?.preparation.done, ['account.create', 'account.mfa']);

    await chat.say('start', 2);
    assert.match(cardText(chat.lastCard().card), /2 of 14 done/, 'a fresh card shows the ticks kept');

    const done = await chat.press("I've done this", { 'account.create': 'true', 'account.mfa': 'true' }, { count: 1 });
    assert.match(cardText(done.updated[0]?.activity.attachments?.[0]?.content as Record<string, unknown>), /Preparation done[\s\S]*2 of 14/);
    assert.match(cardText(chat.lastCard().card), /Step 7 of 11 · Your tenant and Entra app/);
    const partner = await bot.app.partners.get(tenant);
    assert.ok(partner?.preparation.confirmedAt);
  });

  it('refuses a checklist submit with fields it does not know, and changes nothing', async () => {
    const { chat, tenant } = await toPreparation(bot);
    const turn = await chat.press('Save progress', { 'account.create': 'true', 'evil.field': 'true' }, { count: 1 });
    assert.deepEqual(turn.texts, [Messages.unexpectedFields(['evil.field'])]);
    assert.deepEqual((await bot.app.partners.get(tenant))?.preparation.done, []);
  });
});

describe('credential cards', function () {
  this.timeout(90_000);
  let bot: BotUnderTest;
  before(async () => { bot = await BotUnderTest.start({ teamsLimits: false }); });
  beforeEach(async () => { await bot.loadScenario('healthy'); });
  after(() => bot.stop());

  async function nothingKept(tenant: string): Promise<void> {
    const partner = await bot.app.partners.get(tenant);
    assert.equal(partner?.connection, undefined, 'no connection saved');
    assert.deepEqual(partner?.credentials, {});
    assert.equal(await bot.app.secrets.get(secretName(tenant, 'appSecret')), undefined, 'no secret stored');
  }

  const badInputs: Array<{ name: string; fields: Record<string, string>; field: RegExp }> = [
    { name: 'a tenant that is neither a GUID nor a domain', fields: { tenant: 'contoso partner' }, field: /Enter a tenant ID \(a GUID\) or a domain/ },
    { name: 'an app id that is not a GUID', fields: { appId: 'my-app' }, field: /Application \(client\) ID is a GUID/ },
    { name: "the secret's ID instead of its value", fields: { appSecret: APP_SECRET_KEY_ID }, field: /looks like the secret's ID, not its value/ },
    { name: 'a secret with a space inside', fields: { appSecret: 'Qd78Q~abc def.ghijklmnopq' }, field: /never contains spaces/ },
    { name: 'a secret too short', fields: { appSecret: 'short' }, field: /16 to 64 characters/ },
    { name: 'a sign-in name that is no UPN', fields: { serviceAccount: 'admin' }, field: /sign-in name like/ },
  ];
  for (const bad of badInputs) {
    it(`refuses ${bad.name} on the card, keeps the other values, stores nothing`, async () => {
      const { chat, tenant } = await toPreparation(bot, { skipChecklist: true });
      const turn = await chat.press('Save and check', { ...ENTRA, ...bad.fields }, { count: 1 });
      assert.deepEqual(turn.texts, [Messages.fixFields(1)]);
      const card = cardText(chat.lastCard().card);
      assert.match(card, bad.field);
      assert.ok(!JSON.stringify(chat.lastCard().card).includes(APP_SECRET_VALUE), 'the secret is never echoed into the card');
      await nothingKept(tenant);
    });
  }

  it('refuses a domain no tenant has, and a service account outside the partner tenant', async () => {
    const { chat, tenant } = await toPreparation(bot, { skipChecklist: true });
    const unknown = await chat.press('Save and check', { ...ENTRA, tenant: 'no-such-partner.example' }, { count: 1 });
    assert.match(unknown.texts[0]!, /^Nothing was saved\. No Microsoft tenant uses the domain no-such-partner\.example/);
    const foreign = await chat.press('Save and check', { ...ENTRA, serviceAccount: 'admin@fabrikam.example' }, { count: 1 });
    assert.match(foreign.texts[0]!, /fabrikam\.example isn't one of your partner tenant's domains/);
    assert.match(cardText(chat.lastCard().card), /isn't one of your partner tenant's domains/);
    await nothingKept(tenant);
  });

  it('a wrong secret is tried once more (it may be new), then explained; nothing is kept', async () => {
    const { chat, tenant } = await toPreparation(bot, { skipChecklist: true });
    const turn = await chat.press('Save and check', { ...ENTRA, appSecret: 'Qd78Q~this.is.not.the.secret_012' }, { count: 2 });
    assert.equal(turn.texts[0], Messages.secretRetrying);
    assert.match(turn.texts[1]!, /^Nothing was saved\./);
    assert.match(turn.texts[1]!, /secret/i);
    assert.ok(!turn.texts.join(' ').includes('Trace ID'), "Microsoft's raw description is not repeated");
    await nothingKept(tenant);
  });

  it('a secret created seconds ago: the chat is told, the retry succeeds', async () => {
    const scenario = await loadScenario('healthy');
    const fresh = 'Fresh~Secret.Value_0123456789abcdefghi';
    // Not replicated for a minute after the scenario loads; the bot's short wait moves the simulator's clock past that.
    scenario.tenants[0]!.applications[0]!.secrets.push({ keyId: '0b0b0b0b-5555-4555-8555-000000000009', displayName: 'new', value: fresh, startDateTime: { daysFromNow: 0 }, endDateTime: { daysFromNow: 365 }, replicationDelaySeconds: 60 } as never);
    await bot.loadScenario(scenario);
    const waits: number[] = [];
    const slow = await BotUnderTest.start({
      sim: bot.sim, teamsLimits: false, secretRetryWaitMs: 5_000,
      sleep: async (ms) => { waits.push(ms); bot.sim.advanceClock(60_000); },
    });
    try {
      const { chat, tenant } = await toPreparation(slow, { skipChecklist: true });
      const turn = await chat.press('Save and check', { ...ENTRA, appSecret: fresh }, { count: 3 });
      assert.equal(turn.texts[0], Messages.secretRetrying);
      assert.deepEqual(waits, [5_000], 'one retry, after the configured wait');
      assert.equal(await slow.app.secrets.get(secretName(tenant, 'appSecret')), fresh);
    } finally {
      await slow.stop({ keepSimulator: true });
    }
  });

  it('an expired secret is explained (AADSTS7000222) and not kept', async () => {
    await bot.loadScenario('secret-expired');
    const { chat, tenant } = await toPreparation(bot, { skipChecklist: true });
    const turn = await chat.press('Save and check', ENTRA, { count: 1 });
    assert.match(turn.texts[0]!, /^Nothing was saved\./);
    assert.match(turn.texts[0]!, /expired/i);
    await nothingKept(tenant);
  });

  it('healthy: domain resolved, spaces trimmed and said, masked summary at once, secret only in the store, admin consent seen in the token', async () => {
    const { chat, tenant } = await toPreparation(bot, { skipChecklist: true });
    const formId = chat.lastCard().id;
    const turn = await chat.press('Save and check', { ...ENTRA, tenant: ` ${PARTNER_CUSTOM_DOMAIN.toUpperCase()} `, appSecret: `${APP_SECRET_VALUE}  \n` }, { count: 3 });
    const summary = cardText(chat.card(formId));
    assert.match(summary, /Tenant and Entra app saved/);
    assert.match(summary, new RegExp(`Contoso Partner \\(${PARTNER_TENANT_ID}\\)`));
    assert.match(summary, /Qd7••••••••/);
    assert.match(summary, /expires \d{4}-\d{2}-\d{2}/, "the secret's end date comes from Graph (matched by its hint)");
    assert.deepEqual(turn.texts, [Messages.trimmed(['Partner tenant', 'Client secret']), Messages.adminConsentDetected]);
    assert.match(cardText(chat.lastCard().card), /Step 8 of 11 · Partner Center web app/);

    const partner = await bot.app.partners.get(tenant);
    assert.equal(partner?.connection?.partnerTenantId, PARTNER_TENANT_ID);
    assert.equal(partner?.connection?.partnerTenantName, 'Contoso Partner');
    assert.equal(partner?.credentials.appSecret?.hint, 'Qd7');
    assert.ok(partner?.consent.adminConsentAt, 'admin consent detected from the roles in the app-only token');
    assert.equal(await bot.app.secrets.get(secretName(tenant, 'appSecret')), APP_SECRET_VALUE);
    assert.ok(!(await everythingSaid(chat)).includes(APP_SECRET_VALUE.slice(3)), 'no activity carries the secret');
    const rows = await bot.app.db.query('SELECT * FROM partners WHERE tenant_id = $1', [tenant]);
    assert.ok(!JSON.stringify(rows).includes(APP_SECRET_VALUE.slice(3)), 'the partner row has no secret');
    const audit = await listAudit(bot.app.db, tenant);
    assert.ok(!JSON.stringify(audit).includes(APP_SECRET_VALUE.slice(3)), 'the audit log has no secret');

    // Partner Center web app: an expired date is refused; then saved.
    const past = await chat.press('Save', { ...PC, pcSecretExpires: '2020-01-01' }, { count: 1 });
    assert.deepEqual(past.texts, [Messages.fixFields(1)]);
    assert.match(cardText(chat.lastCard().card), /That date has passed/);
    const pc = await chat.press('Save', PC, { count: 3 });
    assert.deepEqual(pc.texts, [Messages.pcSaved(inAYear)]);
    // Step 9: the sign-in card, whose button opens this bot's single-use /auth/start link.
    const signIn = chat.lastCard().card;
    assert.match(cardText(signIn), /Step 9 of 11 · Sign in as the service account/);
    assert.match(cardText(signIn), /granted to this service account only/);
    assert.match(JSON.stringify(signIn), /"type":"Action\.OpenUrl","title":"Sign in","url":"http:\/\/localhost:3978\/auth\/start\?s=[^"]+"/);
    const after = await bot.app.partners.get(tenant);
    assert.equal(after?.connection?.pcAppId, APP_ID);
    assert.equal(after?.credentials.pcSecret?.expiresAt?.slice(0, 10), inAYear);
  });

  it('without admin consent the token has no roles: said as expected, not a failure', async () => {
    await bot.loadScenario('admin-consent-missing');
    const { chat, tenant } = await toPreparation(bot, { skipChecklist: true });
    const turn = await chat.press('Save and check', ENTRA, { count: 2 });
    assert.deepEqual(turn.texts, [Messages.adminConsentPending]);
    const partner = await bot.app.partners.get(tenant);
    assert.ok(partner?.credentials.appSecret);
    assert.equal(partner?.consent.adminConsentAt, undefined);
    assert.equal(partner?.connection?.partnerTenantName, undefined, 'the name needs a permission the app does not have yet');
  });

  it('a double click saves once: the second submit of the same card changes nothing', async () => {
    const { chat, tenant } = await toPreparation(bot, { skipChecklist: true });
    const form = chat.lastCard();
    const cardId = cardIdOf(form.card);
    await chat.press('Save and check', ENTRA, { id: form.id, count: 2 });
    const again = await chat.submitRaw({ verb: 'credentials.entra', cardId, ...ENTRA }, form.id, 1);
    assert.deepEqual(again.texts, [Messages.alreadySaved]);
    const audit = (await listAudit(bot.app.db, tenant)).filter((a) => a.action === 'credentials.saved');
    assert.equal(audit.length, 1);
  });

  it('status lists the credentials without a secret; update credentials rotates the secret in place (owner only)', async () => {
    const scenario = await loadScenario('healthy');
    const second = 'Rot8~second.secret.value_0123456789ab';
    scenario.tenants[0]!.applications[0]!.secrets.push({ keyId: '0b0b0b0b-5555-4555-8555-00000000000a', displayName: 'rotated', value: second, startDateTime: { daysFromNow: -1 }, endDateTime: { daysFromNow: 500 } } as never);
    await bot.loadScenario(scenario);
    const { chat, tenant } = await toPreparation(bot, { skipChecklist: true });
    await chat.press('Save and check', ENTRA, { count: 2 });
    await chat.press('Save', PC, { count: 3 });

    const status = (await chat.say('status', 1)).texts[0]!;
    assert.match(status, /\*\*Partner tenant\*\*: Contoso Partner/);
    assert.match(status, /\*\*Client secret\*\*: Qd7••••••••, expires \d{4}-\d{2}-\d{2}/);
    assert.match(status, new RegExp(`\\*\\*Partner Center key\\*\\*: Qd7••••••••, expires ${inAYear}`));
    assert.match(status, /\*\*Consent\*\*: not given yet/);
    assert.ok(!status.includes(APP_SECRET_VALUE.slice(3)));

    const stranger = bot.chat({ tenantId: tenant, user: { name: 'Lee Gu', aadObjectId: '0c0c0c0c-0000-4000-8000-000000000001' } });
    const refused = await stranger.say('update credentials', 1);
    assert.match(refused.texts[0]!, /Onboarding for your organization was started by/);

    await chat.say('update credentials', 1);
    const form = cardText(chat.lastCard().card);
    assert.match(form, /Update credentials \(1 of 2\) · Your tenant and Entra app/);
    assert.doesNotMatch(form, /Step \d+ of \d+/, 'a rotation is not a journey step');
    assert.ok(JSON.stringify(chat.lastCard().card).includes(APP_ID), 'the ids are prefilled');
    assert.match(JSON.stringify(chat.lastCard().card), /Leave empty to keep the stored secret/);
    await chat.press('Save and check', { ...ENTRA, appSecret: second }, { count: 2 });
    assert.equal(await bot.app.secrets.get(secretName(tenant, 'appSecret')), second, 'the new value replaced the old one');
    // A key valid six months (the guide asks for two years) is saved, and said once.
    const inSixMonths = new Date(Date.now() + 183 * 86_400_000).toISOString().slice(0, 10);
    const pc = await chat.press('Save', { pcAppId: APP_ID, pcSecret: '', pcSecretExpires: inSixMonths }, { count: 5 });
    assert.deepEqual(pc.texts.slice(0, 3), [Messages.pcSaved(inSixMonths), Messages.pcKeyShort(6), Messages.credentialsUpdated]);
    assert.equal(await bot.app.secrets.get(secretName(tenant, 'pcSecret')), APP_SECRET_VALUE, 'an empty key field keeps the stored key');
    const partner = await bot.app.partners.get(tenant);
    assert.equal(partner?.credentials.appSecret?.hint, 'Rot');
    const saves = (await listAudit(bot.app.db, tenant)).filter((a) => a.action === 'credentials.saved');
    assert.equal(saves.length, 4);
  });
});
