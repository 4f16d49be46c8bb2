import assert from 'node:assert/strict';
import { listAudit } from '../../src/store/audit-log';
import { BotUnderTest, cardText, COMPANY, PRIMARY, SECONDARY } from '../helpers/chat';
import { upTo } from '../helpers/onboarding-path';

describe('review: edit a section and come back', function () {
  this.timeout(120_000);
  let bot: BotUnderTest;
  before(async () => { bot = await BotUnderTest.start({ teamsLimits: false }); });
  after(() => bot.stop());

  it('edits from the review: each section comes back prefilled, and a fresh review shows the change', async () => {
    const { chat, tenant } = await upTo(bot, 3);
    await chat.press('Edit company', {}, { count: 1 });
    assert.match(JSON.stringify(chat.lastCard().card), /"value":"Contoso Cloud Services GmbH"/, 'prefilled');
    await chat.press('Save company details', { ...COMPANY, legalName: 'Contoso Renamed AG' }, { count: 1 });
    assert.match(cardText(chat.lastCard().card), /Review[\s\S]*Contoso Renamed AG/);

    await chat.press('Edit primary contact', {}, { count: 1 });
    await chat.press('Save contact', { ...PRIMARY, phone: '+1 425 555 0100' }, { count: 1 });
    assert.match(cardText(chat.lastCard().card), /\+1 425 555 0100/);

    await chat.press('Add a secondary contact', {}, { count: 1 });
    await chat.press('Save contact', SECONDARY, { count: 1 });
    assert.match(cardText(chat.lastCard().card), /Adele Vance/);

    await chat.press('Edit secondary contact', {}, { count: 1 });
    await chat.press('Save contact', { ...SECONDARY, role: 'Billing' }, { count: 1 });
    const review = cardText(chat.lastCard().card);
    assert.match(review, /Billing/);

    const actions = (await listAudit(bot.app.db, tenant)).map((a) => `${a.action}:${JSON.stringify(a.detail)}`);
    assert.ok(actions.includes('company.saved:{"fields":["legalName"]}'), actions.join('\n'));
    assert.ok(actions.includes('contact.primary.saved:{"fields":["phone"]}'), actions.join('\n'));
  });
});
