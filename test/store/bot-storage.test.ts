import assert from 'node:assert/strict';
import { isAppError } from '../../src/errors';
import { SqlStorage } from '../../src/store/bot-storage';
import type { Db } from '../../src/store/db';
import { announcePostgresSkip, databasesUnderTest } from '../helpers/databases';

announcePostgresSkip();

for (const target of databasesUnderTest()) {
  describe(`SqlStorage conformance (${target.name})`, () => {
    let db: Db;
    let storage: SqlStorage;

    beforeEach(async () => {
      db = await target.open();
      storage = new SqlStorage(db);
    });
    after(() => target.cleanup());

    it('reads missing keys as absent', async () => {
      assert.deepEqual(await storage.read(['nope', 'also-nope']), {});
      assert.deepEqual(await storage.read([]), {});
    });

    it('writes, reads back with an eTag, and keeps nested data intact', async () => {
      const doc = { name: 'Contoso', nested: { list: [1, 'two', { three: true }], empty: null }, unicode: 'Zürich ✓' };
      await storage.write({ a: doc });
      const { a } = await storage.read(['a', 'b']);
      assert.ok(a);
      assert.equal(typeof a.eTag, 'string');
      assert.ok(a.eTag.length > 0);
      const { eTag: _etag, ...rest } = a;
      assert.deepEqual(rest, doc);
    });

    it('changes the eTag on every write', async () => {
      await storage.write({ k: { v: 1 } });
      const first = (await storage.read(['k'])).k!.eTag;
      await storage.write({ k: { v: 2 } });
      const second = (await storage.read(['k'])).k!.eTag;
      assert.notEqual(first, second);
    });

    it('overwrites with no eTag and with "*"', async () => {
      await storage.write({ k: { v: 1 } });
      await storage.write({ k: { v: 2 } });
      assert.equal((await storage.read(['k'])).k!.v, 2);
      await storage.write({ k: { v: 3, eTag: '*' } });
      assert.equal((await storage.read(['k'])).k!.v, 3);
    });

    it('accepts a write with the current eTag', async () => {
      await storage.write({ k: { v: 1 } });
      const item = (await storage.read(['k'])).k!;
      await storage.write({ k: { ...item, v: 2 } });
      assert.equal((await storage.read(['k'])).k!.v, 2);
    });

    it('rejects a write with a stale eTag and keeps the newer value', async () => {
      await storage.write({ k: { v: 1 } });
      const stale = (await storage.read(['k'])).k!;
      await storage.write({ k: { ...stale, v: 2 } });
      await assert.rejects(storage.write({ k: { ...stale, v: 3 } }), (err: unknown) => isAppError(err, 'storage_conflict'));
      assert.equal((await storage.read(['k'])).k!.v, 2);
    });

    it('writes a batch all-or-nothing: one conflict leaves every key as it was', async () => {
      await storage.write({ a: { v: 1 }, b: { v: 1 } });
      const stale = (await storage.read(['b'])).b!;
      await storage.write({ b: { v: 2 } });
      await assert.rejects(storage.write({ a: { v: 9 }, b: { ...stale, v: 9 } }), (err: unknown) => isAppError(err, 'storage_conflict'));
      const after = await storage.read(['a', 'b']);
      assert.equal(after.a!.v, 1);
      assert.equal(after.b!.v, 2);
    });

    it('deletes keys, and deleting a missing key is fine', async () => {
      await storage.write({ a: { v: 1 }, b: { v: 1 } });
      await storage.delete(['a', 'missing']);
      assert.deepEqual(Object.keys(await storage.read(['a', 'b'])), ['b']);
    });

    it('lets exactly one of two concurrent writers with the same eTag win', async () => {
      await storage.write({ k: { v: 0 } });
      for (let round = 0; round < 10; round++) {
        const base = (await storage.read(['k'])).k!;
        // Two storages, as two bot instances would have (on PostgreSQL, separate pool connections).
        const other = new SqlStorage(db);
        const results = await Promise.allSettled([
          storage.write({ k: { ...base, v: `A${round}` } }),
          other.write({ k: { ...base, v: `B${round}` } }),
        ]);
        const won = results.filter((r) => r.status === 'fulfilled');
        const lost = results.filter((r) => r.status === 'rejected');
        assert.equal(won.length, 1, `round ${round}: exactly one writer wins`);
        assert.ok(isAppError((lost[0] as PromiseRejectedResult).reason, 'storage_conflict'));
        const winner = results[0]!.status === 'fulfilled' ? `A${round}` : `B${round}`;
        assert.equal((await storage.read(['k'])).k!.v, winner);
      }
    });

    it('keeps keys with any characters apart (channel and conversation ids)', async () => {
      const keys = ['msteams/conversations/a:1@thread.tacv2;messageid=1/', "o'brien/users/29:1a-b", 'ünïcode/ключ'];
      await storage.write(Object.fromEntries(keys.map((k, i) => [k, { i }])));
      const back = await storage.read(keys);
      for (const [i, k] of keys.entries()) assert.equal(back[k]!.i, i);
    });
  });
}
