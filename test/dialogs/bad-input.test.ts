import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Messages } from '../../src/onboarding/messages';
import { listAudit } from '../../src/store/audit-log';
import { submitActivity } from '../harness/activities';
import type { BotTurn } from '../harness/bot-client';
import { BotUnderTest, cardText, COMPANY, PRIMARY, type Chat } from '../helpers/chat';

type Case = [name: string, fields: Record<string, unknown>, expected: { field?: string; chat: string }];

// The company card: [name, what the card sends, what the person is told].
const COMPANY_CASES: Case[] = [
  ['empty legal name', { ...COMPANY, legalName: '' }, { field: 'Enter the legal name', chat: Messages.fixFields(1) }],
  ['whitespace-only legal name', { ...COMPANY, legalName: '   ' }, { field: 'Enter the legal name', chat: Messages.fixFields(1) }],
  ['legal name too long', { ...COMPANY, legalName: 'A'.repeat(201) }, { field: 'Legal name can be at most 200 characters', chat: Messages.fixFields(1) }],
  ['one-letter legal name', { ...COMPANY, legalName: 'A' }, { field: 'Legal name needs at least 2 characters', chat: Messages.fixFields(1) }],
  ['script tag in legal name', { ...COMPANY, legalName: '<script>alert(1)</script>' }, { field: "Legal name can't contain < or >", chat: Messages.fixFields(1) }],
  ['control character in city', { ...COMPANY, city: 'Ber\u0000lin' }, { field: "City contains characters that aren't allowed", chat: Messages.fixFields(1) }],
  ['unknown country code', { ...COMPANY, country: 'XX' }, { field: 'Choose a country from the list', chat: Messages.fixFields(1) }],
  ['country name instead of code', { ...COMPANY, country: 'Germany' }, { field: 'Choose a country from the list', chat: Messages.fixFields(1) }],
  ['missing country', { ...COMPANY, country: undefined }, { field: 'Choose a country', chat: Messages.fixFields(1) }],
  ['country as a number', { ...COMPANY, country: 49 }, { field: 'Choose a country', chat: Messages.fixFields(1) }],
  ['empty street', { ...COMPANY, street: '' }, { field: 'Enter the street', chat: Messages.fixFields(1) }],
  ['postal code with symbols', { ...COMPANY, postalCode: '10117!' }, { field: 'Postal code can only have letters, digits, spaces and dashes', chat: Messages.fixFields(1) }],
  ['website that is not a domain', { ...COMPANY, website: 'not a website' }, { field: 'Enter a domain like contoso.com (or a website like https://www.contoso.com)', chat: Messages.fixFields(1) }],
  ['website without a TLD', { ...COMPANY, website: 'https://intranet/' }, { field: 'Enter a domain like contoso.com (or a website like https://www.contoso.com)', chat: Messages.fixFields(1) }],
  ['partner id with letters', { ...COMPANY, partnerId: 'MPN12345' }, { field: 'Partner ID is digits only, like 1234567', chat: Messages.fixFields(1) }],
  ['partner id too short', { ...COMPANY, partnerId: '123' }, { field: 'Partner ID has 6 to 10 digits', chat: Messages.fixFields(1) }],
  ['VAT id with symbols', { ...COMPANY, vatId: 'DE#123' }, { field: 'VAT ID is 2 to 20 letters and digits, like DE123456789', chat: Messages.fixFields(1) }],
  ['legal name as an object', { ...COMPANY, legalName: { $ne: '' } }, { field: 'Legal name must be text', chat: Messages.fixFields(1) }],
  ['legal name as an array', { ...COMPANY, legalName: ['a', 'b'] }, { field: 'Legal name must be text', chat: Messages.fixFields(1) }],
  ['every field missing', {}, { field: 'Enter the street', chat: Messages.fixFields(7) }],
  ['extra field', { ...COMPANY, isAdmin: true }, { chat: Messages.unexpectedFields(['isAdmin']) }],
];

