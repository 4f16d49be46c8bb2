import { randomUUID } from 'node:crypto';
import type { Storage, StoreItems } from 'botbuilder';
import { AppError } from '../errors';
import type { Db } from './db';

/**
 * botbuilder `Storage` on our database, with the same eTag rules as botbuilder's MemoryStorage:
 * a missing key reads as absent; a write without an eTag or with `*` overwrites; a write with an
 * eTag succeeds only if it still matches the stored one (or the key does not exist), else it fails
 * with `storage_conflict`. A batch of writes is one transaction: all of it lands or none.
 */
export class SqlStorage implements Storage {
  constructor(private readonly db: Db) {}

  async read(keys: string[]): Promise<StoreItems> {
    if (keys.length === 0) return {};
    const rows = await this.db.query<{ key: string; doc: Record<string, unknown>; etag: string }>(
      'SELECT key, doc, etag FROM bot_state WHERE key = ANY($1::text[])',
      [keys],
    );
    const items: StoreItems = {};
    for (const row of rows) items[row.key] = { ...row.doc, eTag: row.etag };
    return items;
  }

  async write(changes: StoreItems): Promise<void> {
    const entries = Object.entries(changes);
    if (entries.length === 0) return;
    await this.db.transaction(async (tx) => {
      for (const [key, item] of entries) {
        if (item === null || typeof item !== 'object') throw new AppError('bad_request', `Storage: item for "${key}" must be an object`);
        const { eTag, ...doc } = item as Record<string, unknown> & { eTag?: unknown };
        const expected = typeof eTag === 'string' && eTag !== '*' && eTag !== '' ? eTag : null;
        // One statement decides atomically: insert if absent, update if the eTag still matches
        // (or none was given), otherwise touch nothing — which is the conflict.
        const rows = await tx.query<{ key: string }>(
          `INSERT INTO bot_state (key, doc, etag) VALUES ($1, $2::jsonb, $3)
           ON CONFLICT (key) DO UPDATE SET doc = EXCLUDED.doc, etag = EXCLUDED.etag, updated_at = now()
           WHERE $4::text IS NULL OR bot_state.etag = $4::text
           RETURNING key`,
          [key, JSON.stringify(doc), randomUUID(), expected],
        );
        if (rows.length === 0) {
          throw new AppError('storage_conflict', `Storage: error writing "${key}" due to eTag conflict.`);
        }
      }
    });
  }

  async delete(keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    await this.db.query('DELETE FROM bot_state WHERE key = ANY($1::text[])', [keys]);
  }
}
