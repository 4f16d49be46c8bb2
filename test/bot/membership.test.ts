import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Messages } from '../../src/onboarding/messages';
import { BotUnderTest, cardText, COMPANY, PRIMARY } from '../helpers/chat';
import { cardIdOf, person, upTo } from '../helpers/onboarding-path';

/** Who belongs to a partner: personal chats only, tenants kept apart, colleagues join through the owner. */
describe('membership and tenant isolation', function () {
  this.timeout(120_000);
  let bot: BotUnderTest;
  before(async () => { bot = await BotUnderTest.start({ teamsLimits: false }); });
  after(() => bot.stop());

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
    const { chat: owner, tenant } = await upTo(bot, 1);
    const ownerCard = owner.lastCard();
    const before = JSON.stringify(await bot.app.partners.get(tenant));
    for (const name of ['Eve Intruder', 'Mallory Other']) {
      const outsider = person(bot, randomUUID(), { name });
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
    const { chat: owner, tenant } = await upTo(bot, 1);
    const colleague = person(bot, tenant, { name: 'Joni Sherman' });
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
    assert.match(status.texts[0]!, /step 2 of 11/);
    assert.equal((await bot.app.partners.get(tenant))?.members.length, 2);
    // A double click on the old card, or a replay of it.
    const again = await owner.submitRaw(addData, requestCard.id, 1);
    assert.deepEqual(again.texts, [Messages.alreadySaved]);
  });

  it('only the owner can add people, whatever the card says', async () => {
    const { tenant } = await upTo(bot, 0);
    const memberId = randomUUID();
    await bot.app.partners.addMember(tenant, { aadObjectId: 'x', name: 'Megan Bowen' }, { aadObjectId: memberId, name: 'Adele Vance' });
    const member = person(bot, tenant, { name: 'Adele Vance', aadObjectId: memberId });
    const turn = await member.submitRaw({ verb: 'member.add', cardId: randomUUID(), memberId: randomUUID(), memberName: 'Eve', memberConversationId: 'a:1' }, 'msg-1', 1);
    assert.deepEqual(turn.texts, [Messages.ownerOnlyAdd('Megan Bowen')]);
    assert.equal((await bot.app.partners.get(tenant))?.members.length, 2);
  });

  it('only the owner may delete; a member is told who can', async () => {
    const tenant = randomUUID();
    const owner = person(bot, tenant, { name: 'Megan Bowen' });
    await owner.say('start', 1);
    const memberId = randomUUID();
    await bot.app.partners.addMember(tenant, { aadObjectId: 'x', name: 'Megan Bowen' }, { aadObjectId: memberId, name: 'Adele Vance' });
    const member = person(bot, tenant, { name: 'Adele Vance', aadObjectId: memberId });
    const turn = await member.say('delete my data', 1);
    assert.deepEqual(turn.texts, [Messages.ownerOnly('Megan Bowen')]);
  });
});
