import { createServer, type Server } from 'node:https';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { ensureTlsMaterial, type TlsMaterial } from './ca';
import { json, odataError, readJson, Router, type SimReply, type SimRequest } from './http';
import { TokenSigner } from './jwt';
import { loadScenario, TenantSchema, type Scenario, type Tenant } from './scenario';
import { SETUP_SCOPES, SIM_BOT_APP_ID, SIM_BOT_SECRET, SIM_BOT_TENANT_ID, SIM_SETUP_APP_ID, SIM_SETUP_APP_SECRET, SIM_SETUP_REDIRECT_URIS } from './scenarios/ids';
import { allServices } from './services';

/** What every simulated service gets: the live scenario (mutable state), the clock, the signer. */
export interface SimContext {
  /** `https://127.0.0.1:<port>` */
  readonly baseUrl: string;
  /** The loaded scenario, deep-copied: services mutate it (consent granted, secret added…). */
  readonly scenario: Scenario;
  /** Simulator clock in ms: real time plus whatever a test advanced it by. */
  now(): number;
  /** When the current scenario was loaded (simulator clock). */
  readonly loadedAt: number;
  readonly signer: TokenSigner;
  /** Finds a tenant by id or by one of its domains (case-insensitive). */
  tenant(idOrDomain: string): Tenant | undefined;
  /** Whether this request draws a random 429 (`scenario.throttling[service].randomRate`). */
  randomThrottle(service: 'graph' | 'partnerCenter'): boolean;
}

/** A simulated service: mounted under a path prefix (`/graph`, `/partnercenter`…; `''` for Entra ID). */
export interface SimService {
  readonly name: string;
  readonly prefix: string;
  readonly router: Router;
  /** Called when a scenario is (re)loaded: drop per-scenario state. */
  reset?(): void;
}

export type ServiceFactory = (ctx: SimContext) => SimService;

export interface SimulatorOptions {
  /** Scenario name under test/simulator/scenarios, or a parsed scenario. */
  scenario?: string | Scenario;
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  /** Where the test CA lives; `.sim/` in the project by default. */
  tlsDir?: string;
  services?: ServiceFactory[];
  /**
   * Random 429s at the scenario's `randomRate` (default on, as in the real cloud). Contract tests of
   * one behaviour turn them off; `POST /_sim/throttling {"random": false}` does it from outside.
   */
  randomThrottling?: boolean;
  /**
   * Also serve Entra ID's browser pages (sign-in, admin consent, sign-out and their form posts) over
   * plain HTTP on this loopback port (0 picks one), so a browser that does not trust the test CA
   * opens them without a certificate warning. APIs stay HTTPS-only. Unset: no such front.
   */
  signInPort?: number;
}

/**
 * The pages a person's browser opens at Entra ID, and their forms' posts (relative actions): the
 * authorize endpoint's sign-in, the admin consent endpoints, sign-out.
 * https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow#request-an-authorization-code
 * https://learn.microsoft.com/en-us/entra/identity-platform/v2-admin-consent#request-the-permissions-from-a-directory-admin
 */
const BROWSER_PAGES = /^\/[^/]+\/(oauth2\/v2\.0\/(authorize|logout)|(v2\.0\/)?adminconsent)$/;

export const DEFAULT_TLS_DIR = join(__dirname, '..', '..', '.sim');

export class Simulator implements SimContext {
  readonly signer = new TokenSigner();
  private server?: Server;
  private signInFront?: HttpServer;
  private _signInUrl?: string;
  private tls?: TlsMaterial;
  private services: SimService[] = [];
  private clockOffset = 0;
  private _scenario?: Scenario;
  private _loadedAt = 0;
  private _baseUrl = '';
  /** Every request seen, newest last (method, host header, path): tests read it. */
  /** Every request answered: `at` is when (real time, ms). */
  readonly requests: Array<{ method: string; host: string; path: string; status: number; at: number }> = [];

  constructor(private readonly options: SimulatorOptions = {}) {}

  get baseUrl(): string { return this._baseUrl; }
  /** `http://127.0.0.1:<port>`: the browser pages over plain HTTP (`signInPort`), or undefined. */
  get signInUrl(): string | undefined { return this._signInUrl; }
  get scenario(): Scenario {
    if (!this._scenario) throw new Error('simulator has no scenario loaded');
    return this._scenario;
  }
  get loadedAt(): number { return this._loadedAt; }
  get caCertPath(): string {
    if (!this.tls) throw new Error('simulator not started');
    return this.tls.caCertPath;
  }

  now(): number { return Date.now() + this.clockOffset; }

  private random = mulberry32(1);
  private randomThrottling = true;

  randomThrottle(service: 'graph' | 'partnerCenter'): boolean {
    if (!this.randomThrottling) return false;
    const rate = this.scenario.throttling[service].randomRate;
    return rate > 0 && this.random() < rate;
  }

