// `npm run sandbox`: the Microsoft cloud simulator, the bot pointed at it, and the Microsoft 365
// Agents Playground (a Teams stand-in) talking to the bot. Prints the URL to open; Ctrl-C stops all
// three (a second Ctrl-C kills them). Nothing leaves the machine: every Microsoft endpoint is the
// simulator, the Playground's own telemetry is switched off, and both children run under the
// network guard, which blocks (and reports) any connection that is not to a loopback address.
// Nor can anything reach in: bot, Playground, simulator (and its sign-in pages for the browser) and
// signing relay listen on 127.0.0.1 only.
//   npm run sandbox -- --help
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { dirname, join, relative, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { listScenarios, loadScenario, type Scenario } from '../test/simulator/scenario';
import { SIM_BOT_APP_ID, SIM_SETUP_APP_ID } from '../test/simulator/scenarios/ids';
import { startSimulator, type Simulator } from '../test/simulator/server';
import { botIdentityEnv, channelToken } from '../test/simulator/services/bot-framework';
import { connectorOf } from '../test/simulator/services/connector';
import { BOT_NAME } from '../src/server/home-page';

const ROOT = join(__dirname, '..');
const GUARD_PRELOAD = join(ROOT, 'test', 'harness', 'network-guard-preload.cjs');
/** Makes the Playground's listen(port) bind 127.0.0.1: its CLI has no host option. */
const LOOPBACK_PRELOAD = join(ROOT, 'scripts', 'loopback-listen.cjs');
const PLAYGROUND_CLI = join(dirname(require.resolve('@microsoft/m365agentsplayground/package.json')), 'cli.js');

export const DEFAULTS = {
  scenario: 'healthy',
  port: 3978,
  /** The Playground's own default, so Teams Toolkit habits carry over. */
  playgroundPort: 56150,
  simPort: 3979,
  dataDir: '.data/sandbox',
} as const;

const USAGE = `Usage: npm run sandbox -- [options]

Starts the Microsoft cloud simulator, the bot pointed at it, and the Microsoft 365 Agents
Playground, then prints the URL to open. Ctrl-C stops everything.

Options:
  --scenario NAME         simulator scenario (default ${DEFAULTS.scenario}); see test/simulator/scenarios
  --port N                bot port (default ${DEFAULTS.port})
  --playground-port N     Agents Playground port (default ${DEFAULTS.playgroundPort})
  --sim-port N            simulator port (default ${DEFAULTS.simPort})
  --data-dir DIR          bot database, secret-store key, outbox, logs (default ${DEFAULTS.dataDir})
  --unauthenticated       run the bot without a Bot Framework identity (default: authenticated,
                          as in Azure: signed activities, bot tokens on every reply)
  -h, --help              this text
`;

export interface SandboxOptions {
  scenario: string;
  port: number;
  playgroundPort: number;
  simPort: number;
  /** Absolute. */
  dataDir: string;
  /** The bot runs with its Bot Framework identity and checks every activity (default). */
  authenticated: boolean;
}

class UsageError extends Error {}

/** Writes a line to the terminal, tagged with who said it. */
function say(tag: string, line: string): void {
  process.stdout.write(`${tag} ${line}\n`);
}
const sandboxSays = (line: string): void => say('[sandbox]', line);

export function parseOptions(argv: string[], cwd = process.cwd()): SandboxOptions | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        scenario: { type: 'string' },
        port: { type: 'string' },
        'playground-port': { type: 'string' },
        'sim-port': { type: 'string' },
        'data-dir': { type: 'string' },
        unauthenticated: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) return 'help';
  const port = (flag: string, value: string | undefined, def: number): number => {
    if (value === undefined) return def;
    if (!/^\d{1,5}$/.test(value) || Number(value) < 1 || Number(value) > 65535) throw new UsageError(`--${flag}: expected a port number 1-65535; got ${JSON.stringify(value)}`);
    return Number(value);
  };
  const options: SandboxOptions = {
    scenario: values.scenario ?? DEFAULTS.scenario,
    port: port('port', values.port, DEFAULTS.port),
    playgroundPort: port('playground-port', values['playground-port'], DEFAULTS.playgroundPort),
    simPort: port('sim-port', values['sim-port'], DEFAULTS.simPort),
    dataDir: resolve(cwd, values['data-dir'] ?? DEFAULTS.dataDir),
    authenticated: !values.unauthenticated,
  };
  const ports = [options.port, options.playgroundPort, options.simPort];
  if (new Set(ports).size !== ports.length) throw new UsageError(`--port, --playground-port and --sim-port must differ; got ${ports.join(', ')}`);
  return options;
}

