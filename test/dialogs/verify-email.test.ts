import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Messages } from '../../src/onboarding/messages';
import { listAudit } from '../../src/store/audit-log';
import { BotUnderTest, cardText, COMPANY, PRIMARY, type Chat } from '../helpers/chat';
import { upTo } from '../helpers/onboarding-path';

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
    // The mask is dots, not markdown stars, and the address is not inside bold: Teams shows it as it is.
    assert.match(cardText(chat.lastCard().card), /I sent a 6-digit code and a link to m•••@contoso-cloud\.de\. /);
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
    assert.ok(said.filter((t) => t === Messages.codeAlreadySent('m•••@contoso-cloud.de')).length >= 1);
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
    const told = await chat.client.waitFor((entries) => entries.some((e) => e.text === Messages.emailDenied('m•••@contoso-cloud.de')));
    assert.ok(told);
    const turn = await chat.say(code, 1);
    assert.deepEqual(turn.texts, [Messages.codeUsed]);
    assert.equal((await bot.app.partners.get(tenant))?.emailVerifiedAt, undefined);
  });
});

/** The primary contact is not the person in the chat: a code and a link go by mail. */
describe('email verification by code and link', function () {
  this.timeout(120_000);
  let bot: BotUnderTest;
  before(async () => { bot = await BotUnderTest.start({ teamsLimits: false }); });
  after(() => bot.stop());

  it('verification by code, end to end', async () => {
    const { chat, tenant } = await upTo(bot, 4, { email: 'not.the.contact@contoso-cloud.de' });
    const mail = (await bot.outbox()).filter((m) => m.text.includes(tenant) || m.to === PRIMARY.email).pop()!;
    const code = mail.text.match(/code in the Teams chat: (\d{6})/)![1]!;
    const turn = await chat.say(code.slice(0, 3) + ' ' + code.slice(3), 1);
    assert.deepEqual(turn.texts, []);
    assert.match(cardText(chat.lastCard().card), /Step 6 of 11 · Prepare your tenant/);
    assert.ok((await bot.app.partners.get(tenant))?.emailVerifiedAt);
  });

  describe('email verification by mail', () => {
    let chat: Chat;
    let tenant: string;
    before(async () => { ({ chat, tenant } = await upTo(bot, 4, { email: 'someone.else@contoso-cloud.de' })); });

    function lastMail() {
      return bot.outbox().then((mails) => mails.filter((m) => m.to === PRIMARY.email).pop()!);
    }
    const codeOf = (text: string) => text.match(/code in the Teams chat: (\d{6})/)![1]!;
    const linkOf = (text: string) => text.match(/(http:\/\/localhost:3978\/verify-email\?token=[A-Za-z0-9_-]+)/)![1]!;

    it('sends one mail with a code and a link to the primary contact, and a card with the masked address', async () => {
      const mail = await lastMail();
      assert.equal(mail.subject, 'Confirm your email for partner onboarding');
      assert.match(codeOf(mail.text), /^\d{6}$/);
      assert.match(cardText(chat.lastCard().card), /I sent a 6-digit code and a link to m•••@contoso-cloud\.de\. /);
      const rows = JSON.stringify(await bot.app.db.query('SELECT * FROM email_verifications WHERE tenant_id = $1', [tenant]));
      assert.ok(!rows.includes(codeOf(mail.text)), 'the code is not stored in clear');
      assert.ok(!rows.includes(linkOf(mail.text).split('token=')[1]!), 'nor the link token');
    });

    it('a wrong code is refused with the tries left; resend is limited to once a minute', async () => {
      const wrong = (Number(codeOf((await lastMail()).text)) + 1) % 1_000_000;
      const turn = await chat.press('Verify', { code: String(wrong).padStart(6, '0') }, { count: 1 });
      assert.deepEqual(turn.texts, [Messages.codeWrong(4)]);
      assert.match(cardText(turn.updated[0]!.activity.attachments?.[0]?.content as Record<string, unknown>), /4 tries left/);
      const resend = await chat.press('Send a new code', {}, { count: 1 });
      assert.match(resend.texts[0]!, /^I just sent a code\. You can ask for a new one in \d+ seconds?\.$/);
      const bad = await chat.press('Verify', { code: '12ab' }, { count: 1 });
      assert.deepEqual(bad.texts, [Messages.codeMalformed]);
    });

    it('five wrong codes lock it for 15 minutes, even for the right code', async () => {
      const right = codeOf((await lastMail()).text);
      const wrong = String((Number(right) + 7) % 1_000_000).padStart(6, '0');
      let last: string | undefined;
      for (let i = 0; i < 4; i++) last = (await chat.press('Verify', { code: wrong }, { count: 1 })).texts[0];
      assert.equal(last, Messages.codeLocked(15));
      const turn = await chat.press('Verify', { code: right }, { count: 1 });
      assert.deepEqual(turn.texts, [Messages.codeLocked(15)]);
      assert.equal((await bot.app.partners.get(tenant))?.emailVerifiedAt, undefined);
      assert.ok((await listAudit(bot.app.db, tenant)).some((a) => a.action === 'email.locked'));
    });

    it('the link shows a page (GET changes nothing); its button verifies (single use), tells the chat, and the chat carries on', async () => {
      const link = linkOf((await lastMail()).text).replace('http://localhost:3978', bot.url);
      const token = link.split('token=')[1]!;
      for (const method of ['GET', 'HEAD', 'GET'] as const) {
        const page = await fetch(link, { method, headers: method === 'GET' ? { purpose: 'prefetch', 'sec-purpose': 'prefetch' } : {} });
        assert.equal(page.status, 200);
        assert.equal(page.headers.get('cache-control'), 'no-store');
        assert.match(page.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
        if (method === 'GET') assert.match(await page.text(), /Megan Bowen named m•••@contoso-cloud\.de as the primary contact for Contoso Cloud Services GmbH[\s\S]*Yes, confirm[\s\S]*This wasn&#39;t me/);
      }
      assert.equal((await bot.app.partners.get(tenant))?.emailVerifiedAt, undefined, 'opening the link (as a mail scanner does) verifies nothing');
      const confirm = (t: string) => fetch(`${bot.url}/verify-email`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token: t, decision: 'confirm' }).toString() });
      const page = await confirm(token);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /Email verified/);
      const told = await chat.client.waitFor((entries) => entries.some((e) => e.text === Messages.emailVerifiedByLink));
      assert.ok(told);
      // The journey carries on by itself: the code card becomes its summary, the checklist follows (no Continue, nothing typed).
      const entries = await chat.client.waitFor((all) => all.some((e) => cardText(e.activity.attachments?.[0]?.content as Record<string, unknown>).includes('Step 6 of 11 · Prepare your tenant')) && all);
      assert.ok(!entries.some((e) => /"title":"Continue"/.test(JSON.stringify(e.activity.attachments ?? []))), 'no Continue card');
      await chat.refresh();
      const codeCard = entries.find((e) => cardText(e.activity.attachments?.[0]?.content as Record<string, unknown>).includes('Contact email verified'));
      assert.ok(codeCard, 'the code card became its summary');
      assert.doesNotMatch(JSON.stringify(chat.card(codeCard.id)), /Action\.Submit/, 'with no button left');
      assert.ok((await bot.app.partners.get(tenant))?.emailVerifiedAt);
      const reused = await confirm(token);
      assert.equal(reused.status, 410);
      const bogus = await fetch(`${bot.url}/verify-email?token=${'A'.repeat(43)}`);
      assert.equal(bogus.status, 404);
      assert.match(cardText(chat.lastCard().card), /Step 6 of 11 · Prepare your tenant/);
    });
  });
});
