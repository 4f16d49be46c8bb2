import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { Messages } from '../../src/onboarding/messages';
import { BotUnderTest, cardText, PRIMARY } from '../helpers/chat';
import { upTo } from '../helpers/onboarding-path';
import { connectorOf, type TranscriptEntry } from '../simulator/services/connector';

const CHECKLIST = 'Step 6 of 11 · Prepare your tenant';
const checklists = (entries: TranscriptEntry[]) => entries.filter((e) => cardText(e.activity.attachments?.[0]?.content as Record<string, unknown>).includes(CHECKLIST));

/**
 * The journey's carry-on turn (after the mail's link, the sign-in page, the sync) meets a Teams
 * that refuses it for a while (429 with a Retry-After over the connector cap): the carry-on is kept
 * and tried again later, so the journey goes on by itself once Teams takes sends again, and the
 * partner sees each message and the next card once.
 */
describe('bot: the journey carries on after a Teams refusal (429 + Retry-After: 3600 during the carry-on turn)', function () {
  this.timeout(180_000);
  let bot: BotUnderTest;
  before(async () => { bot = await BotUnderTest.start({ teamsLimits: false }); });
  after(() => bot.stop());

  it('the link confirmed while the chat\'s thread is throttled: told once and the checklist posted once when Teams takes sends again, nothing typed', async () => {
    const { chat } = await upTo(bot, 4, { email: 'someone.else@contoso-cloud.de' });
    const mail = (await bot.outbox()).filter((m) => m.to === PRIMARY.email).pop()!;
    const token = mail.text.match(/verify-email\?token=([A-Za-z0-9_-]+)/)![1]!;
    const connector = connectorOf(bot.sim);
    const conversationId = chat.client.conversation.conversationId;
    const mark = connector.requests.length;
    // One call per thread an hour: every call in this chat now answers 429 with Retry-After ~3600.
    connector.setLimits({ enabled: true, perThread: [{ limit: 1, windowMs: 3_600_000 }], perApp: [], perAppGlobal: [] });

    const page = await fetch(`${bot.url}/verify-email`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token, decision: 'confirm' }).toString(),
    });
    assert.equal(page.status, 200);
    // Teams refused the carry-on's calls (at least one 429 in this chat), then takes sends again.
    for (let i = 0; i < 100 && !connector.requests.slice(mark).some((r) => r.conversationId === conversationId && r.status === 429); i++) await delay(100);
    assert.ok(connector.requests.slice(mark).some((r) => r.conversationId === conversationId && r.status === 429), 'the carry-on met a 429');
    await delay(1_000);
    connector.setLimits({ enabled: false });

    const entries = await chat.client.waitFor((all) => checklists(all).length > 0 && all, { timeoutMs: 90_000 });
    assert.ok(entries.some((e) => e.text === Messages.emailVerifiedByLink), 'the chat was told the address is verified');
    // Whatever ran again, the partner sees each once.
    await delay(2_000);
    const after = await chat.client.transcript();
    assert.equal(checklists(after).length, 1, 'the checklist once');
    assert.equal(after.filter((e) => e.text === Messages.emailVerifiedByLink).length, 1, 'told once');
    assert.ok(after.some((e) => cardText(e.activity.attachments?.[0]?.content as Record<string, unknown>).includes('Contact email verified')), 'the code card became its summary');
  });
});
