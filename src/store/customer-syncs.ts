import type { RelationshipEvidence } from './customers';
import type { Db, Queryable } from './db';

export type SyncStatus = 'running' | 'succeeded' | 'failed' | 'cancelled';
export type SyncPhase = 'gdap' | 'customers' | 'reconcile' | 'done';

/** One sync of one partner's customers, as the database keeps it (the cursor included). */
export interface CustomerSync {
  id: string;
  tenantId: string;
  trigger: 'chat' | 'nightly';
  requestedBy: string;
  status: SyncStatus;
  phase: SyncPhase;
  /** Pages committed in all phases: each commit must name the step it continues from. */
  step: number;
  /** Where the next page is: Graph's nextLink (gdap) or Partner Center's links.next (customers); null = first page. */
  nextLink: unknown;
  pages: number;
  gdapPages: number;
  relationships: number;
  seen: number;
  added: number;
  changed: number;
  removed: number;
  notManageable: Record<string, number>;
  retries: number;
  conversationId?: string;
  progressActivityId?: string;
  cancelRequestedAt?: Date;
  error?: string;
  startedAt: Date;
  /** When the current phase began (its own rate and ETA); the sync's start for its first phase. */
  phaseStartedAt: Date;
  finishedAt?: Date;
}

/** What the last successful sync of a partner read: the progress card's totals to estimate from. */
export interface SyncTotals {
  customers: number;
  relationships: number;
}

interface Row {
  id: string; tenant_id: string; trigger: CustomerSync['trigger']; requested_by: string; status: SyncStatus; phase: SyncPhase; step: number;
  next_link: unknown; pages: number; gdap_pages: number; relationships: number; seen: number; added: number; changed: number; removed: number;
  not_manageable: Record<string, number>; retries: number; conversation_id: string | null; progress_activity_id: string | null;
  cancel_requested_at: Date | string | null; error: string | null; started_at: Date | string; phase_started_at: Date | string | null;
  finished_at: Date | string | null;
}

const COLUMNS = `id, tenant_id, trigger, requested_by, status, phase, step, next_link, pages, gdap_pages, relationships, seen, added, changed,
  removed, not_manageable, retries, conversation_id, progress_activity_id, cancel_requested_at, error, started_at, phase_started_at, finished_at`;

const toSync = (r: Row): CustomerSync => ({
  id: String(r.id), tenantId: r.tenant_id, trigger: r.trigger, requestedBy: r.requested_by, status: r.status, phase: r.phase, step: r.step,
  nextLink: r.next_link, pages: r.pages, gdapPages: r.gdap_pages, relationships: r.relationships, seen: r.seen, added: r.added,
  changed: r.changed, removed: r.removed, notManageable: r.not_manageable ?? {}, retries: r.retries,
  conversationId: r.conversation_id ?? undefined, progressActivityId: r.progress_activity_id ?? undefined,
  cancelRequestedAt: r.cancel_requested_at ? new Date(r.cancel_requested_at) : undefined, error: r.error ?? undefined,
  startedAt: new Date(r.started_at), phaseStartedAt: new Date(r.phase_started_at ?? r.started_at), finishedAt: r.finished_at ? new Date(r.finished_at) : undefined,
});

/** A customer as one Partner Center page lists it. */
export interface ListedCustomer {
  customerTenantId: string;
  pcCustomerId: string;
  companyName: string;
  domain: string | null;
}

/** One customer's GDAP verdict from one page of relationships (already merged per customer). */
export interface GdapVerdictRow {
  customerTenantId: string;
  relationshipIds: string[];
  /** 0 = manageable; higher is worse (see sync/gdap.ts). */
  rank: number;
  reason: string | null;
  /** Every relationship of the customer on the page, as the chat shows it. */
  evidence: RelationshipEvidence[];
}

/**
 * The customer sync's rows. Every page is committed in one transaction together with the cursor,
 * and only if the sync is still at the step the caller read (a fence): a worker that lost its job
 * to another, or a page committed twice after a crash, changes nothing.
 */
export class CustomerSyncRepository {
  constructor(private readonly db: Db) {}

  /** Starts a sync, or returns the one running for this partner (`created: false`): one at a time. */
  async start(tenantId: string, trigger: CustomerSync['trigger'], requestedBy: string, conversationId?: string): Promise<{ sync: CustomerSync; created: boolean }> {
    const [row] = await this.db.query<Row>(
      `INSERT INTO customer_syncs (tenant_id, trigger, requested_by, status, conversation_id) VALUES ($1, $2, $3, 'running', $4)
       ON CONFLICT (tenant_id) WHERE status = 'running' DO NOTHING RETURNING ${COLUMNS}`,
      [tenantId, trigger, requestedBy, conversationId ?? null],
    );
    if (row) return { sync: toSync(row), created: true };
    const running = await this.running(tenantId);
    if (!running) return this.start(tenantId, trigger, requestedBy, conversationId);
    return { sync: running, created: false };
  }

