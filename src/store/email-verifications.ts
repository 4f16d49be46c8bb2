import { recordAudit } from './audit-log';
import type { Db, Queryable } from './db';
import type { PartnerRecord, PartnerRepository } from './partners';

/** One tenant's pending verification, as stored: only keyed hashes of the code and link token. */
export interface VerificationRow {
  tenant_id: string;
  email: string;
  code_hash: string | null;
  token_hash: string | null;
  expires_at: Date;
  code_expires_at: Date | null;
  failed_attempts: number;
  locked_until: Date | null;
  last_sent_at: Date;
  used_at: Date | null;
  denied_at: Date | null;
  conversation_id: string | null;
  requested_by: string | null;
}

/** Limits the send and guess paths enforce, passed in by the service that owns the rules. */
export interface SendLimits {
  resendIntervalMs: number;
  perTenantPerDay: number;
  perAddressPerDay: number;
}

export interface GuessLimits {
  maxWrong: number;
  lockMs: number;
  perTenantPerDay: number;
  perAddressPerDay: number;
}

export type Reservation = { ok: true; previous: Date | null } | { ok: false; reason: 'too_soon'; waitMs: number } | { ok: false; reason: 'daily_limit' };

export type GuessOutcome =
  | { ok: true; partner: PartnerRecord }
  | { ok: false; reason: 'wrong'; attemptsLeft: number }
  | { ok: false; reason: 'locked'; minutes: number }
  | { ok: false; reason: 'expired' | 'used' | 'none' | 'daily_limit' | 'stale' };

export type LinkState = 'ok' | 'expired' | 'used' | 'unknown' | 'denied' | 'stale';

const DAY_MS = 86_400_000;

/** The primary contact's email as it is now, in the same transaction as the check that uses it. */
async function currentContactEmail(q: Queryable, tenantId: string): Promise<string | undefined> {
  const [row] = await q.query<{ email: string | null }>("SELECT lower(primary_contact->>'email') AS email FROM partners WHERE tenant_id = $1", [tenantId]);
  return row?.email ?? undefined;
}

/** Events in the last day, by tenant or by (keyed hash of the) address. */
async function countEvents(q: Queryable, kind: 'send' | 'guess', since: Date, by: { tenantId: string } | { addressKey: string }): Promise<number> {
  const [row] = 'tenantId' in by
    ? await q.query<{ n: number }>('SELECT count(*)::int AS n FROM email_verification_events WHERE tenant_id = $1 AND kind = $2 AND at > $3', [by.tenantId, kind, since])
    : await q.query<{ n: number }>('SELECT count(*)::int AS n FROM email_verification_events WHERE email = $1 AND kind = $2 AND at > $3', [by.addressKey, kind, since]);
  return row?.n ?? 0;
}

/**
 * Email verification rows, their events (for the daily caps) and the state changes on them, each
 * in one transaction. The rules (hashing, lifetimes, mail) are the service's; this is the SQL.
 */
export class EmailVerificationRepository {
  constructor(private readonly db: Db, private readonly partners: PartnerRepository) {}

  async get(tenantId: string): Promise<VerificationRow | undefined> {
    return (await this.db.query<VerificationRow>('SELECT * FROM email_verifications WHERE tenant_id = $1', [tenantId]))[0];
  }

