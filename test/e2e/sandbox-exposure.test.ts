import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { teamsConversation, messageActivity } from '../harness/activities';
import { PARTNER_TENANT_ID, SIM_BOT_APP_ID } from '../simulator/scenarios/ids';
import { commandOf, listeningSockets, sandboxArgs, startSandboxProcess, stopSandboxProcess, type SandboxRun } from './sandbox-process';

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

describe('npm run sandbox, from the network', function () {
  this.timeout(150_000);
  let dataDir = '';
  let run: SandboxRun | undefined;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'sandbox-exposure-'));
    run = await startSandboxProcess(await sandboxArgs(dataDir));
  });

  after(async () => {
    await stopSandboxProcess(run);
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const sockets = () => listeningSockets(run!.processTree());
  const describeSockets = (list: ReturnType<typeof sockets>): string => list.map((s) => `${s.address}:${s.port}  ${commandOf(s.pid)}`).join('\n');

  it('listens on loopback only: no process it started is bound to every interface', () => {
    const found = sockets();
    // The listing must see the three named servers, or "nothing on 0.0.0.0" would prove nothing.
    const ports = new Set(found.map((s) => s.port));
    for (const [name, url] of [['bot', run!.botUrl], ['Playground', run!.playgroundUrl], ['simulator', run!.simulatorUrl]] as const) {
      assert.ok(ports.has(portOf(url)), `no listening socket for the ${name} (${url}) among:\n${describeSockets(found)}`);
    }
    assert.deepEqual(describeSockets(found.filter((s) => !LOOPBACK.has(s.address))), '', 'sockets reachable from other machines');
  });

  describe('its signing relay', () => {
    /** The one listener of the sandbox the banner does not name. */
    const relayUrl = (): string => {
      const named = new Set([run!.botUrl, run!.playgroundUrl, run!.simulatorUrl].map(portOf));
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
      const { serviceUrl: _dropped, ...noServiceUrl } = messageActivity(conversation(`${run!.playgroundUrl}/_connector`), 'help');
      assert.equal((await post(noServiceUrl)).status, 400);
    });

    it('signs an activity for the Playground\'s own serviceUrl (the bot takes it)', async () => {
      const activity = { ...messageActivity(conversation(`${run!.playgroundUrl}/_connector`), 'help'), type: 'typing', text: undefined, attachments: undefined };
      const res = await post(activity);
      // Unsigned, the authenticated bot would answer 401.
      assert.equal(res.status, 200, await res.text());
    });
  });
});