/** Listens on 127.0.0.1 for a moment, as the bot and the Playground will (a wildcard listener on the port takes it too). */
function portFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const probe = createServer();
    probe.once('error', () => done(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => done(true)));
  });
}

/** Follows a file another process appends to (the Playground's log, the network guard's log). */
class FileTail {
  private offset = 0;
  private partial = '';
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly path: string, private readonly onLine: (line: string) => void, options: { fromEnd?: boolean } = {}) {
    if (options.fromEnd) {
      try {
        this.offset = statSync(path).size;
      } catch {
        // not there yet: from the start
      }
    }
    this.timer = setInterval(() => this.poll(), 200);
  }

  poll(): void {
    let size: number;
    try {
      size = statSync(this.path).size;
    } catch {
      return; // not written yet
    }
    if (size < this.offset) this.offset = 0; // recreated: the Playground deletes its log at start
    if (size === this.offset) return;
    const fd = openSync(this.path, 'r');
    try {
      const buf = Buffer.alloc(size - this.offset);
      const n = readSync(fd, buf, 0, buf.length, this.offset);
      this.offset += n;
      const lines = (this.partial + buf.subarray(0, n).toString('utf8')).split('\n');
      this.partial = lines.pop() ?? '';
      for (const line of lines) if (line.trim() !== '') this.onLine(line);
    } finally {
      closeSync(fd);
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.poll();
    if (this.partial.trim() !== '') this.onLine(this.partial);
    this.partial = '';
  }
}

const LEVEL_TAGS: Record<string, string> = { trace: 'TRACE', debug: 'DEBUG', info: 'INFO ', warn: 'WARN ', error: 'ERROR', fatal: 'FATAL' };

/** One pino JSON line as `12:34:56 INFO  message key=value …`; anything else unchanged. */
export function formatBotLine(line: string): string {
  let entry: unknown;
  try {
    entry = JSON.parse(line);
  } catch {
    return line;
  }
  if (!entry || typeof entry !== 'object' || Array.isArray(entry)) return line;
  const { level, time, msg, service: _service, pid: _pid, hostname: _hostname, err, ...rest } = entry as Record<string, unknown>;
  const clock = typeof time === 'string' ? time.slice(11, 19) : typeof time === 'number' ? new Date(time).toISOString().slice(11, 19) : '';
  const tag = LEVEL_TAGS[String(level)] ?? String(level ?? '').toUpperCase();
  const fields = Object.entries(rest).map(([k, v]) => `${k}=${typeof v === 'string' ? (/\s/.test(v) ? JSON.stringify(v) : v) : JSON.stringify(v)}`);
  let out = [clock, tag, typeof msg === 'string' ? msg : '', ...fields].filter((s) => s !== '').join(' ');
  if (err && typeof err === 'object') {
    const e = err as { message?: unknown; stack?: unknown };
    out += ` err=${JSON.stringify(e.message ?? err)}`;
    if ((level === 'error' || level === 'fatal') && typeof e.stack === 'string') out += `\n    ${e.stack.split('\n').slice(1).map((s) => s.trim()).join('\n    ')}`;
  }
  return out;
}

function pipeLines(stream: NodeJS.ReadableStream | null, onLine: (line: string) => void): void {
  if (!stream) return;
  createInterface({ input: stream, crlfDelay: Infinity }).on('line', onLine);
}

