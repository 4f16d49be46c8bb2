import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../../src/store/db';
import { ROOT, startBot, type BotProcess } from '../helpers/bot-process';
import { connectorServiceUrl } from '../harness/activities';
import { connectorOf, type TranscriptEntry } from '../simulator/services/connector';
import { startSimulator, type Simulator } from '../simulator/server';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';

function teamsActivity(serviceUrl: string, conversationId: string, extra: Record<string, unknown>): Record<string, unknown> {
  return {
    channelId: 'msteams',
    serviceUrl,
    id: `f:${Math.random().toString(36).slice(2)}`,
    timestamp: new Date().toISOString(),
    from: { id: '29:1user-aad-id', aadObjectId: '00000000-0000-0000-0000-0000000000aa', name: 'Megan Bowen' },
    recipient: { id: '28:bot-id', name: 'Partner Onboarding' },
    conversation: { id: conversationId, conversationType: 'personal', tenantId: TENANT },
    channelData: { tenant: { id: TENANT } },
    locale: 'en-US',
    ...extra,
  };
}

function installActivity(serviceUrl: string, conversationId: string): Record<string, unknown> {
  return teamsActivity(serviceUrl, conversationId, { type: 'conversationUpdate', membersAdded: [{ id: '28:bot-id' }] });
}

async function post(bot: BotProcess, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${bot.url}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

describe('the bot process (npm start, embedded stores)', function () {
  this.timeout(120_000);
  let dataDir: string;
  let sim: Simulator;
  let serviceUrl: string;

  /** What the bot has posted to a conversation once there are at least `count` activities. */
  const posted = (conversationId: string, count: number): Promise<readonly TranscriptEntry[]> =>
    connectorOf(sim).transcript(conversationId).waitFor((entries) => (entries.length >= count ? entries : undefined), { timeoutMs: 10_000 });

  before(async () => {
    // `npm start` = build, then run dist/src/index.js; the build is done once for the suite.
    execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
    // The simulator's Bot Connector is the serviceUrl the bot answers to, as Teams' would be.
    sim = await startSimulator();
    serviceUrl = connectorServiceUrl(sim.baseUrl);
  });
  after(() => sim.stop());
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'bot-data-'));
  });
  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('boots from env/.env.local, is ready, and posts the welcome card to the serviceUrl on install', async () => {
    const bot = await startBot({ entry: 'dist', env: { DATA_DIR: dataDir } });
    try {
      assert.equal((await fetch(`${bot.url}/healthz`)).status, 200);
      const ready = await fetch(`${bot.url}/readyz`);
      assert.equal(ready.status, 200);
      assert.deepEqual(await ready.json(), { status: 'ready' });

      const res = await post(bot, installActivity(serviceUrl, 'a:personal-1'));
      assert.ok(res.status >= 200 && res.status < 300, `status ${res.status}`);
      const [welcome] = await posted('a:personal-1', 1);
      assert.equal(welcome!.conversationId, 'a:personal-1');
      assert.equal(welcome!.auth.present, false, 'an unauthenticated local bot sends no token');
      const card = welcome!.activity.attachments?.[0];
      assert.equal(card?.contentType, 'application/vnd.microsoft.card.adaptive');
      assert.equal((card?.content as { version?: string }).version, '1.5');
      assert.match(JSON.stringify(card?.content), /Welcome, Megan!/);

      // `help` answers with the command list.
      await post(bot, teamsActivity(serviceUrl, 'a:personal-1', { type: 'message', text: 'Help ' }));
      const entries = await posted('a:personal-1', 2);
      assert.match(JSON.stringify(entries[1]!.activity.attachments?.[0]?.content), /Show what I can do/);
    } finally {
      await bot.stop();
    }
  });

  it('answers bad requests with clear HTTP errors and keeps serving', async () => {
    const bot = await startBot({ entry: 'dist', env: { DATA_DIR: dataDir, REQUEST_BODY_LIMIT_BYTES: '4096' } });
    try {
      assert.equal((await post(bot, '{not json')).status, 400);
      assert.equal((await post(bot, { type: 'message', text: 'x'.repeat(10_000) })).status, 413);
      assert.equal((await post(bot, 'a=b', { 'content-type': 'text/plain' })).status, 415);
      assert.equal((await fetch(`${bot.url}/api/messages`)).status, 405);
      assert.equal((await fetch(`${bot.url}/readyz`)).status, 200);
    } finally {
      await bot.stop();
    }
  });

  it('shuts down cleanly on SIGTERM', async () => {
    const bot = await startBot({ entry: 'dist', env: { DATA_DIR: dataDir } });
    const { code } = await bot.stop('SIGTERM');
    assert.equal(code, 0);
    assert.match(bot.stdout(), /"msg":"stopped"/);
  });

  it('loses nothing on kill -9 after a write: the restarted bot reads it back', async () => {
    const first = await startBot({ entry: 'src', env: { DATA_DIR: dataDir } });
    await post(first, installActivity(serviceUrl, 'a:durable'));
    await posted('a:durable', 1);
    // The turn's writes (conversation reference, welcome state) are committed before the HTTP
    // response; the process then dies without any chance to flush or close.
    const { signal } = await first.stop('SIGKILL');
    assert.equal(signal, 'SIGKILL');

    const second = await startBot({ entry: 'src', env: { DATA_DIR: dataDir } });
    try {
      // Same install again: the saved welcome state says it was already sent.
      const res = await post(second, installActivity(serviceUrl, 'a:durable'));
      assert.ok(res.status < 300);
      await post(second, teamsActivity(serviceUrl, 'a:durable', { type: 'message', text: 'help' }));
      const entries = await posted('a:durable', 2);
      assert.match(JSON.stringify(entries[1]!.activity), /Show what I can do/, 'second activity is the help card, not a second welcome');
    } finally {
      await second.stop();
    }
    const db = await openDatabase({ kind: 'pglite', dir: join(dataDir, 'pglite') });
    try {
      const rows = await db.query<{ conversation_id: string; tenant_id: string }>('SELECT tenant_id, conversation_id FROM conversation_references');
      assert.deepEqual(rows, [{ tenant_id: TENANT, conversation_id: 'a:durable' }]);
    } finally {
      await db.close();
    }
  });
});
