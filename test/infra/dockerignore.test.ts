import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The container build, checked without Docker: what .dockerignore keeps out of the build context
 * (so out of every layer), and what the Dockerfile's production stage promises.
 */

const ROOT = join(__dirname, '..', '..');
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');

/** Docker's rule: the last matching line wins; `*` does not cross `/`; a directory pattern covers what is under it. */
function ignored(patterns: string[], path: string): boolean {
  let result = false;
  for (const raw of patterns) {
    const negate = raw.startsWith('!');
    const p = (negate ? raw.slice(1) : raw).replace(/^\/+|\/+$/g, '');
    const re = new RegExp(`^${p.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*')}(/.*)?$`);
    if (re.test(path)) result = !negate;
  }
  return result;
}

describe('the container image', () => {
  const patterns = read('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));

  it('.dockerignore keeps secrets, local data and the checkout\'s own tools out of the build context', () => {
    for (const path of ['.data/pglite/base/1', '.data/secret-store.key', '.sim/ca.key', 'env/.env.dev.user', 'env/.env.local.user', '.git/config', 'node_modules/pg/package.json', 'test-results/report.html']) {
      assert.ok(ignored(patterns, path), `${path} is sent to docker build`);
    }
    for (const path of ['package.json', 'package-lock.json', 'src/index.ts', 'cards/checks.json', 'tsconfig.build.json']) {
      assert.ok(!ignored(patterns, path), `${path} is needed by the build`);
    }
  });

  it('the ignore rules are read the way Docker reads them (a broken .dockerignore fails)', () => {
    assert.equal(ignored(['.data'], '.data/x'), true);
    assert.equal(ignored(['env/*.user'], 'env/.env.dev.user'), true);
    assert.equal(ignored(['env/*.user', '!env/.env.dev.user'], 'env/.env.dev.user'), false);
    assert.equal(ignored(patterns.filter((p) => p !== '.sim'), '.sim/ca.key'), false);
  });

  it('the Dockerfile builds a production image: npm ci --omit=dev, a build step, a non-root user, a health check on /readyz', () => {
    const docker = read('Dockerfile');
    const production = docker.slice(docker.lastIndexOf('\nFROM '));
    assert.match(docker, /RUN npm run build/);
    assert.match(production, /npm ci --omit=dev/);
    assert.match(production, /^USER node$/m);
    assert.match(production, /HEALTHCHECK[^\n]*\\\n[^\n]*\/readyz/);
    assert.doesNotMatch(production, /COPY \. /, 'the production stage copies only what it runs');
  });
});
