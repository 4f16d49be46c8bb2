import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createApp, type App } from '../../src/app';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/logger';
import type { Db } from '../../src/store/db';
import type { Mail } from '../../src/microsoft/mailer';
import type { TeamsConversationOptions } from '../harness/activities';
import { BotClient, requireBotAuth, type BotTurn } from '../harness/bot-client';
import { SIM_BOT_APP_ID } from '../simulator/scenarios/ids';
import { botIdentityEnv } from '../simulator/services/bot-framework';
import { connectorOf, type TranscriptEntry } from '../simulator/services/connector';
import { startSimulator, type Simulator } from '../simulator/server';

type Card = Record<string, unknown>;

/** The bot running in this process on a real port, on its own embedded database, with the simulator as Teams. */
export class BotUnderTest {
  private constructor(readonly sim: Simulator, readonly app: App, readonly url: string, readonly dataDir: string, readonly botId: string, private readonly teamsLimits: boolean) {}

  /** Loads another scenario into the simulator; a reload resets the connector, so its Teams limits are set again as this bot was started. */
  async loadScenario(scenario: Parameters<Simulator['loadScenario']>[0]): Promise<void> {
    await this.sim.loadScenario(scenario);
    if (!this.teamsLimits) connectorOf(this.sim).setLimits({ enabled: false });
  }

  /**
   * `teamsLimits: false` switches the connector's Teams rate limits off: the step tables send
   * dozens of cards a minute into one chat, which real Teams (and the simulator) would slow down.
   */
  /**
   * `authenticated: true` runs the bot as in Azure: its SingleTenant identity in the simulator's
   * operator tenant, botbuilder's endpoints pointed at the simulator, every activity signed, and a
   * connector that refuses replies without a bot token. Otherwise the bot runs unauthenticated.
   */
  static async start(options: { sim?: Simulator; teamsLimits?: boolean; authenticated?: boolean; db?: Db; secretRetryWaitMs?: number; sleep?: (ms: number) => Promise<void>; logLines?: string[]; env?: Record<string, string> } = {}): Promise<BotUnderTest> {
    const sim = options.sim ?? (await startSimulator());
    if (options.teamsLimits === false) connectorOf(sim).setLimits({ enabled: false });
    const dataDir = await mkdtemp(join(tmpdir(), 'bot-under-test-'));
    // `logLines`: every line the bot logs, at its most verbose level, kept for the test to read.
    const lines = options.logLines;
    const { logger, redactor } = lines
      ? createLogger({ level: 'trace', destination: new Writable({ write(chunk: Buffer, _enc, done) { lines.push(chunk.toString()); done(); } }) })
      : createLogger({ level: process.env.TEST_LOG_LEVEL === 'debug' ? 'debug' : 'silent' });
    const env: Record<string, string> = {
      DATA_DIR: dataDir, PUBLIC_BASE_URL: 'http://localhost:3978', JOB_POLL_SECONDS: '0.5', JOB_MAINTENANCE_SECONDS: '1', WATCH_DAILY_AT: 'off',
      // Entra ID, Graph and Partner Center are the simulator's, as in the sandbox.
      AUTHORITY_HOST: sim.baseUrl, GRAPH_BASE_URL: `${sim.baseUrl}/graph`, PARTNER_CENTER_BASE_URL: `${sim.baseUrl}/partnercenter`,
      ...options.env,
    };
    if (options.authenticated) {
      Object.assign(env, botIdentityEnv(sim.baseUrl));
      await requireBotAuth(sim.baseUrl, true);
    } else {
      env.ALLOW_UNAUTHENTICATED = 'true';
    }
    const app = await createApp(loadConfig(env), logger, redactor, { db: options.db, secretRetryWaitMs: options.secretRetryWaitMs ?? 50, sleep: options.sleep, followUpIntervalMs: 0 });
    const url = await app.start(0);
    return new BotUnderTest(sim, app, url, dataDir, options.authenticated ? SIM_BOT_APP_ID : '', options.teamsLimits !== false);
  }

  chat(conversation: Omit<TeamsConversationOptions, 'serviceUrl'>): Chat {
    return new Chat(new BotClient({
      endpoint: `${this.url}/api/messages`, simulatorUrl: this.sim.baseUrl, conversation, quietMs: 120,
      ...(this.botId ? { signFor: this.botId } : {}),
    }));
  }

  /** Mails the bot "sent" (local runs write them to DATA_DIR/outbox), oldest first. */
  async outbox(): Promise<Mail[]> {
    const dir = join(this.dataDir, 'outbox');
    let files: string[];
    try {
      files = (await readdir(dir)).sort();
    } catch {
      return [];
    }
    return Promise.all(files.map(async (f) => JSON.parse(await readFile(join(dir, f), 'utf8')) as Mail));
  }

