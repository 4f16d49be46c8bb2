import type { Db, Queryable } from './db';

export interface Notice {
  id: string;
  tenantId: string;
  item: NoticeItem | SupportNoticeItem;
  /** What exactly: a secret's or relationship's id; for a support message, the case's version. */
  itemKey: string;
  threshold: number;
  /** When it ends (or ended); for a support message, when the case changed. */
  expiresAt: Date;
  conversationId: string;
  /** The conversation's tenant when it is not the partner's: a copy to the support thread (the operator's tenant). */
  recipientTenantId?: string;
  /** What exactly, shown on the card (a GDAP relationship's customer; the engineer, for a support message). */
  detail?: string;
  /** Whose, on a copy to support (the company). */
  subject?: string;
  attempts: number;
}

/** What ends (or broke): the expiry watch's notices. */
export type NoticeItem = 'app-secret' | 'pc-secret' | 'refresh-token' | 'gdap' | 'consent';

/** The partner told that support took (or resolved) their case: recorded with the change itself. */
export type SupportNoticeItem = 'support-claimed' | 'support-resolved';

interface Row {
  id: string; tenant_id: string; item: Notice['item']; item_key: string; threshold: number; expires_at: Date | string; conversation_id: string; attempts: number;
  recipient_tenant_id: string | null; detail: string | null; subject: string | null;
}

const COLUMNS = 'id, tenant_id, item, item_key, threshold, expires_at, conversation_id, attempts, recipient_tenant_id, detail, subject';
const toNotice = (r: Row): Notice => ({
  id: String(r.id), tenantId: r.tenant_id, item: r.item, itemKey: r.item_key, threshold: r.threshold, expiresAt: new Date(r.expires_at),
  conversationId: r.conversation_id, attempts: r.attempts,
  ...(r.recipient_tenant_id ? { recipientTenantId: r.recipient_tenant_id } : {}),
  ...(r.detail ? { detail: r.detail } : {}),
  ...(r.subject ? { subject: r.subject } : {}),
});

/**
 * Records the notices not recorded before (the unique key); returns the ids of the new ones. In the
 * caller's transaction when `q` is one: a change and the messages that tell of it commit together.
 */
export async function recordNotices(q: Queryable, rows: readonly Omit<Notice, 'id' | 'attempts'>[]): Promise<string[]> {
  if (rows.length === 0) return [];
  const inserted = await q.query<{ id: string }>(
    `INSERT INTO notices (tenant_id, item, item_key, threshold, expires_at, conversation_id, recipient_tenant_id, detail, subject)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::timestamptz[], $6::text[], $7::text[], $8::text[], $9::text[])
     ON CONFLICT (tenant_id, item, item_key, threshold, conversation_id) DO NOTHING RETURNING id`,
    [rows.map((r) => r.tenantId), rows.map((r) => r.item), rows.map((r) => r.itemKey), rows.map((r) => r.threshold), rows.map((r) => r.expiresAt.toISOString()), rows.map((r) => r.conversationId),
      rows.map((r) => r.recipientTenantId ?? null), rows.map((r) => r.detail ?? null), rows.map((r) => r.subject ?? null)],
  );
  return inserted.map((r) => String(r.id));
}

/**
 * Expiry notices and support messages: recorded once per (partner, item, threshold, recipient) by
 * the unique key, and sent from here (an outbox). Workers claim pending ones with a lease (`SKIP
 * LOCKED`), so several instances drain it without sending one twice; a worker that dies leaves its
 * claim to expire.
 */
export class NoticeRepository {
  constructor(private readonly db: Db) {}

  /** Records the notices not recorded before; returns how many are new. */
  async record(rows: Omit<Notice, 'id' | 'attempts'>[]): Promise<number> {
    return (await recordNotices(this.db, rows)).length;
  }

  /** Up to `limit` pending notices that are due, claimed for `leaseMs`: a page of work, no more. */
  async claim(limit: number, leaseMs: number): Promise<Notice[]> {
    const rows = await this.db.query<Row>(
      `UPDATE notices SET claimed_until = now() + ($2::double precision * interval '1 millisecond'), attempts = attempts + 1
       WHERE id IN (SELECT id FROM notices WHERE status = 'pending' AND not_before <= now() AND (claimed_until IS NULL OR claimed_until < now())
                    ORDER BY not_before, id LIMIT $1 FOR UPDATE SKIP LOCKED)
       RETURNING ${COLUMNS}`,
      [limit, leaseMs],
    );
    return rows.map(toNotice);
  }

  async sent(id: string): Promise<void> {
    await this.db.query("UPDATE notices SET status = 'sent', sent_at = now(), claimed_until = NULL, error = NULL WHERE id = $1", [id]);
  }

  /** Not delivered this time: tried again from `notBefore`. */
  async later(id: string, notBefore: Date, error: string): Promise<void> {
    await this.db.query('UPDATE notices SET claimed_until = NULL, not_before = $2, error = $3 WHERE id = $1', [id, notBefore, error]);
  }

  /** The conversation is gone (or kept refusing): never sent. */
  async dead(id: string, error: string): Promise<void> {
    await this.db.query("UPDATE notices SET status = 'dead', claimed_until = NULL, error = $2 WHERE id = $1", [id, error]);
  }

  async counts(tenantId?: string): Promise<Record<'pending' | 'sent' | 'dead', number>> {
    const rows = await this.db.query<{ status: 'pending' | 'sent' | 'dead'; n: string }>(
      `SELECT status, count(*) AS n FROM notices ${tenantId ? 'WHERE tenant_id = $1' : ''} GROUP BY status`, tenantId ? [tenantId] : []);
    const out = { pending: 0, sent: 0, dead: 0 };
    for (const r of rows) out[r.status] = Number(r.n);
    return out;
  }
}
