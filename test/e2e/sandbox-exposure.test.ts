import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../helpers/bot-process';
import { teamsConversation, messageActivity } from '../harness/activities';
import { APP_ID, PARTNER_TENANT_ID, SIM_BOT_APP_ID } from '../simulator/scenarios/ids';
import { commandOf, listeningSockets, sandboxArgs, startSandboxProcess, stopSandboxProcess, type ListeningSocket, type SandboxRun } from './sandbox-process';

/**
 * What the sandbox offers anyone but the person at this machine: nothing. Its processes listen on
 * loopback only, and its signing relay (which gives activities the Bot Framework's signature)
 * signs only what the Playground sends, so the bot's token goes nowhere else.
 */

const portOf = (url: string): number => Number(new URL(url).port);
const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

/** A listener on another loopback port: where a forged serviceUrl would have the bot send its token. */
async function trap(): Promise<{ server: Server; url: string; requests: Array<{ method?: string; url?: string; headers: IncomingHttpHeaders }> }> {
  const requests: Array<{ method?: string; url?: string; headers: IncomingHttpHeaders }> = [];
  const server = createServer((req, res) => {
    requests.push({ method: req.method, url: req.url, headers: req.headers });
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', () => done()));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, requests };
}

const describeSockets = (list: ListeningSocket[]): string => list.map((s) => `${s.address}:${s.port}  ${commandOf(s.pid)}`).join('\n');

/** `npm run sandbox -- <flags>` on free ports and a fresh data dir, for one describe block. */
function sandbox(flags: string[]): () => SandboxRun {
  let dataDir = '';
  let run: SandboxRun | undefined;
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'sandbox-exposure-'));
    run = await startSandboxProcess([...(await sandboxArgs(dataDir)), ...flags]);
  });
  after(async () => {
    await stopSandboxProcess(run);
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });
  return () => run!;
}

/** Every socket the sandbox's processes listen on is loopback, and the bot, Playground and simulator are among them. */
function assertLoopbackOnly(run: SandboxRun): void {
  const found = listeningSockets(run.processTree());
  // The listing must see the three named servers, or "nothing on 0.0.0.0" would prove nothing.
  const ports = new Set(found.map((s) => s.port));
  for (const [name, url] of [['bot', run.botUrl], ['Playground', run.playgroundUrl], ['simulator', run.simulatorUrl], ['sign-in pages', run.signInUrl]] as const) {
    assert.ok(ports.has(portOf(url)), `no listening socket for the ${name} (${url}) among:\n${describeSockets(found)}`);
  }
  assert.deepEqual(describeSockets(found.filter((s) => !LOOPBACK.has(s.address))), '', 'sockets reachable from other machines');
}

