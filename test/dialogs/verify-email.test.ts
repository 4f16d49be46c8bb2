import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Messages } from '../../src/onboarding/messages';
import { BotUnderTest, cardText, COMPANY, PRIMARY, type Chat } from '../helpers/chat';

/** Email verification in the chat: who counts as the contact, and what start/resend may send. */
describe('email verification in the chat', function () {
  this.timeout(120_000);
  let bot: BotUnderTest;
  before(async () => { bot = await BotUnderTest.start({ teamsLimits: false }); });
  after(() => bot.stop());

  /** A fresh partner walked to the review; `confirm` then reaches verification. */
  async function atReview(user: { email?: string; userPrincipalName?: string; userRole?: 'user' | 'guest' }): Promise<{ chat: Chat; tenant: string }> {
    const tenant = randomUUID();
    const chat = bot.chat({ tenantId: tenant, user: { name: 'Megan Bowen', aadObjectId: randomUUID(), ...user } });
    await chat.say('start', 1);
    await chat.press('Save company details', COMPANY, { count: 1 });
    await chat.press('Save contact', PRIMARY, { count: 1 });
    await chat.press('Skip: no secondary contact', {}, { count: 1 });
    return { chat, tenant };
  }

  it('does not trust the directory mail attribute: a user whose `mail` is the contact address still gets a code', async () => {
    const before = (await bot.outbox()).length;
    const { chat, tenant } = await atReview({ email: PRIMARY.email, userPrincipalName: 'someone.else@contoso-cloud.de' });
    const turn = await chat.press('Confirm', {}, { count: 1 });
    assert.ok(!turn.texts.includes(Messages.emailVerifiedByTeams));
    assert.match(cardText(chat.lastCard().card), /m\*\*\*@contoso-cloud\.de/);
    assert.equal((await bot.outbox()).length, before + 1, 'a code was mailed');
    assert.equal((await bot.app.partners.get(tenant))?.emailVerifiedAt, undefined);
  });

  it('does not trust a guest whose sign-in name is the contact address', async () => {
    // A guest cannot even start onboarding; a member who later became a guest is the case here.
    const tenant = randomUUID();
    const owner = bot.chat({ tenantId: tenant, user: { name: 'Owner', aadObjectId: randomUUID() } });
    await owner.say('start', 1);
    await owner.press('Save company details', COMPANY, { count: 1 });
    await owner.press('Save contact', PRIMARY, { count: 1 });
    await owner.press('Skip: no secondary contact', {}, { count: 1 });
    await owner.press('Confirm', {}, { count: 1 });
    const guestId = randomUUID();
    await bot.app.partners.addMember(tenant, { aadObjectId: 'x', name: 'Owner' }, { aadObjectId: guestId, name: 'Guest' });
    const guest = bot.chat({ tenantId: tenant, user: { name: 'Guest', aadObjectId: guestId, userPrincipalName: PRIMARY.email, userRole: 'guest' } });
    const turn = await guest.say('start', 2);
    assert.ok(!turn.texts.includes(Messages.emailVerifiedByTeams), turn.texts.join('|'));
    assert.match(cardText(guest.lastCard().card), /Verify the contact email/, 'the guest is asked for the code like anyone else');
    assert.equal((await bot.app.partners.get(tenant))?.emailVerifiedAt, undefined);
  });

  it('typing start again at the verification step reuses the code: no new mail, no reset of wrong guesses', async () => {
    const { chat, tenant } = await atReview({ userPrincipalName: 'not.the.contact@contoso-cloud.de' });
    await chat.press('Confirm', {}, { count: 1 });
    const mails = await bot.outbox();
    const code = mails[mails.length - 1]!.text.match(/code in the Teams chat: (\d{6})/)![1]!;
    const wrong = String((Number(code) + 3) % 1_000_000).padStart(6, '0');
    const sentBefore = mails.length;
    const said: string[] = [];
    // 3 rounds of "start" and wrong guesses: the fifth wrong guess locks, whatever happened between.
    for (let round = 0; round < 3; round++) {
      const again = await chat.say('start', 3);
      said.push(...again.texts);
      for (let i = 0; i < 2 && said.length < 40; i++) said.push(...(await chat.say(wrong, 1)).texts);
    }
    assert.equal((await bot.outbox()).length, sentBefore, 'no mail sent by start');
    assert.ok(said.includes(Messages.codeLocked(15)), said.join('\n'));
    assert.ok(said.filter((t) => t === Messages.codeAlreadySent('m***@contoso-cloud.de')).length >= 1);
    const turn = await chat.say(code, 1);
    assert.deepEqual(turn.texts, [Messages.codeLocked(15)], 'the right code is locked out too');
    assert.equal((await bot.app.partners.get(tenant))?.emailVerifiedAt, undefined);
  });

  it('"This wasn\'t me" on the link page voids the code and tells the owner in chat', async () => {
    const { chat, tenant } = await atReview({ userPrincipalName: 'not.the.contact@contoso-cloud.de' });
    await chat.press('Confirm', {}, { count: 1 });
    const mails = await bot.outbox();
    const text = mails[mails.length - 1]!.text;
    const token = text.match(/token=([A-Za-z0-9_-]{43})/)![1]!;
    const code = text.match(/code in the Teams chat: (\d{6})/)![1]!;
    const page = await fetch(`${bot.url}/verify-email`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token, decision: 'deny' }).toString(),
    });
    assert.equal(page.status, 200);
    assert.match(await page.text(), /Request cancelled/);
    const told = await chat.client.waitFor((entries) => entries.some((e) => e.text === Messages.emailDenied('m***@contoso-cloud.de')));
    assert.ok(told);
    const turn = await chat.say(code, 1);
    assert.deepEqual(turn.texts, [Messages.codeUsed]);
    assert.equal((await bot.app.partners.get(tenant))?.emailVerifiedAt, undefined);
  });
});
