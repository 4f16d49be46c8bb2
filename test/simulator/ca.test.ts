import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureTlsMaterial } from './ca';
import { startSimulator } from './server';

describe('simulator TLS', () => {
  it('generates a CA once, keeps its key private, and reuses it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'simca-'));
    try {
      const first = await ensureTlsMaterial(dir);
      const second = await ensureTlsMaterial(dir);
      assert.equal(second.caCert, first.caCert);
      assert.equal(second.cert, first.cert);
      assert.equal((await stat(join(dir, 'ca-key.pem'))).mode & 0o777, 0o600);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('serves HTTPS that this process trusts through NODE_EXTRA_CA_CERTS (no rejectUnauthorized)', async () => {
    const sim = await startSimulator();
    try {
      assert.equal(process.env.NODE_EXTRA_CA_CERTS, sim.caCertPath);
      const res = await fetch(`${sim.baseUrl}/_sim/health`);
      assert.equal(res.status, 200);
      assert.equal(((await res.json()) as { scenario: string }).scenario, 'healthy');
      // node:https too, not only fetch (msal-node and the Azure SDK use it).
      const status = await new Promise<number>((resolve, reject) => {
        request(`${sim.baseUrl}/_sim/health`, (r) => { r.resume(); resolve(r.statusCode ?? 0); }).on('error', reject).end();
      });
      assert.equal(status, 200);
    } finally {
      await sim.stop();
    }
  });
});
