import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chownSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { createApp, databaseTarget } from '../../src/app';
import { loadConfig } from '../../src/config';
import { isAppError } from '../../src/errors';
import { createLogger } from '../../src/logger';
import { openDatabase } from '../../src/store/db';

const run = promisify(execFile);

/**
 * DATABASE_AUTH=entra against a real PostgreSQL that asks for a password (SCRAM): the shared test
 * server trusts every local connection and would never ask for one. The managed identity's token is
 * stood in for by a function returning the role's password (Azure checks a token where PostgreSQL
 * checks a password; node-postgres hands over either the same way).
 */
class PasswordPostgres {
  private constructor(readonly dir: string, readonly port: number, private readonly asUser: string[]) {}

  static async start(): Promise<PasswordPostgres> {
    const dir = await mkdtemp(join(tmpdir(), 'pg-scram-'));
    // initdb refuses to run as root: the cluster belongs to the postgres user then.
    const asUser = process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--'] : [];
    const server = new PasswordPostgres(dir, await freePort(), asUser);
    writeFileSync(join(dir, 'pw'), 'boot-password\n');
    if (asUser.length > 0) {
      const [uid, gid] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]).then((r) => r.map((x) => Number(x.stdout.trim())));
      for (const path of [dir, join(dir, 'pw')]) chownSync(path, uid!, gid!);
    }
    await server.cmd('initdb', '-D', join(dir, 'data'), '-A', 'scram-sha-256', '-U', 'boot', `--pwfile=${join(dir, 'pw')}`, '--no-sync');
    await server.cmd('pg_ctl', '-D', join(dir, 'data'), '-l', join(dir, 'log'), '-w', '-o', `-p ${server.port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`, 'start');
    return server;
  }

  private async cmd(bin: string, ...args: string[]): Promise<void> {
    const [file, ...rest] = this.asUser.length > 0 ? [...this.asUser, bin, ...args] : [bin, ...args];
    await run(file!, rest, { cwd: this.dir });
  }

  /** Runs SQL as the bootstrap superuser. */
  async admin(sql: string, database = 'postgres'): Promise<void> {
    const client = new pg.Client({ host: '127.0.0.1', port: this.port, user: 'boot', password: 'boot-password', database });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  }

  async stop(): Promise<void> {
    await this.cmd('pg_ctl', '-D', join(this.dir, 'data'), '-m', 'immediate', 'stop').catch(() => undefined);
    await rm(this.dir, { recursive: true, force: true });
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

const IDENTITY_CLIENT_ID = '5b1c9f0e-2d4a-4c7b-9e31-7f6a2b8c0d15';
// Nothing here may reach Microsoft: every endpoint points at a closed local port.
const NOWHERE = 'https://127.0.0.1:9';

describe('PostgreSQL with DATABASE_AUTH=entra (a token as each new connection\'s password)', function () {
  this.timeout(90_000);
  let server: PasswordPostgres;
  let dataDir: string;
  let token = 'token-1';
  let asked = 0;
  const supplier = async (): Promise<string> => {
    asked += 1;
    return token;
  };

  before(async () => {
    server = await PasswordPostgres.start();
    // As on Azure: the identity is a login role named like the identity, owning the bot's database.
    await server.admin(`CREATE ROLE "id-bot-dev" LOGIN PASSWORD '${token}'`);
    await server.admin('CREATE DATABASE onboarding OWNER "id-bot-dev"');
    dataDir = await mkdtemp(join(tmpdir(), 'entra-pg-'));
  });
  after(async () => {
    await server?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const config = () => loadConfig({
    ALLOW_UNAUTHENTICATED: 'true', DATA_DIR: dataDir, DATABASE_AUTH: 'entra', AZURE_CLIENT_ID: IDENTITY_CLIENT_ID,
    DATABASE_URL: `postgres://id-bot-dev@127.0.0.1:${server.port}/onboarding`,
    JOB_POLL_SECONDS: '0.5', WATCH_DAILY_AT: 'off', SYNC_NIGHTLY_AT: 'off',
    AUTHORITY_HOST: NOWHERE, GRAPH_BASE_URL: NOWHERE, PARTNER_CENTER_BASE_URL: NOWHERE,
  });

  it('the bot starts on it: migrated as that user, ready, each connection signed in with the supplied token', async () => {
    const { logger, redactor } = createLogger({ level: 'silent' });
    const app = await createApp(config(), logger, redactor, { databaseToken: supplier, keepAliveIntervalMs: 0, followUpIntervalMs: 0 });
    try {
      const base = await app.start(0);
      const ready = await fetch(`${base}/readyz`);
      assert.equal(ready.status, 200, await ready.text());
      const [who] = await app.db.query<{ user: string }>('SELECT current_user AS user');
      assert.equal(who?.user, 'id-bot-dev');
      const [owner] = await app.db.query<{ owner: string }>("SELECT tableowner AS owner FROM pg_tables WHERE tablename = 'schema_migrations'");
      assert.equal(owner?.owner, 'id-bot-dev', 'the bot migrated its own database');
      assert.ok(asked >= 1, 'the token supplier was asked');
    } finally {
      await app.stop();
    }
  });

  it('a new connection asks again, so a renewed token is used; a refused token fails to open, without repeating it', async () => {
    const db = await openDatabase(databaseTarget(config(), supplier));
    try {
      // The token is renewed (and the old one no longer accepted): connections opened from now on need the new one.
      token = 'token-2';
      await server.admin(`ALTER ROLE "id-bot-dev" PASSWORD '${token}'`);
      const before = asked;
      const rows = await Promise.all(Array.from({ length: 6 }, () => db.query<{ one: number }>('SELECT 1 AS one FROM pg_sleep(0.3)')));
      assert.equal(rows.length, 6);
      assert.ok(asked > before, 'new connections asked for the token again');
    } finally {
      await db.close();
    }
    const stale = 'token-stale-4c1d';
    const err = await openDatabase(databaseTarget(config(), async () => stale)).then(() => undefined, (e: unknown) => e);
    assert.ok(isAppError(err, 'storage_unavailable'), String(err));
    assert.match(err.message, /password authentication failed for user "id-bot-dev"/);
    assert.ok(!err.message.includes(stale), 'the token is not in the error');
  });
});
