import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBot } from '../helpers/bot-process';
import { BotUnderTest } from '../helpers/chat';
import { SIM_BOT_SECRET } from '../simulator/scenarios/ids';

/**
 * Where someone who just ran `npm start` goes next: one plain line on the terminal, and a small
 * page at the bot's root naming the bot, its health and how to reach it in Teams.
 */

const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

/** The page's words, without markup. */
const wordsOf = (html: string): string => html.replace(/<style>[\s\S]*?<\/style>/g, ' ').replace(/<[^>]+>/g, ' ').replace(/&amp;/g, '&').replace(/\s+/g, ' ');

describe('GET / (the running bot, authenticated as in Azure)', function () {
  this.timeout(60_000);
  let bot: BotUnderTest;
  before(async () => { bot = await BotUnderTest.start({ authenticated: true, env: { PUBLIC_BASE_URL: 'https://onboarding.contoso.example' } }); });
  after(() => bot.stop());

  it('answers a small page naming the bot, its health, the messaging endpoint and how to reach it in Teams', async () => {
    const res = await fetch(`${bot.url}/`);
    assert.equal(res.status, 200);
    for (const [name, value] of Object.entries(PAGE_HEADERS)) assert.equal(res.headers.get(name), value, name);
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    const html = await res.text();
    assert.match(html, /<title>Partner Onboarding<\/title>/);
    const words = wordsOf(html);
    assert.match(words, /Ready: the bot is up and its database answers/);
    assert.match(words, /https:\/\/onboarding\.contoso\.example\/api\/messages/, 'the messaging endpoint the Azure Bot points at');
    assert.match(words, /Azure Bot/);
    assert.match(words, /manifest\//, 'where the Teams app package is');
    assert.match(words, /npm run sandbox/);
    // Nothing the operator keeps to themselves: no secret, no local path.
    assert.ok(!html.includes(SIM_BOT_SECRET), 'the bot password');
    assert.ok(!html.includes(bot.dataDir), 'the data folder');
  });

  it('answers HEAD with the headers and no body', async () => {
    const res = await fetch(`${bot.url}/`, { method: 'HEAD' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), PAGE_HEADERS['content-type']);
    assert.equal(await res.text(), '');
  });
});

describe('npm start\'s first words (the bot process)', function () {
  this.timeout(60_000);

  it('prints one plain line besides the JSON log: what runs, where, which database, authenticated or not, and npm run sandbox', async () => {
    const dataDir = join(tmpdir(), `bot-start-line-${randomUUID()}`);
    const bot = await startBot({ entry: 'src', env: { DATA_DIR: dataDir } });
    try {
      const lines = bot.stdout().split('\n').filter((l) => l.trim() !== '');
      const plain = lines.filter((l) => !l.startsWith('{'));
      assert.equal(plain.length, 1, `one plain line among:\n${lines.join('\n')}`);
      const line = plain[0]!;
      assert.ok(line.includes(bot.url), `the URL it answers at: ${line}`);
      assert.match(line, /Partner Onboarding bot/);
      assert.match(line, /embedded database/);
      assert.match(line, /unauthenticated/);
      assert.match(line, /to chat with it locally: npm run sandbox/);
      assert.ok(lines.some((l) => l.includes('"msg":"bot listening"')), 'the JSON log line stays');
    } finally {
      await bot.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
