import { createHash, randomBytes, randomUUID } from 'node:crypto';
import {
  personalConversationId,
  type ConversationDefinition,
  type ConversationMember,
  type ConversationType,
  type WireAccount,
  type WireActivity,
} from '../simulator/services/connector';

/**
 * Activities shaped the way Teams sends them to a bot (see the Teams docs' JSON samples for
 * conversationUpdate, installationUpdate, message, Action.Submit and `adaptiveCard/action`).
 * Every builder takes a {@link TeamsConversation}: who talks to which bot, where.
 */

export interface TeamsUser {
  /** `29:…` — the Teams user id the bot sees (per bot). */
  id: string;
  aadObjectId: string;
  name: string;
  userPrincipalName?: string;
  email?: string;
  /** Teams' roster role: `guest` for a B2B guest of the tenant. */
  userRole?: 'user' | 'guest';
  givenName?: string;
  surname?: string;
}

export interface TeamsBot {
  /** Microsoft App ID; the bot's Teams id is `28:<appId>`. */
  appId: string;
  name: string;
}

export interface TeamsConversation {
  /** Where the bot replies: the simulator's connector (`${sim.baseUrl}/connector/`). */
  serviceUrl: string;
  tenantId: string;
  bot: TeamsBot;
  user: TeamsUser;
  /** Other people in a group chat or team (the roster TeamsInfo sees). */
  others: TeamsUser[];
  scope: ConversationType;
  /** `conversation.id` of messages: the 1:1 chat, the group chat, or a channel thread `19:…;messageid=…`. */
  conversationId: string;
  team?: { id: string; name: string; aadGroupId: string };
  channel?: { id: string; name: string };
  chatName?: string;
  locale: string;
  timezone: string;
}

export interface TeamsConversationOptions {
  serviceUrl: string;
  tenantId: string;
  scope?: ConversationType;
  bot?: Partial<TeamsBot>;
  user?: Partial<TeamsUser>;
  others?: Array<Partial<TeamsUser>>;
  conversationId?: string;
  team?: Partial<{ id: string; name: string; aadGroupId: string }>;
  channel?: Partial<{ id: string; name: string }>;
  chatName?: string;
  /** Channel scope: the root message of the thread messages belong to. */
  threadRootId?: string;
  locale?: string;
  timezone?: string;
}

/** An activity as it goes on the wire to `/api/messages` (timestamps are strings). */
export interface TeamsActivity extends WireActivity {
  id: string;
  timestamp: string;
  localTimestamp: string;
  localTimezone: string;
  channelId: 'msteams';
  serviceUrl: string;
  from: WireAccount;
  recipient: WireAccount;
  conversation: { id: string; conversationType: ConversationType; tenantId: string; isGroup?: boolean; name?: string };
  channelData: Record<string, unknown>;
  entities: Array<Record<string, unknown>>;
  locale: string;
}

export const DEFAULT_BOT: TeamsBot = Object.freeze({ appId: '00000000-0000-0000-0000-0000000000b0', name: 'Partner Onboarding' });

/** The serviceUrl a bot gets in activities from the simulated Teams. */
export function connectorServiceUrl(simulatorBaseUrl: string): string {
  return `${simulatorBaseUrl.replace(/\/+$/, '')}/connector/`;
}

/** A Teams user; the `29:` id is derived from the AAD object id, so it is stable across clients. */
export function teamsUser(input: Partial<TeamsUser> = {}): TeamsUser {
  const aadObjectId = input.aadObjectId ?? randomUUID();
  return {
    id: input.id ?? `29:1${hash(`user|${aadObjectId}`).slice(0, 56)}`,
    aadObjectId,
    name: input.name ?? 'Test User',
    ...(input.userPrincipalName !== undefined ? { userPrincipalName: input.userPrincipalName } : {}),
    ...(input.email !== undefined ? { email: input.email } : {}),
    ...(input.userRole !== undefined ? { userRole: input.userRole } : {}),
    ...(input.givenName !== undefined ? { givenName: input.givenName } : {}),
    ...(input.surname !== undefined ? { surname: input.surname } : {}),
  };
}

