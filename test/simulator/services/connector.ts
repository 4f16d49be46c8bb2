import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { bearer, json, readJson, Router, type SimReply, type SimRequest } from '../http';
import type { ServiceFactory, SimContext, SimService } from '../server';
import { AUDIENCE } from '../tokens';

/**
 * Bot Connector simulator: the Teams side of `serviceUrl` (`${sim.baseUrl}/connector/`).
 * botbuilder's ConnectorClient appends `v3/...` to the serviceUrl with or without its trailing
 * slash and URL-encodes conversation ids (`a:1…`, `19:…@thread.tacv2;messageid=…`); the router
 * decodes each path segment.
 *
 * Every activity the bot posts, updates or deletes lands in a per-conversation {@link Transcript}
 * that tests read in-process ({@link connectorOf}) or over the control routes:
 *   GET  /_sim/connector/conversations                       list
 *   POST /_sim/connector/conversations                       define {id, tenantId, members…}
 *   GET  /_sim/connector/conversations/{id}/transcript       ?after=<seq>&waitMs=<ms> long-poll
 *   POST /_sim/connector/conversations/{id}/uninstall        {code?}: writes answer 403
 *   POST /_sim/connector/conversations/{id}/install          undo uninstall
 *   GET  /_sim/connector/requests                            what the bot called, with status
 *   POST /_sim/connector/limits                              {enabled?, perThread?, perApp?, perAppGlobal?, maxActivityBytes?}
 *
 * `answerAfter(ms, conversationIds?)` is a test and bench knob, not a Microsoft fact: every bot call
 * (or those to the conversations named) waits that long before the connector takes it, as a slow
 * Teams would; `answerAfter(0)` ends it. `refuseWith({status, retryAfterSeconds?}, conversationIds?)`
 * answers them with that error instead (a 429 with Retry-After, a 503…) until `refuseWith(undefined)`.
 *
 * `perAppGlobal` is a bench knob, not a Microsoft fact: one window per app across all tenants
 * (none by default). Teams documents limits per thread and per app per tenant only; a bench of
 * many partners (each its own tenant) sets it so that a rate limit binds and pacing shows.
 */

// ---------------------------------------------------------------------------------------------
// Wire types (loose on purpose: the simulator stores whatever JSON the bot sent)

export interface WireAccount {
  id: string;
  name?: string;
  aadObjectId?: string;
  [key: string]: unknown;
}

export interface WireAttachment {
  contentType: string;
  content?: unknown;
  contentUrl?: string;
  name?: string;
  [key: string]: unknown;
}

export interface WireActivity {
  type: string;
  id?: string;
  text?: string;
  attachments?: WireAttachment[];
  replyToId?: string;
  conversation?: { id: string; [key: string]: unknown };
  from?: WireAccount;
  recipient?: WireAccount;
  [key: string]: unknown;
}

export interface ConversationMember {
  /** `29:…` Teams user id. */
  id: string;
  name?: string;
  aadObjectId?: string;
  userPrincipalName?: string;
  email?: string;
  givenName?: string;
  surname?: string;
  tenantId?: string;
  userRole?: 'user' | 'guest' | 'anonymous';
}

export type ConversationType = 'personal' | 'groupChat' | 'channel';

export interface ConversationDefinition {
  id: string;
  tenantId: string;
  conversationType?: ConversationType;
  name?: string;
  members?: ConversationMember[];
  /** Channel conversations: the team (`19:…@thread.tacv2`); its roster answers TeamsInfo in that team. */
  teamId?: string;
  teamName?: string;
  aadGroupId?: string;
  channelName?: string;
}

/** What a 403 looks like: Teams' documented body for each way a bot loses a conversation. */
export type BlockCode = 'MessageWritesBlocked' | 'BotNotInConversationRoster' | 'ConversationBlockedByUser' | 'BotDisabledByAdmin';

export interface RequestAuth {
  /** An `Authorization: Bearer` header was sent. */
  present: boolean;
  /** `appid` / `azp` claim of the token (not validated: Bot Framework token checks are out of scope). */
  appId?: string;
  /** The token was signed by this simulator's Entra ID and is not expired. */
  verified: boolean;
}

export interface TranscriptEntry {
  /** 1-based position in the conversation (order of first post). */
  seq: number;
  id: string;
  conversationId: string;
  type: string;
  text?: string;
  attachments: WireAttachment[];
  replyToId?: string;
  /** When first posted (simulator clock, ISO). */
  timestamp: string;
  /** The latest version, with `id` set. */
  activity: WireActivity;
  /** The version first posted. */
  original: WireActivity;
  /** Each later version, oldest first. */
  updates: Array<{ at: string; activity: WireActivity }>;
  deleted: boolean;
  deletedAt?: string;
  via: 'send' | 'reply' | 'createConversation';
  auth: RequestAuth;
}

export interface TranscriptEvent {
  /** Per-conversation, increasing from 1. */
  seq: number;
  kind: 'posted' | 'updated' | 'deleted';
  activityId: string;
  at: string;
}

export interface WaitOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

export type Truthy<T> = Exclude<T, undefined | null | false | '' | 0>;

// ---------------------------------------------------------------------------------------------
// Transcript

/** What a bot did in one conversation, in order; wakes waiters on every change. */
export class Transcript {
  private readonly _entries: TranscriptEntry[] = [];
  private readonly _events: TranscriptEvent[] = [];
  private readonly emitter = new EventEmitter();

  constructor(readonly conversationId: string) {
    this.emitter.setMaxListeners(0);
  }

