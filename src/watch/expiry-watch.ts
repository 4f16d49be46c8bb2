import type { Partner } from '../domain/partner';
import { recipientsOf } from '../domain/partner';
import type { Logger } from '../logger';
import type { Notice, NoticeRepository } from '../store/notices';
import type { PartnerRepository } from '../store/partners';
import { daysLeft, expiringItems, thresholdFor, type Expiring, type WatchedRelationship } from './expiry';

/** What the scan reads fresh from Graph for a partner; a field left out could not be read. */
export interface Watched {
  /** The Entra app secret in use's end (`passwordCredentials`). */
  appSecretEnd?: Date;
  /** The partner's GDAP relationships (`tenantRelationships/delegatedAdminRelationships`). */
  gdap?: WatchedRelationship[];
}

/** Where copies for support go: the partner's thread in the support channel, when it has one. */
export interface SupportThread {
  tenantId: string;
  threadId: string;
}

export interface ExpiryWatchOptions {
  partners: PartnerRepository;
  notices: NoticeRepository;
  /** Reads what ends from Graph with the app's own token; what it could not read is left out. */
  watched(partner: Partner): Promise<Watched>;
  /** The partner's support thread, when it has one: expired and revoked notices are copied there. */
  supportThread(tenantId: string): Promise<SupportThread | undefined>;
  logger: Logger;
  now?: () => Date;
  /** Partners read per page: no more held at once. */
  pageSize?: number;
}

type NewNotice = Omit<Notice, 'id' | 'attempts'>;

/** What one slice of the scan did, and where the next starts (undefined: the scan is done). */
export interface ScanSlice {
  partners: number;
  recorded: number;
  next?: string;
}

const SCAN_PARALLEL = 16;

/**
 * The proactive warnings before something ends. The scan walks the connected partners a page at a
 * time and records, for each item in a threshold now, one notice per recipient (the owner, the
 * primary contact; a copy to the partner's support thread once expired): the unique key makes a
 * second scan (or a second instance, or a scan restarted after a crash) record nothing new. The
 * {@link NoticeDispatcher} sends them from the outbox.
 */
export class ExpiryWatch {
  constructor(private readonly o: ExpiryWatchOptions) {}

  /** The whole scan here, slice after slice (the job engine runs the slices as jobs: src/jobs/expiry-jobs.ts). */
  async scan(): Promise<{ partners: number; recorded: number }> {
    let after: string | undefined = '';
    let partners = 0;
    let recorded = 0;
    while (after !== undefined) {
      const slice: ScanSlice = await this.scanSlice(after, { budgetMs: Number.POSITIVE_INFINITY });
      partners += slice.partners;
      recorded += slice.recorded;
      after = slice.next;
    }
    return { partners, recorded };
  }

  /**
   * One slice of the scan: the connected partners after `after` (tenant ids in order), a page at
   * most, stopping early once `budgetMs` is spent. `next` is the cursor for the next slice
   * (undefined: the scan is done). A slice repeated (its worker died) records nothing twice.
   */
  async scanSlice(after: string, options: { budgetMs?: number; signal?: AbortSignal } = {}): Promise<ScanSlice> {
    const now = this.o.now?.() ?? new Date();
    const size = this.o.pageSize ?? 200;
    const budgetMs = options.budgetMs ?? 5_000;
    const started = Date.now();
    const page = await this.o.partners.connectedPage(after, size);
    let partners = 0;
    let recorded = 0;
    let cursor = after;
    // Partners are read from Graph several at once (each its own tenant, its own limits).
    for (let i = 0; i < page.length; i += SCAN_PARALLEL) {
      if (i > 0 && (Date.now() - started >= budgetMs || options.signal?.aborted)) break;
      const group = page.slice(i, i + SCAN_PARALLEL);
      const counts = await Promise.all(group.map((partner) => this.scanPartner(partner, now)));
      recorded += counts.reduce((a, b) => a + b, 0);
      partners += group.length;
      cursor = group[group.length - 1]!.tenantId;
    }
    const done = page.length < size && partners === page.length;
    return { partners, recorded, ...(done ? {} : { next: cursor }) };
  }

  /** One partner now. Returns how many notices are new. */
  async scanPartner(partner: Partner, now = this.o.now?.() ?? new Date()): Promise<number> {
    if (recipientsOf(partner).length === 0) return 0;
    return (await this.look(partner, now)).recorded;
  }

  /**
   * On demand (the partner's `expiry`): everything that ends, read fresh, with the notices now due
   * recorded as the daily scan would (so neither repeats the other).
   */
  async look(partner: Partner, now = this.o.now?.() ?? new Date()): Promise<{ items: Expiring[]; recorded: number }> {
    const watched = await this.o.watched(partner).catch((err: unknown) => {
      this.o.logger.info({ err, tenantId: partner.tenantId }, 'expiry scan: Graph could not be read; the stored dates are used');
      return {} as Watched;
    });
    const items = expiringItems(partner, watched.appSecretEnd, watched.gdap ?? []);
    const due = items.flatMap((e) => {
      const threshold = thresholdFor(daysLeft(e.expiresAt, now));
      return threshold === undefined ? [] : [{ item: e.item, itemKey: e.key, threshold, expiresAt: e.expiresAt, ...(e.detail ? { detail: e.detail } : {}) }];
    });
    const recorded = due.length && recipientsOf(partner).length ? await this.o.notices.record(await this.addressed(partner, due)) : 0;
    return { items, recorded };
  }

  /**
   * The consent was revoked (the token provider found the refresh token refused): told at once,
   * once per revocation, to the partner and to its support thread. Returns how many are new.
   */
  async consentRevoked(partner: Partner, explanation?: string): Promise<number> {
    const at = partner.consent.brokenAt ?? new Date();
    const detail = explanation ?? partner.consent.brokenReason;
    return this.o.notices.record(await this.addressed(partner, [{
      item: 'consent', itemKey: at.toISOString(), threshold: 0, expiresAt: at, ...(detail ? { detail } : {}),
    }]));
  }

  /** Each item to each recipient, and the expired ones (threshold 0) to the support thread too. */
  private async addressed(partner: Partner, items: Omit<NewNotice, 'tenantId' | 'conversationId'>[]): Promise<NewNotice[]> {
    const tenantId = partner.tenantId;
    const rows: NewNotice[] = [];
    for (const member of recipientsOf(partner)) for (const i of items) rows.push({ ...i, tenantId, conversationId: member.conversationId! });
    const expired = items.filter((i) => i.threshold === 0);
    if (expired.length) {
      const thread = await this.o.supportThread(tenantId);
      const subject = partner.company?.legalName ?? partner.connection?.partnerTenantName ?? tenantId;
      if (thread) for (const i of expired) rows.push({ ...i, tenantId, conversationId: thread.threadId, recipientTenantId: thread.tenantId, subject });
    }
    return rows;
  }
}
