import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, type App } from '../../src/app';
import { loadConfig } from '../../src/config';
import { secretName } from '../../src/credentials/credential-service';
import type { Connection, Person } from '../../src/domain/partner';
import { createLogger } from '../../src/logger';
import { BotClient } from '../harness/bot-client';
import type { TranscriptEntry } from '../simulator/services/connector';
import { APP_ID, APP_SECRET_VALUE, PARTNER_TENANT_ID, SERVICE_ACCOUNT_PASSWORD, SERVICE_ACCOUNT_UPN } from '../simulator/scenarios/ids';
import { startSimulator, type Simulator } from '../simulator/server';
import { Chat } from '../helpers/chat';

/** Where Entra sends the browser back to (the app registrations in the scenarios list it). */
export const PUBLIC_BASE_URL = 'http://localhost:3978';

export interface TestPartner {
  tenant: string;
  person: Person;
  chat: Chat;
  conversationId: string;
}

export interface BrowserAnswer {
  status: number;
  location?: string;
  text: string;
}

/**
 * The bot in this process on its own data dir, its Microsoft endpoints at the simulator (Entra ID,
 * Graph, Partner Center) and the simulator's connector as Teams. `restart()` builds a new app on
 * the same data dir, as a redeploy would.
 */
export class ConsentHarness {
  private constructor(readonly sim: Simulator, public app: App, public url: string, readonly env: Record<string, string>, readonly dataDir: string, private readonly ownsSim = true) {}

  /** `options.sim`: a simulator of the caller's (left running by stop()); `options.env`: more settings (a DATABASE_URL, say). */
  static async start(scenario = 'healthy', options: { sim?: Simulator; env?: Record<string, string> } = {}): Promise<ConsentHarness> {
    const sim = options.sim ?? (await startSimulator({ scenario }));
    if (options.sim) await sim.loadScenario(scenario);
    const dataDir = await mkdtemp(join(tmpdir(), 'consent-'));
    const env = {
      ...options.env,
      DATA_DIR: dataDir, PUBLIC_BASE_URL, ALLOW_UNAUTHENTICATED: 'true', JOB_POLL_SECONDS: '0.5', JOB_MAINTENANCE_SECONDS: '1', WATCH_DAILY_AT: 'off', 
      AUTHORITY_HOST: sim.baseUrl, GRAPH_BASE_URL: `${sim.baseUrl}/graph`, PARTNER_CENTER_BASE_URL: `${sim.baseUrl}/partnercenter`,
    };
    const { app, url } = await ConsentHarness.boot(env);
    return new ConsentHarness(sim, app, url, env, dataDir, !options.sim);
  }

  private static async boot(env: Record<string, string>): Promise<{ app: App; url: string }> {
    const { logger, redactor } = createLogger({ level: process.env.TEST_LOG_LEVEL === 'debug' ? 'debug' : 'silent' });
    const app = await createApp(loadConfig(env), logger, redactor, { keepAliveIntervalMs: 0, followUpIntervalMs: 0 });
    return { app, url: await app.start(0) };
  }

  /** Another scenario in the same simulator (its sign-ins and grants start over). */
  async loadScenario(name: string): Promise<void> {
    await this.sim.loadScenario(name);
  }

  /** The whole sign-in of the service account, up to the bot's answer to Entra's redirect. */
  async signIn(p: TestPartner, fields: Partial<SignInFields> = {}): Promise<BrowserAnswer> {
    const start = await this.open(await this.app.consent.signIn(p.tenant, p.person, p.conversationId));
    if (start.status !== 302 || !start.location) return start;
    const entra = await completeEntraPage(start.location, { upn: SERVICE_ACCOUNT_UPN, password: SERVICE_ACCOUNT_PASSWORD, mfa: true, ...fields });
    if (entra.status !== 302 || !entra.location) throw new Error(`Entra stopped at its page: ${pageText(entra.text).slice(0, 300)}`);
    return this.open(entra.location);
  }

  async restart(): Promise<void> {
    await this.app.stop();
    ({ app: this.app, url: this.url } = await ConsentHarness.boot(this.env));
  }

  async stop(): Promise<void> {
    await this.app.stop();
    if (this.ownsSim) await this.sim.stop();
    await rm(this.dataDir, { recursive: true, force: true });
  }

  /** The app registration of the scenario's partner (tests change the live scenario). */
  partnerApp() {
    return this.sim.scenario.tenants.find((t) => t.id === PARTNER_TENANT_ID)!.applications.find((a) => a.appId === APP_ID)!;
  }

  /**
   * A partner whose owner has started onboarding in Teams, with the credential cards' result saved
   * directly: the connection and the app secret in the secret store.
   */
  async partner(options: { connection?: Partial<Connection>; appSecret?: string } = {}): Promise<TestPartner> {
    const tenant = randomUUID();
    const person = { aadObjectId: randomUUID(), name: 'Megan Bowen' };
    const chat = new Chat(new BotClient({ endpoint: `${this.url}/api/messages`, simulatorUrl: this.sim.baseUrl, conversation: { tenantId: tenant, user: person }, quietMs: 120 }));
    await chat.say('start', 1);
    const connection: Connection = { partnerTenantId: PARTNER_TENANT_ID, serviceAccountUpn: SERVICE_ACCOUNT_UPN, appId: APP_ID, ...options.connection };
    const secret = options.appSecret ?? APP_SECRET_VALUE;
    await this.app.secrets.set(secretName(tenant, 'appSecret'), secret);
    await this.app.connections.saveCredentials(tenant, connection, {
      appSecret: { storeName: secretName(tenant, 'appSecret'), hint: secret.slice(0, 3), setBy: person.aadObjectId, setAt: new Date().toISOString() },
    }, person.aadObjectId, randomUUID());
    return { tenant, person, chat, conversationId: chat.client.conversation.conversationId };
  }

  /** What a browser gets for a link or redirect of ours (absolute at PUBLIC_BASE_URL, or a path). */
  async open(link: string): Promise<BrowserAnswer> {
    const u = new URL(link, PUBLIC_BASE_URL);
    const res = await fetch(`${this.url}${u.pathname}${u.search}`, { redirect: 'manual' });
    return { status: res.status, location: res.headers.get('location') ?? undefined, text: await res.text() };
  }
}

export interface SignInFields {
  upn: string;
  password: string;
  mfa?: boolean;
  /** Answer to the consent page, posted up front as the simulator allows. */
  decision?: 'accept' | 'cancel';
}

/**
 * Completes Entra's page at `location` (the simulator's authorize or admin consent page) as a person
 * would: posts the account, password, second factor and consent answer. Returns where Entra sends
 * the browser next, or the page it stopped at.
 */
export async function completeEntraPage(location: string, fields: SignInFields): Promise<BrowserAnswer> {
  const body = new URLSearchParams({ upn: fields.upn, password: fields.password, decision: fields.decision ?? 'accept' });
  if (fields.mfa) body.set('mfa', 'on');
  const res = await fetch(location, { method: 'POST', body, redirect: 'manual' });
  return { status: res.status, location: res.headers.get('location') ?? undefined, text: await res.text() };
}

/** The text of every message the bot posted in the chat. */
export function textsOf(entries: TranscriptEntry[]): string[] {
  return entries.map((e) => e.activity.text ?? '').filter(Boolean);
}

/** Visible text of a page: tags dropped, entities of our escaping undone. */
export function pageText(html: string): string {
  return html.replace(/<[^>]+>/g, ' ').replace(/&#39;/g, "'").replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&').replace(/\s+/g, ' ');
}