  get entries(): readonly TranscriptEntry[] { return this._entries; }
  get events(): readonly TranscriptEvent[] { return this._events; }
  /** Seq of the last event (0 when nothing happened yet). */
  get seq(): number { return this._events.at(-1)?.seq ?? 0; }

  /** Entries not deleted, in order. */
  visible(): TranscriptEntry[] { return this._entries.filter((e) => !e.deleted); }

  get(activityId: string): TranscriptEntry | undefined {
    return this._entries.find((e) => e.id === activityId);
  }

  eventsAfter(seq: number): TranscriptEvent[] {
    return this._events.filter((e) => e.seq > seq);
  }

  /**
   * Resolves with the first truthy value `check` returns, checked now and after every change.
   * Rejects after `timeoutMs` (default 5000) with what the transcript holds.
   */
  waitFor<T>(check: (entries: readonly TranscriptEntry[]) => T, options: WaitOptions = {}): Promise<Truthy<T>> {
    return waitForChange(this.emitter, () => check(this._entries), options,
      (ms) => `transcript ${this.conversationId}: condition not met within ${ms} ms; it holds ${describeEntries(this._entries)}`);
  }

  /** Resolves true as soon as an event newer than `seq` exists, false after `timeoutMs`. */
  changedSince(seq: number, timeoutMs: number): Promise<boolean> {
    if (this.seq > seq) return Promise.resolve(true);
    return this.waitFor(() => this.seq > seq, { timeoutMs }).then(() => true, () => false);
  }

  /** @internal the connector writes through these. */
  add(entry: Omit<TranscriptEntry, 'seq' | 'updates' | 'deleted' | 'conversationId' | 'original'>): TranscriptEntry {
    const full: TranscriptEntry = { ...entry, seq: this._entries.length + 1, conversationId: this.conversationId, original: entry.activity, updates: [], deleted: false };
    this._entries.push(full);
    this.emit('posted', full.id, full.timestamp);
    return full;
  }

  /** @internal */
  update(entry: TranscriptEntry, activity: WireActivity, at: string): void {
    entry.updates.push({ at, activity });
    entry.activity = activity;
    entry.type = activity.type;
    entry.text = activity.text;
    entry.attachments = activity.attachments ?? [];
    this.emit('updated', entry.id, at);
  }

  /** @internal */
  remove(entry: TranscriptEntry, at: string): void {
    entry.deleted = true;
    entry.deletedAt = at;
    this.emit('deleted', entry.id, at);
  }

  /** @internal scenario reload: same object (waiters stay attached), no content. */
  clear(): void {
    this._entries.length = 0;
    this._events.length = 0;
    this.emitter.emit('change');
  }

  toJSON(): { conversationId: string; seq: number; entries: TranscriptEntry[]; events: TranscriptEvent[] } {
    return { conversationId: this.conversationId, seq: this.seq, entries: [...this._entries], events: [...this._events] };
  }

  private emit(kind: TranscriptEvent['kind'], activityId: string, at: string): void {
    this._events.push({ seq: this.seq + 1, kind, activityId, at });
    this.emitter.emit('change');
  }
}

function describeEntries(entries: readonly TranscriptEntry[]): string {
  if (entries.length === 0) return 'nothing';
  return entries
    .map((e) => `#${e.seq} ${e.type}${e.deleted ? ' (deleted)' : ''}${e.text !== undefined ? ` "${e.text.slice(0, 80)}"` : ''}${e.attachments.length ? ` [${e.attachments.map((a) => a.contentType).join(', ')}]` : ''}`)
    .join('; ');
}

// ---------------------------------------------------------------------------------------------
// Rate limits

export interface RateWindow {
  limit: number;
  windowMs: number;
}

export interface ConnectorLimits {
  enabled: boolean;
  /** Per bot per thread (conversation id as addressed). */
  perThread: RateWindow[];
  /** Per app (token `appid`, else "anonymous") per tenant, every call. */
  perApp: RateWindow[];
  /** Per app across every tenant, every call: a bench knob (see the header), empty in TEAMS_LIMITS. */
  perAppGlobal: RateWindow[];
  /** Larger request bodies answer 413 MessageSizeTooBig (Teams: about 28 KB per message). */
  maxActivityBytes: number;
}

/** Teams' published limits (DESIGN.md "Platform facts"). */
export const TEAMS_LIMITS: Readonly<ConnectorLimits> = Object.freeze({
  enabled: true,
  perThread: [
    { limit: 7, windowMs: 1_000 },
    { limit: 8, windowMs: 2_000 },
    { limit: 60, windowMs: 30_000 },
    { limit: 1800, windowMs: 3_600_000 },
  ],
  perApp: [{ limit: 50, windowMs: 1_000 }],
  perAppGlobal: [],
  maxActivityBytes: 28 * 1024,
});

/** Sliding-window counters of accepted calls; a refused call does not count. */
class SlidingWindows {
  private readonly hits = new Map<string, number[]>();

  /** Milliseconds until a call under `key` would be accepted (0 = now). */
  waitMs(key: string, windows: readonly RateWindow[], now: number): number {
    const arr = this.hits.get(key);
    if (!arr || windows.length === 0) return 0;
    const longest = Math.max(...windows.map((w) => w.windowMs));
    let drop = 0;
    while (drop < arr.length && arr[drop]! <= now - longest) drop++;
    if (drop) arr.splice(0, drop);
    let wait = 0;
    for (const w of windows) {
      const inWindow = arr.filter((t) => t > now - w.windowMs).length;
      if (inWindow >= w.limit) {
        // The oldest of the last `limit` calls must leave the window first.
        const blocking = arr[arr.length - w.limit]!;
        wait = Math.max(wait, blocking + w.windowMs - now);
      }
    }
    return wait;
  }

