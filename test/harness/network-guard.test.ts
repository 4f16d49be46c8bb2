import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, get as httpGet, type Server } from 'node:http';
import { get as httpsGet } from 'node:https';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as core from './network-guard-preload.cjs';
import {
  connections,
  forgetViolations,
  formatViolations,
  guardEnabled,
  guardedEnv,
  installNetworkGuard,
  setCurrentTest,
  violations,
} from './network-guard';

const run = promisify(execFile);

/** Unroutable (TEST-NET-1) and unresolvable (.invalid) targets: nothing leaves the machine even if the guard failed. */
const FAR_IP = '192.0.2.1';
const FAR_HOST = 'connector.example.invalid';

describe('network guard', function () {
  before(function () {
    if (!guardEnabled()) this.skip();
    installNetworkGuard();
  });
  // What the root hooks do for every test, here too so this file passes without them.
  beforeEach(function () { setCurrentTest(this.currentTest?.fullTitle()); });
  afterEach(() => { setCurrentTest(undefined); });

  it('knows loopback when it sees it', () => {
    for (const h of ['localhost', '127.0.0.1', '127.12.0.1', '::1', '[::1]', '::ffff:127.0.0.1', 'sim.localhost', undefined]) {
      assert.equal(core.isLoopbackHost(h), true, String(h));
    }
    for (const h of ['192.0.2.1', '10.0.0.1', '0.0.0.0', 'smba.trafficmanager.net', 'login.microsoftonline.com', '::ffff:10.0.0.1']) {
      assert.equal(core.isLoopbackHost(h), false, h);
    }
  });

  describe('in this process', () => {
    let server: Server;
    let port: number;
    before(async () => {
      server = createServer((_req, res) => res.end('ok'));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as AddressInfo).port;
    });
    after(async () => { await new Promise<void>((resolve) => server.close(() => resolve())); });

    it('sees connections made by fetch (undici), node:http and node:net', async () => {
      const before = connections().length;
      assert.equal(await (await fetch(`http://127.0.0.1:${port}/`)).text(), 'ok');
      await new Promise<void>((resolve, reject) => {
        httpGet(`http://localhost:${port}/`, { agent: false }, (res) => { res.resume(); res.on('end', resolve); }).on('error', reject);
      });
      await new Promise<void>((resolve, reject) => {
        const s = connect(port, '127.0.0.1', () => { s.end(); resolve(); }).on('error', reject);
      });
      const seen = connections().slice(before).filter((c) => c.port === port);
      assert.ok(seen.length >= 3, `expected 3 connections to port ${port}, saw ${JSON.stringify(seen)}`);
      assert.ok(seen.every((c) => c.loopback));
    });

    it('blocks a non-loopback connection at once and names the host (fetch, node:https, node:net)', async () => {
      const mark = (v: core.ConnectionRecord): boolean => v.host === FAR_IP || v.host === FAR_HOST;
      try {
        await assert.rejects(fetch(`https://${FAR_HOST}/v3/conversations`), (err: Error & { cause?: { code?: string; message?: string } }) => {
          assert.equal(err.cause?.code, 'ENETWORKGUARD');
          assert.match(err.cause?.message ?? '', /blocked connection to connector\.example\.invalid:443/);
          return true;
        });
        await assert.rejects(
          new Promise((resolve, reject) => { httpsGet(`https://${FAR_IP}/`, resolve).on('error', reject); }),
          { code: 'ENETWORKGUARD' },
        );
        await assert.rejects(
          new Promise((resolve, reject) => { connect(25, FAR_IP, () => resolve(undefined)).on('error', reject); }),
          /blocked connection to 192\.0\.2\.1:25/,
        );
        const found = violations().filter(mark);
        assert.deepEqual(found.map((v) => `${v.host}:${v.port}`), [`${FAR_HOST}:443`, `${FAR_IP}:443`, `${FAR_IP}:25`]);
        assert.ok(found.every((v) => v.test?.includes('blocks a non-loopback connection')), 'each violation names its test');
        assert.match(formatViolations(found), /connector\.example\.invalid:443 \(pid \d+, test process\) during "network guard/);
      } finally {
        forgetViolations(mark); // provoked on purpose: not a failure of the run
      }
    });
  });

  describe('in child processes', () => {
    let dir: string;
    before(async () => { dir = await mkdtemp(join(tmpdir(), 'guard-test-')); });
    after(async () => { await rm(dir, { recursive: true, force: true }); });

    it('arms children started from this process through NODE_OPTIONS', () => {
      assert.match(process.env.NODE_OPTIONS ?? '', /--require[= ]\S*network-guard-preload\.cjs/);
      assert.ok(process.env.NETWORK_GUARD_LOG);
    });

    it('blocks in the child and logs the violation for the parent', async () => {
      const logFile = join(dir, 'violations.jsonl');
      await writeFile(logFile, '');
      const script = `require('node:https').get('https://${FAR_HOST}/').on('error', (e) => { console.log(e.code); });`;
      const { stdout } = await run(process.execPath, ['-e', script], { env: guardedEnv(process.env, logFile) });
      assert.equal(stdout.trim(), 'ENETWORKGUARD');
      const logged = (await readFile(logFile, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as core.ConnectionRecord);
      assert.deepEqual(logged.map((v) => `${v.host}:${v.port}`), [`${FAR_HOST}:443`]);
      assert.notEqual(logged[0]?.pid, process.pid);
    });

    it('reports child violations through violations() when they use the run log', async () => {
      const script = `require('node:net').connect(443, '${FAR_IP}').on('error', () => {});`;
      await run(process.execPath, ['-e', script]); // inherits NODE_OPTIONS and NETWORK_GUARD_LOG
      const mark = (v: core.ConnectionRecord): boolean => v.host === FAR_IP && v.pid !== process.pid;
      try {
        assert.deepEqual(violations().filter(mark).map((v) => `${v.host}:${v.port}`), [`${FAR_IP}:443`]);
      } finally {
        forgetViolations(mark);
      }
    });
  });

  // Mocha runs a suite's own tests before its nested suites: this one goes last.
  describe('so far', () => {
    it('every address this process (and its children) connected to was loopback', () => {
      const v = violations();
      assert.equal(v.length, 0, formatViolations(v));
      assert.ok(connections().every((c) => c.loopback));
    });
  });
});
