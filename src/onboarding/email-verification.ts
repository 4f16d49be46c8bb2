import { createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { recordAudit } from '../store/audit-log';
import type { Db } from '../store/db';
import type { PartnerRepository } from '../store/partners';
import type { Mailer } from '../mail/mailer';

export const CODE_TTL_MS = 48 * 3_600_000;
export const MAX_WRONG_CODES = 5;
export const LOCK_MS = 15 * 60_000;
export const RESEND_INTERVAL_MS = 60_000;

export type CodeResult =
  | { ok: true }
  | { ok: false; reason: 'wrong'; attemptsLeft: number }
  | { ok: false; reason: 'locked'; minutes: number }
  | { ok: false; reason: 'expired' | 'used' | 'none' | 'malformed' };

export type LinkResult = { ok: true; tenantId: string; conversationId?: string } | { ok: false; reason: 'expired' | 'used' | 'unknown' };

interface Row {
  tenant_id: string;
  email: string;
  code_hash: string;
  token_hash: string;
  expires_at: Date;
  failed_attempts: number;
  locked_until: Date | null;
  last_sent_at: Date;
  used_at: Date | null;
  conversation_id: string | null;
}

/** `j***@contoso.com`: enough for the person to recognise, not enough to harvest. */
export function maskEmail(email: string): string {
  const [local = '', domain = ''] = email.split('@');
  return `${local.slice(0, 1)}${'*'.repeat(Math.max(1, Math.min(local.length - 1, 3)))}@${domain}`;
}

/**
 * One-time verification of the primary contact's email: a 6-digit code and a link, sent together,
 * valid 48 h, single use; 5 wrong codes lock it for 15 minutes; a new code at most once a minute.
 * Only keyed hashes of the code and link token are stored.
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

  private tokenHash(token: string): string {
    return createHmac('sha256', this.pepper).update(`link:${token}`).digest('hex');
  }

  /** Sends a fresh code and link, replacing any earlier ones. */
  async send(tenantId: string, email: string, actor: string, conversationId?: string): Promise<void> {
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    const token = randomBytes(32).toString('base64url');
    const now = this.now();
    await this.db.query(
      `INSERT INTO email_verifications (tenant_id, email, code_hash, token_hash, expires_at, failed_attempts, locked_until, last_sent_at, used_at, conversation_id)
       VALUES ($1, $2, $3, $4, $5, 0, NULL, $6, NULL, $7)
       ON CONFLICT (tenant_id) DO UPDATE SET email = EXCLUDED.email, code_hash = EXCLUDED.code_hash, token_hash = EXCLUDED.token_hash,
         expires_at = EXCLUDED.expires_at, failed_attempts = 0, last_sent_at = EXCLUDED.last_sent_at, used_at = NULL,
         conversation_id = EXCLUDED.conversation_id,
         -- A lock from wrong guesses outlives a resend; otherwise resending would reset the guess limit.
         locked_until = email_verifications.locked_until`,
      [tenantId, email, this.hash('code', tenantId, code), this.tokenHash(token), new Date(now + CODE_TTL_MS), new Date(now), conversationId ?? null],
    );
    const link = `${this.publicBaseUrl}/verify-email?token=${token}`;
    const mail = this.mailer.send({
      to: email,
      subject: 'Confirm your email for partner onboarding',
      text: [
        'Hello,',
        '',
        'You were named the primary contact for your company\'s partner onboarding in Microsoft Teams.',
        `To confirm this address, open this link: ${link}`,
        `or enter this code in the Teams chat: ${code}`,
        '',
        'The link and the code work once and expire in 48 hours. If you did not expect this mail, ignore it.',
      ].join('\n'),
    });
    try {
      await mail;
    } catch (err) {
      // Nobody got this code: let the person ask again at once rather than wait out the minute.
      await this.db.query("UPDATE email_verifications SET last_sent_at = 'epoch' WHERE tenant_id = $1", [tenantId]);
      throw err;
    }
    await recordAudit(this.db, { tenantId, actor, action: 'email.code_sent', detail: { to: maskEmail(email) } });
  }

  /** Milliseconds until a new code may be sent (0 = now). */
  async resendWaitMs(tenantId: string): Promise<number> {
    const [row] = await this.db.query<Row>('SELECT last_sent_at FROM email_verifications WHERE tenant_id = $1', [tenantId]);
    if (!row) return 0;
    return Math.max(0, row.last_sent_at.getTime() + RESEND_INTERVAL_MS - this.now());
  }

  async checkCode(tenantId: string, input: string, actor: string): Promise<CodeResult> {
    const code = input.replace(/\s+/g, '');
    if (!/^\d{6}$/.test(code)) return { ok: false, reason: 'malformed' };
    return this.db.transaction(async (tx) => {
      const [row] = await tx.query<Row>('SELECT * FROM email_verifications WHERE tenant_id = $1 FOR UPDATE', [tenantId]);
      if (!row) return { ok: false, reason: 'none' };
      const now = this.now();
      if (row.locked_until && row.locked_until.getTime() > now) return { ok: false, reason: 'locked', minutes: Math.ceil((row.locked_until.getTime() - now) / 60_000) };
      if (row.used_at) return { ok: false, reason: 'used' };
      if (row.expires_at.getTime() <= now) return { ok: false, reason: 'expired' };
      const expected = Buffer.from(row.code_hash, 'hex');
      const actual = Buffer.from(this.hash('code', tenantId, code), 'hex');
      if (!timingSafeEqual(expected, actual)) {
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
      await tx.query('UPDATE email_verifications SET used_at = $2, locked_until = NULL WHERE tenant_id = $1', [tenantId, new Date(now)]);
      await this.partners.markEmailVerified(tx, tenantId, actor, 'code');
      return { ok: true };
    });
  }

  /** The link in the mail: single use, 48 h; the person is whoever holds the mailbox. */
  async useLink(token: string): Promise<LinkResult> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return { ok: false, reason: 'unknown' };
    return this.db.transaction(async (tx) => {
      const [row] = await tx.query<Row>('SELECT * FROM email_verifications WHERE token_hash = $1 FOR UPDATE', [this.tokenHash(token)]);
      if (!row) return { ok: false, reason: 'unknown' };
      if (row.used_at) return { ok: false, reason: 'used' };
      const now = this.now();
      if (row.expires_at.getTime() <= now) return { ok: false, reason: 'expired' };
      await tx.query('UPDATE email_verifications SET used_at = $2 WHERE tenant_id = $1', [row.tenant_id, new Date(now)]);
      await this.partners.markEmailVerified(tx, row.tenant_id, `mailbox:${maskEmail(row.email)}`, 'link');
      return { ok: true, tenantId: row.tenant_id, conversationId: row.conversation_id ?? undefined };
    });
  }
}