function running(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

function exited(child: ChildProcess): Promise<void> {
  return running(child) ? new Promise((done) => child.once('exit', () => done())) : Promise.resolve();
}

function describeExit(child: ChildProcess): string {
  return child.signalCode ? `signal ${child.signalCode}` : `code ${child.exitCode}`;
}

/** NODE_OPTIONS with `preload` required first (unless already there). */
function withPreload(current: string | undefined, preload: string): string {
  const opts = current ?? '';
  if (opts.includes(preload)) return opts;
  const arg = /\s/.test(preload) ? `--require ${JSON.stringify(preload)}` : `--require=${preload}`;
  return `${opts} ${arg}`.trim();
}

/** NODE_OPTIONS with the network guard preloaded (unless NETWORK_GUARD=off). */
function guardedNodeOptions(current: string | undefined): string {
  return process.env.NETWORK_GUARD === 'off' ? current ?? '' : withPreload(current, GUARD_PRELOAD);
}

/** The Playground's own stand-ins, for the five "other users" its config must list. */
const PLAYGROUND_USERS = [['Megan', 'Bowen'], ['Adele', 'Vance'], ['Isaiah', 'Langer'], ['Patti', 'Fernandez'], ['Lynne', 'Robbins']] as const;

/**
 * The Playground's Teams context (its `.m365agentsplayground.yml`), made from the scenario: the
 * chat happens in the scenario's first tenant, as its first Global Administrator, so the tenant and
 * user the bot reads from activities (and from TeamsInfo.getMember) are ones the simulator knows.
 * Its schema wants exactly five other users: the tenant's, then the Playground's stand-ins.
 */
export function playgroundConfig(scenario: Scenario): { config: object; user: string; userId: string; tenant: string } {
  const tenant = scenario.tenants[0]!;
  const admin = tenant.users.find((u) => u.roles.includes('Global Administrator')) ?? tenant.users[0];
  const member = (i: number, name: string, upn: string, aadObjectId: string) => {
    const [given = name, ...rest] = name.split(' ');
    return { id: `user-id-${i}`, name, userPrincipleName: upn, aadObjectId, givenName: given, surname: rest.join(' ') || given, email: upn };
  };
  const others = tenant.users.filter((u) => u !== admin).slice(0, 5).map((u, i) => member(i + 1, u.displayName, u.userPrincipalName, u.id));
  for (const [given, surname] of PLAYGROUND_USERS.slice(0, 5 - others.length)) {
    const i = others.length + 1;
    others.push(member(i, `${given} ${surname}`, `${given.toLowerCase()}${surname[0]!.toLowerCase()}@example.com`, `00000000-0000-0000-0000-0000000000${20 + i}`));
  }
  const config = {
    version: '0.1.1',
    tenantId: tenant.id,
    bot: { id: '00000000-0000-0000-0000-00000000000011', name: 'Partner Onboarding' },
    currentUser: admin ? member(0, admin.displayName, admin.userPrincipalName, admin.id) : member(0, 'Alex Wilber', 'alexw@example.com', '00000000-0000-0000-0000-000000000020'),
    users: others,
    // Fresh chats at every start, as the Playground's built-in config does.
    personalChat: { id: randomUUID() },
    groupChat: { id: randomUUID(), name: 'Group Chat' },
    team: {
      id: 'team-id', name: tenant.displayName.slice(0, 42), aadGroupId: '00000000-0000-0000-0000-000000000031',
      channels: [{ id: 'channel-announcements-id', name: 'Announcements' }],
    },
  };
  return {
    config, user: admin ? `${admin.displayName} <${admin.userPrincipalName}>` : 'Alex Wilber (the Playground\'s stand-in)',
    userId: config.currentUser.aadObjectId, tenant: `${tenant.displayName} (${tenant.id})`,
  };
}

class Stopped extends Error {
  constructor() { super('stopped during start-up'); }
}

/**
 * Simulator, bot and Playground. Made first and started second, so a Ctrl-C during start-up
 * already has something to stop.
 */
export class Sandbox {
  playgroundUrl = '';
  readonly botUrl: string;
  simulatorUrl = '';
  /** The simulator's sign-in pages for the browser (plain HTTP, loopback). */
  signInUrl = '';
  /** Resolves when a child ends without being asked to. */
  readonly failed: Promise<string>;
  private reportFailure: (reason: string) => void = () => undefined;
  private readonly children: Array<{ name: string; child: ChildProcess }> = [];
  private readonly tails: FileTail[] = [];
  private sim?: Simulator;
  private relay?: HttpServer;
  /** What the relay signs: activities whose serviceUrl has this origin (the Playground's, once it listens). */
  private playgroundOrigin?: string;
  private stopping?: Promise<void>;

  constructor(readonly options: SandboxOptions) {
    this.botUrl = `http://localhost:${options.port}/api/messages`;
    this.failed = new Promise<string>((done) => { this.reportFailure = done; });
  }

  /** Starts simulator, bot and Playground, then prints where they are. On failure stops what runs and throws. */
  async start(): Promise<void> {
    try {
      await this.startAll();
    } catch (err) {
      await this.stop(5_000);
      throw err;
    }
  }

  /** Graceful: Playground then bot get SIGTERM (SIGKILL after `graceMs`), then the simulator stops. Idempotent. */
  stop(graceMs = 15_000): Promise<void> {
    this.stopping ??= (async () => {
      // Playground first (no new turns), then the bot, which lets turns in flight finish.
      for (const { name, child } of [...this.children].reverse()) {
        if (!running(child)) continue;
        child.kill('SIGTERM');
        const timer = setTimeout(() => {
          if (!running(child)) return;
          sandboxSays(`${name} did not stop within ${graceMs / 1000}s: killing it`);
          child.kill('SIGKILL');
        }, graceMs);
        await exited(child);
        clearTimeout(timer);
      }
      const relay = this.relay;
      if (relay) await new Promise<void>((done) => relay.close(() => done()));
      await this.sim?.stop();
      for (const t of this.tails) t.stop();
    })();
    return this.stopping;
  }

  /**
   * A loopback relay in front of the bot for the Playground: each activity goes on with a channel
   * token signed by the simulator's Bot Framework (`aud` the bot id, `serviceurl` the activity's).
   * It signs only activities whose serviceUrl is the Playground's: the bot sends its own bearer
   * token to that URL, so signing any other would hand the token to whoever listens there.
   */
  private async startSigningRelay(sim: Simulator, botPort: number): Promise<string> {
    const relay = createHttpServer((req, res) => {
      void (async () => {
        const chunks: Buffer[] = [];
        for await (const c of req) chunks.push(c as Buffer);
        const body = Buffer.concat(chunks);
        let serviceUrl: unknown;
        try {
          serviceUrl = (JSON.parse(body.toString('utf8')) as { serviceUrl?: unknown } | null)?.serviceUrl;
        } catch {
          // not JSON: refused below
        }
        const origin = typeof serviceUrl === 'string' && URL.canParse(serviceUrl) ? new URL(serviceUrl).origin : undefined;
        const path = URL.canParse(req.url ?? '/', 'http://relay') ? new URL(req.url ?? '/', 'http://relay').pathname : undefined;
        if (req.method !== 'POST' || path !== '/api/messages' || origin === undefined || origin !== this.playgroundOrigin) {
          const what = req.method !== 'POST' ? `a ${req.method ?? '?'} request` : typeof serviceUrl === 'string' ? `an activity for ${JSON.stringify(serviceUrl.slice(0, 100))}` : 'a request with no activity serviceUrl';
          sandboxSays(`relay refused ${what}: it signs only the Playground's activities (${this.playgroundOrigin ?? 'not listening yet'})`);
          res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' });
          res.end('This relay signs only activities the Agents Playground sends to /api/messages, with its own serviceUrl.\n');
          return;
        }
        const headers: Record<string, string> = {
          'content-type': req.headers['content-type'] ?? 'application/json',
          authorization: `Bearer ${channelToken(sim, { audience: SIM_BOT_APP_ID, serviceUrl: serviceUrl as string })}`,
        };
        try {
          const upstream = await fetch(`http://127.0.0.1:${botPort}${req.url ?? '/api/messages'}`, { method: 'POST', headers, body });
          res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' });
          res.end(Buffer.from(await upstream.arrayBuffer()));
        } catch (err) {
          sandboxSays(`relay could not reach the bot: ${(err as Error).message}`);
          res.writeHead(502);
          res.end();
        }
      })();
    });
    await new Promise<void>((done, fail) => {
      relay.once('error', fail);
      relay.listen(0, '127.0.0.1', () => done());
    });
    this.relay = relay;
    return `http://127.0.0.1:${(relay.address() as AddressInfo).port}/api/messages`;
  }

  /** Kills every child at once (second Ctrl-C, or this process is exiting). */
  kill(): void {
    for (const { child } of this.children) if (running(child)) child.kill('SIGKILL');
  }

  private checkpoint(): void {
    if (this.stopping) throw new Stopped();
  }

  private async startAll(): Promise<void> {
    const { options } = this;
    const known = await listScenarios();
    if (!known.includes(options.scenario)) throw new UsageError(`unknown scenario "${options.scenario}". Known scenarios: ${known.join(', ')}`);
    const scenario = await loadScenario(options.scenario);
    for (const [flag, port] of [['--port', options.port], ['--playground-port', options.playgroundPort], ['--sim-port', options.simPort]] as const) {
      if (!(await portFree(port))) throw new UsageError(`port ${port} is in use; pick another with ${flag} N`);
    }
    await mkdir(options.dataDir, { recursive: true });

    // Non-loopback connections of the children are blocked and logged; under the test suite its
    // own log is used (shared with other tests: only what is new and ours is reported here), so
    // the suite's network guard fails the run on them too.
    const guardOn = process.env.NETWORK_GUARD !== 'off';
    const inherited = process.env.NETWORK_GUARD_LOG;
    const guardLog = inherited ?? join(options.dataDir, 'network-guard.jsonl');
    if (guardOn) {
      if (!inherited) writeFileSync(guardLog, '');
      this.tails.push(new FileTail(guardLog, (line) => {
        let v: { host?: string; port?: number; pid?: number; process?: string };
        try {
          v = JSON.parse(line) as typeof v;
        } catch {
          return;
        }
        if (!this.children.some(({ child }) => child.pid === v.pid)) return;
        sandboxSays(`BLOCKED a connection to ${v.host}:${v.port ?? '?'} (not loopback) from ${v.process ?? 'a child'}`);
      }, { fromEnd: true }));
    }
    const guarded = (env: NodeJS.ProcessEnv): NodeJS.ProcessEnv => (guardOn ? { ...env, NETWORK_GUARD_LOG: guardLog, NODE_OPTIONS: guardedNodeOptions(env.NODE_OPTIONS) } : env);

    this.checkpoint();
    // The partner registers this bot's callbacks as redirect URIs of their app (the checklist says
    // so); here the sandbox does it for every app of the scenario, for the port it runs on.
    const botCallbacks = [`http://localhost:${options.port}/auth/callback`, `http://localhost:${options.port}/auth/adminconsent/callback`];
    for (const tenant of scenario.tenants) {
      for (const app of tenant.applications) if (app.redirectUris.length > 0) app.redirectUris = [...new Set([...app.redirectUris, ...botCallbacks])];
    }
    // The browser opens the sign-in and consent pages on a loopback plain-HTTP front: a newcomer's
    // browser does not trust the simulator's test CA and would stop on a certificate warning.
    const sim = await startSimulator({ scenario, port: options.simPort, signInPort: 0 });
    this.sim = sim;
    // The operator's multi-tenant setup app ("Set it up for me": SETUP_APP_ID and SETUP_APP_SECRET
    // in the environment, passed on to the bot) registers the same callbacks, for this port.
    for (const app of sim.scenario.tenants.flatMap((t) => t.applications)) {
      if (app.appId === SIM_SETUP_APP_ID) app.redirectUris = [...new Set([...app.redirectUris, ...botCallbacks])];
    }
    this.simulatorUrl = sim.baseUrl;
    this.signInUrl = sim.signInUrl ?? '';
    // Authenticated (default): the bot has the simulator's SingleTenant bot identity, and the
    // connector refuses its replies without a Bot Framework token, as Teams does.
    if (options.authenticated) connectorOf(sim).requireBotAuth(true);
    this.checkpoint();

    const botBase = `http://localhost:${options.port}`;
    // DEP0111: restify 11 → spdy → http-deceiver reads process.binding('http_parser'); noise at every start.
    const bot = this.spawnChild('bot', ['--disable-warning=DEP0111', '--import', 'tsx', join(ROOT, 'src', 'index.ts')], guarded({
      ...process.env,
      TEAMSFX_ENV: 'sandbox',
      // The simulator's own test CA; nothing turns TLS checks off.
      NODE_EXTRA_CA_CERTS: sim.caCertPath,
      AUTHORITY_HOST: sim.baseUrl,
      // Browsers are sent here to sign in; the bot's own calls stay on AUTHORITY_HOST (HTTPS).
      ...(sim.signInUrl ? { SANDBOX_BROWSER_AUTHORITY_HOST: sim.signInUrl } : {}),
      GRAPH_BASE_URL: `${sim.baseUrl}/graph`,
      PARTNER_CENTER_BASE_URL: `${sim.baseUrl}/partnercenter`,
      PORT: String(options.port),
      // This machine only, whatever the shell or env/.env.sandbox says: the sandbox's user is a support engineer.
      HOST: '127.0.0.1',
      PUBLIC_BASE_URL: botBase,
      DATA_DIR: options.dataDir,
      // The Playground's user is a support engineer here, so the support channel can be tried:
      // "@Partner Onboarding set support channel" in a team channel, then "support" in personal chat.
      SUPPORT_ENGINEERS: process.env.SUPPORT_ENGINEERS ?? playgroundConfig(scenario).userId,
      ...(options.authenticated ? botIdentityEnv(sim.baseUrl) : { BOT_ID: '', ALLOW_UNAUTHENTICATED: 'true' }),
      // Its own "npm start" line points at the sandbox we are in: the banner below says more.
    }), (line) => (line.startsWith(`${BOT_NAME} bot running at`) ? undefined : formatBotLine(line)));
    // A fresh data dir means creating the embedded database and running migrations first.
    await this.waitForHttp('bot', `http://127.0.0.1:${options.port}/readyz`, bot, 90_000);

    const logFile = join(options.dataDir, 'playground.log');
    rmSync(logFile, { force: true }); // the last run's, which the tail below would replay
    const configFile = join(options.dataDir, 'playground.yml');
    const teams = playgroundConfig(scenario);
    writeFileSync(configFile, `# Written by npm run sandbox from scenario "${scenario.name}" at every start.\n${JSON.stringify(teams.config, null, 2)}\n`);
    let announce: (port: number) => void = () => undefined;
    const announced = new Promise<number>((done) => { announce = done; });
    // The Playground posts activities unsigned (it plays Teams' client, not the Bot Framework): in
    // authenticated mode it posts to a relay that adds the channel token the Bot Framework would.
    const appEndpoint = options.authenticated ? await this.startSigningRelay(sim, options.port) : this.botUrl;
    const playground = this.spawnChild('playground', [
      PLAYGROUND_CLI,
      '--app-endpoint', appEndpoint,
      '--channel-id', 'msteams',
      '--port', String(options.playgroundPort),
      '--disable-telemetry',
    ], guarded({
      ...process.env,
      // It has no host option: the preload makes its listen(port) bind 127.0.0.1 (guard or no guard).
      NODE_OPTIONS: withPreload(process.env.NODE_OPTIONS, LOOPBACK_PRELOAD),
      // Otherwise it opens the system browser.
      TEAMSAPPTESTER_BROWSER: 'none',
      // Off a terminal its console goes only to this file (default ./devTools/…); we follow it.
      M365_AGENTS_PLAYGROUND_LOGFILE: logFile,
      // Its Teams context; otherwise .m365agentsplayground.yml in the working directory, or built-ins.
      M365_AGENTS_PLAYGROUND_CONFIG_PATH: configFile,
      TEAMS_APP_TEST_TOOL_CONFIG_PATH: configFile,
      // --disable-telemetry only stops its events: Application Insights still starts and its
      // statsbeat calls Azure (IMDS 169.254.169.254, westus-0.in.applicationinsights.azure.com).
      APPLICATION_INSIGHTS_NO_STATSBEAT: 'true',
      APPLICATIONINSIGHTS_CONFIGURATION_CONTENT: JSON.stringify({ disableAppInsights: true, disableStatsbeat: true, enableAutoCollectHeartbeat: false }),
    }), (line) => {
      // It falls back to a random port when the one asked for is taken: this line says which.
      const m = /^Listening on (\d+)$/.exec(line.trim());
      if (m) {
        // Its serviceUrl is http://localhost:<port>/_connector (unless --service-url, not used here).
        this.playgroundOrigin = `http://localhost:${m[1]}`;
        announce(Number(m[1]));
      }
      return line;
    });
    this.tails.push(new FileTail(logFile, (line) => {
      // Already on its stdout, or untrue here (no browser is opened; our banner has the URL).
      if (/^log (Listening on \d+|Microsoft 365 Agents Playground is being launched)/.test(line)) return;
      if (line.startsWith('debug ')) return; // web socket chatter; the whole log stays in the file
      say('[playground]', line.replace(/^log /, ''));
    }));
    const port = await this.race(announced, 30_000, 'the Playground did not say which port it listens on');
    await this.waitForHttp('playground', `http://127.0.0.1:${port}/`, playground, 30_000);
    this.playgroundUrl = `http://localhost:${port}`;
    this.checkpoint();
    printReady(this, scenario, teams, sim.caCertPath);
  }

  /** `format` returns undefined for a line not worth showing here. */
  private spawnChild(name: string, args: string[], env: NodeJS.ProcessEnv, format: (line: string) => string | undefined): ChildProcess {
    const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.push({ name, child });
    const tag = `[${name}]`;
    pipeLines(child.stdout, (line) => {
      const shown = format(line);
      if (shown !== undefined) say(tag, shown);
    });
    pipeLines(child.stderr, (line) => say(tag, line));
    child.once('exit', () => {
      if (!this.stopping) this.reportFailure(`${name} exited (${describeExit(child)})`);
    });
    return child;
  }

  /** `p`, unless the sandbox stops, a child fails or `ms` pass first. */
  private async race<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} within ${ms / 1000}s`)), ms); });
    const failure = this.failed.then((reason) => Promise.reject(new Error(reason)));
    try {
      return await Promise.race([p, timeout, failure]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async waitForHttp(name: string, url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      this.checkpoint();
      if (!running(child)) throw new Error(`the ${name} exited (${describeExit(child)}); its output is above, tagged [${name}]`);
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
        if (res.status === 200) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 150));
    }
    throw new Error(`${url} did not answer 200 within ${timeoutMs / 1000}s`);
  }
}

/** Relative to the working directory when inside it, else absolute. */
function shortPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel === '' ? '.' : rel.startsWith('..') ? path : rel;
}

function printReady(s: Sandbox, scenario: Scenario, teams: { user: string; tenant: string }, caCertPath: string): void {
  const rows: Array<[string, string]> = [
    ['Open the Playground', s.playgroundUrl],
    ['Bot', s.botUrl],
    ['Channel', s.options.authenticated
      ? `authenticated: bot ${SIM_BOT_APP_ID} (SingleTenant); the Playground's activities are signed on their way in`
      : 'unauthenticated (--unauthenticated)'],
    ['Simulator', `${s.simulatorUrl}  (CA: ${shortPath(caCertPath)})`],
    ['Sign-in pages', `${s.signInUrl}  (the simulator's, for the browser: plain HTTP, this machine only)`],
    ['Scenario', `${scenario.name}: ${scenario.description.length > 100 ? `${scenario.description.slice(0, 97)}...` : scenario.description}`],
    ['Switch scenario', `curl --cacert ${shortPath(caCertPath)} -d '{"name":"no-mfa"}' ${s.simulatorUrl}/_sim/scenario  (names: test/simulator/scenarios)`],
    ['Teams user', `${teams.user}, tenant ${teams.tenant}`],
    ['Data', `${shortPath(s.options.dataDir)}  (database, secret-store key, outbox/ for mails, playground.log)`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  const rule = '─'.repeat(72);
  const lines = [
    rule,
    ' Sandbox ready.',
    ...rows.map(([k, v]) => `   ${`${k}:`.padEnd(width + 2)}${v}`),
    '',
    ' The Playground installs the app as soon as the page connects: open "Personal Chat" for the',
    ' welcome card, then type "help". "Mock an Activity" fakes other Teams events (uninstall,',
    ' install...). Support (you are a support engineer here): in the team\'s General channel,',
    ` @mention the bot: \`@${BOT_NAME} set support channel\` (Teams gives a bot a channel message`,
    ' only when it is @mentioned); then "support" in Personal Chat. Ctrl-C stops everything.',
    rule,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** `ppid` and command line of a process, from /proc (Linux); undefined elsewhere or when gone. */
function processInfo(pid: number): { ppid: number; cmd: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
    return { ppid, cmd };
  } catch {
    return undefined;
  }
}

/**
 * The launchers between this process and whoever ran `npm run sandbox` (tsx, `sh -c`, npm).
 * A SIGTERM to npm kills `sh` and leaves tsx and us running, so we watch them instead.
 */
function launcherChain(): number[] {
  const chain: number[] = [];
  let pid = process.ppid;
  for (let i = 0; i < 4 && pid > 1; i++) {
    const info = processInfo(pid);
    if (!info || !/\b(npm|npx|tsx)\b|^(\S*\/)?(sh|dash|bash) -c /.test(info.cmd)) break;
    chain.push(pid);
    pid = info.ppid;
  }
  return chain;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function main(): Promise<void> {
  // What the sandbox and its bot write (database, key file, outbox, logs) is for this user alone.
  process.umask(0o077);
  let options: SandboxOptions | 'help';
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`sandbox: ${(err as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (options === 'help') {
    process.stdout.write(USAGE);
    return;
  }

  const sandbox = new Sandbox(options);
  let firstSignalAt = 0;
  let finishing: Promise<never> | undefined;
  const finish = (code: number, why?: string): Promise<never> => {
    finishing ??= (async () => {
      if (why) sandboxSays(why);
      sandboxSays('stopping…');
      await sandbox.stop();
      sandboxSays('stopped');
      process.exit(code);
    })();
    return finishing;
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    const now = Date.now();
    if (firstSignalAt === 0) {
      firstSignalAt = now;
      void finish(0);
      return;
    }
    // npm and tsx may relay the same Ctrl-C a moment later: only a later one forces.
    if (now - firstSignalAt < 500) return;
    sandboxSays(`${signal} again: killing everything`);
    sandbox.kill();
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // Whatever ends this process, no child outlives it.
  process.on('exit', () => sandbox.kill());
  const launchers = launcherChain();
  setInterval(() => {
    if (launchers.every(alive)) return;
    void finish(0, 'the npm run that started the sandbox has ended');
  }, 1_000).unref();

  try {
    await sandbox.start();
  } catch (err) {
    if (err instanceof Stopped || finishing) return finishing;
    process.stderr.write(`sandbox: ${(err as Error).message}\n`);
    process.exit(err instanceof UsageError ? 2 : 1);
  }
  const reason = await sandbox.failed;
  // A Ctrl-C reaches the children too; give our own signal handler the first word.
  await new Promise((r) => setTimeout(r, 200));
  if (!finishing) await finish(1, `${reason}; stopping the rest`);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`sandbox: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exit(1);
  });
}
