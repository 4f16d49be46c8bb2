import type { Db } from './db';

/** A "re-check in 15 minutes" the partner asked for: run when due, result told to the conversation. */
export interface CheckFollowUp {
  id: string;
  tenantId: string;
  conversationId: string;
  requestedBy: string;
  dueAt: Date;
  attempts: number;
}

interface Row {
  id: string;
  tenant_id: string;
  conversation_id: string;
  requested_by: string;
  due_at: Date | string;
  attempts: number;
}

const toFollowUp = (r: Row): CheckFollowUp => ({
  id: String(r.id), tenantId: r.tenant_id, conversationId: r.conversation_id, requestedBy: r.requested_by, dueAt: new Date(r.due_at), attempts: r.attempts,
});
const COLUMNS = 'id, tenant_id, conversation_id, requested_by, due_at, attempts';

/**
 * Follow-ups are rows, not timers: they survive a restart, and any instance may run a due one. A
 * claim is a lease (`claimed_until`): a worker that dies leaves it to be claimed again after the
 * lease; `FOR UPDATE SKIP LOCKED` keeps two instances from claiming the same row at once.
 */
export class CheckFollowUpRepository {
  constructor(private readonly db: Db) {}

  /** Schedules one, or returns the partner's pending one (one at a time): `created` says which. */
  async schedule(tenantId: string, conversationId: string, requestedBy: string, dueAt: Date): Promise<{ followUp: CheckFollowUp; created: boolean }> {
    const [inserted] = await this.db.query<Row>(
      `INSERT INTO check_followups (tenant_id, conversation_id, requested_by, due_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (tenant_id) WHERE done_at IS NULL DO NOTHING RETURNING ${COLUMNS}`,
      [tenantId, conversationId, requestedBy, dueAt],
    );
    if (inserted) return { followUp: toFollowUp(inserted), created: true };
    const pending = await this.pending(tenantId);
    if (!pending) return this.schedule(tenantId, conversationId, requestedBy, dueAt); // it ended meanwhile
    return { followUp: pending, created: false };
  }

  async pending(tenantId: string): Promise<CheckFollowUp | undefined> {
    const [row] = await this.db.query<Row>(`SELECT ${COLUMNS} FROM check_followups WHERE tenant_id = $1 AND done_at IS NULL`, [tenantId]);
    return row ? toFollowUp(row) : undefined;
  }

  /** Claims up to `limit` due follow-ups for `leaseMs` (their attempt counted). */
  async claimDue(limit: number, leaseMs: number): Promise<CheckFollowUp[]> {
    const rows = await this.db.query<Row>(
      `UPDATE check_followups SET claimed_until = now() + ($2::double precision * interval '1 millisecond'), attempts = attempts + 1
       WHERE id IN (
         SELECT id FROM check_followups
         WHERE done_at IS NULL AND due_at <= now() AND (claimed_until IS NULL OR claimed_until < now())
         ORDER BY due_at LIMIT $1 FOR UPDATE SKIP LOCKED)
       RETURNING ${COLUMNS}`,
      [limit, leaseMs],
    );
    return rows.map(toFollowUp);
  }

  /** Done: the run it made (if any) and what became of it ('told', 'not told', 'gave up: …'). */
  async complete(id: string, outcome: string, runId?: string): Promise<void> {
    await this.db.query('UPDATE check_followups SET done_at = now(), claimed_until = NULL, outcome = $2, run_id = $3 WHERE id = $1 AND done_at IS NULL', [id, outcome, runId ?? null]);
  }

  /** Failed this time: free it to be claimed again at `retryAt`. */
  async release(id: string, retryAt: Date): Promise<void> {
    await this.db.query('UPDATE check_followups SET claimed_until = NULL, due_at = $2 WHERE id = $1 AND done_at IS NULL', [id, retryAt]);
  }

  /** Cancels the partner's pending follow-up (a run in the chat made it moot). */
  async cancelPending(tenantId: string, outcome: string): Promise<void> {
    await this.db.query('UPDATE check_followups SET done_at = now(), claimed_until = NULL, outcome = $2 WHERE tenant_id = $1 AND done_at IS NULL AND (claimed_until IS NULL OR claimed_until < now())', [tenantId, outcome]);
  }
}
