import assert from 'node:assert/strict';
import { Messages } from '../../src/onboarding/messages';
import { listAudit } from '../../src/store/audit-log';
import { connectorServiceUrl } from '../harness/activities';
import { BotUnderTest, cardText, COMPANY, PRIMARY } from '../helpers/chat';
import { cardIdOf, upTo } from '../helpers/onboarding-path';

/** The card contract shared by the company and contact forms: a card is answered once. */
describe('card forms: answered once', function () {
  this.timeout(120_000);
  let bot: BotUnderTest;
  before(async () => { bot = await BotUnderTest.start({ teamsLimits: false }); });
  after(() => bot.stop());

  it('a second press of an answered card is recognised: "already saved", nothing duplicated', async () => {
    const { chat, tenant } = await upTo(bot, 0);
    const companyCard = chat.lastCard();
    await chat.press('Save company details', COMPANY, { count: 1 });
    const again = await chat.submitRaw({ verb: 'company.submit', cardId: cardIdOf(companyCard.card), ...COMPANY, legalName: 'Changed' }, companyCard.id, 1);
    assert.deepEqual(again.texts, [Messages.alreadySaved]);
    assert.equal((await bot.app.partners.get(tenant))?.company?.legalName, COMPANY.legalName);
    assert.equal((await listAudit(bot.app.db, tenant)).filter((a) => a.action === 'company.saved').length, 1);
  });

  it('a double click (two submits at once) saves exactly once', async () => {
    const { chat, tenant } = await upTo(bot, 0);
    const card = chat.lastCard();
    const value = { verb: 'company.submit', cardId: cardIdOf(card.card), ...COMPANY };
    const before = (await chat.client.transcript()).length;
    await Promise.all([chat.submitRaw(value, card.id), chat.submitRaw(value, card.id)]);
    assert.equal((await listAudit(bot.app.db, tenant)).filter((a) => a.action === 'company.saved').length, 1);
    // Both turns ran against the same conversation: read what the bot said from the whole transcript.
    const posted = (await chat.client.transcript()).slice(before);
    const texts = posted.map((e) => e.text).filter(Boolean);
    const cards = posted.filter((e) => cardText(e.activity.attachments?.[0]?.content as Record<string, unknown>).includes('Step 2 of 11'));
    assert.deepEqual(texts, [Messages.alreadySaved], 'the second click is told, nothing else is said');
    assert.equal(cards.length, 1, 'exactly one next card');
    assert.equal((await bot.app.partners.get(tenant))?.company?.partnerId, COMPANY.partnerId);
  });

  it('Teams refuses to replace the answered card (its message is gone): the step is saved and the next card still comes, with no apology', async () => {
    const { chat, tenant } = await upTo(bot, 0);
    const card = chat.lastCard();
    const gone = await fetch(`${connectorServiceUrl(bot.sim.baseUrl)}v3/conversations/${encodeURIComponent(chat.client.conversation.conversationId)}/activities/${encodeURIComponent(card.id)}`, { method: 'DELETE' });
    assert.equal(gone.status, 200);
    const turn = await chat.submitRaw({ verb: 'company.submit', cardId: cardIdOf(card.card), ...COMPANY }, card.id, 1);
    assert.equal(turn.status, 200);
    assert.deepEqual(turn.texts, [], 'nothing said: no apology');
    assert.ok(turn.activities.some((a) => cardText(a.attachments?.[0]?.content as Record<string, unknown>).includes('Step 2 of 11')), 'the next card came');
    assert.equal((await bot.app.partners.get(tenant))?.company?.legalName, COMPANY.legalName);
    const next = await chat.press('Save contact', PRIMARY, { count: 1 });
    assert.ok(!next.texts.some((t) => /out of date|something went wrong/i.test(t)), `the next card works: ${JSON.stringify(next.texts)}`);
    assert.equal((await bot.app.partners.get(tenant))?.primaryContact?.email, PRIMARY.email);
  });
});
