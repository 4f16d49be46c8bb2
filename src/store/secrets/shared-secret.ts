import { randomBytes } from 'node:crypto';
import type { Db } from '../db';
import type { SecretStore } from './secret-store';

/**
 * A random value every instance of the bot must share (e.g. the key verification codes are hashed
 * with). Instances starting together each write a candidate under its own name; the database
 * decides which name wins (first insert), the losers delete theirs and read the winner's. The
 * winner's value is in the store before its name is, so a crash in between loses nothing.
 * `legacyName`: a value an older version kept under a fixed name is adopted as it is.
 */
export async function sharedSecret(db: Db, secrets: SecretStore, purpose: string, legacyName?: string): Promise<Buffer> {
  const winner = async (): Promise<string | undefined> =>
    (await db.query<{ secret_name: string }>('SELECT secret_name FROM shared_secrets WHERE purpose = $1', [purpose]))[0]?.secret_name;
  let name = await winner();
  if (!name) {
    let candidate: string;
    if (legacyName && (await secrets.get(legacyName)) !== undefined) {
      candidate = legacyName;
    } else {
      candidate = `${purpose}-${randomBytes(6).toString('hex')}`;
      await secrets.set(candidate, randomBytes(32).toString('base64'));
    }
    await db.query('INSERT INTO shared_secrets (purpose, secret_name) VALUES ($1, $2) ON CONFLICT (purpose) DO NOTHING', [purpose, candidate]);
    name = (await winner())!;
    if (name !== candidate && candidate !== legacyName) await secrets.delete(candidate);
  }
  const value = await secrets.get(name);
  if (value === undefined) throw new Error(`shared secret for ${purpose} is missing from the secret store (${name})`);
  return Buffer.from(value, 'base64');
}
