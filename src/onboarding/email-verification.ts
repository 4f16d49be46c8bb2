import { createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { recordAudit } from '../store/audit-log';
import type { Db, Queryable } from '../store/db';
import type { PartnerRepository } from '../store/partners';
import type { Mailer } from '../mail/mailer';

/** The code typed in chat lives 30 minutes; the link in the mail 48 hours (as the seeds promise). */
export const CODE_TTL_MS = 30 * 60_000;
export const LINK_TTL_MS = 48 * 3_600_000;
export const MAX_WRONG_CODES = 5;
export const LOCK_MS = 15 * 60_000;
export const RESEND_INTERVAL_MS = 60_000;
/** Daily caps (rolling 24 h): mails sent, and wrong codes tried, per tenant and per address. */
export const DAILY_SENDS_PER_TENANT = 10;
export const DAILY_SENDS_PER_ADDRESS = 5;
export const DAILY_GUESSES_PER_TENANT = 20;
export const DAILY_GUESSES_PER_ADDRESS = 20;
const DAY_MS = 86_400_000;

export type SendResult =
  | { ok: true }
  | { ok: false; reason: 'too_soon'; waitMs: number }
  | { ok: false; reason: 'daily_limit' };

export type CodeResult =
  | { ok: true }
  | { ok: false; reason: 'wrong'; attemptsLeft: number }
  | { ok: false; reason: 'locked'; minutes: number }
  | { ok: false; reason: 'expired' | 'used' | 'none' | 'malformed' | 'daily_limit' | 'stale' };

/** What the link's page shows before anyone confirms: whose request, for which company. */
export type LinkPreview =
  | { ok: true; companyName: string; requestedBy: string; maskedEmail: string }
  | { ok: false; reason: LinkFailure };

export type LinkFailure = 'expired' | 'used' | 'unknown' | 'denied' | 'stale';

export type LinkResult =
  | { ok: true; tenantId: string; conversationId?: string; maskedEmail: string }
  | { ok: false; reason: LinkFailure };

interface Row {
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

/** `j***@contoso.com`: enough for the person to recognise, not enough to harvest. */
export function maskEmail(email: string): string {
  const [local = '', domain = ''] = email.split('@');
  return `${local.slice(0, 1)}${'*'.repeat(Math.max(1, Math.min(local.length - 1, 3)))}@${domain}`;
}

/** The primary contact's email as it is now, in the same transaction as the check that uses it. */
async function currentContactEmail(q: Queryable, tenantId: string): Promise<string | undefined> {
  const [row] = await q.query<{ email: string | null }>("SELECT lower(primary_contact->>'email') AS email FROM partners WHERE tenant_id = $1", [tenantId]);
  return row?.email ?? undefined;
}

async function countEvents(q: Queryable, kind: 'send' | 'guess', since: Date, by: { tenantId: string } | { email: string }): Promise<number> {
  const [row] = 'tenantId' in by
    ? await q.query<{ n: number }>('SELECT count(*)::int AS n FROM email_verification_events WHERE tenant_id = $1 AND kind = $2 AND at > $3', [by.tenantId, kind, since])
    : await q.query<{ n: number }>('SELECT count(*)::int AS n FROM email_verification_events WHERE email = $1 AND kind = $2 AND at > $3', [by.email, kind, since]);
  return row?.n ?? 0;
}

/**
 * One-time verification of the primary contact's email: a 6-digit code (30 minutes) and a link
 * (48 hours), sent together, single use, bound to the address they were sent to. 5 wrong codes
 * lock it for 15 minutes; a new mail at most once a minute; daily caps on mails and guesses.
 * Only keyed hashes of the code and link token are stored, and only once the mail went out.
 */
export class EmailVerificationService {
  constructor(
    private readonly db: Db,
    private readonly partners: PartnerRepository,
    private readonly mailer: Mailer,
    private readonly pepper: Buffer,
    private readonly publicBaseUrl: string,
    private readonly now: () => number = Date.now,
  ) {}

  private hash(kind: 'code' | 'link', tenantId: string, value: string): string {
    return createHmac('sha256', this.pepper).update(`${kind}:${tenantId}:${value}`).digest('hex');
  }

  /** The caps count per address without keeping the address: these rows outlive "delete my data". */
  private addressKey(address: string): string {
    return createHmac('sha256', this.pepper).update(`address:${address}`).digest('hex');
  }

  private tokenHash(token: string): string {
    return createHmac('sha256', this.pepper).update(`link:${token}`).digest('hex');
  }

  /** A code sent to `email` that can still be used: no need to send another. */
  async hasPendingCode(tenantId: string, email: string): Promise<boolean> {
    const [row] = await this.db.query<Row>('SELECT * FROM email_verifications WHERE tenant_id = $1', [tenantId]);
    const now = this.now();
    return !!row && row.email === email.toLowerCase() && !!row.code_hash && !row.used_at && !row.denied_at && (row.code_expires_at?.getTime() ?? 0) > now;
  }

  /**
   * Sends a fresh code and link, replacing earlier ones once the mail is out. The resend interval
   * and the daily caps are enforced atomically here, whoever calls; failed guesses are not reset.
   */
  async send(tenantId: string, email: string, actor: { aadObjectId: string; name: string }, conversationId?: string): Promise<SendResult> {
    const address = email.toLowerCase();
    const now = this.now();
    const reserved = await this.db.transaction(async (tx): Promise<SendResult & { previous?: Date | null }> => {
      // The partner row serialises concurrent sends for the tenant, also before any verification row exists.
      await tx.query('SELECT 1 FROM partners WHERE tenant_id = $1 FOR UPDATE', [tenantId]);
      const [row] = await tx.query<Row>('SELECT * FROM email_verifications WHERE tenant_id = $1 FOR UPDATE', [tenantId]);
      if (row) {
        const waitMs = row.last_sent_at.getTime() + RESEND_INTERVAL_MS - now;
        if (waitMs > 0) return { ok: false, reason: 'too_soon', waitMs };
      }
      const since = new Date(now - DAY_MS);
      if ((await countEvents(tx, 'send', since, { tenantId })) >= DAILY_SENDS_PER_TENANT
        || (await countEvents(tx, 'send', since, { email: this.addressKey(address) })) >= DAILY_SENDS_PER_ADDRESS) {
        return { ok: false, reason: 'daily_limit' };
      }
      await tx.query('INSERT INTO email_verification_events (tenant_id, email, kind, at) VALUES ($1, $2, $3, $4)', [tenantId, this.addressKey(address), 'send', new Date(now)]);
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
    if (!reserved.ok) return reserved;

    const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    const token = randomBytes(32).toString('base64url');
    const link = `${this.publicBaseUrl}/verify-email?token=${token}`;
    try {
      await this.mailer.send({
        to: address,
        subject: 'Confirm your email for partner onboarding',
        text: [
          'Hello,',
          '',
          `${actor.name} named you the primary contact for your company's partner onboarding in Microsoft Teams.`,
          `To confirm this address, open this link and select "Yes, confirm": ${link}`,
          `or enter this code in the Teams chat: ${code}`,
          '',
          'The code works once, for 30 minutes; the link works once, for 48 hours.',
          'If you did not expect this mail, open the link and select "This wasn\'t me", or ignore it.',
        ].join('\n'),
      });
    } catch (err) {
      // Nobody got this code: let the person ask again at once rather than wait out the minute.
      await this.db.query('UPDATE email_verifications SET last_sent_at = $2 WHERE tenant_id = $1', [tenantId, reserved.previous ?? new Date(0)]);
      throw err;
    }
    await this.db.transaction(async (tx) => {
      await tx.query(
        `UPDATE email_verifications SET email = $2, code_hash = $3, token_hash = $4, expires_at = $5, code_expires_at = $6,
           used_at = NULL, denied_at = NULL, conversation_id = $7, requested_by = $8
         WHERE tenant_id = $1`,
        [tenantId, address, this.hash('code', tenantId, code), this.tokenHash(token), new Date(now + LINK_TTL_MS), new Date(now + CODE_TTL_MS), conversationId ?? null, actor.name.slice(0, 100)],
      );
      await recordAudit(tx, { tenantId, actor: actor.aadObjectId, action: 'email.code_sent', detail: { to: maskEmail(address) } });
    });
    return { ok: true };
  }

  async checkCode(tenantId: string, input: string, actor: string): Promise<CodeResult> {
    const code = input.replace(/\s+/g, '');
    if (!/^\d{6}$/.test(code)) return { ok: false, reason: 'malformed' };
    return this.db.transaction(async (tx) => {
      const [row] = await tx.query<Row>('SELECT * FROM email_verifications WHERE tenant_id = $1 FOR UPDATE', [tenantId]);
      if (!row || !row.code_hash) return { ok: false, reason: 'none' };
      const now = this.now();
      if (row.locked_until && row.locked_until.getTime() > now) return { ok: false, reason: 'locked', minutes: Math.ceil((row.locked_until.getTime() - now) / 60_000) };
      if (row.used_at || row.denied_at) return { ok: false, reason: 'used' };
      if ((row.code_expires_at?.getTime() ?? 0) <= now) return { ok: false, reason: 'expired' };
      if ((await currentContactEmail(tx, tenantId)) !== row.email) return { ok: false, reason: 'stale' };
      const since = new Date(now - DAY_MS);
      if ((await countEvents(tx, 'guess', since, { tenantId })) >= DAILY_GUESSES_PER_TENANT
        || (await countEvents(tx, 'guess', since, { email: this.addressKey(row.email) })) >= DAILY_GUESSES_PER_ADDRESS) {
        return { ok: false, reason: 'daily_limit' };
      }
      const expected = Buffer.from(row.code_hash, 'hex');
      const actual = Buffer.from(this.hash('code', tenantId, code), 'hex');
      if (!timingSafeEqual(expected, actual)) {
        await tx.query('INSERT INTO email_verification_events (tenant_id, email, kind, at) VALUES ($1, $2, $3, $4)', [tenantId, this.addressKey(row.email), 'guess', new Date(now)]);
        const failed = row.failed_attempts + 1;
        if (failed >= MAX_WRONG_CODES) {
          await tx.query('UPDATE email_verifications SET failed_attempts = 0, locked_until = $2 WHERE tenant_id = $1', [tenantId, new Date(now + LOCK_MS)]);
          await recordAudit(tx, { tenantId, actor, action: 'email.locked' });
          return { ok: false, reason: 'locked', minutes: LOCK_MS / 60_000 };
        }
        await tx.query('UPDATE email_verifications SET failed_attempts = $2 WHERE tenant_id = $1', [tenantId, failed]);
        await recordAudit(tx, { tenantId, actor, action: 'email.code_failed', detail: { attempt: failed } });
        return { ok: false, reason: 'wrong', attemptsLeft: MAX_WRONG_CODES - failed };
      }
      await tx.query('UPDATE email_verifications SET used_at = $2, locked_until = NULL, failed_attempts = 0 WHERE tenant_id = $1', [tenantId, new Date(now)]);
      await this.partners.markEmailVerified(tx, tenantId, row.email, actor, 'code');
      return { ok: true };
    });
  }

  /** The link's row, if the token is well-formed and known; locked for update inside `q`'s transaction. */
  private async linkRow(q: Queryable, token: string, forUpdate: boolean): Promise<Row | undefined> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return undefined;
    const [row] = await q.query<Row>(`SELECT * FROM email_verifications WHERE token_hash = $1${forUpdate ? ' FOR UPDATE' : ''}`, [this.tokenHash(token)]);
    return row;
  }

  private async linkFailure(q: Queryable, row: Row | undefined): Promise<LinkFailure | undefined> {
    if (!row) return 'unknown';
    if (row.denied_at) return 'denied';
    if (row.used_at) return 'used';
    if (row.expires_at.getTime() <= this.now()) return 'expired';
    if ((await currentContactEmail(q, row.tenant_id)) !== row.email) return 'stale';
    return undefined;
  }

  /** What the link's page shows. Changes nothing: mail scanners open every link they see. */
  async previewLink(token: string): Promise<LinkPreview> {
    const row = await this.linkRow(this.db, token, false);
    const failure = await this.linkFailure(this.db, row);
    if (failure || !row) return { ok: false, reason: failure ?? 'unknown' };
    const [partner] = await this.db.query<{ name: string | null }>("SELECT company->>'legalName' AS name FROM partners WHERE tenant_id = $1", [row.tenant_id]);
    return { ok: true, companyName: partner?.name ?? 'your company', requestedBy: row.requested_by ?? 'a colleague', maskedEmail: maskEmail(row.email) };
  }

  /** The person confirmed on the link's page (a POST): single use, 48 h, the address as it is now. */
  async confirmLink(token: string): Promise<LinkResult> {
    return this.db.transaction(async (tx) => {
      const row = await this.linkRow(tx, token, true);
      const failure = await this.linkFailure(tx, row);
      if (failure || !row) return { ok: false, reason: failure ?? 'unknown' };
      await tx.query('UPDATE email_verifications SET used_at = $2 WHERE tenant_id = $1', [row.tenant_id, new Date(this.now())]);
      await this.partners.markEmailVerified(tx, row.tenant_id, row.email, `mailbox:${maskEmail(row.email)}`, 'link');
      return { ok: true, tenantId: row.tenant_id, conversationId: row.conversation_id ?? undefined, maskedEmail: maskEmail(row.email) };
    });
  }

  /** "This wasn't me": the code and link stop working, and the chat that asked is told. */
  async denyLink(token: string): Promise<LinkResult> {
    return this.db.transaction(async (tx) => {
      const row = await this.linkRow(tx, token, true);
      const failure = await this.linkFailure(tx, row);
      if (failure || !row) return { ok: false, reason: failure ?? 'unknown' };
      await tx.query('UPDATE email_verifications SET denied_at = $2 WHERE tenant_id = $1', [row.tenant_id, new Date(this.now())]);
      await recordAudit(tx, { tenantId: row.tenant_id, actor: `mailbox:${maskEmail(row.email)}`, action: 'email.denied' });
      return { ok: true, tenantId: row.tenant_id, conversationId: row.conversation_id ?? undefined, maskedEmail: maskEmail(row.email) };
    });
  }
}
