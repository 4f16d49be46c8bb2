import type { Activity, CloudAdapter, ConversationParameters, TurnContext } from 'botbuilder';
import type { Logger } from '../logger';
import type { ConversationReferenceRepository, StoredConversation } from '../store/conversation-references';

/** Speaks first in a conversation the bot is in (proactive message). */
export interface Notifier {
  /** True when sent; false when the conversation is unknown, uninstalled or the send failed. */
  send(tenantId: string, conversationId: string, activity: Partial<Activity>): Promise<boolean>;
  /** Replaces a message the bot posted (a progress card); the id of what is shown, or undefined when it could not. */
  update(tenantId: string, conversationId: string, activityId: string, activity: Partial<Activity>): Promise<boolean>;
  /** Posts and returns the new message's id (a progress card to update later). */
  post(tenantId: string, conversationId: string, activity: Partial<Activity>): Promise<string | undefined>;
  /** Sends, saying whether it arrived, or the conversation is gone for good (uninstalled, 403, 404), or it failed this time. */
  deliver(tenantId: string, conversationId: string, activity: Partial<Activity>): Promise<Delivery>;
  /**
   * Starts a new thread in a team channel the bot knows (`channelId`: its stored conversation),
   * with `activity` as its root message; the thread is remembered for replies and updates.
   */
  startThread(tenantId: string, channelId: string, activity: Partial<Activity>): Promise<{ threadId: string; activityId: string } | undefined>;
  /**
   * Runs `logic` as a turn of the stored conversation (something finished outside a turn: the
   * journey carries on there). The turn runs once (it may have said something before it failed);
   * each of its sends and updates is tried again within the cap, as an in-turn reply is.
   */
  turn(tenantId: string, conversationId: string, logic: (context: TurnContext) => Promise<void>): Promise<Delivery>;
}

export type Delivery = 'sent' | 'gone' | 'failed';

/** How a proactive turn is opened from a stored conversation (by default: continued). */
type Opener = (stored: StoredConversation, logic: (context: TurnContext) => Promise<void>) => Promise<void>;

const RETRY_STATUSES = new Set([412, 429, 502, 503, 504]);
const MAX_ATTEMPTS = 4;
const MAX_WAIT_MS = 15_000;

/** A connector error's Retry-After (seconds), when it carries one. */
function retryAfterMs(err: unknown): number | undefined {
  const headers = (err as { response?: { headers?: { get?(name: string): string | null | undefined } } }).response?.headers;
  return parseRetryAfterMs(headers?.get?.('retry-after'));
}

/** A Retry-After header in whole seconds, in ms. */
export function parseRetryAfterMs(v: string | null | undefined): number | undefined {
  return v && /^\d+$/.test(v.trim()) ? Number(v) * 1000 : undefined;
}

/**
 * The one retry rule for Bot Connector calls (proactive here, in-turn in bot/adapter.ts): how long
 * to wait before try `attempt + 1`, or undefined to give up. A Retry-After over the cap gives up
 * at once rather than hold the send (and its lease or turn) that long.
 */
export function connectorRetryWaitMs(status: number | undefined, retryAfter: number | undefined, attempt: number, maxAttempts = MAX_ATTEMPTS): number | undefined {
  if (status === undefined || !RETRY_STATUSES.has(status) || attempt >= maxAttempts) return undefined;
  const wait = retryAfter ?? 1000 * 2 ** (attempt - 1);
  return wait > MAX_WAIT_MS ? undefined : wait;
}

/**
 * A proactive turn's connector clients retry nothing (bot/adapter.ts): its sends and updates get
 * the capped rule here, call by call, so a throttled card is sent once, after its Retry-After,
 * instead of failing the whole turn. botbuilder runs the send again when a handler calls `next` again.
 */
function retryWithinCap(context: TurnContext): void {
  const retried = async <T>(next: () => Promise<T>): Promise<T> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await next();
      } catch (err) {
        const wait = connectorRetryWaitMs((err as { statusCode?: number }).statusCode, retryAfterMs(err), attempt);
        if (wait === undefined) throw err;
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  };
  context.onSendActivities((_context, _activities, next) => retried(next));
  context.onUpdateActivity((_context, _activity, next) => retried(next));
}

/** Proactive messages through the Bot Framework, to conversations recorded in the database. */
export class ConversationNotifier implements Notifier {
  constructor(
    private readonly adapter: CloudAdapter,
    private readonly botAppId: string,
    private readonly references: ConversationReferenceRepository,
    private readonly logger: Logger,
  ) {}

  async send(tenantId: string, conversationId: string, activity: Partial<Activity>): Promise<boolean> {
    return (await this.deliver(tenantId, conversationId, activity)) === 'sent';
  }

