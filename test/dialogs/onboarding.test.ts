import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Messages } from '../../src/onboarding/messages';
import { listAudit } from '../../src/store/audit-log';
import { botAddedActivity, installationUpdateActivity } from '../harness/activities';
import { BotUnderTest, cardText, COMPANY, PRIMARY, SECONDARY, type Chat } from '../helpers/chat';

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
    assert.match(text, /\+49 30 1234567/, "phone normalised with the company country, shown in international format");
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

/** The card ids on a card: what its buttons send back. */
function cardIdOf(card: Record<string, unknown>): string {
  return JSON.stringify(card).match(/"cardId":"([0-9a-f-]{36})"/)![1]!;
}

describe('onboarding conversation: edits, commands, verification, isolation', function () {
  this.timeout(120_000);
  let bot: BotUnderTest;
  before(async () => { bot = await BotUnderTest.start({ teamsLimits: false }); });
  after(() => bot.stop());

  function person(tenant: string, user: { email?: string; name?: string; aadObjectId?: string } = {}): Chat {
    return bot.chat({ tenantId: tenant, user: { name: 'Megan Bowen', aadObjectId: randomUUID(), ...user } });
  }

  /** Walks a fresh partner up to `step` (0 company … 4 verify) and returns the chat. */
  async function upTo(step: number, user: { email?: string } = {}): Promise<{ chat: Chat; tenant: string }> {
    const tenant = randomUUID();
    const chat = person(tenant, user);
    await chat.say('start', 1);
    if (step >= 1) await chat.press('Save company details', COMPANY, { count: 1 });
    if (step >= 2) await chat.press('Save contact', PRIMARY, { count: 1 });
    if (step >= 3) await chat.press('Skip: no secondary contact', {}, { count: 1 });
    if (step >= 4) await chat.press('Confirm', {}, { count: 1 });
    return { chat, tenant };
  }

  const STEP_NAMES = ['Company details', 'Primary contact', 'Secondary contact', 'Review', 'Email verification'];

  for (const [i, step] of STEP_NAMES.entries()) {
    describe(`commands at step ${i + 1} (${step})`, () => {
      let chat: Chat;
      let tenant: string;
      before(async () => { ({ chat, tenant } = await upTo(i)); });

      it('help shows the command list and leaves the step waiting', async () => {
        const turn = await chat.say('help', 1);
        assert.match(cardText(chat.lastCard().card), /start[\s\S]*status[\s\S]*restart[\s\S]*delete my data/);
        assert.equal(turn.texts.length, 0);
        const hint = await chat.say('hello?', 1);
        assert.deepEqual(hint.texts, [Messages.hint(step)]);
      });

      it('status says where the partner is', async () => {
        const turn = await chat.say('status', 1);
        assert.match(turn.texts[0]!, new RegExp(`step ${i + 1} of 5: \\*\\*${step}\\*\\*`));
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
        const expectedCard = i === 4 ? /Verify the contact email/ : new RegExp(`Step ${i + 1} of 5`);
        assert.match(cardText(chat.lastCard().card), expectedCard);
      });
    });
  }

  it('restart "Yes" clears the data and begins again at the company card; the old card is stale', async () => {
    const { chat, tenant } = await upTo(2);
    const oldCard = chat.lastCard();
    await chat.say('restart', 1);
    const turn = await chat.press('Yes, start over', {}, { count: 2 });
    assert.equal(turn.texts[0], Messages.restarted);
    assert.match(cardText(chat.lastCard().card), /Step 1 of 5 · Company details/);
    const partner = await bot.app.partners.get(tenant);
    assert.equal(partner?.company, undefined);
    assert.equal(partner?.primaryContact, undefined);
    const stale = await chat.press('Save contact', PRIMARY, { id: oldCard.id, count: 1 });
    assert.deepEqual(stale.texts, [Messages.staleCard]);
    assert.ok((await listAudit(bot.app.db, tenant)).some((a) => a.action === 'partner.reset'));
  });

  it('delete my data "Yes" deletes the partner and keeps a tombstone in the audit log', async () => {
    const { chat, tenant } = await upTo(3);
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

  it('only the owner may delete; a member is told who can', async () => {
    const tenant = randomUUID();
    const owner = person(tenant, { name: 'Megan Bowen' });
    await owner.say('start', 1);
    const memberId = randomUUID();
    await bot.app.partners.addMember(tenant, { aadObjectId: 'x', name: 'Megan Bowen' }, { aadObjectId: memberId, name: 'Adele Vance' });
    const member = person(tenant, { name: 'Adele Vance', aadObjectId: memberId });
    const turn = await member.say('delete my data', 1);
    assert.deepEqual(turn.texts, [Messages.ownerOnly('Megan Bowen')]);
  });

  it('edits from the review: each section comes back prefilled, and a fresh review shows the change', async () => {
    const { chat, tenant } = await upTo(3);
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

  it('a second press of an answered card is recognised: "already saved", nothing duplicated', async () => {
    const { chat, tenant } = await upTo(0);
    const companyCard = chat.lastCard();
    await chat.press('Save company details', COMPANY, { count: 1 });
    const again = await chat.submitRaw({ verb: 'company.submit', cardId: cardIdOf(companyCard.card), ...COMPANY, legalName: 'Changed' }, companyCard.id, 1);
    assert.deepEqual(again.texts, [Messages.alreadySaved]);
    assert.equal((await bot.app.partners.get(tenant))?.company?.legalName, COMPANY.legalName);
    assert.equal((await listAudit(bot.app.db, tenant)).filter((a) => a.action === 'company.saved').length, 1);
  });

  it('a double click (two submits at once) saves exactly once', async () => {
    const { chat, tenant } = await upTo(0);
    const card = chat.lastCard();
    const value = { verb: 'company.submit', cardId: cardIdOf(card.card), ...COMPANY };
    const before = (await chat.client.transcript()).length;
    await Promise.all([chat.submitRaw(value, card.id), chat.submitRaw(value, card.id)]);
    assert.equal((await listAudit(bot.app.db, tenant)).filter((a) => a.action === 'company.saved').length, 1);
    // Both turns ran against the same conversation: read what the bot said from the whole transcript.
    const posted = (await chat.client.transcript()).slice(before);
    const texts = posted.map((e) => e.text).filter(Boolean);
    const cards = posted.filter((e) => cardText(e.activity.attachments?.[0]?.content as Record<string, unknown>).includes('Step 2 of 5'));
    assert.deepEqual(texts, [Messages.alreadySaved], 'the second click is told, nothing else is said');
    assert.equal(cards.length, 1, 'exactly one next card');
    assert.equal((await bot.app.partners.get(tenant))?.company?.partnerId, COMPANY.partnerId);
  });

  describe('email verification by mail', () => {
    let chat: Chat;
    let tenant: string;
    before(async () => { ({ chat, tenant } = await upTo(4, { email: 'someone.else@contoso-cloud.de' })); });

    function lastMail() {
      return bot.outbox().then((mails) => mails.filter((m) => m.to === PRIMARY.email).pop()!);
    }
    const codeOf = (text: string) => text.match(/code in the Teams chat: (\d{6})/)![1]!;
    const linkOf = (text: string) => text.match(/(http:\/\/localhost:3978\/verify-email\?token=[A-Za-z0-9_-]+)/)![1]!;

    it('sends one mail with a code and a link to the primary contact, and a card with the masked address', async () => {
      const mail = await lastMail();
      assert.equal(mail.subject, 'Confirm your email for partner onboarding');
      assert.match(codeOf(mail.text), /^\d{6}$/);
      assert.match(cardText(chat.lastCard().card), /m\*\*\*@contoso-cloud\.de/);
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
        if (method === 'GET') assert.match(await page.text(), /Megan Bowen named m\*\*\*@contoso-cloud\.de as the primary contact for Contoso Cloud Services GmbH[\s\S]*Yes, confirm[\s\S]*This wasn&#39;t me/);
      }
      assert.equal((await bot.app.partners.get(tenant))?.emailVerifiedAt, undefined, 'opening the link (as a mail scanner does) verifies nothing');
      const confirm = (t: string) => fetch(`${bot.url}/verify-email`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token: t, decision: 'confirm' }).toString() });
      const page = await confirm(token);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /Email verified/);
      const told = await chat.client.waitFor((entries) => entries.some((e) => e.text === Messages.emailVerifiedByLink));
      assert.ok(told);
      assert.ok((await bot.app.partners.get(tenant))?.emailVerifiedAt);
      const reused = await confirm(token);
      assert.equal(reused.status, 410);
      const bogus = await fetch(`${bot.url}/verify-email?token=${'A'.repeat(43)}`);
      assert.equal(bogus.status, 404);
      const turn = await chat.say('continue', 2);
      assert.ok(turn.texts.includes(Messages.partOneDone), turn.texts.join('|'));
    });
  });

  it('verification by code, end to end', async () => {
    const { chat, tenant } = await upTo(4, { email: 'not.the.contact@contoso-cloud.de' });
    const mail = (await bot.outbox()).filter((m) => m.text.includes(tenant) || m.to === PRIMARY.email).pop()!;
    const code = mail.text.match(/code in the Teams chat: (\d{6})/)![1]!;
    const turn = await chat.say(code.slice(0, 3) + ' ' + code.slice(3), 1);
    assert.deepEqual(turn.texts, [Messages.partOneDone]);
    assert.ok((await bot.app.partners.get(tenant))?.emailVerifiedAt);
  });

  it('group chats and channels get a button to the private chat instead of onboarding', async () => {
    for (const scope of ['groupChat', 'channel'] as const) {
      const tenant = randomUUID();
      const chat = bot.chat({ tenantId: tenant, scope, user: { name: 'Megan Bowen', aadObjectId: randomUUID() } });
      const turn = await chat.say('start', 1);
      assert.deepEqual(turn.texts, [Messages.personalOnly]);
      assert.match(JSON.stringify(chat.lastCard().card), /"type":"Action.OpenUrl","title":"Open a private chat","url":"https:\/\/teams.microsoft.com\/l\/chat\/0\/0\?users=28%3A/);
      const help = await chat.say('help', 1);
      assert.equal(help.activities.length, 1);
      assert.equal(await bot.app.partners.get(tenant), undefined, `${scope}: nothing created`);
    }
  });

  it('people of another tenant can neither read nor change a partner', async () => {
    const { chat: owner, tenant } = await upTo(1);
    const ownerCard = owner.lastCard();
    const before = JSON.stringify(await bot.app.partners.get(tenant));
    for (const name of ['Eve Intruder', 'Mallory Other']) {
      const outsider = person(randomUUID(), { name });
      const status = await outsider.say('status', 1);
      assert.deepEqual(status.texts, [Messages.notStarted], 'their own tenant has no partner: nothing of the other leaks');
      // Replaying the other tenant's card id from their own chat changes nothing.
      const replay = await outsider.submitRaw({ verb: 'contact.submit', cardId: cardIdOf(ownerCard.card), section: 'primaryContact', ...PRIMARY }, ownerCard.id, 1);
      assert.deepEqual(replay.texts, [Messages.noActiveCard]);
      await outsider.say('start', 1);
      const own = await outsider.press('Save company details', { ...COMPANY, legalName: `${name} Ltd` }, { count: 1 });
      assert.equal(own.status, 200);
    }
    assert.equal(JSON.stringify(await bot.app.partners.get(tenant)), before);
  });

  it('a colleague of the same tenant asks to join; the owner adds them; then they can work on it', async () => {
    const { chat: owner, tenant } = await upTo(1);
    const colleague = person(tenant, { name: 'Joni Sherman' });
    const turn = await colleague.say('start', 1);
    assert.deepEqual(turn.texts, [Messages.notMember('Megan Bowen')]);
    // The owner gets a card in their own chat (asked once an hour at most).
    const request = await owner.client.waitFor((entries) => entries.some((e) => cardText(e.activity.attachments?.[0]?.content as Record<string, unknown>).includes('Joni Sherman wants to help')));
    assert.ok(request);
    await colleague.say('start', 1);
    await owner.refresh();
    const requests = (await owner.client.transcript()).filter((e) => cardText(e.activity.attachments?.[0]?.content as Record<string, unknown>).includes('wants to help'));
    assert.equal(requests.length, 1, 'asking again does not spam the owner');

    const requestCard = owner.lastCard();
    const addData = JSON.parse(JSON.stringify(requestCard.card)).actions[0].data as Record<string, unknown>;
    const added = await owner.press('Add Joni Sherman', {}, { count: 1 });
    assert.match(cardText(owner.card(requestCard.id)), /Joni Sherman added/, 'the request card is replaced: no stale buttons');
    assert.deepEqual(added.texts, [Messages.memberAddedOwner('Joni Sherman')]);
    const told = await colleague.client.waitFor((entries) => entries.some((e) => e.text === Messages.memberAdded('Megan Bowen')));
    assert.ok(told);
    const status = await colleague.say('status', 1);
    assert.match(status.texts[0]!, /step 2 of 5/);
    assert.equal((await bot.app.partners.get(tenant))?.members.length, 2);
    // A double click on the old card, or a replay of it.
    const again = await owner.submitRaw(addData, requestCard.id, 1);
    assert.deepEqual(again.texts, [Messages.alreadySaved]);
  });

  it('only the owner can add people, whatever the card says', async () => {
    const { tenant } = await upTo(0);
    const memberId = randomUUID();
    await bot.app.partners.addMember(tenant, { aadObjectId: 'x', name: 'Megan Bowen' }, { aadObjectId: memberId, name: 'Adele Vance' });
    const member = person(tenant, { name: 'Adele Vance', aadObjectId: memberId });
    const turn = await member.submitRaw({ verb: 'member.add', cardId: randomUUID(), memberId: randomUUID(), memberName: 'Eve', memberConversationId: 'a:1' }, 'msg-1', 1);
    assert.deepEqual(turn.texts, [Messages.ownerOnlyAdd('Megan Bowen')]);
    assert.equal((await bot.app.partners.get(tenant))?.members.length, 2);
  });
});
