import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { ROOT, startBot } from '../helpers/bot-process';
import { BotUnderTest } from '../helpers/chat';
import { connectorServiceUrl, messageActivity, teamsConversation } from '../harness/activities';
import { connectorOf } from '../simulator/services/connector';

/** A well-formed personal-chat message from Teams, to the simulator's connector. */
function message(simBaseUrl: string, text = 'help'): Record<string, unknown> {
  const conv = teamsConversation({ serviceUrl: connectorServiceUrl(simBaseUrl), tenantId: randomUUID(), user: { name: 'Megan Bowen' } });
  return messageActivity(conv, text) as unknown as Record<string, unknown>;
}

/** Temp files that hold `marker`: what an upload parser would have left behind. */
async function tempFilesHolding(marker: string, since: number): Promise<string[]> {
  const found: string[] = [];
  for (const name of await readdir(tmpdir())) {
    const path = join(tmpdir(), name);
    try {
      const s = await stat(path);
      if (!s.isFile() || s.mtimeMs < since - 1000 || s.size > 1_000_000) continue;
      if ((await readFile(path, 'utf8')).includes(marker)) found.push(path);
    } catch {
      // removed meanwhile, or not ours to read
    }
  }
  return found;
}

describe('HTTP edge security (the running bot, unauthenticated local mode)', function () {
  this.timeout(60_000);
  let bot: BotUnderTest;
  before(async () => { bot = await BotUnderTest.start({ teamsLimits: false }); });
  after(() => bot.stop());
  const post = (body: string | Uint8Array, contentType: string, extra: Record<string, string> = {}) =>
    fetch(`${bot.url}/api/messages`, { method: 'POST', headers: { 'content-type': contentType, ...extra }, body });

  it('refuses multipart and urlencoded bodies with 415 before parsing: nothing reaches the disk or the bot', async () => {
    const marker = `upload-marker-${randomUUID()}`;
    const since = Date.now();
    const boundary = '----x' + randomUUID();
    const multipart = [
      `--${boundary}`, 'Content-Disposition: form-data; name="file"; filename="evil.txt"', 'Content-Type: text/plain', '', marker.repeat(200),
      `--${boundary}`, 'Content-Disposition: form-data; name="type"', '', 'message', `--${boundary}--`, '',
    ].join('\r\n');
    const res = await post(multipart, `multipart/form-data; boundary=${boundary}`);
    assert.equal(res.status, 415);
    const body = await res.json() as Record<string, unknown>;
    assert.equal(body.error, 'unsupported_media_type');
    assert.deepEqual(await tempFilesHolding(marker, since), [], 'no uploaded file in the temp folder');

    const activity = message(bot.sim.baseUrl);
    const form = new URLSearchParams(Object.entries(activity).map(([k, v]): [string, string] => [k, typeof v === 'string' ? v : JSON.stringify(v)])).toString();
    assert.equal((await post(form, 'application/x-www-form-urlencoded')).status, 415);
    const conversationId = (activity.conversation as { id: string }).id;
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(connectorOf(bot.sim).transcript(conversationId).entries, [], 'the urlencoded activity was not a turn');
  });

  it('answers a declared oversized body with 413 without reading it, and JSON with a charset is accepted', async () => {
    const res = await post('{"type":"message"}', 'application/json', { 'content-length': String(10_000_000) }).catch(() => undefined);
    // fetch may refuse a wrong content-length itself; a raw request checks the server side.
    if (res) assert.ok(res.status === 413 || res.status === 400, `status ${res.status}`);
    const big = await post(JSON.stringify({ ...message(bot.sim.baseUrl), text: 'x'.repeat(300_000) }), 'application/json');
    assert.equal(big.status, 413);
    const ok = await post(JSON.stringify(message(bot.sim.baseUrl)), 'application/json; charset=utf-8');
    assert.equal(ok.status, 200);
  });

  it('listens on loopback only while unauthenticated', () => {
    const address = bot.app.http.server.server.address() as AddressInfo;
    assert.equal(address.address, '127.0.0.1');
  });

  it('never replies to a serviceUrl that is not loopback while unauthenticated (no request forgery)', async () => {
    for (const serviceUrl of ['https://smba.trafficmanager.net/teams/', 'http://169.254.169.254/latest/', 'http://10.0.0.8:8080/', 'https://127.0.0.1.nip.io/']) {
      const res = await post(JSON.stringify({ ...message(bot.sim.baseUrl), serviceUrl }), 'application/json');
      assert.equal(res.status, 400, serviceUrl);
      const body = await res.json() as Record<string, unknown>;
      assert.equal(body.error, 'bad_activity');
      assert.match(String(body.reason), /serviceUrl must be a loopback address/);
    }
  });

  it('answers malformed activities with 400 and a reason naming the field', async () => {
    const good = message(bot.sim.baseUrl);
    const cases: Array<[string, unknown, RegExp]> = [
      ['no type', { ...good, type: undefined }, /^type: /],
      ['no conversation', { ...good, conversation: undefined }, /^conversation: /],
      ['conversation without id', { ...good, conversation: { conversationType: 'personal' } }, /^conversation\.id: /],
      ['serviceUrl not a URL', { ...good, serviceUrl: 'not a url' }, /^serviceUrl: expected an http\(s\) URL/],
      ['serviceUrl of another scheme', { ...good, serviceUrl: 'file:///etc/passwd' }, /^serviceUrl: /],
      ['from not an object', { ...good, from: 'me' }, /^from: /],
      ['no recipient', { ...good, recipient: undefined }, /^recipient: /],
      ['timestamp not a date', { ...good, timestamp: 'yesterday-ish' }, /^timestamp: expected a date-time/],
      ['attachments not a list', { ...good, attachments: { a: 1 } }, /^attachments: /],
      ['an array', [good], /the body must be a JSON object/],
      ['a string', 'hello', /the body must be a JSON object/],
      ['null', null, /the body must be a JSON object/],
    ];
    for (const [name, body, reason] of cases) {
      const res = await post(JSON.stringify(body), 'application/json');
      assert.equal(res.status, 400, name);
      const json = await res.json() as Record<string, unknown>;
      assert.match(String(json.reason), reason, name);
      assert.match(String(json.correlationId), /^[0-9a-f-]{36}$/, name);
    }
    assert.equal((await post('{not json', 'application/json')).status, 400);
  });

  it('never puts an exception message in an error body: a generic body with a correlation id', async () => {
    // The database goes away under a request that needs it: restify's own error path answers.
    const db = bot.app.db as unknown as { query: (...args: unknown[]) => Promise<unknown>; transaction: (...args: unknown[]) => Promise<unknown> };
    const [realQuery, realTransaction] = [db.query.bind(db), db.transaction.bind(db)];
    db.query = db.transaction = () => Promise.reject(new Error('connect ECONNREFUSED postgres://bot:Sup3rS3cret@db.internal:5432/bot'));
    try {
      const res = await fetch(`${bot.url}/verify-email`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${'A'.repeat(43)}&decision=confirm` });
      assert.equal(res.status, 500);
      const text = await res.text();
      assert.ok(!text.includes('Sup3rS3cret') && !text.includes('ECONNREFUSED') && !text.includes('db.internal'), text);
      assert.match(text, /"error":"internal","correlationId":"[0-9a-f-]{36}"/);
    } finally {
      db.query = realQuery;
      db.transaction = realTransaction;
    }
    const notFound = await fetch(`${bot.url}/no/such/path`);
    assert.equal(notFound.status, 404);
    assert.match(await notFound.text(), /^\{"error":"not_found","correlationId":"[0-9a-f-]{36}"\}$/);
  });
});

describe('HTTP edge security (the bot process, authenticated)', function () {
  this.timeout(60_000);
  const BOT_ID = '5c2f8a51-7d4b-4a35-9d7e-0e3c6f1a9b11';

  it('refuses a request without a Bearer token before the adapter, and never echoes why a token failed', async () => {
    const bot = await startBot({ entry: 'src', env: { BOT_ID, BOT_PASSWORD: 'not-used-here', BOT_TYPE: 'MultiTenant', ALLOW_UNAUTHENTICATED: 'false', DATA_DIR: join(tmpdir(), `bot-auth-${randomUUID()}`) } });
    try {
      const activity = JSON.stringify({ ...message('https://127.0.0.1:9'), serviceUrl: 'https://smba.trafficmanager.net/teams/' });
      for (const authorization of [undefined, 'Basic dXNlcjpwYXNz', 'Bearer', 'bearer x y']) {
        const res = await fetch(`${bot.url}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) }, body: activity });
        assert.equal(res.status, 401, String(authorization));
        assert.match(await res.text(), /^\{"error":"unauthorized","correlationId":"[0-9a-f-]{36}"\}$/);
      }
      // A Bearer value that is not a token of the Bot Framework: botbuilder refuses it (its message stays inside).
      const res = await fetch(`${bot.url}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer not.a.jwt' }, body: activity });
      assert.equal(res.status, 401);
      assert.match(await res.text(), /^\{"error":"unauthorized","correlationId":"[0-9a-f-]{36}"\}$/);
      assert.equal(bot.stderr().replace(/.*(DeprecationWarning|--trace-deprecation).*\n?/g, ''), '', 'nothing written around the logger');
      const address = await fetch(`${bot.url}/healthz`);
      assert.equal(address.status, 200);
    } finally {
      await bot.stop();
    }
  });
});

describe('the deployed package', () => {
  it('leaves local secrets, local data, the simulator and tests out of the zip deploy', async () => {
    const yml = await readFile(join(ROOT, 'teamsapp.yml'), 'utf8');
    assert.match(yml, /ignoreFile: \.webappignore/);
    const ignore = (await readFile(join(ROOT, '.webappignore'), 'utf8')).split('\n').map((l) => l.trim());
    for (const pattern of ['env/*.user', '.data', '.sim', 'test']) assert.ok(ignore.includes(pattern), `.webappignore lacks ${pattern}`);
  });
});
