import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { AppError } from '../../errors';
import type { Redactor } from '../../logger';
import { toBuffer, type Db } from '../db';
import { assertSecretName, assertSecretPrefix, type SecretStore } from './secret-store';

const ALGORITHM = 'aes-256-gcm';
const KEY_ID_LABEL = 'partner-onboarding-bot/local-secret-store/key-id/v1';

/** Names the key without revealing anything computable from it alone: HMAC(key, fixed label). */
function keyIdOf(key: Buffer): string {
  return createHmac('sha256', key).update(KEY_ID_LABEL).digest('hex').slice(0, 16);
}

/** The id rows were written with before: a plain SHA-256 prefix of the key. Accepted on read only. */
function legacyKeyIdOf(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

/**
 * Secrets encrypted with AES-256-GCM in the database: a fresh 12-byte nonce per write, the secret's
 * name bound in as associated data (a row copied under another name does not decrypt), and the key
 * id stored so a key change is detected instead of producing garbage.
 */
export class LocalSecretStore implements SecretStore {
  readonly kind = 'local' as const;
  private readonly keyId: string;
  private readonly legacyKeyId: string;

  constructor(private readonly db: Db, private readonly key: Buffer, private readonly redactor?: Redactor) {
    if (key.length !== 32) throw new AppError('config_invalid', 'the local secret store needs a 32-byte key');
    this.keyId = keyIdOf(key);
    this.legacyKeyId = legacyKeyIdOf(key);
  }

  async set(name: string, value: string): Promise<void> {
    assertSecretName(name);
    this.redactor?.addSecret(value);
    const nonce = randomBytes(12);
    const cipher = createCipheriv(ALGORITHM, this.key, nonce);
    cipher.setAAD(Buffer.from(name, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
    await this.db.query(
      `INSERT INTO secrets (name, nonce, ciphertext, auth_tag, key_id) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (name) DO UPDATE SET nonce = EXCLUDED.nonce, ciphertext = EXCLUDED.ciphertext,
         auth_tag = EXCLUDED.auth_tag, key_id = EXCLUDED.key_id, updated_at = now()`,
      [name, nonce, ciphertext, cipher.getAuthTag(), this.keyId],
    );
  }

  async get(name: string): Promise<string | undefined> {
    assertSecretName(name);
    const rows = await this.db.query<{ nonce: unknown; ciphertext: unknown; auth_tag: unknown; key_id: string }>(
      'SELECT nonce, ciphertext, auth_tag, key_id FROM secrets WHERE name = $1',
      [name],
    );
    const row = rows[0];
    if (!row) return undefined;
    // Rows written before the key id became an HMAC still decrypt; the next write of each uses the new id.
    if (row.key_id !== this.keyId && row.key_id !== this.legacyKeyId) {
      throw new AppError('secret_decrypt_failed', `secret "${name}" was written with another SECRET_STORE_KEY (key id ${row.key_id})`);
    }
    try {
      const decipher = createDecipheriv(ALGORITHM, this.key, toBuffer(row.nonce));
      decipher.setAAD(Buffer.from(name, 'utf8'));
      decipher.setAuthTag(toBuffer(row.auth_tag));
      const value = Buffer.concat([decipher.update(toBuffer(row.ciphertext)), decipher.final()]).toString('utf8');
      this.redactor?.addSecret(value);
      return value;
    } catch (err) {
      throw new AppError('secret_decrypt_failed', `secret "${name}" failed authentication (tampered or corrupted)`, { cause: err });
    }
  }

  async delete(name: string): Promise<void> {
    assertSecretName(name);
    await this.db.query('DELETE FROM secrets WHERE name = $1', [name]);
  }

  async list(prefix: string): Promise<string[]> {
    assertSecretPrefix(prefix);
    const rows = await this.db.query<{ name: string }>(
      "SELECT name FROM secrets WHERE name LIKE $1 || '%' ORDER BY name",
      [prefix],
    );
    return rows.map((r) => r.name);
  }
}

/**
 * The key for local runs when SECRET_STORE_KEY is not set: generated once into a file readable only
 * by this user (0600), in a directory only this user can enter (0700). An existing file that group
 * or others can read is refused: the key may already be copied. Config refuses this path in production.
 */
export function loadOrCreateKeyFile(path: string): Buffer {
  if (existsSync(path)) {
    const mode = statSync(path).mode & 0o777;
    // Windows has no such bits (every file reads as 0666); there the directory ACL decides.
    if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
      throw new AppError('config_invalid', `${path} can be read by other users (mode ${mode.toString(8).padStart(4, '0')}); make it private with: chmod 600 ${path}`);
    }
    const key = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64');
    if (key.length !== 32) throw new AppError('config_invalid', `${path} does not hold a 32-byte base64 key`);
    return key;
  }
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const key = randomBytes(32);
  writeFileSync(path, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  chmodSync(path, 0o600);
  return key;
}
