import type { BlockCode, ConnectorLimits, TranscriptEntry, TranscriptEvent, Truthy } from '../simulator/services/connector';
import {
  botAddedActivity,
  connectorServiceUrl,
  conversationDefinitions,
  executeInvoke,
  installationUpdateActivity,
  messageActivity,
  submitActivity,
  teamsConversation,
  type ExecuteAction,
  type MessageOptions,
  type TeamsActivity,
  type TeamsConversation,
  type TeamsConversationOptions,
} from './activities';

/**
 * Plays the Teams client against a running bot over real HTTP: posts activities to the bot's
 * `/api/messages`, then reads what the bot sent back from the simulator's connector transcript
 * (control routes, long-polled). Works for a bot in this process or in a child process.
 */

export interface BotClientOptions {
  /** The bot's messaging endpoint, e.g. `http://127.0.0.1:3978/api/messages`. */
  endpoint: string;
  /** The simulator (`sim.baseUrl`): activities carry its connector as serviceUrl. */
  simulatorUrl: string;
  /** Who talks to the bot, where (tenant required; personal chat by default). */
  conversation: Omit<TeamsConversationOptions, 'serviceUrl'> & { serviceUrl?: string };
  /** Headers for each POST to the bot (these win over `signFor`). */
  headers?: Record<string, string> | (() => Record<string, string> | Promise<Record<string, string>>);
  /**
   * An authenticated bot's app id: every activity is sent with a channel token the simulator's Bot
   * Framework signs for it (`aud` this id, `serviceurl` the activity's serviceUrl), as Teams does.
   */
  signFor?: string;
  /** Defaults for {@link ExpectOptions}. */
  quietMs?: number;
  timeoutMs?: number;
  /** Tell the simulator about the conversation and its members first (TeamsInfo works). Default true. */
  register?: boolean;
}

export interface ExpectOptions {
  /** Return as soon as the bot has posted this many activities (typing excluded); fail if it does not in time. */
  count?: number;
  /** Without `count`: after the bot's HTTP response, return once nothing changed for this long. Default 150. */
  quietMs?: number;
  /** Overall limit. Default 10000. */
  timeoutMs?: number;
  /** Count and return `typing` activities too. */
  includeTyping?: boolean;
}

export interface BotTurn {
  /** HTTP status the bot answered the POST with. */
  status: number;
  /** Response body (parsed JSON when it is JSON): the invoke response for invokes. */
  body: unknown;
  /** Activities the bot posted in this conversation during the turn, in order. */
  activities: TranscriptEntry[];
  /** Activities the bot updated during the turn (latest version). */
  updated: TranscriptEntry[];
  /** Ids of activities the bot deleted during the turn. */
  deleted: string[];
  /** The text of each posted activity that has one. */
  texts: string[];
}

interface TranscriptWire {
  conversationId: string;
  seq: number;
  entries: TranscriptEntry[];
  events: TranscriptEvent[];
}

export class BotClient {
  readonly conversation: TeamsConversation;
  private readonly registered = new Set<string>();

  constructor(private readonly options: BotClientOptions) {
    this.conversation = teamsConversation({ ...options.conversation, serviceUrl: options.conversation.serviceUrl ?? connectorServiceUrl(options.simulatorUrl) });
  }

  /** The user types `text`. */
  say(text: string, expect: ExpectOptions = {}, message: MessageOptions = {}): Promise<BotTurn> {
    return this.send(messageActivity(this.conversation, text, message), expect);
  }

  /** The user presses an `Action.Submit` button on the card in activity `replyToId`. */
  submit(value: Record<string, unknown>, replyToId: string, expect: ExpectOptions = {}): Promise<BotTurn> {
    return this.send(submitActivity(this.conversation, value, { replyToId }), expect);
  }

  /** The user presses an `Action.Execute` button (or the card refreshes, `trigger: 'automatic'`). */
  execute(action: ExecuteAction, options: { replyToId?: string; trigger?: 'manual' | 'automatic' } = {}, expect: ExpectOptions = {}): Promise<BotTurn> {
    return this.send(executeInvoke(this.conversation, action, options), expect);
  }