  record(key: string, now: number): void {
    const arr = this.hits.get(key) ?? [];
    arr.push(now);
    this.hits.set(key, arr);
  }

  clear(): void { this.hits.clear(); }
}

// ---------------------------------------------------------------------------------------------
// The connector

interface ConversationState {
  id: string;
  tenantId?: string;
  conversationType?: ConversationType;
  name?: string;
  members: ConversationMember[];
  teamId?: string;
  /** Defined by a test (or created by the bot), not just posted to. */
  defined: boolean;
  block?: BlockCode;
}

interface TeamState {
  id: string;
  name?: string;
  aadGroupId?: string;
  members: ConversationMember[];
  channels: Map<string, string | undefined>;
}

export interface ConnectorRequestRecord {
  at: string;
  method: string;
  op: 'send' | 'reply' | 'update' | 'delete' | 'createConversation' | 'getMembers' | 'getMember' | 'getPagedMembers' | 'getTeam' | 'getChannels';
  conversationId?: string;
  activityId?: string;
  status: number;
  /** Error code for a failed call (`Throttled`, `MessageWritesBlocked`…). */
  code?: string;
  retryAfterSeconds?: number;
  auth: RequestAuth;
}

export interface ConversationSummary {
  id: string;
  tenantId?: string;
  conversationType?: ConversationType;
  teamId?: string;
  defined: boolean;
  blocked?: BlockCode;
  activities: number;
  seq: number;
}

const connectors = new WeakMap<SimContext, BotConnector>();

/** The connector state of a running simulator (tests in the same process). */
export function connectorOf(sim: SimContext): BotConnector {
  const c = connectors.get(sim);
  if (!c) throw new Error('this simulator runs no connector service');
  return c;
}

export class BotConnector {
  readonly router = new Router();
  /** Every call the bot made, oldest first. */
  readonly requests: ConnectorRequestRecord[] = [];
  private limits: ConnectorLimits = cloneLimits(TEAMS_LIMITS);
  private readonly conversations = new Map<string, ConversationState>();
  private readonly teams = new Map<string, TeamState>();
  private readonly transcripts = new Map<string, Transcript>();
  private readonly windows = new SlidingWindows();
  private readonly emitter = new EventEmitter();
  private lastActivityId = 0;
  private authRequired = false;
  private slow?: { ms: number; conversationIds?: ReadonlySet<string> };
  private refusal?: { status: number; retryAfterSeconds?: number; conversationIds?: ReadonlySet<string> };

  constructor(private readonly ctx: SimContext) {
    this.emitter.setMaxListeners(0);
    this.routes();
  }

  // ---- test-facing API ---------------------------------------------------------------------

  get currentLimits(): Readonly<ConnectorLimits> { return this.limits; }

  /**
   * Authenticated mode: every `/v3` call needs a bearer token Entra ID issued to the bot for
   * `https://api.botframework.com` (client credentials), or gets 401, as the real connector does.
   * https://learn.microsoft.com/en-us/azure/bot-service/rest-api/bot-framework-rest-connector-authentication#authenticate-requests-from-your-bot-to-the-bot-connector-service
   * Off by default (an unauthenticated local bot sends no token); it survives scenario loads.
   */
  requireBotAuth(on: boolean): void { this.authRequired = on; }
  get botAuthRequired(): boolean { return this.authRequired; }

  /** Every bot call (or those to `conversationIds`) is taken only after `ms`: a slow Teams. 0 ends it. */
  answerAfter(ms: number, conversationIds?: readonly string[]): void {
    this.slow = ms > 0 ? { ms, ...(conversationIds ? { conversationIds: new Set(conversationIds) } : {}) } : undefined;
  }

  /** Every bot call (or those to `conversationIds`) is answered with this error; undefined ends it. */
  refuseWith(answer: { status: number; retryAfterSeconds?: number } | undefined, conversationIds?: readonly string[]): void {
    this.refusal = answer ? { ...answer, ...(conversationIds ? { conversationIds: new Set(conversationIds) } : {}) } : undefined;
  }

  /** Replaces some limits (e.g. `{enabled: false}` for a load test, or tighter windows). */
  setLimits(patch: Partial<ConnectorLimits>): void {
    this.limits = cloneLimits({ ...this.limits, ...patch });
  }

  /** Declares a conversation and its members, so `TeamsInfo.getMember` and friends answer. */
  defineConversation(def: ConversationDefinition): void {
    const existing = this.conversations.get(def.id);
    const state: ConversationState = {
      id: def.id,
      tenantId: def.tenantId,
      conversationType: def.conversationType ?? existing?.conversationType,
      name: def.name ?? existing?.name,
      members: mergeMembers(existing?.members ?? [], (def.members ?? []).map((m) => ({ tenantId: def.tenantId, userRole: 'user', ...m }))),
      teamId: def.teamId ?? existing?.teamId,
      defined: true,
      block: existing?.block,
    };
    this.conversations.set(def.id, state);
    if (def.teamId) {
      const team = this.teams.get(def.teamId) ?? { id: def.teamId, members: [], channels: new Map<string, string | undefined>() };
      team.name = def.teamName ?? team.name;
      team.aadGroupId = def.aadGroupId ?? team.aadGroupId;
      team.members = mergeMembers(team.members, state.members);
      const channelId = baseConversationId(def.id);
      team.channels.set(channelId, def.channelName ?? team.channels.get(channelId));
      this.teams.set(def.teamId, team);
    }
    this.changed();
  }

