import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Messages } from '../../src/onboarding/messages';
import { listAudit } from '../../src/store/audit-log';
import { BotUnderTest, cardText, COMPANY, type Chat } from '../helpers/chat';

/** Who may start, restart, delete, add people and hand over: the owner, never a guest. */
describe('ownership', function () {
  this.timeout(120_000);
  let bot: BotUnderTest;
  before(async () => { bot = await BotUnderTest.start({ teamsLimits: false }); });
  after(() => bot.stop());

  function person(tenant: string, name: string, extra: { userRole?: 'user' | 'guest'; aadObjectId?: string } = {}): Chat {
    return bot.chat({ tenantId: tenant, user: { name, aadObjectId: randomUUID(), ...extra } });
  }

  /** A partner owned by Megan with company details saved, and Joni added as a member. */
  async function ownerAndMember(): Promise<{ tenant: string; owner: Chat; member: Chat }> {
    const tenant = randomUUID();
    const owner = person(tenant, 'Megan Bowen');
    await owner.say('start', 1);
    await owner.press('Save company details', COMPANY, { count: 1 });
    const member = person(tenant, 'Joni Sherman');
    await member.say('start', 1);
    await owner.client.waitFor((entries) => entries.some((e) => cardText(e.activity.attachments?.[0]?.content as Record<string, unknown>).includes('Joni Sherman wants to help')));
    await owner.refresh();
    await owner.press('Add Joni Sherman', {}, { count: 1 });
    await member.client.waitFor((entries) => entries.some((e) => e.text === Messages.memberAdded('Megan Bowen')));
    return { tenant, owner, member };
  }

  it('refuses a guest who types start: no partner is created', async () => {
    const tenant = randomUUID();
    const guest = person(tenant, 'Guest User', { userRole: 'guest' });
    const turn = await guest.say('start', 1);
    assert.deepEqual(turn.texts, [Messages.guestRefused]);
    assert.equal(await bot.app.partners.get(tenant), undefined);
  });

  it('refuses a guest who asks to join: the owner is not asked', async () => {
    const { tenant, owner } = await ownerAndMember();
    await owner.refresh();
    const cardsBefore = (await owner.client.transcript()).length;
    const turn = await person(tenant, 'Guest User', { userRole: 'guest' }).say('start', 1);
    assert.deepEqual(turn.texts, [Messages.guestRefused]);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await owner.client.transcript()).length, cardsBefore);
    assert.equal((await bot.app.partners.get(tenant))?.members.length, 2);
  });

  it('only the owner may start over: a member is told who can, and a replayed confirmation changes nothing', async () => {
    const { tenant, owner, member } = await ownerAndMember();
    const refused = await member.say('restart', 1);
    assert.deepEqual(refused.texts, [Messages.ownerOnlyRestart('Megan Bowen')]);
    // The member sends the "Yes, start over" the owner would send.
    const replay = await member.submitRaw({ verb: 'confirm.yes', cardId: randomUUID(), action: 'restart' }, 'msg-1', 1);
    assert.deepEqual(replay.texts, [Messages.ownerOnlyRestart('Megan Bowen')]);
    assert.equal((await bot.app.partners.get(tenant))?.company?.legalName, COMPANY.legalName);
    const ownerTurn = await owner.say('restart', 1);
    assert.match(cardText(owner.lastCard().card), /Start over\?/);
    assert.equal(ownerTurn.texts.length, 0);
  });

  it('the owner hands over to a member: the new owner may delete, the old one may not', async () => {
    const { tenant, owner, member } = await ownerAndMember();
    const refused = await member.say('hand over', 1);
    assert.deepEqual(refused.texts, [Messages.ownerOnlyHandover('Megan Bowen')]);
    await owner.say('hand over', 1);
    const card = owner.lastCard();
    assert.match(cardText(card.card), /Hand over onboarding/);
    const memberId = (await bot.app.partners.get(tenant))!.members.find((m) => m.role === 'member')!.aadObjectId;
    // A member id that is not a member of this partner is refused, whatever the card sends.
    const forged = await owner.press('Hand over', { memberId: randomUUID() }, { count: 1 });
    assert.deepEqual(forged.texts, [Messages.staleCard]);
    const done = await owner.press('Hand over', { memberId }, { id: card.id, count: 1 });
    assert.deepEqual(done.texts, [Messages.handoverDone('Joni Sherman')]);
    assert.ok(await member.client.waitFor((entries) => entries.some((e) => e.text === Messages.handoverReceived('Megan Bowen'))));
    const partner = (await bot.app.partners.get(tenant))!;
    assert.deepEqual(partner.members.map((m) => [m.name, m.role]).sort(), [['Joni Sherman', 'owner'], ['Megan Bowen', 'member']]);
    assert.deepEqual((await owner.say('delete my data', 1)).texts, [Messages.ownerOnly('Joni Sherman')]);
    await member.say('delete my data', 1);
    assert.match(cardText(member.lastCard().card), /Delete your organization's data\?/);
    assert.ok((await listAudit(bot.app.db, tenant)).some((a) => a.action === 'partner.owner_changed' && a.detail.why === 'handover'));
  });

  it('the member-add card carries only a request id: who is added comes from the server', async () => {
    const tenant = randomUUID();
    const owner = person(tenant, 'Megan Bowen');
    await owner.say('start', 1);
    const joni = person(tenant, 'Joni Sherman');
    await joni.say('start', 1);
    await owner.client.waitFor((entries) => entries.some((e) => cardText(e.activity.attachments?.[0]?.content as Record<string, unknown>).includes('Joni Sherman wants to help')));
    await owner.refresh();
    const request = owner.lastCard();
    const data = JSON.parse(JSON.stringify(request.card)).actions[0].data as Record<string, unknown>;
    assert.deepEqual(Object.keys(data).sort(), ['cardId', 'requestId', 'verb']);
    // Yesterday's card format, naming anyone: nothing happens.
    const eve = randomUUID();
    const old = await owner.submitRaw({ verb: 'member.add', cardId: data.cardId, memberId: eve, memberName: 'Eve', memberConversationId: 'a:eve' }, request.id, 1);
    assert.deepEqual(old.texts, [Messages.submission.not_a_submission]);
    // The real request id with forged extras: Joni is added, as asked, and nobody else.
    const added = await owner.submitRaw({ ...data, memberId: eve, memberName: 'Eve', memberConversationId: 'a:eve' }, request.id, 1);
    assert.deepEqual(added.texts, [Messages.memberAddedOwner('Joni Sherman')]);
    const members = (await bot.app.partners.get(tenant))!.members.map((m) => m.name).sort();
    assert.deepEqual(members, ['Joni Sherman', 'Megan Bowen']);
    assert.ok(await joni.client.waitFor((entries) => entries.some((e) => e.text === Messages.memberAdded('Megan Bowen'))));
  });

  it('someone who proves Global Administrator may take ownership over; the previous owner stays a member', async () => {
    const { tenant } = await ownerAndMember();
    const admin = { aadObjectId: randomUUID(), name: 'Alex Wilber' };
    const { previousOwner } = await bot.app.partners.transferOwnership(tenant, admin, admin.aadObjectId, 'global-admin', 'a:alex');
    assert.equal(previousOwner?.name, 'Megan Bowen');
    const roles = (await bot.app.partners.get(tenant))!.members.map((m) => `${m.name}:${m.role}`).sort();
    assert.deepEqual(roles, ['Alex Wilber:owner', 'Joni Sherman:member', 'Megan Bowen:member']);
  });
});
