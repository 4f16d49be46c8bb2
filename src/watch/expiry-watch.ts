import type { Activity } from 'botbuilder';
import type { Partner } from '../domain/partner';
import { ownerOf } from '../domain/partner';
import type { Logger } from '../logger';
import type { Notice, NoticeRepository } from '../store/notices';
import type { PartnerRepository } from '../store/partners';
import type { Notifier } from '../teams/notifier';
import { daysLeft, expiringItems, thresholdFor } from './expiry';

export interface ExpiryWatchOptions {
  partners: PartnerRepository;
  notices: NoticeRepository;
  notifier: Notifier;
  /** The Entra app secret's end, read fresh from Graph (`passwordCredentials`); undefined when it could not be read. */
  appSecretEnd(partner: Partner): Promise<Date | undefined>;
  /** The notice as a chat activity: the card with the button that starts the fix. */
  render(notice: Notice, now: Date): Partial<Activity>;
  logger: Logger;
  now?: () => Date;
  /** Partners read per page, and notices claimed per page: no more held at once. */
  pageSize?: number;
}

const LEASE_MS = 2 * 60_000;
const MAX_ATTEMPTS = 8;

/**
 * The proactive warnings before something ends. The scan walks the connected partners a page at a
 * time and records, for each item in a threshold now, one notice per recipient: the unique key
 * makes a second scan (or a second instance) record nothing new. The drain sends pending notices
 * from the outbox, a claimed page at a time: sent once; a conversation the connector refuses for
 * good (403, 404) makes them dead, and throttling or a failed send makes them wait and go again.
 */
export class ExpiryWatch {
  constructor(private readonly o: ExpiryWatchOptions) {}

  async scan(): Promise<{ partners: number; recorded: number }> {
    const now = this.o.now?.() ?? new Date();
    const size = this.o.pageSize ?? 200;
    let after = '';
    let partners = 0;
    let recorded = 0;
    for (;;) {
      const page = await this.o.partners.connectedPage(after, size);
      if (page.length === 0) break;
      for (const partner of page) {
        partners += 1;
        recorded += await this.scanPartner(partner, now);
      }
      after = page[page.length - 1]!.tenantId;
    }
    return { partners, recorded };
  }

  /** One partner now (also on demand). Returns how many notices are new. */
  async scanPartner(partner: Partner, now = this.o.now?.() ?? new Date()): Promise<number> {
    const owner = ownerOf(partner);
    if (!owner?.conversationId) return 0;
    let appEnd: Date | undefined;
    if (partner.credentials.appSecret) {
      appEnd = await this.o.appSecretEnd(partner).catch((err: unknown) => {
        this.o.logger.info({ err, tenantId: partner.tenantId }, 'expiry scan: the app secret end date could not be read; the stored one is used');
        return undefined;
      });
    }
    const rows = expiringItems(partner, appEnd).flatMap((e) => {
      const threshold = thresholdFor(daysLeft(e.expiresAt, now));
      return threshold === undefined ? [] : [{ tenantId: partner.tenantId, item: e.item, itemKey: e.key, threshold, expiresAt: e.expiresAt, conversationId: owner.conversationId! }];
    });
    return this.o.notices.record(rows);
  }

  /** Sends what is due, a page at a time, until nothing is due. Returns how many were sent. */
  async drain(): Promise<number> {
    let sent = 0;
    for (;;) {
      const page = await this.o.notices.claim(this.o.pageSize ?? 50, LEASE_MS);
      if (page.length === 0) return sent;
      for (const n of page) {
        const now = this.o.now?.() ?? new Date();
        // The notifier has already waited out throttling (Retry-After) and retried 412/5xx.
        const outcome = await this.o.notifier.deliver(n.tenantId, n.conversationId, this.o.render(n, now));
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
