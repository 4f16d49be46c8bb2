import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../../src/store/db';
import { startBot } from '../helpers/bot-process';

/** Every path under `dir` with its permission bits. */
function modesUnder(dir: string): Array<{ path: string; mode: number; isDir: boolean }> {
  const out: Array<{ path: string; mode: number; isDir: boolean }> = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    out.push({ path, mode: statSync(path).mode & 0o777, isDir: entry.isDirectory() });
    if (entry.isDirectory()) out.push(...modesUnder(path));
  }
  return out;
}

describe('data directory permissions (security review, finding 11)', () => {
  it('opens the embedded database in a directory only its owner can enter, its files private, tightening an old one', async function () {
    this.timeout(60_000);
    const root = await mkdtemp(join(tmpdir(), 'pgdir-'));
    try {
      const fresh = join(root, 'data', 'pglite');
      await (await openDatabase({ kind: 'pglite', dir: fresh })).close();
      assert.equal(statSync(fresh).mode & 0o777, 0o700);
      assert.equal(statSync(join(root, 'data')).mode & 0o777, 0o700, 'directories made on the way are private too');
      // PGlite sets 0666 on its files itself, whatever the umask.
      const entries = modesUnder(fresh);
      assert.ok(entries.length > 10, 'the embedded database wrote its files');
      assert.deepEqual(entries.filter((e) => (e.mode & 0o077) !== 0).map((e) => `${e.path} ${e.mode.toString(8)}`), []);

      const old = join(root, 'old-pglite');
      mkdirSync(old);
      chmodSync(old, 0o755);
      await (await openDatabase({ kind: 'pglite', dir: old })).close();
      assert.equal(statSync(old).mode & 0o777, 0o700);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('the bot process keeps DATA_DIR and everything in it private (0700 directories, no group/other bits on files)', async function () {
    this.timeout(90_000);
    const root = await mkdtemp(join(tmpdir(), 'datadir-'));
    const dataDir = join(root, 'data');
    const existing = join(root, 'existing');
    mkdirSync(existing);
    chmodSync(existing, 0o755);
    try {
      for (const dir of [dataDir, existing]) {
        const bot = await startBot({ entry: 'src', env: { DATA_DIR: dir } });
        await bot.stop();
        assert.equal(statSync(dir).mode & 0o777, 0o700, `${dir}: ${(statSync(dir).mode & 0o777).toString(8)}`);
        const entries = modesUnder(dir);
        assert.ok(entries.some((e) => e.path.endsWith('secret-store.key')), 'the key file was written');
        assert.ok(entries.length > 10, 'the embedded database wrote its files');
        const open = entries.filter((e) => (e.isDir ? e.mode !== 0o700 : (e.mode & 0o077) !== 0));
        assert.deepEqual(open.map((e) => `${e.path} ${e.mode.toString(8)}`), []);
      }
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