  async get(id: string): Promise<CustomerSync | undefined> {
    const [row] = await this.db.query<Row>(`SELECT ${COLUMNS} FROM customer_syncs WHERE id = $1`, [id]);
    return row ? toSync(row) : undefined;
  }

  async running(tenantId: string): Promise<CustomerSync | undefined> {
    const [row] = await this.db.query<Row>(`SELECT ${COLUMNS} FROM customer_syncs WHERE tenant_id = $1 AND status = 'running'`, [tenantId]);
    return row ? toSync(row) : undefined;
  }

  /** The latest sync of the partner, running or finished. */
  async latest(tenantId: string): Promise<CustomerSync | undefined> {
    const [row] = await this.db.query<Row>(`SELECT ${COLUMNS} FROM customer_syncs WHERE tenant_id = $1 ORDER BY id DESC LIMIT 1`, [tenantId]);
    return row ? toSync(row) : undefined;
  }

  /** Customers and GDAP relationships the last successful sync of the partner read (the ETAs' estimates), if any. */
  async lastTotal(tenantId: string): Promise<SyncTotals | undefined> {
    const [row] = await this.db.query<{ seen: number; relationships: number }>(
      `SELECT seen, relationships FROM customer_syncs WHERE tenant_id = $1 AND status = 'succeeded' ORDER BY id DESC LIMIT 1`, [tenantId]);
    return row ? { customers: row.seen, relationships: row.relationships } : undefined;
  }

  async succeededCount(tenantId: string): Promise<number> {
    const [row] = await this.db.query<{ n: string }>(`SELECT count(*) AS n FROM customer_syncs WHERE tenant_id = $1 AND status = 'succeeded'`, [tenantId]);
    return Number(row?.n ?? 0);
  }

  /** Running syncs of every partner (the engine re-queues them at start if a job went missing). */
  async allRunning(): Promise<CustomerSync[]> {
    return (await this.db.query<Row>(`SELECT ${COLUMNS} FROM customer_syncs WHERE status = 'running' ORDER BY id`)).map(toSync);
  }

  async setProgressActivity(id: string, activityId: string | undefined, conversationId: string): Promise<void> {
    await this.db.query('UPDATE customer_syncs SET progress_activity_id = $2, conversation_id = $3 WHERE id = $1', [id, activityId ?? null, conversationId]);
  }

  /** True at most once per `minIntervalMs` per sync, across instances: time to update the progress card. */
  async claimProgressTick(id: string, minIntervalMs: number): Promise<boolean> {
    const rows = await this.db.query(
      `UPDATE customer_syncs SET progress_at = now() WHERE id = $1 AND status = 'running'
       AND (progress_at IS NULL OR progress_at <= now() - ($2::double precision * interval '1 millisecond')) RETURNING id`,
      [id, minIntervalMs],
    );
    return rows.length > 0;
  }

  /** Moves the step on if the sync is still where the caller read it; the row comes back, or nothing. */
  private async fence(tx: Queryable, id: string, step: number): Promise<Row | undefined> {
    const [row] = await tx.query<Row>(`UPDATE customer_syncs SET step = step + 1 WHERE id = $1 AND step = $2 AND status = 'running' RETURNING ${COLUMNS}`, [id, step]);
    return row;
  }