  /**
   * Reserves a send: refuses within the resend interval and over the daily caps, else records the
   * send and moves `last_sent_at`, keeping any earlier code and link as they are.
   */
  async reserveSend(tenantId: string, address: string, addressKey: string, now: number, limits: SendLimits): Promise<Reservation> {
    return this.db.transaction(async (tx): Promise<Reservation> => {
      // The partner row serialises concurrent sends for the tenant, also before any verification row exists.
      await tx.query('SELECT 1 FROM partners WHERE tenant_id = $1 FOR UPDATE', [tenantId]);
      const [row] = await tx.query<VerificationRow>('SELECT * FROM email_verifications WHERE tenant_id = $1 FOR UPDATE', [tenantId]);
      if (row) {
        const waitMs = row.last_sent_at.getTime() + limits.resendIntervalMs - now;
        if (waitMs > 0) return { ok: false, reason: 'too_soon', waitMs };
      }
      const since = new Date(now - DAY_MS);
      if ((await countEvents(tx, 'send', since, { tenantId })) >= limits.perTenantPerDay
        || (await countEvents(tx, 'send', since, { addressKey })) >= limits.perAddressPerDay) {
        return { ok: false, reason: 'daily_limit' };
      }
      await tx.query('INSERT INTO email_verification_events (tenant_id, email, kind, at) VALUES ($1, $2, $3, $4)', [tenantId, addressKey, 'send', new Date(now)]);
      if (row) {
        await tx.query('UPDATE email_verifications SET last_sent_at = $2 WHERE tenant_id = $1', [tenantId, new Date(now)]);
      } else {
        // A reservation only: no code or link works until the mail has gone out.
        await tx.query(
          `INSERT INTO email_verifications (tenant_id, email, code_hash, token_hash, expires_at, code_expires_at, failed_attempts, last_sent_at)
           VALUES ($1, $2, NULL, NULL, $3, $3, 0, $3)`,
          [tenantId, address, new Date(now)],
        );
      }
      return { ok: true, previous: row?.last_sent_at ?? null };
    });
  }

  /** The mail did not go out: the person may ask again at once. */
  async releaseSend(tenantId: string, previous: Date | null): Promise<void> {
    await this.db.query('UPDATE email_verifications SET last_sent_at = $2 WHERE tenant_id = $1', [tenantId, previous ?? new Date(0)]);
  }

