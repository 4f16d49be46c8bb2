import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, type App } from '../../../src/app';
import { loadConfig } from '../../../src/config';
import { createLogger, Redactor } from '../../../src/logger';
import type { Db } from '../../../src/store/db';
import { LocalSecretStore } from '../../../src/store/secrets/local-secret-store';
import { sharedSecret } from '../../../src/store/secrets/shared-secret';
import pg from 'pg';
import { announcePostgresSkip, databasesUnderTest, TEST_DATABASE_URL } from '../../helpers/databases';

announcePostgresSkip();

for (const target of databasesUnderTest()) {
  describe(`sharedSecret (${target.name})`, () => {
    let db: Db;
    beforeEach(async () => { db = await target.open(); });
    after(() => target.cleanup());

    it('instances starting at once agree on one value, and only one is kept', async () => {
      const key = randomBytes(32);
      const stores = Array.from({ length: 6 }, () => new LocalSecretStore(db, key, new Redactor()));
      const values = await Promise.all(stores.map((s) => sharedSecret(db, s, 'test-pepper')));
      assert.equal(new Set(values.map((v) => v.toString('hex'))).size, 1, 'every instance holds the same value');
      assert.equal(values[0]!.length, 32);
      assert.equal((await stores[0]!.list('test-pepper')).length, 1, 'the losers removed their candidates');
      assert.deepEqual(await sharedSecret(db, stores[0]!, 'test-pepper'), values[0], 'and it stays');
    });

    it('adopts a value an older version kept under its fixed name', async () => {
      const store = new LocalSecretStore(db, randomBytes(32), new Redactor());
      const legacy = randomBytes(32).toString('base64');
      await store.set('email-verification-pepper', legacy);
      assert.equal((await sharedSecret(db, store, 'email-verification-pepper', 'email-verification-pepper')).toString('base64'), legacy);
    });
  });
}

describe('bot instances starting together on one PostgreSQL', function () {
  this.timeout(120_000);
  if (!TEST_DATABASE_URL) {
    it('(needs TEST_DATABASE_URL: the race needs several processes on one server; .ci/run sets it)');
    return;
  }
  const url = TEST_DATABASE_URL;
  let schema: string;
  const apps: App[] = [];
  const dirs: string[] = [];
  before(async () => {
    schema = `race_${randomBytes(5).toString('hex')}`;
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    await admin.end();
  });
  after(async () => {
    await Promise.all(apps.map((a) => a.stop()));
    for (const d of dirs) await rm(d, { recursive: true, force: true });
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  });

  it('a code mailed by one instance is accepted by another (one verification key for all)', async () => {
    const u = new URL(url);
    u.searchParams.set('options', `-c search_path=${schema}`);
    const key = randomBytes(32).toString('base64');
    const started = await Promise.all(Array.from({ length: 4 }, async () => {
      const dir = await mkdtemp(join(tmpdir(), 'race-'));
      dirs.push(dir);
      const { logger, redactor } = createLogger({ level: 'silent' });
      return { dir, app: await createApp(loadConfig({ DATA_DIR: dir, DATABASE_URL: u.toString(), SECRET_STORE_KEY: key, ALLOW_UNAUTHENTICATED: 'true' }), logger, redactor) };
    }));
    apps.push(...started.map((s) => s.app));
    const [{ app: first, dir: firstDir }, , , { app: last }] = started as [{ app: App; dir: string }, unknown, unknown, { app: App; dir: string }];
    const tenant = randomUUID();
    const actor = { aadObjectId: randomUUID(), name: 'Megan Bowen' };
    await first.partners.createIfMissing(tenant, actor);
    await first.partners.saveSection(tenant, 'primaryContact', { firstName: 'A', lastName: 'V', email: 'adele@contoso.com', phone: '+49301234567', role: '' }, actor.aadObjectId, randomUUID());
    assert.deepEqual(await first.verification.send(tenant, 'adele@contoso.com', actor), { ok: true });
    const outbox = join(firstDir, 'outbox');
    const mail = JSON.parse(await readFile(join(outbox, (await readdir(outbox))[0]!), 'utf8')) as { text: string };
    const code = mail.text.match(/code in the Teams chat: (\d{6})/)![1]!;
    const result = await last.verification.checkCode(tenant, code, actor.aadObjectId);
    assert.ok(result.ok, JSON.stringify(result));
  });
});
