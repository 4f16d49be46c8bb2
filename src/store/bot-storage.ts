import { randomUUID } from 'node:crypto';
import type { Storage, StoreItem, StoreItems } from 'botbuilder';
import { AppError } from '../errors';
import type { Db, Queryable } from './db';

/**
 * botbuilder `Storage` on our database, with the same eTag rules as botbuilder's MemoryStorage:
 * a missing key reads as absent; a write without an eTag or with `*` overwrites; a write with an
 * eTag succeeds only if it still matches the stored one (or the key does not exist), else it fails
 * with `storage_conflict`. A batch of writes is one transaction: all of it lands or none.
 */
export class SqlStorage implements Storage {
  /** Items read with the turn's first statement, each served to one read of its key in that turn. */
  private readonly primed = new Map<string, { item: StoreItem | undefined }>();

  constructor(private readonly db: Db) {}

  /**
   * `item` was read for `key` just now (undefined: absent): the next read of that key alone gets it
   * without a statement. Returns the release for the end of the turn, which drops it if unread.
   */
  prime(key: string, item: StoreItem | undefined): () => void {
    const entry = { item };
    this.primed.set(key, entry);
    return () => {
      if (this.primed.get(key) === entry) this.primed.delete(key);
    };
  }

  async read(keys: string[]): Promise<StoreItems> {
    if (keys.length === 0) return {};
    const primed = keys.length === 1 ? this.primed.get(keys[0]!) : undefined;
    if (primed) {
      this.primed.delete(keys[0]!);
      return primed.item ? { [keys[0]!]: primed.item } : {};
    }
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
    for (const [key] of entries) this.primed.delete(key);
    // One item (every turn's conversation state) is one statement, atomic on its own: no BEGIN/COMMIT round-trips.
    if (entries.length === 1) {
      await writeItem(this.db, entries[0]![0], entries[0]![1]);
      return;
    }
    await this.db.transaction(async (tx) => {
      for (const [key, item] of entries) await writeItem(tx, key, item);
    });
  }

  async delete(keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    for (const key of keys) this.primed.delete(key);
    await this.db.query('DELETE FROM bot_state WHERE key = ANY($1::text[])', [keys]);
  }
}

/**
 * One statement decides atomically: insert if absent, update if the eTag still matches (or none
 * was given), otherwise touch nothing — which is the conflict.
 */
async function writeItem(q: Queryable, key: string, item: unknown): Promise<void> {
  if (item === null || typeof item !== 'object') throw new AppError('bad_request', `Storage: item for "${key}" must be an object`);
  const { eTag, ...doc } = item as Record<string, unknown> & { eTag?: unknown };
  const expected = typeof eTag === 'string' && eTag !== '*' && eTag !== '' ? eTag : null;
  const rows = await q.query<{ key: string }>(
    `INSERT INTO bot_state (key, doc, etag) VALUES ($1, $2::jsonb, $3)
     ON CONFLICT (key) DO UPDATE SET doc = EXCLUDED.doc, etag = EXCLUDED.etag, updated_at = now()
     WHERE $4::text IS NULL OR bot_state.etag = $4::text
     RETURNING key`,
    [key, JSON.stringify(doc), randomUUID(), expected],
  );
  if (rows.length === 0) throw new AppError('storage_conflict', `Storage: error writing "${key}" due to eTag conflict.`);
}
