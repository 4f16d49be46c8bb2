import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createApp } from '../src/app';
import { loadConfig } from '../src/config';
import { AppError } from '../src/errors';
import { createLogger, Redactor, type Logger } from '../src/logger';
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

/** Logs through a fresh logger and returns everything written, as one string. */
function logged(fn: (logger: Logger, redactor: Redactor) => void): string {
  const { lines, stream } = capture();
  const { logger, redactor } = createLogger({ level: 'trace', destination: stream });
  fn(logger, redactor);
  return lines.join('\n');
}

function assertNoLeak(all: string, leaks: string[]): void {
  for (const leak of leaks) assert.ok(!all.includes(leak), `leaked ${leak.slice(0, 14)}… in:\n${all}`);
}

describe('logger redaction gaps (security review, finding 10)', () => {
  it('scrubs objects interpolated with %j, %o and %O, registered values included', () => {
    const all = logged((logger, redactor) => {
      redactor.addSecret(SECRET);
      logger.info('body %j', { password: 'hunter2-pw', nested: { note: SECRET } });
      logger.info('opts %o', { clientSecret: 'cs-value-123', value: SECRET });
      logger.info({ step: 'x' }, 'both %O and %s', { refresh_token: REFRESH }, 'tail');
      logger.info('quoted %j', { note: `has "quotes" and ${SECRET}` });
    });
    assertNoLeak(all, [SECRET, 'hunter2-pw', 'cs-value-123', REFRESH]);
    for (const line of all.split('\n')) JSON.parse(line);
  });

  it('scrubs JSON carried inside a string (an upstream response body in a message)', () => {
    const body = JSON.stringify({ token_type: 'Bearer', access_token: 'at-opaque-0123456789', refresh_token: REFRESH, pin: 4321, expires_in: 3599 });
    const all = logged((logger) => {
      logger.warn({ responseBody: body }, 'token endpoint said');
      logger.warn(`token endpoint said ${body}`);
      logger.error(new Error(`unexpected response ${body}`));
      logger.warn({ doubly: JSON.stringify({ inner: body }) }, 'JSON in JSON in a string');
    });
    assertNoLeak(all, ['at-opaque-0123456789', REFRESH, '4321']);
    assert.match(all, /expires_in/);
    assert.match(all, /3599/, 'innocent fields in the body survive');
  });

  it('scrubs key: value and key=value in free text', () => {
    const all = logged((logger) => {
      logger.info('config dump client_secret: cs-free-text-1 and password : pw-free-text-2');
      logger.info("yaml-ish passphrase: 'pp-free-text-3' otp=991177 pin=2468");
      logger.info('blob https://acct.blob.core.windows.net/c/b?sv=2022-11-02&se=2026-12-01&sig=SiGvAlUe%2Babc%3D&sp=r');
      logger.info('storage DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=AcCoUnTkEy0123456789+/abc==;EndpointSuffix=core.windows.net');
      logger.info('bus Endpoint=sb://x.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=SaKvAlUe0123456789=');
      logger.info('sql Server=tcp:x.database.windows.net;User ID=bot;Password=SqLpAsS0rd;Pwd=SqLpWd0rd;');
    });
    assertNoLeak(all, ['cs-free-text-1', 'pw-free-text-2', 'pp-free-text-3', '991177', '2468', 'SiGvAlUe', 'AcCoUnTkEy0123456789', 'SaKvAlUe0123456789', 'SqLpAsS0rd', 'SqLpWd0rd']);
    // Only the values go: what the line was about stays readable.
    assert.match(all, /AccountName=acct/);
    assert.match(all, /SharedAccessKeyName=send/);
    assert.match(all, /se=2026-12-01/);
  });

  it('scrubs a URL password whatever the user part (empty user, other schemes)', () => {
    const all = logged((logger) => {
      logger.info({ dsn: 'postgres://:EmptyUserPw1@db.example.com/bot' }, 'empty user');
      logger.info('redis at redis://default:RedisPw0rd@cache:6379/0');
      logger.info('proxy https://u:HttpsPw0rd@proxy.example.com:8443/');
    });
    assertNoLeak(all, ['EmptyUserPw1', 'RedisPw0rd', 'HttpsPw0rd']);
    assert.match(all, /db\.example\.com\/bot/);
  });

  it('scrubs bindings added with setBindings, on the logger and on children', () => {
    const all = logged((logger, redactor) => {
      redactor.addSecret(SECRET);
      logger.setBindings({ token: JWT, apiKey: 'ak-bound-0123', note: `pasted ${SECRET}` });
      logger.info('root line');
      const child = logger.child({ partner: 'contoso' });
      child.setBindings({ password: 'pw-child-bound', header: `Bearer ${JWT}` });
      child.info('child line');
    });
    assertNoLeak(all, [JWT, 'ak-bound-0123', SECRET, 'pw-child-bound', 'eyJ0eXAiOiJKV1Qi']);
    assert.match(all, /"partner":"contoso"/);
  });

  it('still scrubs a new secret once 10,000 are registered: the oldest are evicted instead', () => {
    const all = logged((logger, redactor) => {
      for (let i = 0; i < 10_000; i++) redactor.addSecret(`old-rotated-refresh-token-${i}`);
      redactor.addSecret(SECRET);
      logger.info({ note: `newest ${SECRET}` }, 'after 10,000');
      logger.info({ note: 'recent old-rotated-refresh-token-9999' }, 'recent one still known');
    });
    assertNoLeak(all, [SECRET, 'old-rotated-refresh-token-9999']);
  });

  it('a value registered again is kept over older ones', () => {
    const redactor = new Redactor({ maxKnown: 3 });
    for (const s of ['secret-value-aaa', 'secret-value-bbb', 'secret-value-ccc']) redactor.addSecret(s);
    redactor.addSecret('secret-value-aaa');
    redactor.addSecret('secret-value-ddd');
    assert.equal(redactor.text('secret-value-aaa secret-value-bbb secret-value-ccc secret-value-ddd'), '[redacted] secret-value-bbb [redacted] [redacted]');
  });

  it('finds registered values that share a prefix, overlap, or carry JSON escapes', () => {
    const redactor = new Redactor();
    const tokens = Array.from({ length: 200 }, (_, i) => `0.AXoAv8_shared-issuer-prefix-${i}-tail`);
    for (const t of tokens) redactor.addSecret(t);
    redactor.addSecret('overlap-one-ABCDEFGH');
    redactor.addSecret('ABCDEFGH-overlap-two');
    redactor.addSecret('with "quote" and \\ slash');
    assert.equal(redactor.text(`a ${tokens[7]} b ${tokens[199]} c`), 'a [redacted] b [redacted] c');
    assert.equal(redactor.text('x overlap-one-ABCDEFGH-overlap-two y'), 'x [redacted] y');
    assert.equal(redactor.text(JSON.stringify({ v: 'with "quote" and \\ slash' })), '{"v":"[redacted]"}');
  });

  it('logs an error whose cause chain is cyclic or very deep, without a stack overflow', () => {
    const a = new Error('a failed');
    const b = new Error('b failed', { cause: a });
    (a as Error & { cause: unknown }).cause = b;
    let deep = new Error('root cause');
    for (let i = 0; i < 10_000; i++) deep = new Error(`layer ${i}`, { cause: deep });
    const all = logged((logger) => {
      logger.error({ err: a }, 'cyclic');
      logger.error(deep);
      logger.info('%o', { err: b });
    });
    const lines = all.split('\n');
    assert.equal(lines.length, 3);
    assert.match(lines[0]!, /"message":"b failed"/);
    assert.match(lines[0]!, /\[circular\]/);
    assert.ok(lines[1]!.length < 20_000, `a deep chain is cut short, got ${lines[1]!.length} chars`);
    assert.match(lines[1]!, /layer 9999/);
    assert.match(lines[1]!, /\[truncated\]/);
  });

  // Field names: the long stems (secret, password, token…) match anywhere in a name, as before.
  // The short words match as whole words of the name (camelCase, snake_case, kebab-case), so
  // `monkey` and `pinned` stay; a name whose last word is metadata (id, name, type, url, store,
  // algorithm…) describes a secret without being one, so `keyId` and `keyStore` stay too.
  // `signature` counts as a secret (a SAS or request signature is replayable).
  const FIELD_NAMES: Array<[string, boolean]> = [
    ['pwd', true], ['pass', true], ['dbPass', true], ['passphrase', true], ['keyPassphrase', true], ['passcode', true],
    ['key', true], ['apiKey', true], ['accountKey', true], ['AccountKey', true], ['signing_key', true], ['keyValue', true], ['keys', true],
    ['sig', true], ['sasSig', true], ['signature', true], ['otp', true], ['otpCode', true], ['totp', true], ['pin', true], ['userPin', true], ['pin_code', true],
    ['code', true], ['verificationCode', true], ['verification_code', true], ['authCode', true], ['deviceCode', true],
    ['password', true], ['clientSecret', true], ['refresh_token', true], ['x-api-key', true], ['Authorization', true],
    ['monkey', false], ['keyId', false], ['key_id', false], ['keyStore', false], ['keyVaultUrl', false], ['keyFile', false],
    ['pinned', false], ['spinner', false], ['signatureAlgorithm', false], ['signedIn', false], ['signal', false], ['design', false],
    ['passed', false], ['bypass', false], ['compass', false], ['options', false], ['errorCode', false], ['statusCode', false],
    ['countryCode', false], ['postalCode', false], ['hostname', false], ['turkey', false], ['pinyin', false],
  ];
  it('decides field names by whole word (table)', () => {
    const all = logged((logger) => {
      for (const [name] of FIELD_NAMES) logger.info({ [name]: `v-${name}-0123456789` }, name);
    });
    const lines = all.split('\n');
    FIELD_NAMES.forEach(([name, secret], i) => {
      const line = lines[i]!;
      assert.equal(line.includes(`v-${name}-0123456789`), !secret, `${name}: ${secret ? 'should be redacted' : 'should stay'} in ${line}`);
    });
  });
});