  async stop(options: { keepSimulator?: boolean } = {}): Promise<void> {
    await this.app.stop();
    if (!options.keepSimulator) await this.sim.stop();
    await rm(this.dataDir, { recursive: true, force: true });
  }
}

function cardOf(entry: TranscriptEntry): Card | undefined {
  const att = entry.activity.attachments?.find((a) => a.contentType === 'application/vnd.microsoft.card.adaptive');
  return att?.content as Card | undefined;
}

function actionsOf(node: unknown): Array<Record<string, unknown>> {
  if (Array.isArray(node)) return node.flatMap(actionsOf);
  if (!node || typeof node !== 'object') return [];
  const n = node as Record<string, unknown>;
  const own = typeof n.type === 'string' && n.type.startsWith('Action.') ? [n] : [];
  return [...own, ...Object.values(n).flatMap(actionsOf)];
}

/** All text a person would read on a card (TextBlocks, facts, input labels, button titles). */
export function cardText(card: Card | undefined): string {
  const parts: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) { node.forEach(walk); return; }
    if (!node || typeof node !== 'object') return;
    const n = node as Record<string, unknown>;
    for (const key of ['text', 'title', 'label', 'value'] as const) if (typeof n[key] === 'string' && n.type !== 'Input.ChoiceSet') parts.push(n[key] as string);
    for (const [k, v] of Object.entries(n)) if (k !== 'choices' && k !== 'data') walk(v);
  };
  walk(card);
  return parts.join('\n');
}

/**
 * One person in one Teams conversation, working with cards like a person would: read the latest
 * card, fill inputs, press a button by its title.
 */
export class Chat {
  /** Every activity the bot posted here, latest version of each. */
  private entries = new Map<string, TranscriptEntry>();

  constructor(readonly client: BotClient) {}

  private record(turn: BotTurn): BotTurn {
    for (const e of [...turn.activities, ...turn.updated]) this.entries.set(e.id, e);
    return turn;
  }

  /** Reads the whole conversation from the connector, as a client opening the chat again would. */
  async refresh(): Promise<void> {
    for (const e of await this.client.transcript()) this.entries.set(e.id, e);
  }

  async say(text: string, count?: number): Promise<BotTurn> {
    return this.record(await this.client.say(text, count === undefined ? {} : { count }));
  }

  async install(): Promise<BotTurn> {
    return this.record(await this.client.install());
  }

  /** The newest card the bot posted (in its latest version), with the id of its message. */
  lastCard(): { id: string; card: Card } {
    const withCards = [...this.entries.values()].filter((e) => cardOf(e)).sort((a, b) => a.seq - b.seq);
    const last = withCards[withCards.length - 1];
    if (!last) throw new Error('the bot has not posted a card');
    return { id: last.id, card: cardOf(last)! };
  }

  /** A card by message id, in its latest version. */
  card(id: string): Card | undefined {
    const e = this.entries.get(id);
    return e ? cardOf(e) : undefined;
  }

  /** Presses the button titled `title` on card `id` (latest card by default), sending `inputs` with its data, as Teams does. */
  async press(title: string | RegExp, inputs: Record<string, unknown> = {}, options: { id?: string; count?: number } = {}): Promise<BotTurn> {
    const { id, card } = options.id ? { id: options.id, card: this.card(options.id) } : this.lastCard();
    const action = actionsOf(card).find((a) => (typeof title === 'string' ? a.title === title : title.test(String(a.title))));
    if (!action) throw new Error(`no button "${String(title)}" on the card; buttons: ${actionsOf(card).map((a) => a.title).join(', ')}`);
    const data = (action.data ?? {}) as Record<string, unknown>;
    return this.submitRaw({ ...data, ...inputs }, id, options.count);
  }

  /** Sends any Action.Submit value (what a tampered or outdated client could send). */
  async submitRaw(value: Record<string, unknown>, replyToId: string, count?: number): Promise<BotTurn> {
    return this.record(await this.client.submit(value, replyToId, count === undefined ? {} : { count }));
  }
}

export const COMPANY = {
  legalName: 'Contoso Cloud Services GmbH', country: 'DE', street: 'Friedrichstraße 123', city: 'Berlin',
  postalCode: '10117', website: 'https://www.contoso-cloud.de', partnerId: '4567890', vatId: 'DE 123 456 789',
};
export const PRIMARY = { firstName: 'Megan', lastName: 'Bowen', email: 'megan@contoso-cloud.de', phone: '030 1234567', role: 'IT Director' };
export const SECONDARY = { firstName: 'Adele', lastName: 'Vance', email: 'adele@contoso-cloud.de', phone: '+49 89 7654321', role: '' };
