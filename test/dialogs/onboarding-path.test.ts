import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Messages } from '../../src/onboarding/messages';
import { listAudit } from '../../src/store/audit-log';
import { botAddedActivity, installationUpdateActivity } from '../harness/activities';
import { BotUnderTest, cardText, COMPANY, PRIMARY, SECONDARY, type Chat } from '../helpers/chat';
import { upTo } from '../helpers/onboarding-path';

const TENANT = '6d2b1f0a-58c4-4b7e-9a3c-1f2e3d4c5b6a';

describe('onboarding conversation: the whole path', function () {
  this.timeout(60_000);
  let bot: BotUnderTest;
  before(async () => { bot = await BotUnderTest.start({ teamsLimits: false }); });
  after(() => bot.stop());

  function newChat(user: { email?: string; userPrincipalName?: string; name?: string; aadObjectId?: string } = {}, tenantId = TENANT): Chat {
    return bot.chat({ tenantId, user: { name: 'Megan Bowen', aadObjectId: randomUUID(), ...user } });
  }

  it('welcomes once when Teams sends both install events at the same moment', async () => {
    const chat = newChat({}, randomUUID());
    await Promise.all([
      chat.client.send(installationUpdateActivity(chat.client.conversation, 'add')),
      chat.client.send(botAddedActivity(chat.client.conversation)),
    ]);
    await chat.refresh();
    const welcomes = (await chat.client.transcript()).filter((e) => cardText(e.activity.attachments?.[0]?.content as Record<string, unknown>).includes('Welcome'));
    assert.equal(welcomes.length, 1);
  });

  it('welcome → company → primary → secondary → review → confirm → verified through Teams identity', async () => {
    const tenant = randomUUID();
    // The chatting user signs in to Teams with the contact's address (their UPN): no mail needed.
    const chat = newChat({ userPrincipalName: PRIMARY.email }, tenant);
    const welcome = await chat.install();
    assert.match(cardText(chat.lastCard().card), /Welcome, Megan!/);
    assert.equal(welcome.activities.length, 1);

    await chat.press("Let's start", {}, { count: 1 });
    assert.match(cardText(chat.lastCard().card), /Step 1 of 11 · Company details/);
    const companyCard = chat.lastCard().id;

    const saved = await chat.press('Save company details', COMPANY, { count: 1 });
    assert.match(cardText(chat.card(companyCard)), /✓ Company details saved[\s\S]*Contoso Cloud Services GmbH[\s\S]*Germany/);
    assert.equal(saved.updated.length, 1, 'the company card was replaced in place');
    assert.match(cardText(chat.lastCard().card), /Step 2 of 11 · Primary contact/);

    await chat.press('Save contact', PRIMARY, { count: 1 });
    assert.match(cardText(chat.lastCard().card), /Step 3 of 11 · Secondary contact/);
    await chat.press('Save contact', SECONDARY, { count: 1 });
    const review = chat.lastCard();
    const text = cardText(review.card);
    assert.match(text, /Step 4 of 11 · Review/);
    assert.match(text, /\+49 30 1234567/, "phone normalised with the company country, shown in international format");
    assert.match(text, /Adele Vance/);
    assert.match(text, /contoso-cloud\.de/);

    const done = await chat.press('Confirm', {}, { count: 2 });
    assert.deepEqual(done.texts, [Messages.emailVerifiedByTeams]);
    assert.match(cardText(chat.lastCard().card), /Step 6 of 11 · Prepare your tenant/);
    assert.equal((await bot.outbox()).length, 0, 'no mail needed');

    const partner = await bot.app.partners.get(tenant);
    assert.equal(partner?.company?.vatId, 'DE123456789');
    assert.equal(partner?.primaryContact?.phone, '+49301234567');
    assert.ok(partner?.confirmedAt && partner.emailVerifiedAt);
  });
});

