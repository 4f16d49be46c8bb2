import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createApp } from '../src/app';
import { loadConfig } from '../src/config';
import { AppError } from '../src/errors';
import { createLogger } from '../src/logger';
import { startBot } from './helpers/bot-process';

const SECRET = 'Q~8xk.Pv2LbTn0s3cr3tV4lu3-zz9';
const JWT = 'eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJ1cG4iOiJhZG1pbkBjb250b3NvLmNvbSJ9.c2lnbmF0dXJlLWJ5dGVz';
const REFRESH = '0.AXoA-refresh-token-value-1234567890';

function capture(): { lines: string[]; stream: Writable } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      cb();
    },
  });
  return { lines, stream };
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(p)));
    else out.push(p);
  }
  return out;
}

describe('logging never leaks a secret', () => {
  it('scrubs every path: fields, nesting, messages, errors, causes, child bindings, known values', () => {
    const { lines, stream } = capture();
    const { logger, redactor } = createLogger({ level: 'trace', destination: stream });
    redactor.addSecret(SECRET);

    logger.info({ password: SECRET, clientSecret: SECRET, client_secret: SECRET, accessToken: JWT, refresh_token: REFRESH, code: '0.AUTHCODE123', authorization: `Bearer ${JWT}` }, 'fields');
    logger.info({ request: { headers: { Authorization: `Bearer ${JWT}`, cookie: 'session=abc' }, body: { items: [{ secretValue: SECRET }] } } }, 'nested');
    logger.info(`message with Bearer ${JWT} and https://login.example/token?client_secret=${SECRET}&code=AUTHCODE123`);
    logger.info({ note: `the partner pasted "${SECRET} " with a trailing space` }, 'known value in an innocent field');
    logger.warn({ jwtInText: `token was ${JWT}` }, 'jwt in text');
    const cause = new Error(`upstream said invalid client secret ${SECRET}`);
    const err = new AppError('internal', `failed with refresh_token=${REFRESH}`, { cause });
    Object.assign(err, { config: { headers: { Authorization: `Bearer ${JWT}` } } });
    logger.error({ err }, 'error with cause');
    logger.error(new Error(`bare error ${SECRET}`));
    logger.child({ token: JWT, partner: 'contoso' }).child({ nested: `Bearer ${JWT}` }).info('child bindings');
    logger.info('%s interpolated', SECRET);
    logger.info({ dsn: 'postgres://bot:PgPassw0rd@db.example.com:5432/bot' }, 'connection string');

    const all = lines.join('\n');
    assert.ok(lines.length >= 10, `expected the log lines, got ${lines.length}`);
    for (const leak of [SECRET, JWT, REFRESH, 'AUTHCODE123', 'session=abc', 'PgPassw0rd', 'eyJ0eXAiOiJKV1Qi']) {
      assert.ok(!all.includes(leak), `leaked ${leak.slice(0, 12)}… in:\n${all}`);
    }
    // Still useful: messages, error types and codes survive.
    assert.match(all, /"msg":"error with cause"/);
    assert.match(all, /"errorCode":"internal"/);
    assert.match(all, /upstream said invalid client secret \[redacted\]/);
    assert.match(all, /"partner":"contoso"/);
  });

  it('keeps the running bot quiet about its secrets and bearer tokens (whole process output)', async function () {
    this.timeout(60_000);
    const dataDir = await mkdtemp(join(tmpdir(), 'leak-'));
    const key = Buffer.alloc(32, 3).toString('base64');
    const bot = await startBot({
      entry: 'src',
      env: { DATA_DIR: dataDir, LOG_LEVEL: 'trace', BOT_ID: '2c2f8a51-7d4b-4a35-9d7e-0e3c6f1a9b10', BOT_PASSWORD: SECRET, SECRET_STORE_KEY: key },
    });
    try {
      // An authenticated bot refuses these (bad token, no token); none of it may be echoed.
      for (const headers of [{ authorization: `Bearer ${JWT}` }, { authorization: '' }, { authorization: `Basic ${Buffer.from(`x:${SECRET}`).toString('base64')}` }]) {
        const res = await fetch(`${bot.url}/api/messages`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: JSON.stringify({ type: 'message', text: `my password=${SECRET}`, channelId: 'msteams', serviceUrl: 'http://127.0.0.1:9/', conversation: { id: 'c' } }),
        });
        assert.equal(res.status, 401);
        const body = await res.text();
        assert.ok(!body.includes(SECRET) && !body.includes(JWT));
      }
    } finally {
      await bot.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
    const output = bot.stdout() + bot.stderr();
    assert.match(output, /bot listening/);
    for (const leak of [SECRET, JWT, key]) assert.ok(!output.includes(leak), `process output leaked ${leak.slice(0, 10)}…`);
  });

  it('keeps secrets out of the database files in clear', async function () {
    this.timeout(60_000);
    const dataDir = await mkdtemp(join(tmpdir(), 'dbfiles-'));
    const { logger, redactor } = createLogger({ level: 'silent' });
    const app = await createApp(loadConfig({ DATA_DIR: dataDir, ALLOW_UNAUTHENTICATED: 'true' }), logger, redactor);
    try {
      await app.secrets.set('partner-72f988bf-pc-secret', SECRET);
      assert.equal(await app.secrets.get('partner-72f988bf-pc-secret'), SECRET);
    } finally {
      await app.stop();
    }
    try {
      const files = await filesUnder(dataDir);
      assert.ok(files.length > 10, 'the embedded database wrote its files');
      const keyFile = join(dataDir, 'secret-store.key');
      assert.equal((await stat(keyFile)).mode & 0o777, 0o600);
      for (const f of files) {
        const bytes = await readFile(f);
        assert.equal(bytes.includes(Buffer.from(SECRET)), false, `${f} holds the secret in clear`);
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