const CONTACT_CASES: Case[] = [
  ['email without a domain', { ...PRIMARY, email: 'megan@' }, { field: 'Enter an email address like name@contoso.com', chat: Messages.fixFields(1) }],
  ['email with spaces', { ...PRIMARY, email: 'megan bowen@contoso.com' }, { field: 'Enter an email address like name@contoso.com', chat: Messages.fixFields(1) }],
  ['phone that is letters', { ...PRIMARY, phone: 'call me' }, { field: 'Enter a valid phone number, with the country code (like +49 30 1234567) if it is abroad', chat: Messages.fixFields(1) }],
  ['phone too short', { ...PRIMARY, phone: '+49 1' }, { field: 'Enter a valid phone number, with the country code (like +49 30 1234567) if it is abroad', chat: Messages.fixFields(1) }],
  ['phone too long', { ...PRIMARY, phone: '+49 30 1234567 1234567 1234567 1234' }, { field: 'Phone can be at most 32 characters', chat: Messages.fixFields(1) }],
  ['empty first name', { ...PRIMARY, firstName: '' }, { field: 'Enter the first name', chat: Messages.fixFields(1) }],
  ['role too long', { ...PRIMARY, role: 'r'.repeat(101) }, { field: 'Role can be at most 100 characters', chat: Messages.fixFields(1) }],
  ['markup in last name', { ...PRIMARY, lastName: 'Bowen<img src=x>' }, { field: "Last name can't contain < or >", chat: Messages.fixFields(1) }],
];

function fieldErrorShown(turn: BotTurn, message: string): boolean {
  return turn.updated.some((u) => cardText(u.activity.attachments?.[0]?.content as Record<string, unknown>).includes(message));
}