export function teamsConversation(o: TeamsConversationOptions): TeamsConversation {
  const scope = o.scope ?? 'personal';
  const bot: TeamsBot = { ...DEFAULT_BOT, ...o.bot };
  const user = teamsUser(o.user);
  const others = (o.others ?? []).map((u) => teamsUser(u));
  const base = { serviceUrl: o.serviceUrl, tenantId: o.tenantId, bot, user, others, scope, locale: o.locale ?? 'en-US', timezone: o.timezone ?? 'Etc/UTC' };
  if (scope === 'personal') {
    return { ...base, conversationId: o.conversationId ?? personalConversationId(o.tenantId, user.id, `28:${bot.appId}`) };
  }
  if (scope === 'groupChat') {
    return { ...base, conversationId: o.conversationId ?? `19:${randomBytes(16).toString('hex')}@thread.v2`, chatName: o.chatName };
  }
  const teamId = o.team?.id ?? `19:${randomBytes(16).toString('hex')}@thread.tacv2`;
  const team = { id: teamId, name: o.team?.name ?? 'Partner Support', aadGroupId: o.team?.aadGroupId ?? randomUUID() };
  // A team's General channel has the team's id.
  const channel = { id: o.channel?.id ?? teamId, name: o.channel?.name ?? 'General' };
  const root = o.threadRootId ?? nextMessageId();
  return { ...base, team, channel, conversationId: o.conversationId ?? `${channel.id};messageid=${root}` };
}

/** What the simulator must know so TeamsInfo.getMember / getMembers answer for this conversation. */
export function conversationDefinitions(conv: TeamsConversation): ConversationDefinition[] {
  const members = [conv.user, ...conv.others].map((u) => memberOf(u, conv.tenantId));
  if (conv.scope !== 'channel' || !conv.team || !conv.channel) {
    return [{ id: conv.conversationId, tenantId: conv.tenantId, conversationType: conv.scope, name: conv.chatName, members }];
  }
  const common = {
    tenantId: conv.tenantId, conversationType: 'channel' as const, members,
    teamId: conv.team.id, teamName: conv.team.name, aadGroupId: conv.team.aadGroupId, channelName: conv.channel.name,
  };
  const defs: ConversationDefinition[] = [{ id: conv.channel.id, ...common }];
  if (conv.conversationId !== conv.channel.id) defs.push({ id: conv.conversationId, ...common });
  return defs;
}

export function memberOf(u: TeamsUser, tenantId: string): ConversationMember {
  return {
    id: u.id, name: u.name, aadObjectId: u.aadObjectId, tenantId, userRole: u.userRole ?? 'user',
    ...(u.userPrincipalName !== undefined ? { userPrincipalName: u.userPrincipalName } : {}),
    ...(u.email ?? u.userPrincipalName ? { email: u.email ?? u.userPrincipalName } : {}),
    ...(u.givenName !== undefined ? { givenName: u.givenName } : {}),
    ...(u.surname !== undefined ? { surname: u.surname } : {}),
  };
}

export interface MessageOptions {
  /** Group chats and channels reach a bot only through an @mention; default true there. */
  mention?: boolean;
  from?: TeamsUser;
  id?: string;
}

/** A user typing `text` to the bot. */
export function messageActivity(conv: TeamsConversation, text: string, options: MessageOptions = {}): TeamsActivity {
  const mention = options.mention ?? conv.scope !== 'personal';
  const at = `<at>${conv.bot.name}</at>`;
  const fullText = mention ? `${at} ${text}` : text;
  const activity = envelope(conv, 'message', conv.conversationId, options.from, options.id ?? nextMessageId());
  activity.text = fullText;
  activity.textFormat = 'plain';
  activity.attachments = [{ contentType: 'text/html', content: `<p>${escapeHtml(fullText).replace(escapeHtml(at), at)}</p>` }];
  if (mention) {
    activity.entities = [
      { type: 'mention', text: at, mentioned: { id: `28:${conv.bot.appId}`, name: conv.bot.name } },
      ...activity.entities,
    ];
  }
  return activity;
}