  async post(tenantId: string, conversationId: string, activity: Partial<Activity>): Promise<string | undefined> {
    let id: string | undefined;
    const outcome = await this.proactive(tenantId, conversationId, 'proactive message failed', async (context) => {
      id = (await context.sendActivity(activity))?.id ?? '';
    });
    return outcome === 'sent' ? id : undefined;
  }

  async deliver(tenantId: string, conversationId: string, activity: Partial<Activity>): Promise<Delivery> {
    return this.proactive(tenantId, conversationId, 'proactive message failed', async (context) => {
      await context.sendActivity(activity);
    });
  }

  async startThread(tenantId: string, channelId: string, activity: Partial<Activity>): Promise<{ threadId: string; activityId: string } | undefined> {
    let started: { threadId: string; activityId: string } | undefined;
    let channelTeam: string | undefined;
    // Teams: a new conversation with isGroup and channelData.channel.id posts a thread's root
    // message in that channel; the answer names the thread and the message.
    const open: Opener = (stored, logic) => {
      channelTeam = stored.teamId;
      return this.adapter.createConversationAsync(this.botAppId, 'msteams', stored.reference.serviceUrl ?? '', null as unknown as string, {
        isGroup: true, bot: stored.reference.bot, tenantId, channelData: { channel: { id: channelId }, tenant: { id: tenantId } },
        activity: { type: 'message', ...activity } as Activity,
      } as ConversationParameters, logic);
    };
    const outcome = await this.proactive(tenantId, channelId, 'starting a channel thread failed', async (context) => {
      const threadId = context.activity.conversation?.id;
      // botbuilder's CloudAdapter drops the answer's activityId (the turn's activity.id is the
      // conversation id); a channel thread's id names its root message: `<channel>;messageid=<id>`.
      const activityId = /;messageid=([^;]+)$/.exec(threadId ?? '')?.[1];
      if (!threadId || !activityId) throw new Error('the connector answered without the thread or message id');
      await this.references.save(tenantId, {
        bot: context.activity.recipient, channelId: 'msteams', serviceUrl: context.activity.serviceUrl,
        conversation: { id: threadId, isGroup: true, conversationType: 'channel', tenantId, name: '' },
      }, channelTeam);
      started = { threadId, activityId };
    }, open);
    return outcome === 'sent' ? started : undefined;
  }

  async turn(tenantId: string, conversationId: string, logic: (context: TurnContext) => Promise<void>): Promise<Delivery> {
    return this.proactive(tenantId, conversationId, 'proactive turn failed', async (context) => {
      retryWithinCap(context);
      await logic(context);
    }, undefined, 1);
  }

  async update(tenantId: string, conversationId: string, activityId: string, activity: Partial<Activity>): Promise<boolean> {
    return (await this.proactive(tenantId, conversationId, 'proactive update failed', async (context) => {
      await context.updateActivity({ ...activity, id: activityId, type: 'message' });
    })) === 'sent';
  }

  /**
   * Runs `work` in a proactive turn of the stored conversation. A failure is caught inside the
   * turn: botbuilder hands errors of a proactive turn to the adapter's onTurnError (which logs
   * them) instead of rejecting, so without this a refused send (403, 404, 429) looked delivered.
   */
  private async proactive(tenantId: string, conversationId: string, what: string, work: (context: TurnContext) => Promise<void>, open?: Opener, maxAttempts = MAX_ATTEMPTS): Promise<Delivery> {
    const stored = await this.references.get(tenantId, conversationId);
    if (!stored?.installed) return 'gone';
    let failure: unknown;
    for (let attempt = 1; ; attempt++) {
      failure = undefined;
      try {
        const logic = async (context: TurnContext) => {
          try {
            await work(context);
          } catch (err) {
            failure = err;
          }
        };
        if (open) await open(stored, logic);
        else await this.adapter.continueConversationAsync(this.botAppId, stored.reference, logic);
      } catch (err) {
        failure = err;
      }
      if (failure === undefined) return 'sent';
      // Teams throttles per thread and per app: 429 with Retry-After; 412, 502, 503 and 504 are
      // worth another try too. https://learn.microsoft.com/en-us/microsoftteams/platform/bots/how-to/rate-limit
      const wait = connectorRetryWaitMs((failure as { statusCode?: number }).statusCode, retryAfterMs(failure), attempt, maxAttempts);
      if (wait === undefined) break;
      await new Promise((r) => setTimeout(r, wait));
    }
    const status = (failure as { statusCode?: number }).statusCode;
    this.logger.warn({ err: failure, tenantId, status }, what);
    // 403 (with or without MessageWritesBlocked: removed, blocked) or 404 (gone): stop using it.
    if (status === 403 || status === 404) {
      await this.references.markDead(tenantId, conversationId, `connector answered ${status}`);
      return 'gone';
    }
    return 'failed';
  }
}