  /** The mail went out: its code and link replace earlier ones. Failed guesses are kept. */
  async recordSent(tenantId: string, sent: { address: string; codeHash: string; tokenHash: string; linkExpiresAt: Date; codeExpiresAt: Date; conversationId?: string; requestedBy: string; actor: string; maskedAddress: string }): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.query(
        `UPDATE email_verifications SET email = $2, code_hash = $3, token_hash = $4, expires_at = $5, code_expires_at = $6,
           used_at = NULL, denied_at = NULL, conversation_id = $7, requested_by = $8
         WHERE tenant_id = $1`,
        [tenantId, sent.address, sent.codeHash, sent.tokenHash, sent.linkExpiresAt, sent.codeExpiresAt, sent.conversationId ?? null, sent.requestedBy],
      );
      await recordAudit(tx, { tenantId, actor: sent.actor, action: 'email.code_sent', detail: { to: sent.maskedAddress } });
    });
  }

  /**
   * One guess at the code, in one transaction: lock, lifetime, address, daily cap, then
   * `matches(codeHash)`. Wrong guesses count towards the lock and the daily cap.
   */
  async guess(tenantId: string, now: number, limits: GuessLimits, addressKey: (email: string) => string, matches: (codeHash: string) => boolean, actor: string): Promise<GuessOutcome> {
    return this.db.transaction(async (tx): Promise<GuessOutcome> => {
      const [row] = await tx.query<VerificationRow>('SELECT * FROM email_verifications WHERE tenant_id = $1 FOR UPDATE', [tenantId]);
      if (!row || !row.code_hash) return { ok: false, reason: 'none' };
      if (row.locked_until && row.locked_until.getTime() > now) return { ok: false, reason: 'locked', minutes: Math.ceil((row.locked_until.getTime() - now) / 60_000) };
      if (row.used_at || row.denied_at) return { ok: false, reason: 'used' };
      if ((row.code_expires_at?.getTime() ?? 0) <= now) return { ok: false, reason: 'expired' };
      if ((await currentContactEmail(tx, tenantId)) !== row.email) return { ok: false, reason: 'stale' };
      const since = new Date(now - DAY_MS);
      const key = addressKey(row.email);
      if ((await countEvents(tx, 'guess', since, { tenantId })) >= limits.perTenantPerDay
        || (await countEvents(tx, 'guess', since, { addressKey: key })) >= limits.perAddressPerDay) {
        return { ok: false, reason: 'daily_limit' };
      }
      if (!matches(row.code_hash)) {
        await tx.query('INSERT INTO email_verification_events (tenant_id, email, kind, at) VALUES ($1, $2, $3, $4)', [tenantId, key, 'guess', new Date(now)]);
        const failed = row.failed_attempts + 1;
        if (failed >= limits.maxWrong) {
          await tx.query('UPDATE email_verifications SET failed_attempts = 0, locked_until = $2 WHERE tenant_id = $1', [tenantId, new Date(now + limits.lockMs)]);
          await recordAudit(tx, { tenantId, actor, action: 'email.locked' });
          return { ok: false, reason: 'locked', minutes: limits.lockMs / 60_000 };
        }
        await tx.query('UPDATE email_verifications SET failed_attempts = $2 WHERE tenant_id = $1', [tenantId, failed]);
        await recordAudit(tx, { tenantId, actor, action: 'email.code_failed', detail: { attempt: failed } });
        return { ok: false, reason: 'wrong', attemptsLeft: limits.maxWrong - failed };
      }
      await tx.query('UPDATE email_verifications SET used_at = $2, locked_until = NULL, failed_attempts = 0 WHERE tenant_id = $1', [tenantId, new Date(now)]);
      const partner = await this.partners.markEmailVerified(tx, tenantId, row.email, actor, 'code');
      // The address was checked above, in this transaction: it is still the contact's.
      return { ok: true, partner: partner! };
    });
  }

  private async linkState(q: Queryable, row: VerificationRow | undefined, now: number): Promise<LinkState> {
    if (!row) return 'unknown';
    if (row.denied_at) return 'denied';
    if (row.used_at) return 'used';
    if (row.expires_at.getTime() <= now) return 'expired';
    if ((await currentContactEmail(q, row.tenant_id)) !== row.email) return 'stale';
    return 'ok';
  }

  /** The link's row and whether it can still be used. Reads only. */
  async peekLink(tokenHash: string, now: number): Promise<{ state: LinkState; row?: VerificationRow; companyName?: string }> {
    const [row] = await this.db.query<VerificationRow & { company_name: string | null }>(
      `SELECT v.*, p.company->>'legalName' AS company_name FROM email_verifications v JOIN partners p USING (tenant_id) WHERE v.token_hash = $1`,
      [tokenHash],
    );
    const state = await this.linkState(this.db, row, now);
    return { state, row, companyName: row?.company_name ?? undefined };
  }

  /** Uses the link: `confirm` verifies the address, `deny` voids code and link. Once only. */
  async useLink(tokenHash: string, now: number, decision: 'confirm' | 'deny', actor: (email: string) => string): Promise<{ state: LinkState; row?: VerificationRow }> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx.query<VerificationRow>('SELECT * FROM email_verifications WHERE token_hash = $1 FOR UPDATE', [tokenHash]);
      const state = await this.linkState(tx, row, now);
      if (state !== 'ok' || !row) return { state };
      if (decision === 'confirm') {
        await tx.query('UPDATE email_verifications SET used_at = $2 WHERE tenant_id = $1', [row.tenant_id, new Date(now)]);
        await this.partners.markEmailVerified(tx, row.tenant_id, row.email, actor(row.email), 'link');
      } else {
        await tx.query('UPDATE email_verifications SET denied_at = $2 WHERE tenant_id = $1', [row.tenant_id, new Date(now)]);
        await recordAudit(tx, { tenantId: row.tenant_id, actor: actor(row.email), action: 'email.denied' });
      }
      return { state, row };
    });
  }
}