  /** The transcript of a conversation; exists (empty) before the bot posts, so tests can wait on it. */
  transcript(conversationId: string): Transcript {
    let t = this.transcripts.get(conversationId);
    if (!t) {
      t = new Transcript(conversationId);
      this.transcripts.set(conversationId, t);
    }
    return t;
  }

  listConversations(): ConversationSummary[] {
    const posted = [...this.transcripts.values()].filter((t) => t.seq > 0).map((t) => t.conversationId);
    const ids = new Set([...this.conversations.keys(), ...posted]);
    return [...ids].map((id) => {
      const c = this.conversations.get(id);
      const t = this.transcripts.get(id);
      return {
        id,
        tenantId: c?.tenantId,
        conversationType: c?.conversationType,
        teamId: c?.teamId,
        defined: c?.defined ?? false,
        blocked: c?.block,
        activities: t?.entries.length ?? 0,
        seq: t?.seq ?? 0,
      };
    });
  }

  /** The bot was uninstalled / blocked there: writes (and for roster codes, reads) answer 403. */
  uninstall(conversationId: string, code: BlockCode = 'MessageWritesBlocked'): void {
    this.state(conversationId).block = code;
    this.changed();
  }

  reinstall(conversationId: string): void {
    const c = this.conversations.get(conversationId);
    if (c) c.block = undefined;
    this.changed();
  }

  /** Resolves with the first truthy value `check` returns, re-checked after every connector change. */
  waitFor<T>(check: (connector: this) => T, options: WaitOptions = {}): Promise<Truthy<T>> {
    return waitForChange(this.emitter, () => check(this), options, (ms) => `connector: condition not met within ${ms} ms`);
  }

  reset(): void {
    this.conversations.clear();
    this.teams.clear();
    for (const t of this.transcripts.values()) t.clear();
    this.windows.clear();
    this.requests.length = 0;
    this.limits = cloneLimits(TEAMS_LIMITS);
    this.slow = undefined;
    this.refusal = undefined;
    this.changed();
  }

  // ---- routes --------------------------------------------------------------------------------

  private routes(): void {
    const r = this.router;
    // Every Bot Connector call goes through the auth gate (authenticated mode only).
    const authGate = (op: ConnectorRequestRecord['op'], handler: (req: SimRequest) => SimReply) => (req: SimRequest): SimReply => {
      if (this.authRequired) {
        const auth = this.auth(req);
        if (!auth.verified) {
          const conversationId = req.params.conversationId;
          return this.log(req, op, json(401, { message: 'Authorization has been denied for this request.' }), auth, conversationId, req.params.activityId);
        }
      }
      const refusal = this.refusal;
      if (refusal && (!refusal.conversationIds || refusal.conversationIds.has(req.params.conversationId ?? ''))) {
        const reply = connectorError(refusal.status, refusal.status === 429 ? 'Throttled' : 'ServiceError', 'Refused (the simulator was told to).',
          refusal.retryAfterSeconds !== undefined ? { 'retry-after': String(refusal.retryAfterSeconds) } : {});
        return this.log(req, op, reply, this.auth(req), req.params.conversationId, req.params.activityId);
      }
      return handler(req);
    };
    // A slow Teams (answerAfter): the call waits before the connector takes it, auth and limits included.
    const gate = (op: ConnectorRequestRecord['op'], handler: (req: SimRequest) => SimReply) => {
      const gated = authGate(op, handler);
      return (req: SimRequest): SimReply | Promise<SimReply> => {
        const slow = this.slow;
        const applies = slow && (!slow.conversationIds || slow.conversationIds.has(req.params.conversationId ?? ''));
        return applies ? sleep(slow.ms).then(() => gated(req)) : gated(req);
      };
    };
    r.post('/v3/conversations', gate('createConversation', (req) => this.createConversation(req)));
    r.post('/v3/conversations/:conversationId/activities', gate('send', (req) => this.postActivity(req, 'send')));
    r.post('/v3/conversations/:conversationId/activities/:activityId', gate('reply', (req) => this.postActivity(req, 'reply')));
    r.put('/v3/conversations/:conversationId/activities/:activityId', gate('update', (req) => this.updateActivity(req)));
    r.delete('/v3/conversations/:conversationId/activities/:activityId', gate('delete', (req) => this.deleteActivity(req)));
    r.get('/v3/conversations/:conversationId/members', gate('getMembers', (req) => this.getMembers(req)));
    r.get('/v3/conversations/:conversationId/pagedmembers', gate('getPagedMembers', (req) => this.getPagedMembers(req)));
    r.get('/v3/conversations/:conversationId/members/:memberId', gate('getMember', (req) => this.getMember(req)));
    r.get('/v3/teams/:teamId', gate('getTeam', (req) => this.getTeam(req)));
    r.get('/v3/teams/:teamId/conversations', gate('getChannels', (req) => this.getChannels(req)));

    r.post('/_sim/connector/auth', (req) => {
      const b = readJson<{ required?: unknown }>(req);
      if (typeof b?.required !== 'boolean') return json(400, { error: 'body must be {"required": true|false}' });
      this.requireBotAuth(b.required);
      return json(200, { required: b.required });
    });
    r.get('/_sim/connector/conversations', () => json(200, { conversations: this.listConversations() }));
    r.post('/_sim/connector/conversations', (req) => this.controlDefine(req));
    r.get('/_sim/connector/conversations/:conversationId/transcript', (req) => this.controlTranscript(req));
    r.post('/_sim/connector/conversations/:conversationId/uninstall', (req) => {
      const code = readJson<{ code?: BlockCode }>(req)?.code ?? 'MessageWritesBlocked';
      if (!BLOCK_CODES.includes(code)) return json(400, { error: `code must be one of ${BLOCK_CODES.join(', ')}` });
      this.uninstall(req.params.conversationId!, code);
      return json(200, { id: req.params.conversationId, blocked: code });
    });
    r.post('/_sim/connector/conversations/:conversationId/install', (req) => {
      this.reinstall(req.params.conversationId!);
      return json(200, { id: req.params.conversationId });
    });
    r.get('/_sim/connector/requests', () => json(200, { requests: this.requests }));
    r.post('/_sim/connector/limits', (req) => {
      const patch = readJson<Partial<ConnectorLimits>>(req);
      if (!patch || typeof patch !== 'object') return json(400, { error: 'body must be a JSON object' });
      this.setLimits(patch);
      return json(200, this.limits);
    });
  }

