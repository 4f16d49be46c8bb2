import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAppError } from '../../../src/errors';
import { Redactor } from '../../../src/logger';
import type { Db } from '../../../src/store/db';
import { LocalSecretStore, loadOrCreateKeyFile } from '../../../src/store/secrets/local-secret-store';
import { announcePostgresSkip, databasesUnderTest } from '../../helpers/databases';

announcePostgresSkip();

const VALUE = 'Xy7~pQ.secret-value_0123456789abcdef';

/** The key id rows were written with before the security review: a plain SHA-256 prefix of the key. */
const legacyKeyId = (key: Buffer) => createHash('sha256').update(key).digest('hex').slice(0, 16);

for (const target of databasesUnderTest()) {
  describe(`LocalSecretStore (${target.name})`, () => {
    let db: Db;
    let store: LocalSecretStore;
    const key = randomBytes(32);

    beforeEach(async () => {
      db = await target.open();
      store = new LocalSecretStore(db, key);
    });
    after(() => target.cleanup());

    it('sets, gets, overwrites, lists by prefix and deletes', async () => {
      await store.set('partner-t1-pc-secret', VALUE);
      await store.set('partner-t1-app-secret', 'other value');
      await store.set('partner-t2-app-secret', 'third');
      assert.equal(await store.get('partner-t1-pc-secret'), VALUE);
      await store.set('partner-t1-pc-secret', 'rotated');
      assert.equal(await store.get('partner-t1-pc-secret'), 'rotated');
      assert.deepEqual(await store.list('partner-t1-'), ['partner-t1-app-secret', 'partner-t1-pc-secret']);
      assert.deepEqual(await store.list(''), ['partner-t1-app-secret', 'partner-t1-pc-secret', 'partner-t2-app-secret']);
      await store.delete('partner-t1-pc-secret');
      await store.delete('partner-t1-pc-secret');
      assert.equal(await store.get('partner-t1-pc-secret'), undefined);
    });

    it('stores only ciphertext, with a fresh nonce on every write', async () => {
      await store.set('s1', VALUE);
      const first = await db.query<{ nonce: Uint8Array; ciphertext: Uint8Array }>('SELECT nonce, ciphertext FROM secrets');
      await store.set('s1', VALUE);
      const second = await db.query<{ nonce: Uint8Array; ciphertext: Uint8Array }>('SELECT nonce, ciphertext FROM secrets');
      assert.notDeepEqual(Buffer.from(first[0]!.nonce), Buffer.from(second[0]!.nonce));
      assert.notDeepEqual(Buffer.from(first[0]!.ciphertext), Buffer.from(second[0]!.ciphertext));
      const dump = JSON.stringify(await db.query("SELECT name, encode(nonce, 'hex') n, encode(ciphertext, 'escape') c FROM secrets"));
      assert.ok(!dump.includes(VALUE), 'no plaintext in the table');
      assert.ok(!dump.includes('secret-value'), 'not even a fragment');
    });

    it('refuses a row copied under another name (name is authenticated)', async () => {
      await store.set('victim', VALUE);
      await db.query("INSERT INTO secrets (name, nonce, ciphertext, auth_tag, key_id) SELECT 'copy', nonce, ciphertext, auth_tag, key_id FROM secrets WHERE name = 'victim'");
      await assert.rejects(store.get('copy'), (err: unknown) => isAppError(err, 'secret_decrypt_failed'));
    });

    it('detects tampering and a different key', async () => {
      await store.set('s', VALUE);
      await db.query("UPDATE secrets SET ciphertext = decode('00', 'hex') || substring(ciphertext from 2)");
      await assert.rejects(store.get('s'), (err: unknown) => isAppError(err, 'secret_decrypt_failed'));
      await store.set('t', VALUE);
      const otherKey = new LocalSecretStore(db, randomBytes(32));
      await assert.rejects(otherKey.get('t'), (err: unknown) => isAppError(err, 'secret_decrypt_failed') && /another SECRET_STORE_KEY/.test(err.message));
    });

    it('stores a key id that is not a plain hash of the key', async () => {
      await store.set('s', VALUE);
      const [row] = await db.query<{ key_id: string }>('SELECT key_id FROM secrets');
      const sha = createHash('sha256').update(key).digest('hex');
      assert.match(row!.key_id, /^[0-9a-f]{16}$/);
      assert.ok(!sha.includes(row!.key_id), 'the key id is no part of SHA-256(key)');
      await new LocalSecretStore(db, key).set('t', VALUE);
      assert.deepEqual((await db.query<{ key_id: string }>('SELECT DISTINCT key_id FROM secrets')).map((r) => r.key_id), [row!.key_id], 'stable for one key');
    });

    it('still reads rows written under the legacy key id; a new write uses the new id', async () => {
      await store.set('old', VALUE);
      const [current] = await db.query<{ key_id: string }>('SELECT key_id FROM secrets');
      await db.query('UPDATE secrets SET key_id = $1', [legacyKeyId(key)]);
      assert.equal(await store.get('old'), VALUE);
      await store.set('old', 'rotated');
      assert.deepEqual(await db.query('SELECT key_id FROM secrets'), [{ key_id: current!.key_id }]);
      assert.equal(await store.get('old'), 'rotated');
      // The legacy id of another key is still another key.
      await db.query('UPDATE secrets SET key_id = $1', [legacyKeyId(randomBytes(32))]);
      await assert.rejects(store.get('old'), (err: unknown) => isAppError(err, 'secret_decrypt_failed') && /another SECRET_STORE_KEY/.test(err.message));
    });

    it('rejects names Key Vault would reject, with a clear error', async () => {
      for (const bad of ['', 'has space', 'under_score', 'a/b', 'x'.repeat(128), "o'brien"]) {
        await assert.rejects(store.set(bad, 'v'), (err: unknown) => isAppError(err, 'secret_name_invalid'), bad);
      }
      await assert.rejects(store.list('50%'), (err: unknown) => isAppError(err, 'secret_name_invalid'));
    });

    it('registers values with the redactor on set and get', async () => {
      const redactor = new Redactor();
      const s = new LocalSecretStore(db, key, redactor);
      await s.set('r', VALUE);
      assert.equal(redactor.text(`leaked ${VALUE} here`), 'leaked [redacted] here');
      const fresh = new Redactor();
      await new LocalSecretStore(db, key, fresh).get('r');
      assert.equal(fresh.text(VALUE), '[redacted]');
    });
  });
}

