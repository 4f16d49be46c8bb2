import type { Activity } from 'botbuilder';
import type { Logger } from '../logger';
import type { Notice, NoticeRepository } from '../store/notices';
import type { Notifier } from '../teams/notifier';

export interface NoticeDispatcherOptions {
  notices: NoticeRepository;
  notifier: Notifier;
  /** The notice as a chat activity. */
  render(notice: Notice, now: Date): Partial<Activity>;
  logger: Logger;
  now?: () => Date;
  /** Notices claimed per page: no more held at once. */
  pageSize?: number;
}

const LEASE_MS = 2 * 60_000;
const MAX_ATTEMPTS = 8;

/**
 * Sends the notices outbox: pending notices claimed a page at a time (row leases, `SKIP LOCKED`,
 * so several instances drain it without sending one twice), each sent once; a conversation the
 * connector refuses for good (403, 404) makes them dead, and throttling or a failed send makes
 * them wait and go again.
 */
export class NoticeDispatcher {
  constructor(private readonly o: NoticeDispatcherOptions) {}

  /** Sends what is due, a page at a time, until nothing is due. Returns how many were sent. */
  async drain(): Promise<number> {
    let sent = 0;
    for (;;) {
      const page = await this.o.notices.claim(this.o.pageSize ?? 50, LEASE_MS);
      if (page.length === 0) return sent;
      for (const n of page) {
        const now = this.o.now?.() ?? new Date();
        // The notifier has already waited out throttling (Retry-After) and retried 412/5xx.
        const outcome = await this.o.notifier.deliver(n.recipientTenantId ?? n.tenantId, n.conversationId, this.o.render(n, now));
        if (outcome === 'sent') {
          await this.o.notices.sent(n.id);
          sent += 1;
        } else if (outcome === 'gone') {
          await this.o.notices.dead(n.id, 'the conversation is gone (uninstalled, 403 or 404)');
        } else if (n.attempts >= MAX_ATTEMPTS) {
          await this.o.notices.dead(n.id, `not delivered after ${n.attempts} attempts`);
        } else {
          await this.o.notices.later(n.id, new Date(Date.now() + 60_000 * 2 ** Math.min(n.attempts, 6)), 'not delivered');
        }
      }
    }
  }
}