  private createConversation(req: SimRequest): SimReply {
    const auth = this.auth(req);
    const params = readJson<ConversationParametersWire>(req);
    const log = (reply: SimReply, conversationId?: string, activityId?: string): SimReply =>
      this.log(req, 'createConversation', reply, auth, conversationId, activityId);
    if (!params || typeof params !== 'object') return log(connectorError(400, 'BadSyntax', 'The request body is not valid JSON.'));
    const tenantId = params.tenantId ?? params.channelData?.tenant?.id;
    const channelId = params.channelData?.channel?.id ?? params.channelData?.teamsChannelId;

    if (channelId) {
      // A new thread in a channel: Teams posts the activity as its root message.
      if (!params.activity || typeof params.activity.type !== 'string') {
        return log(connectorError(400, 'BadArgument', 'An activity is required to start a conversation in a channel.'));
      }
      const limited = this.throttle(auth, tenantId ?? this.conversations.get(channelId)?.tenantId, channelId);
      if (limited) return log(limited, channelId);
      const blocked = this.blocked(channelId, true);
      if (blocked) return log(blocked, channelId);
      const activityId = this.nextActivityId();
      const threadId = `${channelId};messageid=${activityId}`;
      const channel = this.conversations.get(channelId);
      this.defineConversation({
        id: threadId, tenantId: tenantId ?? channel?.tenantId ?? '', conversationType: 'channel', teamId: channel?.teamId,
      });
      this.record(threadId, params.activity, activityId, 'createConversation', auth);
      return log(json(201, { id: threadId, activityId, serviceUrl: this.serviceUrl() }), threadId, activityId);
    }

    if (params.isGroup) return log(connectorError(400, 'BadArgument', 'Bots cannot create group chats; only 1:1 conversations and channel threads.'));
    const members = params.members ?? [];
    if (members.length !== 1 || typeof members[0]?.id !== 'string') {
      return log(connectorError(400, 'BadArgument', 'A 1:1 conversation needs exactly one member.'));
    }
    if (!tenantId) return log(connectorError(400, 'BadArgument', 'Tenant ID is required (channelData.tenant.id or tenantId).'));
    const wanted = members[0].id;
    const known = this.findMember(wanted);
    const existing = [...this.conversations.values()].find((c) =>
      c.conversationType === 'personal' && c.tenantId === tenantId && c.members.some((m) => m.id === wanted || m.aadObjectId === wanted));
    const botId = params.bot?.id ?? '';
    const id = existing?.id ?? personalConversationId(tenantId, known?.id ?? wanted, botId);
    const limited = this.throttle(auth, tenantId, params.activity ? id : undefined);
    if (limited) return log(limited, id);
    const blocked = this.blocked(id, true);
    if (blocked) return log(blocked, id);
    if (!existing) {
      this.defineConversation({ id, tenantId, conversationType: 'personal', members: [known ?? { id: wanted, name: members[0].name }] });
    }
    let activityId: string | undefined;
    if (params.activity && typeof params.activity.type === 'string') {
      activityId = this.nextActivityId();
      this.record(id, params.activity, activityId, 'createConversation', auth);
    }
    return log(json(201, { id, ...(activityId ? { activityId } : {}), serviceUrl: this.serviceUrl() }), id, activityId);
  }

  private postActivity(req: SimRequest, op: 'send' | 'reply'): SimReply {
    const auth = this.auth(req);
    const conversationId = req.params.conversationId!;
    const log = (reply: SimReply, activityId?: string): SimReply => this.log(req, op, reply, auth, conversationId, activityId);
    const parsed = this.parseActivity(req);
    if ('error' in parsed) return log(parsed.error);
    const activity = parsed.activity;
    const limited = this.throttle(auth, this.conversations.get(conversationId)?.tenantId, conversationId);
    if (limited) return log(limited);
    const blocked = this.blocked(conversationId, true);
    if (blocked) return log(blocked);
    const replyToId = op === 'reply' ? req.params.activityId : activity.replyToId;
    const id = this.nextActivityId();
    this.record(conversationId, { ...activity, ...(replyToId ? { replyToId } : {}) }, id, op, auth);
    return log(json(201, { id }), id);
  }

  private updateActivity(req: SimRequest): SimReply {
    const auth = this.auth(req);
    const conversationId = req.params.conversationId!;
    const activityId = req.params.activityId!;
    const log = (reply: SimReply): SimReply => this.log(req, 'update', reply, auth, conversationId, activityId);
    const parsed = this.parseActivity(req);
    if ('error' in parsed) return log(parsed.error);
    const activity = parsed.activity;
    const limited = this.throttle(auth, this.conversations.get(conversationId)?.tenantId, conversationId);
    if (limited) return log(limited);
    const blocked = this.blocked(conversationId, true);
    if (blocked) return log(blocked);
    const entry = this.transcripts.get(conversationId)?.get(activityId);
    if (!entry || entry.deleted) return log(connectorError(404, 'ActivityNotFound', `Activity ${activityId} was not found in the conversation.`));
    this.transcript(conversationId).update(entry, { ...activity, id: activityId }, this.isoNow());
    this.changed();
    return log(json(200, { id: activityId }));
  }

