import { recordAudit } from './audit-log';
import type { Db } from './db';

/** "Set it up for me" or "I'll do it myself" (the preparation card). */
export type SetupChoice = 'setup' | 'manual';

/** What a step of the setup run left behind: ids it found or made, never a token or a secret. */
export type StepOutcome = Record<string, string | number | boolean | string[] | null>;

/** Why the run stopped, in the partner's words (safe for chat), and at which step. */
export interface SetupFailure {
  step: string;
  code: string;
  text: string;
}

/** A card that asked for a rotation or a repair: the one pressed, or the administrator's sign-in card. */
export interface ForMeCard {
  conversationId: string;
  activityId: string;
  role: 'pressed' | 'signIn';
}

export type ForMeIntent = 'rotate' | 'repair';

export type SetupRunKind = 'setup' | 'repair';

export interface PartnerSetup {
  tenantId: string;
  choice: SetupChoice;
  serviceAccountUpn?: string;
  status: 'chosen' | 'running' | 'failed' | 'done';
  /** The last run's kind: the setup, or a repair after onboarding (migration 21). */
  runKind: SetupRunKind;
  runId?: string;
  /** Each finished step by id, with what it found or made. */
  steps: Record<string, StepOutcome>;
  failure?: SetupFailure;
  conversationId?: string;
  progressActivityId?: string;
  /** 'running' and this in the past: no instance drives the run any more (a crash or a restart). */
  leaseUntil?: Date;
  startedAt?: Date;
  finishedAt?: Date;
}

interface Row {
  tenant_id: string;
  choice: SetupChoice;
  service_account_upn: string | null;
  status: PartnerSetup['status'];
  run_kind: SetupRunKind | null;
  run_id: string | null;
  steps: Record<string, StepOutcome>;
  failure: SetupFailure | null;
  conversation_id: string | null;
  progress_activity_id: string | null;
  lease_until: Date | string | null;
  started_at: Date | string | null;
  finished_at: Date | string | null;
}

/** At most this many cards are kept per intent (the newest): a partner pressing again and again. */
const FOR_ME_CARDS_KEPT = 10;

const date = (v: Date | string | null): Date | undefined => (v ? new Date(v) : undefined);

function toSetup(r: Row): PartnerSetup {
  return {
    tenantId: r.tenant_id, choice: r.choice, serviceAccountUpn: r.service_account_upn ?? undefined, status: r.status, runKind: r.run_kind ?? 'setup',
    runId: r.run_id ?? undefined, steps: r.steps ?? {}, failure: r.failure ?? undefined, conversationId: r.conversation_id ?? undefined,
    progressActivityId: r.progress_activity_id ?? undefined, leaseUntil: date(r.lease_until), startedAt: date(r.started_at), finishedAt: date(r.finished_at),
  };
}

/** A run no instance drives any more: it needs a new sign-in to go on. */
export function isInterrupted(s: PartnerSetup, now = new Date()): boolean {
  return s.status === 'running' && (!s.leaseUntil || s.leaseUntil <= now);
}

/**
 * The setup run's record (migration 17): the choice, then one row per partner whose `steps` grow as
 * the run goes. Every write of a run names its `run_id`, so a run that lost its lease (another
 * instance took over after a new sign-in) cannot write over the one that replaced it.
 */
export class PartnerSetupRepository {
  constructor(private readonly db: Db) {}

  async get(tenantId: string): Promise<PartnerSetup | undefined> {
    const [row] = await this.db.query<Row>('SELECT * FROM partner_setups WHERE tenant_id = $1', [tenantId]);
    return row ? toSetup(row) : undefined;
  }

