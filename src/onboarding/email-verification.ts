import { createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import type { Mailer } from '../microsoft/mailer';
import type { EmailVerificationRepository, GuessOutcome, LinkState } from '../store/email-verifications';

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

export type SendResult =
  | { ok: true }
  | { ok: false; reason: 'too_soon'; waitMs: number }
  | { ok: false; reason: 'daily_limit' };

export type CodeResult = GuessOutcome | { ok: false; reason: 'malformed' };

export type LinkFailure = Exclude<LinkState, 'ok'>;

/** What the link's page shows before anyone confirms: whose request, for which company. */
export type LinkPreview =
  | { ok: true; companyName: string; requestedBy: string; maskedEmail: string }
  | { ok: false; reason: LinkFailure };

export type LinkResult =
  | { ok: true; tenantId: string; conversationId?: string; maskedEmail: string }
  | { ok: false; reason: LinkFailure };

/** `j•••@contoso.com`: enough for the person to recognise, not enough to harvest. */
export function maskEmail(email: string): string {
  const [local = '', domain = ''] = email.split('@');
  // Dots, not stars: a star is markdown, and a masked address often sits in bold text.
  return `${local.slice(0, 1)}${'•'.repeat(Math.max(1, Math.min(local.length - 1, 3)))}@${domain}`;
}

/**
 * One-time verification of the primary contact's email: a 6-digit code (30 minutes) and a link
 * (48 hours), sent together, single use, bound to the address they were sent to. 5 wrong codes
 * lock it for 15 minutes; a new mail at most once a minute; daily caps on mails and guesses.
 * Only keyed hashes of the code and link token are stored, and only once the mail went out.
 */
export class EmailVerificationService {
  constructor(
    private readonly store: EmailVerificationRepository,
    private readonly mailer: Mailer,
    private readonly pepper: Buffer,
    private readonly publicBaseUrl: string,
    private readonly now: () => number = Date.now,
  ) {}

  private codeHash(tenantId: string, code: string): string {
    return createHmac('sha256', this.pepper).update(`code:${tenantId}:${code}`).digest('hex');
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
    const row = await this.store.get(tenantId);
    return !!row && row.email === email.toLowerCase() && !!row.code_hash && !row.used_at && !row.denied_at && (row.code_expires_at?.getTime() ?? 0) > this.now();
  }

  /**
   * Sends a fresh code and link, replacing earlier ones once the mail is out. The resend interval
   * and the daily caps are enforced atomically here, whoever calls; failed guesses are not reset.
   */
  async send(tenantId: string, email: string, actor: { aadObjectId: string; name: string }, conversationId?: string): Promise<SendResult> {
    const address = email.toLowerCase();
    const now = this.now();
    const reserved = await this.store.reserveSend(tenantId, address, this.addressKey(address), now, {
      resendIntervalMs: RESEND_INTERVAL_MS, perTenantPerDay: DAILY_SENDS_PER_TENANT, perAddressPerDay: DAILY_SENDS_PER_ADDRESS,
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
      await this.store.releaseSend(tenantId, reserved.previous);
      throw err;
    }
    await this.store.recordSent(tenantId, {
      address, codeHash: this.codeHash(tenantId, code), tokenHash: this.tokenHash(token),
      linkExpiresAt: new Date(now + LINK_TTL_MS), codeExpiresAt: new Date(now + CODE_TTL_MS),
      conversationId, requestedBy: actor.name.slice(0, 100), actor: actor.aadObjectId, maskedAddress: maskEmail(address),
    });
    return { ok: true };
  }

  async checkCode(tenantId: string, input: string, actor: string): Promise<CodeResult> {
    const code = input.replace(/\s+/g, '');
    if (!/^\d{6}$/.test(code)) return { ok: false, reason: 'malformed' };
    const actual = Buffer.from(this.codeHash(tenantId, code), 'hex');
    return this.store.guess(
      tenantId, this.now(),
      { maxWrong: MAX_WRONG_CODES, lockMs: LOCK_MS, perTenantPerDay: DAILY_GUESSES_PER_TENANT, perAddressPerDay: DAILY_GUESSES_PER_ADDRESS },
      (address) => this.addressKey(address),
      (codeHash) => timingSafeEqual(Buffer.from(codeHash, 'hex'), actual),
      actor,
    );
  }

  private static wellFormed(token: string): boolean {
    return /^[A-Za-z0-9_-]{43}$/.test(token);
  }

  /** What the link's page shows. Changes nothing: mail scanners open every link they see. */
  async previewLink(token: string): Promise<LinkPreview> {
    if (!EmailVerificationService.wellFormed(token)) return { ok: false, reason: 'unknown' };
    const { state, row, companyName } = await this.store.peekLink(this.tokenHash(token), this.now());
    if (state !== 'ok' || !row) return { ok: false, reason: state === 'ok' ? 'unknown' : state };
    return { ok: true, companyName: companyName ?? 'your company', requestedBy: row.requested_by ?? 'a colleague', maskedEmail: maskEmail(row.email) };
  }

  /** The person confirmed on the link's page (a POST): single use, 48 h, the address as it is now. */
  confirmLink(token: string): Promise<LinkResult> {
    return this.useLink(token, 'confirm');
  }

  /** "This wasn't me": the code and link stop working, and the chat that asked is told. */
  denyLink(token: string): Promise<LinkResult> {
    return this.useLink(token, 'deny');
  }

  private async useLink(token: string, decision: 'confirm' | 'deny'): Promise<LinkResult> {
    if (!EmailVerificationService.wellFormed(token)) return { ok: false, reason: 'unknown' };
    const { state, row } = await this.store.useLink(this.tokenHash(token), this.now(), decision, (email) => `mailbox:${maskEmail(email)}`);
    if (state !== 'ok' || !row) return { ok: false, reason: state === 'ok' ? 'unknown' : state };
    return { ok: true, tenantId: row.tenant_id, conversationId: row.conversation_id ?? undefined, maskedEmail: maskEmail(row.email) };
  }
}