  /** Turns random throttling on or off for this simulator (it survives scenario loads). */
  setRandomThrottling(on: boolean): void { this.randomThrottling = on; }

  /** Moves the simulator clock forward (token expiry, 90-day inactivity, secret expiry…). */
  advanceClock(ms: number): void { this.clockOffset += ms; }

  tenant(idOrDomain: string): Tenant | undefined {
    const key = idOrDomain.toLowerCase();
    return this.scenario.tenants.find((t) => t.id.toLowerCase() === key || t.domains.some((d) => d.toLowerCase() === key));
  }

  async loadScenario(scenario: string | Scenario): Promise<void> {
    const parsed = typeof scenario === 'string' ? await loadScenario(scenario) : scenario;
    this._scenario = structuredClone(parsed);
    if (!this._scenario.tenants.some((t) => t.id === SIM_BOT_TENANT_ID)) this._scenario.tenants.push(botOperatorTenant());
    this._loadedAt = this.now();
    this.random = mulberry32(this._scenario.throttling.seed);
    for (const s of this.services) s.reset?.();
  }

  async start(): Promise<this> {
    this.randomThrottling = this.options.randomThrottling ?? true;
    this.tls = await ensureTlsMaterial(this.options.tlsDir ?? DEFAULT_TLS_DIR);
    await this.loadScenario(this.options.scenario ?? 'healthy');
    const server = createServer({ cert: this.tls.cert, key: this.tls.key }, (req, res) => {
      void this.handle(req, res);
    });
    // Microsoft's front ends keep idle connections open far longer than Node's 5 s default; with the
    // default, a client reusing a pooled socket just as the server drops it gets ECONNRESET.
    server.keepAliveTimeout = 120_000;
    server.headersTimeout = 125_000;
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port ?? 0, this.options.host ?? '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    this._baseUrl = `https://127.0.0.1:${port}`;
    // Services are built after the port is known: they publish absolute URLs (metadata, links).
    this.services = (this.options.services ?? allServices).map((f) => f(this));
    // Longest prefix first, so `/graph` wins over the Entra ID catch-all ''.
    this.services.sort((a, b) => b.prefix.length - a.prefix.length);
    if (this.options.signInPort !== undefined) await this.startSignInFront(this.options.signInPort);
    return this;
  }