  /** The app is installed here: `installationUpdate` then `conversationUpdate`, as Teams sends them. */
  async install(expect: ExpectOptions = {}): Promise<BotTurn> {
    const first = await this.send(installationUpdateActivity(this.conversation, 'add'), { ...expect, count: undefined });
    const second = await this.send(botAddedActivity(this.conversation), expect.count === undefined ? expect : { ...expect, count: Math.max(0, expect.count - first.activities.length) });
    return {
      status: second.status,
      body: second.body,
      activities: [...first.activities, ...second.activities],
      updated: [...first.updated, ...second.updated],
      deleted: [...first.deleted, ...second.deleted],
      texts: [...first.texts, ...second.texts],
    };
  }

  /**
   * The app is removed here: from now on the connector refuses the bot's writes (403 `code`), and
   * the bot gets the `installationUpdate` remove Teams sends.
   */
  async uninstall(code: BlockCode = 'MessageWritesBlocked', expect: ExpectOptions = {}): Promise<BotTurn> {
    const target = this.conversation.channel?.id ?? this.conversation.conversationId;
    const res = await fetch(`${this.options.simulatorUrl}/_sim/connector/conversations/${encodeURIComponent(target)}/uninstall`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code }),
    });
    if (!res.ok) throw new Error(`BotClient: the simulator refused to uninstall ${target}: ${res.status} ${await res.text()}`);
    return this.send(installationUpdateActivity(this.conversation, 'remove'), expect);
  }

  /** Posts any activity to the bot and collects what it sent back in that activity's conversation. */
  async send(activity: TeamsActivity, expect: ExpectOptions = {}): Promise<BotTurn> {
    const conversationId = activity.conversation.id;
    await this.register();
    const timeoutMs = expect.timeoutMs ?? this.options.timeoutMs ?? 10_000;
    const deadline = Date.now() + timeoutMs;
    const before = await this.fetchTranscript(conversationId, 0, 0);
    const extra = typeof this.options.headers === 'function' ? await this.options.headers() : this.options.headers ?? {};
    const signed: Record<string, string> = this.options.signFor
      ? { authorization: `Bearer ${await channelToken(this.options.simulatorUrl, { audience: this.options.signFor, serviceUrl: activity.serviceUrl })}` }
      : {};
    const res = await fetch(this.options.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...signed, ...extra },
      body: JSON.stringify(activity),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const raw = await res.text();
    let body: unknown = raw === '' ? undefined : raw;
    if (raw !== '') {
      try { body = JSON.parse(raw); } catch { /* not JSON: keep the text */ }
    }
    const { entries, events } = await this.collect(conversationId, before.seq, deadline, expect);
    return { status: res.status, body, ...summarize(entries, events, expect.includeTyping ?? false) };
  }

  /** Everything the bot posted in a conversation (this one by default), deleted ones included. */
  async transcript(conversationId = this.conversation.conversationId): Promise<TranscriptEntry[]> {
    return (await this.fetchTranscript(conversationId, 0, 0)).entries;
  }

  /**
   * Resolves with the first truthy value of `check` over a conversation's transcript, re-checked
   * on every change (long-poll, no sleeps). For work the bot does after its turn (proactive sends).
   */
  async waitFor<T>(check: (entries: TranscriptEntry[]) => T, options: { conversationId?: string; timeoutMs?: number } = {}): Promise<Truthy<T>> {
    const conversationId = options.conversationId ?? this.conversation.conversationId;
    const deadline = Date.now() + (options.timeoutMs ?? this.options.timeoutMs ?? 10_000);
    let t = await this.fetchTranscript(conversationId, 0, 0);
    for (;;) {
      const value = check(t.entries);
      if (value) return value as Truthy<T>;
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw new Error(`BotClient.waitFor: condition not met in ${conversationId}; the bot posted ${t.entries.map((e) => JSON.stringify(e.text ?? e.type)).join(', ') || 'nothing'}`);
      }
      t = await this.fetchTranscript(conversationId, t.seq, Math.min(remaining, 30_000));
    }
  }

  private async collect(conversationId: string, seq0: number, deadline: number, expect: ExpectOptions): Promise<{ entries: TranscriptEntry[]; events: TranscriptEvent[] }> {
    const quietMs = expect.quietMs ?? this.options.quietMs ?? 150;
    const includeTyping = expect.includeTyping ?? false;
    // What the bot sent before answering the POST is there already.
    const first = await this.fetchTranscript(conversationId, seq0, 0);
    let seq = first.seq;
    let entries = first.entries;
    const events: TranscriptEvent[] = [...first.events];
    for (;;) {
      const posted = countPosted(entries, events, includeTyping);
      const waitingForCount = expect.count !== undefined && posted < expect.count;
      if (expect.count !== undefined && !waitingForCount) break;
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        if (waitingForCount) {
          throw new Error(`BotClient: expected ${expect.count} activities from the bot in ${conversationId}, got ${posted}: ${describe(entries, events)}`);
        }
        break;
      }
      const t = await this.fetchTranscript(conversationId, seq, Math.min(waitingForCount ? remaining : quietMs, remaining, 30_000));
      entries = t.entries;
      if (t.events.length === 0) {
        if (waitingForCount) continue;
        break; // quiet
      }
      events.push(...t.events);
      seq = t.seq;
    }
    return { entries, events };
  }

  private async register(): Promise<void> {
    if (this.options.register === false) return;
    for (const def of conversationDefinitions(this.conversation)) {
      if (this.registered.has(def.id)) continue;
      const res = await fetch(`${this.options.simulatorUrl}/_sim/connector/conversations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(def),
      });
      if (!res.ok) throw new Error(`BotClient: the simulator refused conversation ${def.id}: ${res.status} ${await res.text()}`);
      this.registered.add(def.id);
    }
  }

  private async fetchTranscript(conversationId: string, after: number, waitMs: number): Promise<TranscriptWire> {
    const url = `${this.options.simulatorUrl}/_sim/connector/conversations/${encodeURIComponent(conversationId)}/transcript?after=${after}&waitMs=${Math.max(0, Math.floor(waitMs))}`;
    const res = await fetch(url);
    if (!res.ok) throw new Error(`BotClient: transcript of ${conversationId}: ${res.status} ${await res.text()}`);
    return (await res.json()) as TranscriptWire;
  }
}

/** A Bot Framework channel token from a simulator (in this process or another), for a bot's `/api/messages`. */
export async function channelToken(simulatorUrl: string, options: { audience: string; serviceUrl: string; lifetimeSeconds?: number }): Promise<string> {
  const res = await fetch(`${simulatorUrl}/_sim/botframework/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(options),
  });
  if (!res.ok) throw new Error(`channelToken: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { token: string }).token;
}

/** Makes the simulated connector refuse calls without a valid bot token (or accept them again). */
export async function requireBotAuth(simulatorUrl: string, required: boolean): Promise<void> {
  const res = await fetch(`${simulatorUrl}/_sim/connector/auth`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ required }),
  });
  if (!res.ok) throw new Error(`requireBotAuth: ${res.status} ${await res.text()}`);
}

/** Changes the simulated connector's rate limits (e.g. `{enabled: false}`) of a simulator in another process. */
export async function setConnectorLimits(simulatorUrl: string, patch: Partial<ConnectorLimits>): Promise<ConnectorLimits> {
  const res = await fetch(`${simulatorUrl}/_sim/connector/limits`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(patch),
  });
  if (!res.ok) throw new Error(`setConnectorLimits: ${res.status} ${await res.text()}`);
  return (await res.json()) as ConnectorLimits;
}

function countPosted(entries: TranscriptEntry[], events: TranscriptEvent[], includeTyping: boolean): number {
  return events.filter((e) => e.kind === 'posted' && (includeTyping || entries.find((x) => x.id === e.activityId)?.type !== 'typing')).length;
}

function summarize(entries: TranscriptEntry[], events: TranscriptEvent[], includeTyping: boolean): Omit<BotTurn, 'status' | 'body'> {
  const byId = new Map(entries.map((e) => [e.id, e]));
  const postedIds = events.filter((e) => e.kind === 'posted').map((e) => e.activityId);
  const activities = postedIds.map((id) => byId.get(id)).filter((e): e is TranscriptEntry => !!e && (includeTyping || e.type !== 'typing'));
  const updatedIds = [...new Set(events.filter((e) => e.kind === 'updated').map((e) => e.activityId))];
  const updated = updatedIds.map((id) => byId.get(id)).filter((e): e is TranscriptEntry => !!e);
  const deleted = [...new Set(events.filter((e) => e.kind === 'deleted').map((e) => e.activityId))];
  const texts = activities.map((a) => a.text).filter((t): t is string => typeof t === 'string' && t.length > 0);
  return { activities, updated, deleted, texts };
}

function describe(entries: TranscriptEntry[], events: TranscriptEvent[]): string {
  const ids = new Set(events.map((e) => e.activityId));
  const seen = entries.filter((e) => ids.has(e.id));
  return seen.length ? seen.map((e) => `${e.type} ${JSON.stringify(e.text ?? '')}`).join('; ') : 'nothing';
}
