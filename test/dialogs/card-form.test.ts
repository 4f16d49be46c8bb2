import assert from 'node:assert/strict';
import { Messages } from '../../src/onboarding/messages';
import { listAudit } from '../../src/store/audit-log';
import { BotUnderTest, cardText, COMPANY } from '../helpers/chat';
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
});