describe('onboarding: bad input gets a clear message and changes nothing', function () {
  this.timeout(120_000);
  let bot: BotUnderTest;
  before(async () => { bot = await BotUnderTest.start({ teamsLimits: false }); });
  after(() => bot.stop());

  async function atCompanyStep(): Promise<{ chat: Chat; tenant: string; cardId: string; messageId: string }> {
    const tenant = randomUUID();
    const chat = bot.chat({ tenantId: tenant, user: { name: 'Megan Bowen', aadObjectId: randomUUID() } });
    await chat.say('start', 1);
    const { id, card } = chat.lastCard();
    const cardId = JSON.stringify(card).match(/"cardId":"([0-9a-f-]{36})"/)![1]!;
    return { chat, tenant, cardId, messageId: id };
  }

  async function assertNothingSaved(tenant: string, section: 'company' | 'primaryContact'): Promise<void> {
    const partner = await bot.app.partners.get(tenant);
    assert.equal(partner?.[section], undefined, `${section} must not be saved`);
    const actions = (await listAudit(bot.app.db, tenant)).map((a) => a.action);
    assert.ok(!actions.includes(section === 'company' ? 'company.saved' : 'contact.primary.saved'), actions.join(','));
  }

  describe('on the company card', () => {
    let ctx: Awaited<ReturnType<typeof atCompanyStep>>;
    before(async () => { ctx = await atCompanyStep(); });

    for (const [name, fields, expected] of COMPANY_CASES) {
      it(name, async () => {
        const turn = await ctx.chat.submitRaw({ verb: 'company.submit', cardId: ctx.cardId, ...fields }, ctx.messageId, 1);
        assert.deepEqual(turn.texts, [expected.chat]);
        if (expected.field) assert.ok(fieldErrorShown(turn, expected.field), `card shows "${expected.field}"`);
        await assertNothingSaved(ctx.tenant, 'company');
      });
    }

    it('keeps what the person typed on the re-rendered card', async () => {
      const turn = await ctx.chat.submitRaw({ verb: 'company.submit', cardId: ctx.cardId, ...COMPANY, partnerId: 'abc' }, ctx.messageId, 1);
      const inputs = JSON.stringify(turn.updated[0]!.activity.attachments?.[0]?.content);
      assert.ok(inputs.includes('"value":"Contoso Cloud Services GmbH"'));
      assert.ok(inputs.includes('"value":"abc"'));
      assert.equal(turn.updated[0]!.id, ctx.messageId, 'the same card, updated in place');
    });

    const envelopeCases: Array<[string, unknown, string]> = [
      ['a verb the bot does not know', { verb: 'company.delete', cardId: '00000000-0000-4000-8000-000000000000' }, Messages.submission.unknown_verb],
      ['no verb at all', { legalName: 'x' }, Messages.submission.unknown_verb],
      ['a malformed card id', { verb: 'company.submit', cardId: 'abc', ...COMPANY }, Messages.submission.bad_card_id],
      ['a card id the bot never issued', { verb: 'company.submit', cardId: randomUUID(), ...COMPANY }, Messages.staleCard],
      ['the right verb for another card', { verb: 'contact.submit', cardId: '', ...PRIMARY }, Messages.wrongSection],
      ['a payload over the size limit', { verb: 'company.submit', cardId: '', ...COMPANY, legalName: 'x'.repeat(9000) }, Messages.submission.too_large],
      ['a string instead of an object', 'company.submit', Messages.submission.not_a_submission],
      ['an array instead of an object', [{ verb: 'company.submit' }], Messages.submission.not_a_submission],
      ['null', null, Messages.submission.not_a_submission],
    ];
    for (const [name, value, message] of envelopeCases) {
      it(`a submission with ${name}`, async () => {
        const v = value && typeof value === 'object' && !Array.isArray(value) && (value as Record<string, unknown>).cardId === '' ? { ...value, cardId: ctx.cardId } : value;
        const activity = submitActivity(ctx.chat.client.conversation, {}, { replyToId: ctx.messageId });
        activity.value = v;
        const turn = await ctx.chat.client.send(activity, { count: 1 });
        assert.deepEqual(turn.texts, [message]);
        assert.deepEqual(turn.updated, [], 'the card is left as it was');
        await assertNothingSaved(ctx.tenant, 'company');
      });
    }

    it('free text while a card is waiting gets a hint back to the card', async () => {
      const turn = await ctx.chat.say('my company is Contoso', 1);
      assert.deepEqual(turn.texts, [Messages.hint('Company details')]);
      await assertNothingSaved(ctx.tenant, 'company');
    });

    it('after all that, the same card still saves good data', async () => {
      const turn = await ctx.chat.submitRaw({ verb: 'company.submit', cardId: ctx.cardId, ...COMPANY }, ctx.messageId, 1);
      assert.match(cardText(turn.updated[0]!.activity.attachments?.[0]?.content as Record<string, unknown>), /Company details saved/);
      assert.equal((await bot.app.partners.get(ctx.tenant))?.company?.legalName, COMPANY.legalName);
    });
  });

  describe('on the contact card', () => {
    let ctx: { chat: Chat; tenant: string; cardId: string; messageId: string };
    before(async () => {
      const c = await atCompanyStep();
      await c.chat.press('Save company details', COMPANY, { count: 1 });
      const { id, card } = c.chat.lastCard();
      ctx = { chat: c.chat, tenant: c.tenant, messageId: id, cardId: JSON.stringify(card).match(/"cardId":"([0-9a-f-]{36})"/)![1]! };
    });

    for (const [name, fields, expected] of CONTACT_CASES) {
      it(name, async () => {
        const turn = await ctx.chat.submitRaw({ verb: 'contact.submit', cardId: ctx.cardId, section: 'primaryContact', ...fields }, ctx.messageId, 1);
        assert.deepEqual(turn.texts, [expected.chat]);
        if (expected.field) assert.ok(fieldErrorShown(turn, expected.field), `card shows "${expected.field}"`);
        await assertNothingSaved(ctx.tenant, 'primaryContact');
      });
    }

    it('skip is not offered for the primary contact, even if sent', async () => {
      const turn = await ctx.chat.submitRaw({ verb: 'contact.skip', cardId: ctx.cardId, section: 'primaryContact' }, ctx.messageId, 1);
      assert.deepEqual(turn.texts, [Messages.wrongSection]);
      await assertNothingSaved(ctx.tenant, 'primaryContact');
    });
  });
});