  private deleteActivity(req: SimRequest): SimReply {
    const auth = this.auth(req);
    const conversationId = req.params.conversationId!;
    const activityId = req.params.activityId!;
    const log = (reply: SimReply): SimReply => this.log(req, 'delete', reply, auth, conversationId, activityId);
    const limited = this.throttle(auth, this.conversations.get(conversationId)?.tenantId, conversationId);
    if (limited) return log(limited);
    const blocked = this.blocked(conversationId, true);
    if (blocked) return log(blocked);
    const entry = this.transcripts.get(conversationId)?.get(activityId);
    if (!entry || entry.deleted) return log(connectorError(404, 'ActivityNotFound', `Activity ${activityId} was not found in the conversation.`));
    this.transcript(conversationId).remove(entry, this.isoNow());
    this.changed();
    return log({ status: 200 });
  }

  private getMembers(req: SimRequest): SimReply {
    const auth = this.auth(req);
    const conversationId = req.params.conversationId!;
    const log = (reply: SimReply): SimReply => this.log(req, 'getMembers', reply, auth, conversationId);
    const roster = this.readRoster(auth, conversationId);
    if (!Array.isArray(roster)) return log(roster);
    return log(json(200, roster.map(memberWire)));
  }

  private getPagedMembers(req: SimRequest): SimReply {
    const auth = this.auth(req);
    const conversationId = req.params.conversationId!;
    const log = (reply: SimReply): SimReply => this.log(req, 'getPagedMembers', reply, auth, conversationId);
    const roster = this.readRoster(auth, conversationId);
    if (!Array.isArray(roster)) return log(roster);
    const pageSize = Math.min(Math.max(Number(req.url.searchParams.get('pageSize')) || 200, 1), 500);
    const start = Number(req.url.searchParams.get('continuationToken') ?? '0') || 0;
    const page = roster.slice(start, start + pageSize).map(memberWire);
    const next = start + pageSize < roster.length ? String(start + pageSize) : undefined;
    return log(json(200, { members: page, ...(next ? { continuationToken: next } : {}) }));
  }

  private getMember(req: SimRequest): SimReply {
    const auth = this.auth(req);
    const conversationId = req.params.conversationId!;
    const memberId = req.params.memberId!;
    const log = (reply: SimReply): SimReply => this.log(req, 'getMember', reply, auth, conversationId);
    const roster = this.readRoster(auth, conversationId);
    if (!Array.isArray(roster)) return log(roster);
    const key = memberId.toLowerCase();
    const member = roster.find((m) => m.id.toLowerCase() === key || m.aadObjectId?.toLowerCase() === key);
    if (!member) return log(connectorError(404, 'MemberNotFoundInConversation', 'The member is not part of the conversation.'));
    return log(json(200, memberWire(member)));
  }

  private getTeam(req: SimRequest): SimReply {
    const auth = this.auth(req);
    const teamId = req.params.teamId!;
    const log = (reply: SimReply): SimReply => this.log(req, 'getTeam', reply, auth, teamId);
    const limited = this.throttle(auth, undefined, undefined);
    if (limited) return log(limited);
    const team = this.teams.get(teamId);
    if (!team) return log(connectorError(404, 'ConversationNotFound', 'Conversation not found.'));
    return log(json(200, {
      id: team.id, name: team.name, aadGroupId: team.aadGroupId, type: 'standard',
      channelCount: team.channels.size, memberCount: team.members.length,
    }));
  }

  private getChannels(req: SimRequest): SimReply {
    const auth = this.auth(req);
    const teamId = req.params.teamId!;
    const log = (reply: SimReply): SimReply => this.log(req, 'getChannels', reply, auth, teamId);
    const limited = this.throttle(auth, undefined, undefined);
    if (limited) return log(limited);
    const team = this.teams.get(teamId);
    if (!team) return log(connectorError(404, 'ConversationNotFound', 'Conversation not found.'));
    return log(json(200, { conversations: [...team.channels].map(([id, name]) => ({ id, ...(name ? { name } : {}) })) }));
  }

  private controlDefine(req: SimRequest): SimReply {
    const def = readJson<ConversationDefinition>(req);
    if (!def || typeof def.id !== 'string' || typeof def.tenantId !== 'string') {
      return json(400, { error: 'body must be {"id": "<conversation id>", "tenantId": "<guid>", "members"?: [...]}' });
    }
    if (def.members !== undefined && (!Array.isArray(def.members) || def.members.some((m) => typeof m?.id !== 'string'))) {
      return json(400, { error: 'members must be an array of {"id": "29:…", …}' });
    }
    this.defineConversation(def);
    return json(201, { id: def.id });
  }

  private async controlTranscript(req: SimRequest): Promise<SimReply> {
    const t = this.transcript(req.params.conversationId!);
    const after = Number(req.url.searchParams.get('after') ?? '0') || 0;
    const waitMs = Math.min(Math.max(Number(req.url.searchParams.get('waitMs') ?? '0') || 0, 0), 30_000);
    if (waitMs > 0) await t.changedSince(after, waitMs);
    return json(200, { conversationId: t.conversationId, seq: t.seq, entries: t.entries, events: t.eventsAfter(after) });
  }

  // ---- helpers -------------------------------------------------------------------------------

