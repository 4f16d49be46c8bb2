import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Messages } from '../../src/onboarding/messages';
import { BotClient } from '../harness/bot-client';
import { startBot, type BotProcess } from '../helpers/bot-process';
import { Chat, cardText, COMPANY, PRIMARY } from '../helpers/chat';
import { connectorOf } from '../simulator/services/connector';
import { startSimulator, type Simulator } from '../simulator/server';

describe('onboarding survives the bot being killed mid-way (HTTP, real process)', function () {
  this.timeout(120_000);
  let sim: Simulator;
  let dataDir: string;
  let bot: BotProcess | undefined;

  before(async () => {
    sim = await startSimulator();
    connectorOf(sim).setLimits({ enabled: false });
    dataDir = await mkdtemp(join(tmpdir(), 'resume-'));
  });
  after(async () => {
    await bot?.stop('SIGKILL');
    await sim.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('SIGKILL after the primary contact; restarted on the same database, the user finishes', async () => {
    const conversation = { tenantId: randomUUID(), user: { name: 'Megan Bowen', aadObjectId: randomUUID(), userPrincipalName: PRIMARY.email } };
    bot = await startBot({ entry: 'src', env: { DATA_DIR: dataDir } });
    let chat = new Chat(new BotClient({ endpoint: `${bot.url}/api/messages`, simulatorUrl: sim.baseUrl, conversation, quietMs: 120 }));
    await chat.install();
    await chat.press("Let's start", {}, { count: 1 });
    await chat.press('Save company details', COMPANY, { count: 1 });
    await chat.press('Save contact', PRIMARY, { count: 1 });
    const secondaryCard = chat.lastCard();
    assert.match(cardText(secondaryCard.card), /Step 3 of 11 · Secondary contact/);

    const killed = await bot.stop('SIGKILL');
    assert.equal(killed.signal, 'SIGKILL');

    bot = await startBot({ entry: 'src', env: { DATA_DIR: dataDir } });
    // Same person, same chat, a new client: all it knows is what Teams shows, the card on screen.
    chat = new Chat(new BotClient({ endpoint: `${bot.url}/api/messages`, simulatorUrl: sim.baseUrl, conversation, quietMs: 120 }));
    const status = await chat.say('status', 1);
    assert.match(status.texts[0]!, /step 3 of 11: \*\*Secondary contact\*\*/);
    await chat.refresh();
    await chat.press('Skip: no secondary contact', {}, { id: secondaryCard.id, count: 1 });
    const review = cardText(chat.lastCard().card);
    assert.match(review, /Contoso Cloud Services GmbH[\s\S]*Megan Bowen/, 'answers kept across the crash');
    const done = await chat.press('Confirm', {}, { count: 2 });
    assert.deepEqual(done.texts, [Messages.emailVerifiedByTeams]);
    assert.match(cardText(chat.lastCard().card), /Step 6 of 11 · Prepare your tenant/);
  });
});