describe('local secret store key file', () => {
  it('is generated once with mode 0600 and read back the same', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keyfile-'));
    try {
      const path = join(dir, 'nested', 'secret-store.key');
      const key = loadOrCreateKeyFile(path);
      assert.equal(key.length, 32);
      assert.equal((await stat(path)).mode & 0o777, 0o600);
      assert.deepEqual(loadOrCreateKeyFile(path), key);
      assert.equal(Buffer.from((await readFile(path, 'utf8')).trim(), 'base64').length, 32);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('local secret store key file permissions (security review, finding 11)', () => {
  it('creates its directory 0700', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keyfile-'));
    try {
      const path = join(dir, 'data', 'secret-store.key');
      loadOrCreateKeyFile(path);
      assert.equal(statSync(join(dir, 'data')).mode & 0o777, 0o700);
      assert.equal(statSync(path).mode & 0o777, 0o600);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a key file readable by group or others, saying how to fix it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keyfile-'));
    try {
      const path = join(dir, 'secret-store.key');
      const key = loadOrCreateKeyFile(path);
      for (const mode of [0o644, 0o640, 0o604, 0o660]) {
        chmodSync(path, mode);
        assert.throws(
          () => loadOrCreateKeyFile(path),
          (err: unknown) => isAppError(err, 'config_invalid') && err.message.includes(`chmod 600 ${path}`) && !err.message.includes(key.toString('base64')),
          mode.toString(8),
        );
      }
      chmodSync(path, 0o400);
      assert.deepEqual(loadOrCreateKeyFile(path), key, 'owner-only read is fine');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
