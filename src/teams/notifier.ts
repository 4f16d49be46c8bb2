import type { Activity, CloudAdapter } from 'botbuilder';
import type { Logger } from '../logger';
import type { ConversationReferenceRepository } from '../store/conversation-references';

/** Speaks first in a conversation the bot is in (proactive message). */
export interface Notifier {
  /** True when sent; false when the conversation is unknown, uninstalled or the send failed. */
  send(tenantId: string, conversationId: string, activity: Partial<Activity>): Promise<boolean>;
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
    const stored = await this.references.get(tenantId, conversationId);
    if (!stored?.installed) return false;
    try {
      await this.adapter.continueConversationAsync(this.botAppId, stored.reference, async (context) => {
        await context.sendActivity(activity);
      });
      return true;
    } catch (err) {
      this.logger.warn({ err, tenantId }, 'proactive message failed');
      return false;
    }
  }
}
