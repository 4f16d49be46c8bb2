import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { BotUnderTest } from '../helpers/chat';
import { connectorOf } from '../simulator/services/connector';

describe('proactive messages (ConversationNotifier) against the simulated connector', function () {
  this.timeout(60_000);
  let bot: BotUnderTest;
  before(async () => { bot = await BotUnderTest.start({ teamsLimits: false }); });
  after(() => bot.stop());

  async function conversation(): Promise<{ tenant: string; conversationId: string }> {
    const tenant = randomUUID();
    const chat = bot.chat({ tenantId: tenant, user: { name: 'Megan Bowen', aadObjectId: randomUUID() } });
    await chat.say('help', 1);
    return { tenant, conversationId: chat.client.conversation.conversationId };
  }

  it('a delivered message: true, and its id from post()', async () => {
    const { tenant, conversationId } = await conversation();
    assert.equal(await bot.app.notifier.send(tenant, conversationId, { text: 'hello' }), true);
    const id = await bot.app.notifier.post(tenant, conversationId, { text: 'again' });
    assert.ok(id, 'the new message id');
  });

  it('Teams throttling (per thread): a 429 is waited out and the message still arrives, in order', async () => {
    const { tenant, conversationId } = await conversation();
    connectorOf(bot.sim).setLimits({ enabled: true });
    try {
      const sent: boolean[] = [];
      for (let i = 0; i < 12; i++) sent.push(await bot.app.notifier.send(tenant, conversationId, { text: `notice ${i}` }));
      assert.deepEqual(sent, Array(12).fill(true));
      const texts = (await bot.chat({ tenantId: tenant, user: { name: 'x', aadObjectId: randomUUID() }, conversationId }).client.transcript()).map((e) => e.activity.text);
      assert.deepEqual(texts.filter((t) => t?.startsWith('notice ')), Array.from({ length: 12 }, (_, i) => `notice ${i}`));
    } finally {
      connectorOf(bot.sim).setLimits({ enabled: false });
    }
  });

  it('the connector refuses (403 MessageWritesBlocked: the bot was removed): false, never "sent"', async () => {
    const { tenant, conversationId } = await conversation();
    connectorOf(bot.sim).uninstall(conversationId);
    assert.equal(await bot.app.notifier.send(tenant, conversationId, { text: 'hello?' }), false);
    assert.equal(await bot.app.notifier.post(tenant, conversationId, { text: 'hello?' }), undefined);
    assert.equal(await bot.app.notifier.update(tenant, conversationId, 'any-id', { text: 'edit' }), false);
  });
});
