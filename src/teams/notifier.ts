import type { Activity, CloudAdapter } from 'botbuilder';
import type { Logger } from '../logger';
import type { ConversationReferenceRepository } from '../store/conversation-references';

/** Speaks first in a conversation the bot is in (proactive message). */
export interface Notifier {
  /** True when sent; false when the conversation is unknown, uninstalled or the send failed. */
  send(tenantId: string, conversationId: string, activity: Partial<Activity>): Promise<boolean>;
  /** Replaces a message the bot posted (a progress card); the id of what is shown, or undefined when it could not. */
  update(tenantId: string, conversationId: string, activityId: string, activity: Partial<Activity>): Promise<boolean>;
  /** Posts and returns the new message's id (a progress card to update later). */
  post(tenantId: string, conversationId: string, activity: Partial<Activity>): Promise<string | undefined>;
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
    return (await this.post(tenantId, conversationId, activity)) !== undefined;
  }

  async post(tenantId: string, conversationId: string, activity: Partial<Activity>): Promise<string | undefined> {
    const stored = await this.references.get(tenantId, conversationId);
    if (!stored?.installed) return undefined;
    try {
      let id: string | undefined;
      await this.adapter.continueConversationAsync(this.botAppId, stored.reference, async (context) => {
        id = (await context.sendActivity(activity))?.id ?? '';
      });
      return id;
    } catch (err) {
      this.logger.warn({ err, tenantId }, 'proactive message failed');
      return undefined;
    }
  }

  async update(tenantId: string, conversationId: string, activityId: string, activity: Partial<Activity>): Promise<boolean> {
    const stored = await this.references.get(tenantId, conversationId);
    if (!stored?.installed) return false;
    try {
      await this.adapter.continueConversationAsync(this.botAppId, stored.reference, async (context) => {
        await context.updateActivity({ ...activity, id: activityId, type: 'message' });
      });
      return true;
    } catch (err) {
      this.logger.warn({ err, tenantId }, 'proactive update failed');
      return false;
    }
  }
}