  /** The partner's choice; refused (false) once a run has started: the app it makes is theirs then. */
  async choose(tenantId: string, choice: SetupChoice, actor: string): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const rows = await tx.query(
        `INSERT INTO partner_setups (tenant_id, choice) VALUES ($1, $2)
         ON CONFLICT (tenant_id) DO UPDATE SET choice = EXCLUDED.choice, updated_at = now()
           WHERE partner_setups.status = 'chosen' OR partner_setups.choice = EXCLUDED.choice
         RETURNING tenant_id`,
        [tenantId, choice],
      );
      if (rows.length > 0) await recordAudit(tx, { tenantId, actor, action: 'setup.chosen', detail: { choice } });
      return rows.length > 0;
    });
  }

  /** The service account the run puts into AdminAgents (the short card before the sign-in). */
  async setServiceAccount(tenantId: string, upn: string): Promise<boolean> {
    const rows = await this.db.query(
      `UPDATE partner_setups SET service_account_upn = $2, updated_at = now()
       WHERE tenant_id = $1 AND choice = 'setup' AND NOT (status = 'running' AND lease_until > now()) RETURNING tenant_id`,
      [tenantId, upn],
    );
    return rows.length > 0;
  }

  /**
   * Claims the run for `runId` with a lease: none may be running with a live lease. A finished run
   * may be claimed again (a repair); recorded steps stay, so the new run starts where the last stopped.
   */
  async begin(tenantId: string, runId: string, conversationId: string, leaseMs: number, actor: string, kind: SetupRunKind = 'setup'): Promise<PartnerSetup | undefined> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx.query<Row>(
        `UPDATE partner_setups SET status = 'running', run_id = $2, run_kind = $5, conversation_id = $3, lease_until = now() + ($4::int * interval '1 millisecond'),
           failure = NULL, started_at = coalesce(CASE WHEN status = 'done' THEN NULL ELSE started_at END, now()), finished_at = NULL, updated_at = now(),
           steps = CASE WHEN status = 'done' THEN '{}'::jsonb ELSE steps END
         WHERE tenant_id = $1 AND choice = 'setup' AND service_account_upn IS NOT NULL AND NOT (status = 'running' AND lease_until > now())
         RETURNING *`,
        [tenantId, runId, conversationId, leaseMs, kind],
      );
      if (row) await recordAudit(tx, { tenantId, actor, action: 'setup.started', detail: { resumedAt: Object.keys(row.steps ?? {}).length, kind } });
      return row ? toSetup(row) : undefined;
    });
  }

  /** A step ended: its outcome is kept and the lease renewed. False: the run is no longer this one's. */
  async recordStep(tenantId: string, runId: string, step: string, outcome: StepOutcome, leaseMs: number): Promise<boolean> {
    const rows = await this.db.query(
      `UPDATE partner_setups SET steps = steps || jsonb_build_object($3::text, $4::jsonb),
         lease_until = now() + ($5::int * interval '1 millisecond'), updated_at = now()
       WHERE tenant_id = $1 AND run_id = $2 AND status = 'running' RETURNING tenant_id`,
      [tenantId, runId, step, JSON.stringify(outcome), leaseMs],
    );
    return rows.length > 0;
  }

  /** Keeps the lease while a step waits (replication). */
  async renew(tenantId: string, runId: string, leaseMs: number): Promise<boolean> {
    const rows = await this.db.query(
      `UPDATE partner_setups SET lease_until = now() + ($3::int * interval '1 millisecond'), updated_at = now()
       WHERE tenant_id = $1 AND run_id = $2 AND status = 'running' RETURNING tenant_id`,
      [tenantId, runId, leaseMs],
    );
    return rows.length > 0;
  }

  async setProgressActivity(tenantId: string, runId: string, activityId: string): Promise<void> {
    await this.db.query('UPDATE partner_setups SET progress_activity_id = $3 WHERE tenant_id = $1 AND run_id = $2', [tenantId, runId, activityId]);
  }

  async fail(tenantId: string, runId: string, failure: SetupFailure): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const rows = await tx.query(
        `UPDATE partner_setups SET status = 'failed', failure = $3::jsonb, lease_until = NULL, updated_at = now()
         WHERE tenant_id = $1 AND run_id = $2 AND status = 'running' RETURNING tenant_id`,
        [tenantId, runId, JSON.stringify(failure)],
      );
      if (rows.length > 0) await recordAudit(tx, { tenantId, actor: 'bot', action: 'setup.failed', detail: { step: failure.step, code: failure.code } });
      return rows.length > 0;
    });
  }

  async finish(tenantId: string, runId: string): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const rows = await tx.query(
        `UPDATE partner_setups SET status = 'done', lease_until = NULL, finished_at = now(), updated_at = now()
         WHERE tenant_id = $1 AND run_id = $2 AND status = 'running' RETURNING tenant_id`,
        [tenantId, runId],
      );
      if (rows.length > 0) await recordAudit(tx, { tenantId, actor: 'bot', action: 'setup.done', detail: {} });
      return rows.length > 0;
    });
  }

  /** A card that asked for a rotation or a repair, kept until that work is done (migration 20). */
  async addForMeCard(tenantId: string, intent: ForMeIntent, card: ForMeCard): Promise<void> {
    await this.db.query(
      `UPDATE partner_setups SET for_me_cards = jsonb_set(for_me_cards, ARRAY[$2::text],
         (SELECT coalesce(jsonb_agg(c ORDER BY n), '[]'::jsonb) FROM (
            SELECT c, n FROM jsonb_array_elements(coalesce(for_me_cards->$2::text, '[]'::jsonb) || jsonb_build_array($3::jsonb)) WITH ORDINALITY AS e(c, n)
            ORDER BY n DESC LIMIT $4) kept))
       WHERE tenant_id = $1`,
      [tenantId, intent, JSON.stringify(card), FOR_ME_CARDS_KEPT],
    );
  }

  /** The cards that asked for `intent`, taken (once: the work they asked for is done). */
  async takeForMeCards(tenantId: string, intent: ForMeIntent): Promise<ForMeCard[]> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx.query<{ cards: ForMeCard[] | null }>('SELECT for_me_cards->$2::text AS cards FROM partner_setups WHERE tenant_id = $1 FOR UPDATE', [tenantId, intent]);
      if (!row?.cards?.length) return [];
      await tx.query('UPDATE partner_setups SET for_me_cards = for_me_cards - $2::text WHERE tenant_id = $1', [tenantId, intent]);
      return row.cards;
    });
  }

  /**
   * Claims the rotation of the partner's app secret for `runId` (migration 22): refused (false)
   * while another rotation holds a live lease, on this instance or any other.
   */
  async claimRotation(tenantId: string, runId: string, leaseMs: number): Promise<boolean> {
    const rows = await this.db.query(
      `INSERT INTO secret_rotations (tenant_id, run_id, lease_until) VALUES ($1, $2, now() + ($3::int * interval '1 millisecond'))
       ON CONFLICT (tenant_id) DO UPDATE SET run_id = EXCLUDED.run_id, lease_until = EXCLUDED.lease_until, started_at = now()
         WHERE secret_rotations.lease_until <= now()
       RETURNING tenant_id`,
      [tenantId, runId, leaseMs],
    );
    return rows.length > 0;
  }

  /** Keeps the rotation's lease while it waits for Microsoft. False: the claim is no longer this run's. */
  async renewRotation(tenantId: string, runId: string, leaseMs: number): Promise<boolean> {
    const rows = await this.db.query(
      `UPDATE secret_rotations SET lease_until = now() + ($3::int * interval '1 millisecond') WHERE tenant_id = $1 AND run_id = $2 RETURNING tenant_id`,
      [tenantId, runId, leaseMs],
    );
    return rows.length > 0;
  }

  /** The rotation ended (done or stopped): the next one may start at once. */
  async releaseRotation(tenantId: string, runId: string): Promise<void> {
    await this.db.query('DELETE FROM secret_rotations WHERE tenant_id = $1 AND run_id = $2', [tenantId, runId]);
  }

  /** Runs left 'running' by an instance that is gone (lease lapsed): the chat is told once, then they read as failed. */
  async takeInterrupted(): Promise<PartnerSetup[]> {
    const rows = await this.db.query<Row>(
      `UPDATE partner_setups SET status = 'failed', lease_until = NULL, updated_at = now(),
         failure = jsonb_build_object('step', coalesce(failure->>'step', ''), 'code', 'interrupted', 'text', '')
       WHERE status = 'running' AND lease_until <= now() RETURNING *`,
    );
    return rows.map(toSetup);
  }
}
