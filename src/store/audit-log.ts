import type { Db, Queryable } from './db';

/** What happened, to whom, by whom. `detail` names fields and outcomes, never secret values. */
export interface AuditEntry {
  tenantId: string;
  /** AAD object id of the person, or `system`. */
  actor: string;
  action: AuditAction;
  detail?: Record<string, unknown>;
}

export type AuditAction =
  | 'partner.created'
  | 'partner.member_requested'
  | 'partner.member_added'
  | 'partner.owner_changed'
  | 'company.saved'
  | 'contact.primary.saved'
  | 'contact.secondary.saved'
  | 'contact.secondary.skipped'
  | 'review.confirmed'
  | 'email.verified'
  | 'email.code_sent'
  | 'email.code_failed'
  | 'email.locked'
  | 'email.denied'
  | 'partner.reset'
  | 'preparation.updated'
  | 'preparation.done'
  | 'credentials.saved'
  | 'consent.granted'
  | 'consent.admin_granted'
  | 'consent.broken'
  | 'partner.deleted'
  | 'setup.chosen'
  | 'setup.started'
  | 'setup.failed'
  | 'setup.done';

/** The audit line's insert, up to its rows: VALUES here, a SELECT of tenant, actor, action, detail inside another statement's WITH. */
export const AUDIT_INSERT = 'INSERT INTO audit_log (tenant_id, actor, action, detail)';

export async function recordAudit(q: Queryable, entry: AuditEntry): Promise<void> {
  await q.query(`${AUDIT_INSERT} VALUES ($1, $2, $3, $4::jsonb)`, [
    entry.tenantId, entry.actor, entry.action, JSON.stringify(entry.detail ?? {}),
  ]);
}

export interface AuditRow {
  at: Date;
  actor: string;
  action: AuditAction;
  detail: Record<string, unknown>;
}


export async function listAudit(db: Db, tenantId: string): Promise<AuditRow[]> {
  return db.query<AuditRow>('SELECT at, actor, action, detail FROM audit_log WHERE tenant_id = $1 ORDER BY id', [tenantId]);
}