  private parseActivity(req: SimRequest): { activity: WireActivity } | { error: SimReply } {
    if (req.body.length > this.limits.maxActivityBytes) {
      return { error: connectorError(413, 'MessageSizeTooBig', `Message size too large (${req.body.length} bytes; limit ${this.limits.maxActivityBytes}).`) };
    }
    const activity = readJson<WireActivity>(req);
    if (!activity || typeof activity !== 'object' || Array.isArray(activity)) return { error: connectorError(400, 'BadSyntax', 'The request body is not a valid activity.') };
    if (typeof activity.type !== 'string' || !activity.type) return { error: connectorError(400, 'BadArgument', 'Activity type is required.') };
    return { activity };
  }

  private readRoster(auth: RequestAuth, conversationId: string): ConversationMember[] | SimReply {
    const limited = this.throttle(auth, this.conversations.get(conversationId)?.tenantId, conversationId);
    if (limited) return limited;
    const blocked = this.blocked(conversationId, false);
    if (blocked) return blocked;
    const team = this.teams.get(conversationId);
    if (team) return team.members;
    const c = this.conversations.get(conversationId) ?? this.conversations.get(baseConversationId(conversationId));
    if (!c || !c.defined) return connectorError(404, 'ConversationNotFound', 'Conversation not found.');
    if (c.members.length === 0 && c.teamId) return this.teams.get(c.teamId)?.members ?? [];
    return c.members;
  }

  private findMember(idOrAad: string): ConversationMember | undefined {
    const key = idOrAad.toLowerCase();
    for (const c of this.conversations.values()) {
      const m = c.members.find((x) => x.id.toLowerCase() === key || x.aadObjectId?.toLowerCase() === key);
      if (m) return m;
    }
    return undefined;
  }

  private record(conversationId: string, activity: WireActivity, id: string, via: TranscriptEntry['via'], auth: RequestAuth): void {
    const stored: WireActivity = { ...activity, id };
    this.transcript(conversationId).add({
      id,
      type: stored.type,
      text: stored.text,
      attachments: stored.attachments ?? [],
      replyToId: stored.replyToId,
      timestamp: this.isoNow(),
      activity: stored,
      via,
      auth,
    });
    this.changed();
  }

  /** 429 when a per-thread or per-app window is full; otherwise counts the call and returns undefined. */
  private throttle(auth: RequestAuth, tenantId: string | undefined, conversationId: string | undefined): SimReply | undefined {
    if (!this.limits.enabled) return undefined;
    const now = this.ctx.now();
    const appKey = `app:${auth.appId ?? 'anonymous'}|${tenantId ?? ''}`;
    const threadKey = conversationId ? `thread:${auth.appId ?? 'anonymous'}|${conversationId}` : undefined;
    const globalKey = `global:${auth.appId ?? 'anonymous'}`;
    const wait = Math.max(
      this.windows.waitMs(appKey, this.limits.perApp, now),
      threadKey ? this.windows.waitMs(threadKey, this.limits.perThread, now) : 0,
      this.windows.waitMs(globalKey, this.limits.perAppGlobal, now),
    );
    if (wait > 0) {
      const seconds = Math.max(1, Math.ceil(wait / 1000));
      return connectorError(429, 'Throttled', `Too many requests. Retry after ${seconds} seconds.`, { 'retry-after': String(seconds) });
    }
    this.windows.record(appKey, now);
    if (threadKey) this.windows.record(threadKey, now);
    if (this.limits.perAppGlobal.length) this.windows.record(globalKey, now);
    return undefined;
  }

  private blocked(conversationId: string, write: boolean): SimReply | undefined {
    const code = this.conversations.get(conversationId)?.block ?? this.conversations.get(baseConversationId(conversationId))?.block;
    if (!code) return undefined;
    if (code === 'MessageWritesBlocked') {
      if (!write) return undefined;
      // Teams' documented body for this one is not the usual {error:{code}} envelope.
      return json(403, {
        errorCode: 209,
        message: JSON.stringify({ subCode: 'MessageWritesBlocked', details: 'Thread is blocked from message writes.', errorCode: null, errorSubCode: null }, null, 2).replace(/\n/g, '\r\n'),
      });
    }
    return connectorError(403, code, BLOCK_MESSAGES[code]);
  }

  private auth(req: SimRequest): RequestAuth {
    const token = bearer(req);
    if (!token) return { present: false, verified: false };
    const check = this.ctx.signer.verify(token, this.ctx.now());
    // Signed by the simulated Entra ID, in its lifetime, and for the Bot Framework audience.
    const verified = check.ok && check.claims.aud === AUDIENCE.botFramework;
    let appId: string | undefined;
    try {
      const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { appid?: unknown; azp?: unknown };
      const id = payload.appid ?? payload.azp;
      if (typeof id === 'string') appId = id;
    } catch {
      // Not a JWT: the call still counts as authenticated-looking but without an app id.
    }
    return { present: true, appId, verified };
  }

  private log(req: SimRequest, op: ConnectorRequestRecord['op'], reply: SimReply, auth: RequestAuth, conversationId?: string, activityId?: string): SimReply {
    const body = reply.body as { error?: { code?: unknown } } | undefined;
    const code = typeof body?.error?.code === 'string' ? body.error.code : reply.status === 403 && body && 'errorCode' in body ? 'MessageWritesBlocked' : undefined;
    const retryAfter = reply.headers?.['retry-after'];
    this.requests.push({
      at: this.isoNow(), method: req.method, op, conversationId, activityId, status: reply.status, auth,
      ...(code ? { code } : {}),
      ...(retryAfter ? { retryAfterSeconds: Number(retryAfter) } : {}),
    });
    this.changed();
    return reply;
  }