  /** The browser pages over plain HTTP on loopback: the same Entra ID behind them, nothing else. */
  private async startSignInFront(port: number): Promise<void> {
    const front = createHttpServer((req, res) => {
      const path = URL.canParse(req.url ?? '/', 'http://front') ? new URL(req.url ?? '/', 'http://front').pathname : '';
      if (!BROWSER_PAGES.test(path)) {
        req.resume();
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(`Only the sign-in and consent pages are served here; everything else is at ${this._baseUrl}\n`);
        return;
      }
      void this.handle(req, res);
    });
    front.keepAliveTimeout = 120_000;
    await new Promise<void>((resolve, reject) => {
      front.once('error', reject);
      // Plain HTTP is only acceptable on this machine: loopback, whatever `host` says.
      front.listen(port, '127.0.0.1', () => resolve());
    });
    this.signInFront = front;
    this._signInUrl = `http://127.0.0.1:${(front.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    const front = this.signInFront;
    this.signInFront = undefined;
    if (front) {
      front.closeAllConnections();
      await new Promise<void>((resolve) => front.close(() => resolve()));
    }
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const url = new URL(req.url ?? '/', this._baseUrl);
    let reply: SimReply;
    try {
      reply = await this.route(req, url, Buffer.concat(chunks));
    } catch (err) {
      reply = odataError(500, 'InternalServerError', `simulator failure: ${(err as Error).message}`);
    }
    this.requests.push({ method: req.method ?? 'GET', host: req.headers.host ?? '', path: url.pathname, status: reply.status, at: Date.now() });
    const headers = { ...reply.headers };
    let body: Buffer | undefined;
    if (reply.body === undefined) body = undefined;
    else if (Buffer.isBuffer(reply.body)) body = reply.body;
    else if (typeof reply.body === 'string') body = Buffer.from(reply.body);
    else {
      body = Buffer.from(JSON.stringify(reply.body));
      headers['content-type'] ??= 'application/json; charset=utf-8';
    }
    res.writeHead(reply.status, headers);
    res.end(body);
  }

  private async route(req: IncomingMessage, url: URL, body: Buffer): Promise<SimReply> {
    const method = req.method ?? 'GET';
    if (url.pathname.startsWith('/_sim/')) return this.control(method, url, body);
    for (const service of this.services) {
      const p = service.prefix;
      if (p && url.pathname !== p && !url.pathname.startsWith(p + '/')) continue;
      const path = url.pathname.slice(p.length) || '/';
      const found = service.router.match(method, path);
      if (found === undefined) {
        if (p) return odataError(404, 'ResourceNotFound', `${service.name} simulator: no route for ${method} ${path}`);
        continue;
      }
      if (found === 'method') return odataError(405, 'MethodNotAllowed', `${service.name} simulator: ${method} not allowed on ${path}`);
      const simReq: SimRequest = { method, url, path, headers: req.headers, body, params: found.params };
      return found.handler(simReq);
    }
    return odataError(404, 'ResourceNotFound', `simulator: no service at ${url.pathname}`);
  }

  /** Control plane for a simulator running in another process (the sandbox, HTTP-level tests). */
  private async control(method: string, url: URL, body: Buffer): Promise<SimReply> {
    const req = { method, url, path: url.pathname, headers: {}, body, params: {} } as SimRequest;
    if (method === 'GET' && url.pathname === '/_sim/health') {
      return json(200, { scenario: this.scenario.name, now: new Date(this.now()).toISOString() });
    }
    if (method === 'POST' && url.pathname === '/_sim/scenario') {
      const b = readJson<{ name?: string }>(req);
      if (!b?.name) return json(400, { error: 'body must be {"name": "<scenario>"}' });
      try {
        await this.loadScenario(b.name);
      } catch (err) {
        return json(400, { error: (err as Error).message });
      }
      return json(200, { scenario: this.scenario.name });
    }
    if (method === 'POST' && url.pathname === '/_sim/throttling') {
      const b = readJson<{ random?: boolean }>(req);
      if (typeof b?.random !== 'boolean') return json(400, { error: 'body must be {"random": true|false}' });
      this.setRandomThrottling(b.random);
      return json(200, { random: b.random });
    }
    if (method === 'POST' && url.pathname === '/_sim/clock') {
      const b = readJson<{ advanceMs?: number }>(req);
      if (typeof b?.advanceMs !== 'number' || b.advanceMs < 0) return json(400, { error: 'body must be {"advanceMs": <non-negative number>}' });
      this.advanceClock(b.advanceMs);
      return json(200, { now: new Date(this.now()).toISOString() });
    }
    for (const service of this.services) {
      const found = service.router.match(method, url.pathname);
      if (found && found !== 'method' && url.pathname.startsWith(`/_sim/${service.name}/`)) {
        return found.handler({ ...req, params: found.params });
      }
    }
    return json(404, { error: `no control route ${method} ${url.pathname}` });
  }
}

export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  return new Simulator(options).start();
}

/** Small seeded PRNG (mulberry32): repeatable random throttling per scenario load, repeatable fuzz inputs. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The operator's tenant holding the bot's SingleTenant app registration, so Bot Framework tokens
 * (client credentials for `https://api.botframework.com/.default`) work in every scenario, and the
 * operator's multi-tenant setup app, which partners' users sign in to from their own tenants.
 */
function botOperatorTenant(): Tenant {
  return TenantSchema.parse({
    id: SIM_BOT_TENANT_ID,
    displayName: 'Onboarding Bot Operator',
    domains: ['onboardingoperator.onmicrosoft.com'],
    applications: [{
      appId: SIM_BOT_APP_ID,
      objectId: 'b0b0b0b0-4444-4444-8444-000000000002',
      servicePrincipalId: 'b0b0b0b0-4444-4444-8444-000000000003',
      displayName: 'Partner Onboarding Bot',
      secrets: [{ keyId: 'b0b0b0b0-5555-4555-8555-000000000001', displayName: 'bot', value: SIM_BOT_SECRET, endDateTime: { daysFromNow: 365 } }],
    }, {
      // Multi-tenant (signInAudience AzureADMultipleOrgs): a user of any scenario tenant signs in to
      // it at their own tenant's authority; the simulator finds an app registration in any tenant.
      // https://learn.microsoft.com/en-us/entra/identity-platform/single-and-multi-tenant-apps
      appId: SIM_SETUP_APP_ID,
      objectId: 'b0b0b0b0-4444-4444-8444-000000000012',
      servicePrincipalId: 'b0b0b0b0-4444-4444-8444-000000000013',
      displayName: 'Partner Onboarding Setup',
      signInAudience: 'AzureADMultipleOrgs',
      // Take over asks for User.Read only; "set it up for me" (issue 30) for the five admin-consent
      // scopes that let a partner's Global Administrator create and wire the partner's app.
      requestedScopes: ['User.Read', ...SETUP_SCOPES],
      secrets: [{ keyId: 'b0b0b0b0-5555-4555-8555-000000000011', displayName: 'setup', value: SIM_SETUP_APP_SECRET, endDateTime: { daysFromNow: 365 } }],
      redirectUris: [...SIM_SETUP_REDIRECT_URIS],
    }],
  });
}