describe('onboarding conversation: commands at every step, restart, delete', function () {
  this.timeout(120_000);
  let bot: BotUnderTest;
  before(async () => { bot = await BotUnderTest.start({ teamsLimits: false }); });
  after(() => bot.stop());

  const STEP_NAMES = ['Company details', 'Primary contact', 'Secondary contact', 'Review', 'Email verification'];

  for (const [i, step] of STEP_NAMES.entries()) {
    describe(`commands at step ${i + 1} (${step})`, () => {
      let chat: Chat;
      let tenant: string;
      before(async () => { ({ chat, tenant } = await upTo(bot, i)); });

      it('help shows the command list and leaves the step waiting', async () => {
        const turn = await chat.say('help', 1);
        assert.match(cardText(chat.lastCard().card), /start[\s\S]*status[\s\S]*restart[\s\S]*delete my data/);
        assert.equal(turn.texts.length, 0);
        const hint = await chat.say('hello?', 1);
        assert.deepEqual(hint.texts, [Messages.hint(step)]);
      });

      it('status says where the partner is', async () => {
        const turn = await chat.say('status', 1);
        assert.match(turn.texts[0]!, new RegExp(`step ${i + 1} of 11: \\*\\*${step}\\*\\*`));
        assert.equal((turn.texts[0]!.match(/✓/g) ?? []).length, i);
      });

      it('restart asks first; "No" keeps everything', async () => {
        await chat.say('restart', 1);
        assert.match(cardText(chat.lastCard().card), /Start over\?/);
        const turn = await chat.press('No, keep going', {}, { count: 1 });
        assert.deepEqual(turn.texts, [Messages.restartKept]);
        assert.equal((await chat.say('status', 1)).texts[0]!.includes(`**${step}**`), true);
      });

      it('delete my data asks first; "No" deletes nothing', async () => {
        await chat.say('delete my data', 1);
        const turn = await chat.press('No, keep it', {}, { count: 1 });
        assert.deepEqual(turn.texts, [Messages.deleteKept]);
        assert.ok(await bot.app.partners.get(tenant));
      });

      it('start resumes the current step with a fresh card', async () => {
        const turn = await chat.say('start', 2);
        assert.equal(turn.texts[0], Messages.resumed);
        const expectedCard = i === 4 ? /Verify the contact email/ : new RegExp(`Step ${i + 1} of 11`);
        assert.match(cardText(chat.lastCard().card), expectedCard);
      });
    });
  }

  it('restart "Yes" clears the data and begins again at the company card; the old card is stale', async () => {
    const { chat, tenant } = await upTo(bot, 2);
    const oldCard = chat.lastCard();
    await chat.say('restart', 1);
    const turn = await chat.press('Yes, start over', {}, { count: 2 });
    assert.equal(turn.texts[0], Messages.restarted);
    assert.match(cardText(chat.lastCard().card), /Step 1 of 11 · Company details/);
    const partner = await bot.app.partners.get(tenant);
    assert.equal(partner?.company, undefined);
    assert.equal(partner?.primaryContact, undefined);
    const stale = await chat.press('Save contact', PRIMARY, { id: oldCard.id, count: 1 });
    assert.deepEqual(stale.texts, [Messages.staleCard]);
    assert.ok((await listAudit(bot.app.db, tenant)).some((a) => a.action === 'partner.reset'));
  });

  it('delete my data "Yes" deletes the partner and keeps a tombstone in the audit log', async () => {
    const { chat, tenant } = await upTo(bot, 3);
    await bot.app.secrets.set(`partner-${tenant}-pc-secret`, 'pc-secret-value-123456');
    await chat.say('delete my data', 1);
    const turn = await chat.press('Yes, delete everything', {}, { count: 1 });
    assert.deepEqual(turn.texts, [Messages.deleted]);
    assert.equal(await bot.app.partners.get(tenant), undefined);
    assert.deepEqual(await bot.app.secrets.list(`partner-${tenant}-`), []);
    const audit = await listAudit(bot.app.db, tenant);
    assert.equal(audit[audit.length - 1]!.action, 'partner.deleted');
    assert.deepEqual(await bot.app.db.query('SELECT 1 FROM conversation_references WHERE tenant_id = $1', [tenant]), []);
    const again = await chat.say('status', 1);
    assert.deepEqual(again.texts, [Messages.notStarted]);
  });
});