  /** One page of GDAP relationships: each customer's best verdict so far, and the cursor. */
  async commitGdapPage(id: string, step: number, rows: GdapVerdictRow[], relationships: number, next: string | null, retries: number): Promise<CustomerSync | undefined> {
    return this.db.transaction(async (tx) => {
      if (!(await this.fence(tx, id, step))) return undefined;
      if (rows.length > 0) {
        await tx.query(
          `INSERT INTO customer_sync_gdap (sync_id, customer_tenant_id, relationship_ids, rank, reason, evidence)
           SELECT $1, x.c, string_to_array(x.r, ' '), x.rank, x.reason, x.e::jsonb FROM unnest($2::text[], $3::text[], $4::int[], $5::text[], $6::text[]) AS x(c, r, rank, reason, e)
           ON CONFLICT (sync_id, customer_tenant_id) DO UPDATE SET
             relationship_ids = customer_sync_gdap.relationship_ids || EXCLUDED.relationship_ids,
             evidence = customer_sync_gdap.evidence || EXCLUDED.evidence,
             reason = CASE WHEN EXCLUDED.rank < customer_sync_gdap.rank THEN EXCLUDED.reason ELSE customer_sync_gdap.reason END,
             rank = LEAST(customer_sync_gdap.rank, EXCLUDED.rank)`,
          [id, rows.map((r) => r.customerTenantId.toLowerCase()), rows.map((r) => r.relationshipIds.join(' ')), rows.map((r) => r.rank), rows.map((r) => r.reason),
            rows.map((r) => JSON.stringify(r.evidence))],
        );
      }
      const [row] = await tx.query<Row>(
        `UPDATE customer_syncs SET next_link = $2::jsonb, phase = CASE WHEN $2::jsonb IS NULL THEN 'customers' ELSE phase END,
           phase_started_at = CASE WHEN $2::jsonb IS NULL THEN now() ELSE phase_started_at END, gdap_pages = gdap_pages + 1, relationships = relationships + $3, retries = retries + $4 WHERE id = $1 RETURNING ${COLUMNS}`,
        [id, next === null ? null : JSON.stringify(next), relationships, retries],
      );
      return toSync(row!);
    });
  }

  /**
   * One page of Partner Center customers: upserted with the GDAP verdict of this sync (no
   * relationship: "none"), counted new or changed, and the cursor, in one transaction.
   */
  async commitCustomerPage(id: string, tenantId: string, step: number, customers: ListedCustomer[], next: unknown, retries: number): Promise<CustomerSync | undefined> {
    return this.db.transaction(async (tx) => {
      const fenced = await this.fence(tx, id, step);
      if (!fenced) return undefined;
      const byId = new Map(customers.map((c) => [c.customerTenantId.toLowerCase(), c]));
      const ids = [...byId.keys()];
      const before = new Map((await tx.query<{ customer_tenant_id: string; fingerprint: string }>(
        `SELECT customer_tenant_id, concat_ws('|', company_name, domain, manageable, not_manageable_reason, array_to_string(gdap_relationship_ids, ' '), removed_at IS NULL) AS fingerprint
         FROM customers WHERE tenant_id = $1 AND customer_tenant_id = ANY($2::text[])`, [tenantId, ids],
      )).map((r) => [r.customer_tenant_id, r.fingerprint]));
      const after = await tx.query<{ customer_tenant_id: string; fingerprint: string; manageable: boolean; not_manageable_reason: string | null }>(
        `INSERT INTO customers (tenant_id, customer_tenant_id, pc_customer_id, company_name, domain, manageable, not_manageable_reason, gdap_relationship_ids, gdap_evidence, last_seen_sync)
         SELECT $1, p.c, p.pc, p.name, p.domain, COALESCE(g.rank, 6) = 0, CASE WHEN COALESCE(g.rank, 6) = 0 THEN NULL ELSE COALESCE(g.reason, 'none') END,
           COALESCE(g.relationship_ids, '{}'), COALESCE(g.evidence, '[]'::jsonb), $2
         FROM unnest($3::text[], $4::text[], $5::text[], $6::text[]) AS p(c, pc, name, domain)
         LEFT JOIN customer_sync_gdap g ON g.sync_id = $2 AND g.customer_tenant_id = p.c
         ON CONFLICT (tenant_id, customer_tenant_id) DO UPDATE SET
           pc_customer_id = EXCLUDED.pc_customer_id, company_name = EXCLUDED.company_name, domain = EXCLUDED.domain,
           manageable = EXCLUDED.manageable, not_manageable_reason = EXCLUDED.not_manageable_reason,
           gdap_relationship_ids = EXCLUDED.gdap_relationship_ids, gdap_evidence = EXCLUDED.gdap_evidence, checked_at = NULL, last_seen_sync = EXCLUDED.last_seen_sync, removed_at = NULL, updated_at = now()
         RETURNING customer_tenant_id, manageable, not_manageable_reason,
           concat_ws('|', company_name, domain, manageable, not_manageable_reason, array_to_string(gdap_relationship_ids, ' '), removed_at IS NULL) AS fingerprint`,
        [tenantId, id, ids, ids.map((k) => byId.get(k)!.pcCustomerId), ids.map((k) => byId.get(k)!.companyName), ids.map((k) => byId.get(k)!.domain)],
      );
      let added = 0;
      let changed = 0;
      const reasons: Record<string, number> = { ...(fenced.not_manageable ?? {}) };
      for (const r of after) {
        const old = before.get(r.customer_tenant_id);
        if (old === undefined) added += 1;
        else if (old !== r.fingerprint) changed += 1;
        if (!r.manageable) reasons[r.not_manageable_reason ?? 'none'] = (reasons[r.not_manageable_reason ?? 'none'] ?? 0) + 1;
      }
      const [row] = await tx.query<Row>(
        `UPDATE customer_syncs SET next_link = $2::jsonb, phase = CASE WHEN $2::jsonb IS NULL THEN 'reconcile' ELSE phase END,
           phase_started_at = CASE WHEN $2::jsonb IS NULL THEN now() ELSE phase_started_at END, pages = pages + 1, seen = seen + $3, added = added + $4, changed = changed + $5, not_manageable = $6::jsonb, retries = retries + $7
         WHERE id = $1 RETURNING ${COLUMNS}`,
        [id, next === null || next === undefined ? null : JSON.stringify(next), after.length, added, changed, JSON.stringify(reasons), retries],
      );
      return toSync(row!);
    });
  }

