import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAdapter } from '../src/bot/adapter';
import { loadConfig, readEnvironment } from '../src/config';
import { isAppError } from '../src/errors';
import { createLogger } from '../src/logger';
import { startBot } from './helpers/bot-process';

const GOOD_ID = '2c2f8a51-7d4b-4a35-9d7e-0e3c6f1a9b10';
const KEY = Buffer.alloc(32, 7).toString('base64');

function problems(env: Record<string, string | undefined>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    assert.ok(isAppError(err, 'config_invalid'));
    return err.message.split('\n').slice(1).map((l) => l.replace(/^\s+- /, ''));
  }
  return [];
}

describe('loadConfig', () => {
  it('gives a local run working defaults: embedded database, local secrets, unauthenticated bot on loopback (when asked for)', () => {
    const c = loadConfig({ ALLOW_UNAUTHENTICATED: 'true' });
    assert.equal(c.bot.authenticated, false);
    assert.equal(c.server.host, '127.0.0.1');
    assert.equal(c.env, 'development');
    assert.equal(c.bot.id, '');
    assert.equal(c.server.port, 3978);
    assert.equal(c.server.publicBaseUrl, 'http://localhost:3978');
    assert.equal(c.database.kind, 'pglite');
    assert.equal(c.secrets.kind, 'local');
    assert.equal(c.microsoft.graphBaseUrl, 'https://graph.microsoft.com');
    assert.ok(Object.isFrozen(c) && Object.isFrozen(c.server), 'frozen');
  });

  it('reads a full production environment', () => {
    const c = loadConfig({
      NODE_ENV: 'production', BOT_ID: GOOD_ID, BOT_PASSWORD: 'pw', BOT_TENANT_ID: GOOD_ID, BOT_TYPE: 'SingleTenant',
      PORT: '8080', PUBLIC_BASE_URL: 'https://bot.example.com/', DATABASE_URL: 'postgres://bot:pw@db.example.com:5432/bot',
      KEY_VAULT_URL: 'https://kv.vault.azure.net/', MAIL_SENDER: 'onboarding@contoso.com', GRAPH_BASE_URL: 'https://graph.example.test/', LOG_LEVEL: 'warn',
    });
    assert.equal(c.server.port, 8080);
    assert.equal(c.server.host, '0.0.0.0', 'authenticated: every interface');
    assert.equal(c.server.publicBaseUrl, 'https://bot.example.com');
    assert.deepEqual(c.database, { kind: 'postgres', url: 'postgres://bot:pw@db.example.com:5432/bot' });
    assert.deepEqual(c.secrets, { kind: 'keyvault', url: 'https://kv.vault.azure.net', disableChallengeResourceVerification: false });
    assert.equal(c.microsoft.graphBaseUrl, 'https://graph.example.test');
  });

  it('defaults BOT_TYPE to SingleTenant (no new multi-tenant bots since 31 July 2025), needing BOT_TENANT_ID only with BOT_ID', () => {
    assert.equal(loadConfig({ ALLOW_UNAUTHENTICATED: 'true' }).bot.type, 'SingleTenant');
    assert.throws(() => loadConfig({ BOT_ID: GOOD_ID, BOT_PASSWORD: 'pw' }), /BOT_TENANT_ID: required when BOT_TYPE is SingleTenant/);
  });

  it('SUPPORT_ENGINEERS: Entra object ids, comma-separated, spaces and case forgiven; anything else refused by name', () => {
    assert.deepEqual(loadConfig({ ALLOW_UNAUTHENTICATED: 'true' }).support.engineers, []);
    assert.deepEqual(loadConfig({ ALLOW_UNAUTHENTICATED: 'true', SUPPORT_ENGINEERS: ` ${GOOD_ID.toUpperCase()} ,, ${GOOD_ID}` }).support.engineers, [GOOD_ID.toLowerCase(), GOOD_ID.toLowerCase()]);
    assert.throws(() => loadConfig({ ALLOW_UNAUTHENTICATED: 'true', SUPPORT_ENGINEERS: `${GOOD_ID},sam@contoso.com` }), /SUPPORT_ENGINEERS: expected Entra object ids \(GUIDs\), comma-separated/);
  });

  it('HOST: where the bot listens; every interface for an authenticated bot, loopback otherwise, and an unauthenticated bot never anywhere else', () => {
    const authenticated = { BOT_ID: GOOD_ID, BOT_PASSWORD: 'pw', BOT_TENANT_ID: GOOD_ID };
    assert.equal(loadConfig(authenticated).server.host, '0.0.0.0');
    assert.equal(loadConfig({ ...authenticated, HOST: ' 127.0.0.1 ' }).server.host, '127.0.0.1');
    assert.equal(loadConfig({ ALLOW_UNAUTHENTICATED: 'true', HOST: '127.0.0.1' }).server.host, '127.0.0.1');
    assert.deepEqual(problems({ ...authenticated, HOST: 'example.com' }), ['HOST: expected an IPv4 address to listen on: 127.0.0.1 (this machine only) or 0.0.0.0 (every interface); got "example.com"']);
    assert.deepEqual(problems({ ALLOW_UNAUTHENTICATED: 'true', HOST: '0.0.0.0' }), ['HOST: an unauthenticated bot listens on this machine only (127.0.0.1): anyone who reached it could talk to it as anyone']);
  });

  it('accepts the Toolkit secret name SECRET_BOT_PASSWORD', () => {
    assert.equal(loadConfig({ BOT_ID: GOOD_ID, BOT_TENANT_ID: GOOD_ID, SECRET_BOT_PASSWORD: 'pw' }).bot.password, 'pw');
  });

  it('SETUP_APP_ID and SETUP_APP_SECRET: the operator\'s setup app, both or neither, its secret never repeated', () => {
    const local = { ALLOW_UNAUTHENTICATED: 'true' };
    assert.equal(loadConfig(local).setupApp, undefined);
    assert.deepEqual(loadConfig({ ...local, SETUP_APP_ID: GOOD_ID, SETUP_APP_SECRET: 'Setup~secret' }).setupApp, { appId: GOOD_ID, secret: 'Setup~secret' });
    assert.deepEqual(loadConfig({ ...local, SETUP_APP_ID: GOOD_ID, SECRET_SETUP_APP_SECRET: 'from-user-file' }).setupApp, { appId: GOOD_ID, secret: 'from-user-file' });
    assert.deepEqual(problems({ ...local, SETUP_APP_ID: GOOD_ID }), ['SETUP_APP_SECRET: required when SETUP_APP_ID is set (the setup app\'s client secret; or SECRET_SETUP_APP_SECRET in env/.env.<name>.user)']);
    const orphan = problems({ ...local, SETUP_APP_SECRET: 'Orphan~S3cret', SETUP_APP_ID: 'not-a-guid' });
    assert.ok(orphan.some((p) => p.startsWith('SETUP_APP_ID: expected the application (client) id')), orphan.join('\n'));
    assert.ok(!orphan.join('\n').includes('Orphan~S3cret'));
  });

  it('SANDBOX_BROWSER_AUTHORITY_HOST: where browsers sign in, sandbox only: loopback, never in production; AUTHORITY_HOST otherwise', () => {
    const local = { ALLOW_UNAUTHENTICATED: 'true', AUTHORITY_HOST: 'https://127.0.0.1:3979' };
    assert.equal(loadConfig(local).microsoft.browserAuthorityHost, 'https://127.0.0.1:3979');
    const sandbox = loadConfig({ ...local, SANDBOX_BROWSER_AUTHORITY_HOST: 'http://127.0.0.1:40123/' });
    assert.equal(sandbox.microsoft.browserAuthorityHost, 'http://127.0.0.1:40123');
    assert.equal(sandbox.microsoft.authorityHost, 'https://127.0.0.1:3979', 'the bot\'s own calls stay on HTTPS');
    assert.deepEqual(problems({ ...local, SANDBOX_BROWSER_AUTHORITY_HOST: 'http://signin.example.com' }), ['SANDBOX_BROWSER_AUTHORITY_HOST: expected a loopback address (http://127.0.0.1:<port>): sign-in pages are served over plain HTTP only on this machine']);
    const production = problems({ NODE_ENV: 'production', SANDBOX_BROWSER_AUTHORITY_HOST: 'http://127.0.0.1:40123' });
    assert.ok(production.includes('SANDBOX_BROWSER_AUTHORITY_HOST: only for the local sandbox, not in production (browsers sign in at AUTHORITY_HOST)'), production.join('\n'));
  });

  const cases: Array<[string, Record<string, string>, RegExp]> = [
    ['PORT not a number', { PORT: 'abc' }, /^PORT: expected a port number 0-65535; got "abc"$/],
    ['PORT too large', { PORT: '70000' }, /^PORT: expected a port number/],
    ['DATABASE_URL nonsense', { DATABASE_URL: 'nonsense' }, /^DATABASE_URL: expected a PostgreSQL URL/],
    ['DATABASE_URL wrong scheme', { DATABASE_URL: 'mysql://x@y/z' }, /^DATABASE_URL: expected a PostgreSQL URL/],
    ['BOT_ID not a GUID', { BOT_ID: 'my-bot' }, /^BOT_ID: expected the bot's Microsoft app id/],
    ['BOT_TYPE unknown', { BOT_TYPE: 'Single' }, /^BOT_TYPE: expected one of MultiTenant, SingleTenant, UserAssignedMSI/],
    ['LOG_LEVEL unknown', { LOG_LEVEL: 'loud' }, /^LOG_LEVEL: expected one of fatal/],
    ['KEY_VAULT_URL not https', { KEY_VAULT_URL: 'http://kv', BOT_ID: GOOD_ID, BOT_PASSWORD: 'p', BOT_TENANT_ID: GOOD_ID }, /^KEY_VAULT_URL: expected an https URL/],
    ['SECRET_STORE_KEY wrong length', { SECRET_STORE_KEY: 'c2hvcnQ=' }, /^SECRET_STORE_KEY: expected 32 random bytes in base64 .*; got a value \(not shown\)$/],
    ['production without BOT_ID', { NODE_ENV: 'production', DATABASE_URL: 'postgres://a@b/c', KEY_VAULT_URL: 'https://kv.vault.azure.net', BOT_TENANT_ID: GOOD_ID }, /^BOT_ID: required in production/],
    ['production on embedded stores', { NODE_ENV: 'production', BOT_ID: GOOD_ID, BOT_PASSWORD: 'p' }, /^DATABASE_URL: required in production/],
    ['BOT_ID without password', { BOT_ID: GOOD_ID }, /^BOT_PASSWORD: required when BOT_ID is set/],
    ['SingleTenant without tenant', { BOT_ID: GOOD_ID, BOT_PASSWORD: 'p', BOT_TYPE: 'SingleTenant' }, /^BOT_TENANT_ID: required when BOT_TYPE is SingleTenant/],
    ['Key Vault without a tenant', { BOT_ID: GOOD_ID, BOT_PASSWORD: 'p', KEY_VAULT_URL: 'https://kv.vault.azure.net' }, /^BOT_TENANT_ID: required with KEY_VAULT_URL/],
    ['embedded allowed in production, but no key', { NODE_ENV: 'production', BOT_ID: GOOD_ID, BOT_PASSWORD: 'p', ALLOW_EMBEDDED_STORES: 'true' }, /^SECRET_STORE_KEY: required in production/],
    ['boolean not a boolean', { ALLOW_EMBEDDED_STORES: 'yes' }, /^ALLOW_EMBEDDED_STORES: expected true or false/],
    ['production without a mail sender', { NODE_ENV: 'production', BOT_ID: GOOD_ID, BOT_PASSWORD: 'p', DATABASE_URL: 'postgres://a@b/c', KEY_VAULT_URL: 'https://kv.vault.azure.net', BOT_TENANT_ID: GOOD_ID }, /^MAIL_SENDER: required in production/],
    ['a mail sender that is not an address', { MAIL_SENDER: 'onboarding' }, /^MAIL_SENDER: expected the mailbox/],
    ['no BOT_ID and no explicit unauthenticated mode', {}, /^BOT_ID: required \(for a local run without authentication set ALLOW_UNAUTHENTICATED=true/],
    ['unauthenticated mode in production', { NODE_ENV: 'production', ALLOW_UNAUTHENTICATED: 'true' }, /^ALLOW_UNAUTHENTICATED: refused when NODE_ENV=production$/],
    ['unauthenticated mode on App Service', { ALLOW_UNAUTHENTICATED: 'true', WEBSITE_SITE_NAME: 'partner-bot-dev' }, /^ALLOW_UNAUTHENTICATED: refused on Azure App Service/],
    ['production without PUBLIC_BASE_URL', { NODE_ENV: 'production', BOT_ID: GOOD_ID, BOT_PASSWORD: 'p' }, /^PUBLIC_BASE_URL: required in production/],
    ['production http base URL', { NODE_ENV: 'production', BOT_ID: GOOD_ID, BOT_PASSWORD: 'p', DATABASE_URL: 'postgres://a@b/c', KEY_VAULT_URL: 'https://kv.vault.azure.net', BOT_TENANT_ID: GOOD_ID, PUBLIC_BASE_URL: 'http://bot' }, /^PUBLIC_BASE_URL: must be https in production/],
  ];
  for (const [name, env, expected] of cases) {
    it(`rejects ${name}`, () => {
      const found = problems(env);
      assert.ok(found.some((p) => expected.test(p)), `expected ${expected} in:\n${found.join('\n')}`);
    });
  }

  it('lists every problem at once, one line each', () => {
    const found = problems({ NODE_ENV: 'production', PORT: 'abc', DATABASE_URL: 'nonsense', LOG_LEVEL: 'loud' });
    const keys = found.map((p) => p.split(':')[0]).sort();
    assert.deepEqual(keys, ['BOT_ID', 'DATABASE_URL', 'KEY_VAULT_URL', 'LOG_LEVEL', 'MAIL_SENDER', 'PORT', 'PUBLIC_BASE_URL']);
  });

  it('never repeats a secret value in its errors', () => {
    const secretish = 'postgres://user:Sup3rS3cret!@';
    const found = problems({ DATABASE_URL: secretish, SECRET_STORE_KEY: 'TopSecretButShort', BOT_ID: GOOD_ID });
    const text = found.join('\n');
    assert.ok(found.length >= 3);
    assert.ok(!text.includes('Sup3rS3cret') && !text.includes('TopSecretButShort'), text);
  });

  it('accepts a good 32-byte key', () => {
    const c = loadConfig({ SECRET_STORE_KEY: KEY, ALLOW_UNAUTHENTICATED: 'true' });
    assert.equal(c.secrets.kind === 'local' && c.secrets.key?.length, 32);
  });
});

describe('readEnvironment', () => {
  it('merges env/.env.<name> and .user, with the process environment winning', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'envdir-'));
    try {
      await writeFile(join(dir, '.env.staging'), '# comment\nPORT=4000\nLOG_LEVEL=debug\nGRAPH_BASE_URL="https://g.example"\n');
      await writeFile(join(dir, '.env.staging.user'), 'SECRET_BOT_PASSWORD=from-user-file\n');
      const env = readEnvironment({ TEAMSFX_ENV: 'staging', LOG_LEVEL: 'warn' }, dir);
      assert.equal(env.PORT, '4000');
      assert.equal(env.LOG_LEVEL, 'warn');
      assert.equal(env.GRAPH_BASE_URL, 'https://g.example');
      assert.equal(env.SECRET_BOT_PASSWORD, 'from-user-file');
      assert.throws(() => readEnvironment({ TEAMSFX_ENV: '../etc' }, dir), /TEAMSFX_ENV/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('the bot process with bad config', function () {
  this.timeout(60_000);
  it('exits non-zero with one line per problem, before opening anything', async () => {
    const bot = await startBot({ entry: 'src', waitReady: false, env: { NODE_ENV: 'production', PORT: 'abc', DATABASE_URL: 'nonsense', BOT_ID: '' } });
    const { code } = await bot.exited;
    assert.equal(code, 2);
    const lines = bot.stderr().trim().split('\n').filter((l) => !l.includes('DeprecationWarning') && !l.includes('--trace-deprecation'));
    assert.equal(lines[0], 'Invalid configuration:');
    assert.ok(lines.some((l) => /^ {2}- PORT: expected a port number/.test(l)), bot.stderr());
    assert.ok(lines.some((l) => /^ {2}- DATABASE_URL: expected a PostgreSQL URL/.test(l)), bot.stderr());
    assert.ok(lines.some((l) => /^ {2}- BOT_ID: required in production/.test(l)), bot.stderr());
    assert.equal(bot.stdout(), '');
  });
});

describe('the Azure deployment\'s identity (infra/azure.json)', () => {
  const MSI_ID = '5b1c9f0e-2d4a-4c7b-9e31-7f6a2b8c0d15';
  // What infra/azure.json sets on the web app: no client secret, no database password.
  const azure = {
    NODE_ENV: 'production', BOT_TYPE: 'UserAssignedMSI', BOT_ID: MSI_ID, BOT_TENANT_ID: GOOD_ID,
    PUBLIC_BASE_URL: 'https://bot-dev.azurewebsites.net', KEY_VAULT_URL: 'https://kv-bot-dev.vault.azure.net/',
    DATABASE_URL: 'postgres://id-bot-dev@psql-bot-dev.postgres.database.azure.com:5432/onboarding?sslmode=verify-full',
    DATABASE_AUTH: 'entra', AZURE_CLIENT_ID: MSI_ID, MAIL_SENDER: 'onboarding@contoso.com',
  };

  it('accepts BOT_TYPE=UserAssignedMSI without a password, and botbuilder builds its managed-identity credentials from it', () => {
    const c = loadConfig(azure);
    assert.equal(c.bot.type, 'UserAssignedMSI');
    assert.equal(c.bot.id, MSI_ID);
    assert.equal(c.bot.password, undefined);
    assert.deepEqual(c.database, { kind: 'postgres', url: azure.DATABASE_URL, entra: { clientId: MSI_ID } });
    // botbuilder asserts MicrosoftAppId and MicrosoftAppTenantId are set and no password is, for MSI.
    const { logger } = createLogger({ level: 'silent' });
    assert.ok(createAdapter(c, logger));
  });

  it('UserAssignedMSI: refuses a client secret (botbuilder would refuse to start), and needs the identity\'s client id and tenant', () => {
    assert.deepEqual(problems({ ...azure, SECRET_BOT_PASSWORD: 'left-over' }), [
      'BOT_PASSWORD: not used when BOT_TYPE is UserAssignedMSI (the managed identity holds no secret): remove it, or SECRET_BOT_PASSWORD from env/.env.<name>.user; got a value (not shown)',
    ]);
    assert.ok(problems({ ...azure, BOT_TENANT_ID: '' }).includes('BOT_TENANT_ID: required when BOT_TYPE is UserAssignedMSI'));
    assert.ok(problems({ ...azure, BOT_ID: '' }).some((p) => p.startsWith('BOT_ID: required in production')));
  });

  it('DATABASE_AUTH: password by default (unchanged); entra needs DATABASE_URL without a password, AZURE_CLIENT_ID, and TLS off this machine', () => {
    const local = { ALLOW_UNAUTHENTICATED: 'true', DATABASE_URL: 'postgres://bot:pw@127.0.0.1:5432/test' };
    assert.deepEqual(loadConfig(local).database, { kind: 'postgres', url: local.DATABASE_URL });
    assert.deepEqual(problems({ ...local, DATABASE_AUTH: 'token' }), ['DATABASE_AUTH: expected password or entra; got "token"']);
    assert.deepEqual(problems({ ...local, DATABASE_AUTH: 'entra' }), [
      'DATABASE_URL: no password with DATABASE_AUTH=entra (the password is an access token of the managed identity); name only the user, like postgres://<identity name>@<server>:5432/<database>',
      'AZURE_CLIENT_ID: required with DATABASE_AUTH=entra (the client id of the user-assigned managed identity that signs in to PostgreSQL)',
    ]);
    assert.deepEqual(problems({ ALLOW_UNAUTHENTICATED: 'true', DATABASE_AUTH: 'entra', AZURE_CLIENT_ID: MSI_ID }), ['DATABASE_URL: required with DATABASE_AUTH=entra']);
    assert.deepEqual(problems({ ...azure, AZURE_CLIENT_ID: 'id-bot-dev' }), ['AZURE_CLIENT_ID: expected the client id of a user-assigned managed identity (a GUID); got "id-bot-dev"']);
    assert.deepEqual(problems({ ...azure, DATABASE_URL: 'postgres://id-bot-dev@psql-bot-dev.postgres.database.azure.com:5432/onboarding' }), [
      'DATABASE_URL: add ?sslmode=verify-full with DATABASE_AUTH=entra (an access token must not cross the network in clear)',
    ]);
    assert.deepEqual(problems({ ...azure, DATABASE_URL: `${azure.DATABASE_URL.replace('verify-full', 'disable')}` }), [
      'DATABASE_URL: add ?sslmode=verify-full with DATABASE_AUTH=entra (an access token must not cross the network in clear)',
    ]);
    // On this machine (tests, a local server) no TLS is needed.
    assert.deepEqual(loadConfig({ ...local, DATABASE_URL: 'postgres://bot@127.0.0.1:5432/test', DATABASE_AUTH: 'entra', AZURE_CLIENT_ID: MSI_ID }).database,
      { kind: 'postgres', url: 'postgres://bot@127.0.0.1:5432/test', entra: { clientId: MSI_ID } });
  });
});