describe('npm run sandbox, from the network', function () {
  this.timeout(150_000);
  const run = sandbox([]);
  const sockets = () => listeningSockets(run().processTree());

  it('listens on loopback only: no process it started is bound to every interface', () => {
    assertLoopbackOnly(run());
  });

  describe('the simulator\'s sign-in pages over plain HTTP', () => {
    it('serve the sign-in page a browser is sent to, and none of the APIs (tokens, Graph, Partner Center, the control plane)', async () => {
      const authorize = new URL(`${run().signInUrl}/${PARTNER_TENANT_ID}/oauth2/v2.0/authorize`);
      // The partner's app, back to the bot's callback (the sandbox registers it), as the bot's link sends the browser.
      const query = { client_id: APP_ID, response_type: 'code', redirect_uri: `${new URL(run().botUrl).origin}/auth/callback`, scope: 'openid', response_mode: 'query', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' };
      for (const [k, v] of Object.entries(query)) authorize.searchParams.set(k, v);
      const page = await fetch(authorize, { redirect: 'manual' });
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<title>Sign in to your account<\/title>/);
      const closed: Array<[string, string]> = [
        ['POST', `/${PARTNER_TENANT_ID}/oauth2/v2.0/token`], ['GET', `/${PARTNER_TENANT_ID}/v2.0/.well-known/openid-configuration`],
        ['GET', '/graph/v1.0/organization'], ['GET', '/partnercenter/v1/customers'], ['GET', '/_sim/health'], ['GET', '/'],
      ];
      for (const [method, path] of closed) {
        const res = await fetch(`${run().signInUrl}${path}`, { method });
        assert.equal(res.status, 404, `${method} ${path}`);
        assert.match(await res.text(), /Only the sign-in and consent pages are served here/);
      }
    });
  });

  describe('its signing relay', () => {
    /** The one listener of the sandbox the banner does not name. */
    const relayUrl = (): string => {
      const named = new Set([run().botUrl, run().playgroundUrl, run().simulatorUrl, run().signInUrl].map(portOf));
      const others = sockets().filter((s) => !named.has(s.port));
      assert.equal(others.length, 1, `expected one more listener (the relay), got:\n${describeSockets(others)}`);
      return `http://127.0.0.1:${others[0]!.port}/api/messages`;
    };
    const post = (activity: unknown): Promise<Response> => fetch(relayUrl(), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(activity) });
    const conversation = (serviceUrl: string) => teamsConversation({ serviceUrl, tenantId: PARTNER_TENANT_ID, bot: { appId: SIM_BOT_APP_ID } });

    it('refuses to sign an activity whose serviceUrl is another loopback port, and the bot never hears of it', async () => {
      const t = await trap();
      try {
        const res = await post(messageActivity(conversation(t.url), 'help'));
        // The bot answers a turn before its HTTP response: had the relay forwarded it, the reply
        // (with the bot's bearer token) would already be here.
        assert.deepEqual(t.requests.map((r) => `${r.method} ${r.url}${r.headers.authorization ? ' (with a bearer token)' : ''}`), []);
        assert.equal(res.status, 400);
      } finally {
        await new Promise((done) => t.server.close(done));
      }
    });

    it('refuses what is not an activity, and an activity with no serviceUrl', async () => {
      const notJson = await fetch(relayUrl(), { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'hello' });
      assert.equal(notJson.status, 400);
      const { serviceUrl: _dropped, ...noServiceUrl } = messageActivity(conversation(`${run().playgroundUrl}/_connector`), 'help');
      assert.equal((await post(noServiceUrl)).status, 400);
    });

    it('signs an activity for the Playground\'s own serviceUrl (the bot takes it)', async () => {
      const activity = { ...messageActivity(conversation(`${run().playgroundUrl}/_connector`), 'help'), type: 'typing', text: undefined, attachments: undefined };
      const res = await post(activity);
      // Unsigned, the authenticated bot would answer 401.
      assert.equal(res.status, 200, await res.text());
    });
  });
});

describe('npm run sandbox --unauthenticated, from the network', function () {
  this.timeout(150_000);
  const run = sandbox(['--unauthenticated']);

  it('listens on loopback only too (the Playground talks to the bot directly)', () => {
    assertLoopbackOnly(run());
  });
});

describe('the sandbox\'s loopback preload (scripts/loopback-listen.cjs)', () => {
  it('binds 127.0.0.1 for every listen() that names no host, and leaves a named host alone', () => {
    // A plain node process, as the Playground is: each form listen() takes, then what it bound.
    const script = `
      const net = require('node:net'), http = require('node:http');
      const forms = {
        'listen(0)': (s, cb) => s.listen(0, cb),
        'listen(cb)': (s, cb) => s.listen(cb),
        'listen("0", cb)': (s, cb) => s.listen('0', cb),
        'listen(0, undefined, cb)': (s, cb) => s.listen(0, undefined, cb),
        'listen(0, backlog, cb)': (s, cb) => s.listen(0, 16, cb),
        'listen({ port: 0 }, cb)': (s, cb) => s.listen({ port: 0 }, cb),
        'http listen(0)': (s, cb) => s.listen(0, cb),
        'listen(0, "127.0.0.2", cb)': (s, cb) => s.listen(0, '127.0.0.2', cb),
      };
      const out = {};
      (async () => {
        for (const [name, listen] of Object.entries(forms)) {
          const s = name.startsWith('http') ? http.createServer() : net.createServer();
          await new Promise((done) => listen(s, done));
          out[name] = s.address().address;
          s.close();
        }
        process.stdout.write(JSON.stringify(out));
      })();`;
    const bound = JSON.parse(execFileSync(process.execPath, ['--require', join(ROOT, 'scripts', 'loopback-listen.cjs'), '-e', script], { encoding: 'utf8' })) as Record<string, string>;
    assert.deepEqual(bound, {
      'listen(0)': '127.0.0.1',
      'listen(cb)': '127.0.0.1',
      'listen("0", cb)': '127.0.0.1',
      'listen(0, undefined, cb)': '127.0.0.1',
      'listen(0, backlog, cb)': '127.0.0.1',
      'listen({ port: 0 }, cb)': '127.0.0.1',
      'http listen(0)': '127.0.0.1',
      'listen(0, "127.0.0.2", cb)': '127.0.0.2',
    });
  });
});