/** `Action.Submit` on a card the bot sent: a message with `value` (card data merged with inputs) and no text. */
export function submitActivity(conv: TeamsConversation, value: Record<string, unknown>, options: { replyToId: string; from?: TeamsUser }): TeamsActivity {
  const activity = envelope(conv, 'message', conv.conversationId, options.from, nextMessageId());
  activity.value = value;
  activity.textFormat = 'plain';
  activity.replyToId = options.replyToId;
  activity.channelData = { ...activity.channelData, source: { name: 'message' }, legacy: { replyToId: options.replyToId } };
  return activity;
}

export interface ExecuteAction {
  verb: string;
  data?: Record<string, unknown>;
  id?: string;
}

/** `Action.Execute` (Universal Actions): an `adaptiveCard/action` invoke; the bot answers in the HTTP response. */
export function executeInvoke(
  conv: TeamsConversation,
  action: ExecuteAction,
  options: { replyToId?: string; trigger?: 'manual' | 'automatic'; from?: TeamsUser } = {},
): TeamsActivity {
  const activity = envelope(conv, 'invoke', conv.conversationId, options.from, `f:${randomUUID()}`);
  activity.name = 'adaptiveCard/action';
  activity.value = {
    action: { type: 'Action.Execute', ...(action.id ? { id: action.id } : {}), verb: action.verb, data: action.data ?? {} },
    trigger: options.trigger ?? 'manual',
  };
  if (options.replyToId) {
    activity.replyToId = options.replyToId;
    activity.channelData = { ...activity.channelData, source: { name: 'message' }, legacy: { replyToId: options.replyToId } };
  }
  return activity;
}

/** `installationUpdate` — Teams sends it when the app is added (`add`) or removed (`remove`). */
export function installationUpdateActivity(conv: TeamsConversation, action: 'add' | 'remove' | 'add-upgrade' | 'remove-upgrade' = 'add'): TeamsActivity {
  const activity = envelope(conv, 'installationUpdate', installConversationId(conv), undefined, `f:${randomUUID()}`);
  activity.action = action;
  activity.channelData = { ...activity.channelData, ...installChannelData(conv), source: { name: 'message' } };
  return activity;
}

/**
 * `conversationUpdate` with the bot in `membersAdded`: the install event. 1:1 chats list the bot and
 * the user; group chats and teams list the bot (teams with `eventType: teamMemberAdded`).
 */
export function botAddedActivity(conv: TeamsConversation): TeamsActivity {
  const activity = envelope(conv, 'conversationUpdate', installConversationId(conv), undefined, `f:${randomUUID()}`);
  const bot = { id: `28:${conv.bot.appId}` };
  activity.membersAdded = conv.scope === 'personal' ? [bot, { id: conv.user.id, aadObjectId: conv.user.aadObjectId }] : [bot];
  activity.channelData = { ...activity.channelData, ...installChannelData(conv) };
  if (conv.scope === 'channel') activity.channelData.eventType = 'teamMemberAdded';
  return activity;
}

/** `conversationUpdate` with users (not the bot) joining a group chat or team. */
export function membersAddedActivity(conv: TeamsConversation, users: TeamsUser[]): TeamsActivity {
  const activity = envelope(conv, 'conversationUpdate', installConversationId(conv), undefined, `f:${randomUUID()}`);
  activity.membersAdded = users.map((u) => ({ id: u.id, aadObjectId: u.aadObjectId }));
  if (conv.scope === 'channel') activity.channelData = { ...activity.channelData, ...installChannelData(conv), eventType: 'teamMemberAdded' };
  return activity;
}

/**
 * A team event Teams sends as `conversationUpdate` with `channelData.eventType`: the team deleted
 * (`teamDeleted`), a channel deleted (`channelDeleted`, naming that channel), the bot removed
 * (`teamMemberRemoved`, with the bot in `membersRemoved`).
 */
