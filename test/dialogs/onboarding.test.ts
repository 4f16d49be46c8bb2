import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Messages } from '../../src/onboarding/messages';
import { BotUnderTest, cardText, COMPANY, PRIMARY, SECONDARY, type Chat } from '../helpers/chat';

const TENANT = '6d2b1f0a-58c4-4b7e-9a3c-1f2e3d4c5b6a';

describe('onboarding conversation: the whole path', function () {
  this.timeout(60_000);
  let bot: BotUnderTest;
  before(async () => { bot = await BotUnderTest.start(); });
  after(() => bot.stop());

  function newChat(user: { email?: string; name?: string; aadObjectId?: string } = {}, tenantId = TENANT): Chat {
    return bot.chat({ tenantId, user: { name: 'Megan Bowen', aadObjectId: randomUUID(), ...user } });
  }

  it('welcome → company → primary → secondary → review → confirm → verified through Teams identity', async () => {
    const tenant = randomUUID();
    const chat = newChat({ email: PRIMARY.email }, tenant);
    const welcome = await chat.install();
    assert.match(cardText(chat.lastCard().card), /Welcome, Megan!/);
    assert.equal(welcome.activities.length, 1);

    await chat.press("Let's start", {}, { count: 1 });
    assert.match(cardText(chat.lastCard().card), /Step 1 of 5 · Company details/);
    const companyCard = chat.lastCard().id;

    const saved = await chat.press('Save company details', COMPANY, { count: 1 });
    assert.match(cardText(chat.card(companyCard)), /✓ Company details saved[\s\S]*Contoso Cloud Services GmbH[\s\S]*Germany/);
    assert.equal(saved.updated.length, 1, 'the company card was replaced in place');
    assert.match(cardText(chat.lastCard().card), /Step 2 of 5 · Primary contact/);

    await chat.press('Save contact', PRIMARY, { count: 1 });
    assert.match(cardText(chat.lastCard().card), /Step 3 of 5 · Secondary contact/);
    await chat.press('Save contact', SECONDARY, { count: 1 });
    const review = chat.lastCard();
    const text = cardText(review.card);
    assert.match(text, /Step 4 of 5 · Review/);
    assert.match(text, /\+49301234567/, 'phone normalised to E.164 with the company country');
    assert.match(text, /Adele Vance/);
    assert.match(text, /contoso-cloud\.de/);

    const done = await chat.press('Confirm', {}, { count: 2 });
    assert.deepEqual(done.texts, [Messages.emailVerifiedByTeams, Messages.partOneDone]);
    assert.equal((await bot.outbox()).length, 0, 'no mail needed');

    const partner = await bot.app.partners.get(tenant);
    assert.equal(partner?.company?.vatId, 'DE123456789');
    assert.equal(partner?.primaryContact?.phone, '+49301234567');
    assert.ok(partner?.confirmedAt && partner.emailVerifiedAt);
  });
});
