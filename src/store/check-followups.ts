import type { JobWithMetadata, PgBoss, Queue } from 'pg-boss';
import { asBossDb, ensureQueue, stableJobId, type JobEngine } from './job-engine';
import type { Logger } from '../logger';
import type { Db } from './db';

/** A "re-check in 15 minutes" the partner asked for: run when due, result told to the conversation. */
export interface CheckFollowUp {
  id: string;
  tenantId: string;
  conversationId: string;
  requestedBy: string;
  dueAt: Date;
  /** Attempts made so far. */
  attempts: number;
}

/** What a follow-up job carries. */
export interface CheckFollowUpData {
  tenantId: string;
  conversationId: string;
  requestedBy: string;
}

/** What a finished follow-up job keeps as its output: what became of it, and the run it made. */
export interface CheckFollowUpOutcome {
  outcome: string;
  runId?: string;
}

export const FOLLOWUP_QUEUE = 'check-followup';

/**
 * One job per partner waiting (`stately`, keyed by tenant); 3 attempts 2 minutes apart; a job
 * whose worker died is expired after 5 minutes (a run takes seconds) and retried elsewhere.
 */
const QUEUE: Queue = { name: FOLLOWUP_QUEUE, policy: 'stately', retryLimit: 2, retryDelay: 120, retryBackoff: false, expireInSeconds: 300 };

/** Creates the follow-up queue, or brings one made by an earlier version in line. */
export async function prepareFollowUpQueue(boss: PgBoss): Promise<void> {
  await ensureQueue(boss, QUEUE);
}

/**
 * Follow-ups are jobs on the job engine, not timers: they survive a restart, any instance runs a
 * due one (claimed once), and one that dies is retried after its expiry. One pending per partner:
 * the queue keeps one waiting job per tenant, and a second ask finds the first and returns it.
 * `pending` finds it with pg-boss' findJobs (by key).
 */
export class CheckFollowUpRepository {
  constructor(private readonly db: Db, private readonly engine: JobEngine, private readonly logger?: Logger) {}

  /** Schedules one, or returns the partner's pending one (one at a time): `created` says which. */
  async schedule(tenantId: string, conversationId: string, requestedBy: string, dueAt: Date): Promise<{ followUp: CheckFollowUp; created: boolean }> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const pending = await this.pending(tenantId);
      if (pending) return { followUp: pending, created: false };
      const data: CheckFollowUpData = { tenantId, conversationId, requestedBy };
      const id = await this.engine.boss.send(FOLLOWUP_QUEUE, data, { singletonKey: tenantId, startAfter: dueAt });
      if (id) return { followUp: { id, tenantId, conversationId, requestedBy, dueAt, attempts: 0 }, created: true };
      // Another ask made one between the look and the send: the next look finds it.
    }
    throw new Error('check follow-up: could not schedule or find the pending one');
  }

  /** The partner's follow-up waiting or running, if any. */
  async pending(tenantId: string): Promise<CheckFollowUp | undefined> {
    const job = (await this.unfinished(tenantId))[0];
    if (!job) return undefined;
    return {
      id: job.id, tenantId, conversationId: job.data.conversationId, requestedBy: job.data.requestedBy, dueAt: new Date(job.startAfter),
      attempts: job.retryCount + (job.state === 'active' ? 1 : 0),
    };
  }

  /** Cancels the partner's waiting follow-up (a run in the chat made it moot); one running is left to finish. */
  async cancelPending(tenantId: string, outcome: string): Promise<void> {
    const waiting = await this.engine.boss.findJobs<CheckFollowUpData>(FOLLOWUP_QUEUE, { key: tenantId, queued: true });
    if (waiting.length === 0) return;
    await this.engine.boss.cancel(FOLLOWUP_QUEUE, waiting.map((w) => w.id));
    this.logger?.info({ tenantId, outcome }, 'check follow-up cancelled');
  }

  /** The partner's jobs not finished, oldest first: waiting ones (by key, queued), else one running (its finished ones are paged past). */
  private async unfinished(tenantId: string): Promise<JobWithMetadata<CheckFollowUpData>[]> {
    const boss = this.engine.boss;
    const queued = await boss.findJobs<CheckFollowUpData>(FOLLOWUP_QUEUE, { key: tenantId, queued: true });
    if (queued.length > 0) return queued;
    const found: JobWithMetadata<CheckFollowUpData>[] = [];
    for (let after: string | undefined; ;) {
      const page = await boss.findJobs<CheckFollowUpData>(FOLLOWUP_QUEUE, { key: tenantId, limit: 1000, ...(after ? { after } : {}) });
      found.push(...page.filter((j) => j.state === 'active' || j.state === 'created' || j.state === 'retry'));
      if (page.length < 1000) return found;
      after = page[page.length - 1]!.id;
    }
  }

  /**
   * Follow-ups an earlier version left in its own table (`check_followups`, dropped by migration
   * 14) become jobs, in one transaction with marking them moved: run before the migrations, and
   * again after a crash half-way, it moves each once. The job's id comes from the row's, so even a
   * second move would make no second job.
   */
  async carryOverFromTable(): Promise<number> {
    const [table] = await this.db.query<{ present: boolean }>("SELECT to_regclass('check_followups') IS NOT NULL AS present");
    if (!table?.present) return 0;
    await prepareFollowUpQueue(this.engine.boss);
    const moved = await this.db.transaction(async (tx): Promise<number> => {
      const rows = await tx.query<{ id: string; tenant_id: string; conversation_id: string; requested_by: string; due_at: Date | string }>(
        'SELECT id, tenant_id, conversation_id, requested_by, due_at FROM check_followups WHERE done_at IS NULL ORDER BY id FOR UPDATE',
      );
      const inTx = asBossDb(tx);
      for (const r of rows) {
        const data: CheckFollowUpData = { tenantId: r.tenant_id, conversationId: r.conversation_id, requestedBy: r.requested_by };
        await this.engine.boss.send(FOLLOWUP_QUEUE, data, { id: stableJobId(FOLLOWUP_QUEUE, 'carried', String(r.id)), singletonKey: r.tenant_id, startAfter: new Date(r.due_at), db: inTx });
      }
      if (rows.length) {
        await tx.query("UPDATE check_followups SET done_at = now(), claimed_until = NULL, outcome = 'moved to the job engine' WHERE id = ANY($1::bigint[])", [rows.map((r) => r.id)]);
      }
      return rows.length;
    }).catch((err: unknown) => {
      // Another instance starting at the same time moved them and dropped the table (migration 14)
      // between the look above and this read: nothing is left to move.
      if ((err as { code?: string }).code === '42P01') return 0;
      throw err;
    });
    if (moved) this.logger?.info({ moved }, 'check follow-ups moved from their old table to the job engine');
    return moved;
  }
}