export function teamEventActivity(conv: TeamsConversation, eventType: 'teamDeleted' | 'channelDeleted' | 'teamMemberRemoved', channel?: { id: string; name: string }): TeamsActivity {
  if (conv.scope !== 'channel' || !conv.team) throw new Error('team events happen in a team');
  const activity = envelope(conv, 'conversationUpdate', installConversationId(conv), undefined, `f:${randomUUID()}`);
  activity.channelData = {
    ...activity.channelData, ...installChannelData(conv), eventType, team: { id: conv.team.id, name: conv.team.name },
    ...(eventType === 'channelDeleted' && channel ? { channel } : {}),
  };
  if (eventType === 'teamMemberRemoved') activity.membersRemoved = [{ id: `28:${conv.bot.appId}` }];
  return activity;
}

/** The card contents of an activity the bot sent (Adaptive Cards only). */
export function adaptiveCardsOf(activity: { attachments?: Array<{ contentType: string; content?: unknown }> }): Array<Record<string, unknown>> {
  return (activity.attachments ?? [])
    .filter((a) => a.contentType === 'application/vnd.microsoft.card.adaptive' && a.content && typeof a.content === 'object')
    .map((a) => a.content as Record<string, unknown>);
}

// ---------------------------------------------------------------------------------------------

function envelope(conv: TeamsConversation, type: string, conversationId: string, from: TeamsUser | undefined, id: string): TeamsActivity {
  const who = from ?? conv.user;
  const now = new Date().toISOString();
  const conversation: TeamsActivity['conversation'] = {
    ...(conv.scope !== 'personal' ? { isGroup: true } : {}),
    conversationType: conv.scope,
    tenantId: conv.tenantId,
    id: conversationId,
    ...(conv.scope === 'groupChat' && conv.chatName ? { name: conv.chatName } : {}),
    ...(conv.scope === 'channel' && conv.channel ? { name: conv.channel.name } : {}),
  };
  const channelData: Record<string, unknown> = conv.scope === 'channel' && conv.team && conv.channel
    ? { teamsChannelId: conv.channel.id, teamsTeamId: conv.team.id, channel: { id: conv.channel.id }, team: { id: conv.team.id }, tenant: { id: conv.tenantId } }
    : { tenant: { id: conv.tenantId } };
  return {
    type,
    id,
    timestamp: now,
    localTimestamp: now.replace('Z', '+00:00'),
    localTimezone: conv.timezone,
    serviceUrl: conv.serviceUrl,
    channelId: 'msteams',
    from: { id: who.id, name: who.name, aadObjectId: who.aadObjectId },
    conversation,
    recipient: { id: `28:${conv.bot.appId}`, name: conv.bot.name },
    entities: [{ type: 'clientInfo', locale: conv.locale, country: conv.locale.split('-')[1] ?? 'US', platform: 'Web', timezone: conv.timezone }],
    channelData,
    locale: conv.locale,
  };
}

/** Install events in a team arrive on the channel itself, not on a thread. */
function installConversationId(conv: TeamsConversation): string {
  return conv.scope === 'channel' && conv.channel ? conv.channel.id : conv.conversationId;
}

function installChannelData(conv: TeamsConversation): Record<string, unknown> {
  if (conv.scope !== 'channel' || !conv.team || !conv.channel) return { tenant: { id: conv.tenantId } };
  return {
    settings: { selectedChannel: { id: conv.channel.id } },
    channel: { id: conv.channel.id },
    team: { aadGroupId: conv.team.aadGroupId, name: conv.team.name, id: conv.team.id },
    tenant: { id: conv.tenantId },
  };
}

let lastMessageId = 0;

/** Teams message ids are millisecond timestamps; unique and increasing within this process. */
export function nextMessageId(): string {
  lastMessageId = Math.max(Date.now(), lastMessageId + 1);
  return String(lastMessageId);
}

function hash(s: string): string {
  return createHash('sha256').update(s).digest('base64url');
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