  private state(conversationId: string): ConversationState {
    let c = this.conversations.get(conversationId);
    if (!c) {
      c = { id: conversationId, members: [], defined: false };
      this.conversations.set(conversationId, c);
    }
    return c;
  }

  private nextActivityId(): string {
    // Teams activity ids are millisecond timestamps; keep them unique and increasing.
    this.lastActivityId = Math.max(this.ctx.now(), this.lastActivityId + 1);
    return String(this.lastActivityId);
  }

  private serviceUrl(): string { return `${this.ctx.baseUrl}/connector/`; }
  private isoNow(): string { return new Date(this.ctx.now()).toISOString(); }
  private changed(): void { this.emitter.emit('change'); }
}

interface ConversationParametersWire {
  isGroup?: boolean;
  bot?: WireAccount;
  members?: WireAccount[];
  topicName?: string;
  tenantId?: string;
  activity?: WireActivity;
  channelData?: { tenant?: { id?: string }; channel?: { id?: string }; teamsChannelId?: string; [key: string]: unknown };
}

const BLOCK_CODES: readonly BlockCode[] = ['MessageWritesBlocked', 'BotNotInConversationRoster', 'ConversationBlockedByUser', 'BotDisabledByAdmin'];

const BLOCK_MESSAGES: Record<Exclude<BlockCode, 'MessageWritesBlocked'>, string> = {
  BotNotInConversationRoster: 'The bot is not part of the conversation roster.',
  ConversationBlockedByUser: 'User blocked the conversation with the bot.',
  BotDisabledByAdmin: 'The tenant admin disabled this bot.',
};

/** Bot Connector error body: `{ error: { code, message } }` (no Graph-style innerError). */
export function connectorError(status: number, code: string, message: string, headers: Record<string, string> = {}): SimReply {
  return json(status, { error: { code, message } }, headers);
}

/** Teams keeps one 1:1 conversation per user and bot: the same id every time (`a:1…`). */
export function personalConversationId(tenantId: string, userId: string, botId: string): string {
  return `a:1${createHash('sha256').update(`${tenantId}|${userId}|${botId}`).digest('base64url').slice(0, 60)}`;
}

/** A channel thread `19:…;messageid=123` belongs to the channel `19:…`. */
function baseConversationId(id: string): string {
  const i = id.indexOf(';messageid=');
  return i === -1 ? id : id.slice(0, i);
}

function mergeMembers(a: ConversationMember[], b: ConversationMember[]): ConversationMember[] {
  const out = [...a];
  for (const m of b) {
    const i = out.findIndex((x) => x.id === m.id);
    if (i === -1) out.push(m);
    else out[i] = { ...out[i]!, ...m };
  }
  return out;
}

/** Teams returns the AAD object id both as `objectId` (v3 roster) and `aadObjectId`. */
function memberWire(m: ConversationMember): Record<string, string> {
  const out: Record<string, string> = { id: m.id };
  if (m.name !== undefined) out.name = m.name;
  if (m.aadObjectId !== undefined) { out.objectId = m.aadObjectId; out.aadObjectId = m.aadObjectId; }
  if (m.givenName !== undefined) out.givenName = m.givenName;
  if (m.surname !== undefined) out.surname = m.surname;
  if (m.email !== undefined) out.email = m.email;
  if (m.userPrincipalName !== undefined) out.userPrincipalName = m.userPrincipalName;
  if (m.tenantId !== undefined) out.tenantId = m.tenantId;
  out.userRole = m.userRole ?? 'user';
  return out;
}

function cloneLimits(l: ConnectorLimits): ConnectorLimits {
  return {
    enabled: l.enabled,
    perThread: l.perThread.map((w) => ({ ...w })),
    perApp: l.perApp.map((w) => ({ ...w })),
    perAppGlobal: l.perAppGlobal.map((w) => ({ ...w })),
    maxActivityBytes: l.maxActivityBytes,
  };
}

/** Bot Connector simulator, mounted at `/connector`: a bot's serviceUrl is `${baseUrl}/connector/`. */
export const connectorService: ServiceFactory = (ctx): SimService => {
  const connector = new BotConnector(ctx);
  connectors.set(ctx, connector);
  return { name: 'connector', prefix: '/connector', router: connector.router, reset: () => connector.reset() };
};

/**
 * Resolves with the first truthy value of `check`, evaluated now and on every 'change' the emitter
 * fires (no polling); rejects on timeout (default 5000 ms, message from `timeoutMessage`) or abort.
 */
function waitForChange<T>(emitter: EventEmitter, check: () => T, options: WaitOptions, timeoutMessage: (ms: number) => string): Promise<Truthy<T>> {
  const timeoutMs = options.timeoutMs ?? 5000;
  return new Promise<Truthy<T>>((resolve, reject) => {
    const evaluate = (): boolean => {
      let value: T;
      try {
        value = check();
      } catch (err) {
        finish();
        reject(err);
        return true;
      }
      if (!value) return false;
      finish();
      resolve(value as Truthy<T>);
      return true;
    };
    const onAbort = (): void => { finish(); reject(options.signal?.reason ?? new Error('aborted')); };
    const timer = setTimeout(() => { finish(); reject(new Error(timeoutMessage(timeoutMs))); }, timeoutMs);
    const finish = (): void => {
      clearTimeout(timer);
      emitter.off('change', evaluate);
      options.signal?.removeEventListener('abort', onAbort);
    };
    if (options.signal?.aborted) { onAbort(); return; }
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (evaluate()) return;
    emitter.on('change', evaluate);
  });
}