  /** Every page seen: customers not seen by this sync are marked removed; the sync succeeds. */
  async finish(id: string, tenantId: string, step: number): Promise<CustomerSync | undefined> {
    return this.db.transaction(async (tx) => {
      if (!(await this.fence(tx, id, step))) return undefined;
      const removed = await tx.query(
        `UPDATE customers SET removed_at = now(), updated_at = now() WHERE tenant_id = $1 AND removed_at IS NULL AND last_seen_sync <> $2 RETURNING customer_tenant_id`,
        [tenantId, id],
      );
      await tx.query('DELETE FROM customer_sync_gdap WHERE sync_id = $1', [id]);
      await tx.query('UPDATE partners SET synced_at = now(), updated_at = now() WHERE tenant_id = $1', [tenantId]);
      const [row] = await tx.query<Row>(
        `UPDATE customer_syncs SET status = 'succeeded', phase = 'done', removed = $2, finished_at = now() WHERE id = $1 RETURNING ${COLUMNS}`,
        [id, removed.length],
      );
      return toSync(row!);
    });
  }

  /** Ends a running sync as failed (with a reason for the chat) or cancelled; its GDAP snapshot goes. */
  async end(id: string, status: 'failed' | 'cancelled', error?: string): Promise<CustomerSync | undefined> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx.query<Row>(
        `UPDATE customer_syncs SET status = $2, error = $3, finished_at = now() WHERE id = $1 AND status = 'running' RETURNING ${COLUMNS}`,
        [id, status, error ?? null],
      );
      if (row) await tx.query('DELETE FROM customer_sync_gdap WHERE sync_id = $1', [id]);
      return row ? toSync(row) : undefined;
    });
  }

  /** `cancel sync`: the worker stops at its next page. */
  async requestCancel(tenantId: string): Promise<CustomerSync | undefined> {
    const [row] = await this.db.query<Row>(
      `UPDATE customer_syncs SET cancel_requested_at = COALESCE(cancel_requested_at, now()) WHERE tenant_id = $1 AND status = 'running' RETURNING ${COLUMNS}`,
      [tenantId],
    );
    return row ? toSync(row) : undefined;
  }

  /** Partners onboarded far enough to sync: consent alive and the latest full checks passed. */
  async onboarded(): Promise<string[]> {
    const rows = await this.db.query<{ tenant_id: string }>(
      `SELECT tenant_id FROM partners WHERE consent_at IS NOT NULL AND consent_broken_at IS NULL AND admin_consent_at IS NOT NULL
         AND checks_verdict IN ('passed', 'passed-with-advisories') ORDER BY tenant_id`,
    );
    return rows.map((r) => r.tenant_id);
  }

  /** Customers of the partner (tests and `status`): listed, manageable, removed. */
  async counts(tenantId: string): Promise<{ listed: number; manageable: number; removed: number }> {
    const [row] = await this.db.query<{ listed: string; manageable: string; removed: string }>(
      `SELECT count(*) FILTER (WHERE removed_at IS NULL) AS listed, count(*) FILTER (WHERE removed_at IS NULL AND manageable) AS manageable,
         count(*) FILTER (WHERE removed_at IS NOT NULL) AS removed FROM customers WHERE tenant_id = $1`,
      [tenantId],
    );
    return { listed: Number(row?.listed ?? 0), manageable: Number(row?.manageable ?? 0), removed: Number(row?.removed ?? 0) };
  }
}
