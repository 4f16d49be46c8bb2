import type { Company, Contact } from '../onboarding/forms';
import { hasRecentAudit, recordAudit, type AuditAction } from './audit-log';
import type { Db, Queryable } from './db';

/** A Teams user as the partner record knows them. */
export interface Person {
  aadObjectId: string;
  name: string;
}

export interface Member extends Person {
  role: 'owner' | 'member';
  /** Their personal chat with the bot, when known. */
  conversationId?: string;
}

/** The partner's onboarding data, keyed by its Teams tenant. */
export interface Partner {
  tenantId: string;
  company?: Company;
  primaryContact?: Contact;
  secondaryContact?: Contact;
  secondarySkipped: boolean;
  confirmedAt?: Date;
  emailVerifiedAt?: Date;
  members: Member[];
}

/** The person who started onboarding for the tenant. */
export function ownerOf(partner: Partner): Member | undefined {
  return partner.members.find((m) => m.role === 'owner');
}

export type Section = 'company' | 'primaryContact' | 'secondaryContact';

const SECTION_COLUMN: Record<Section, string> = { company: 'company', primaryContact: 'primary_contact', secondaryContact: 'secondary_contact' };
const SECTION_ACTION: Record<Section, AuditAction> = { company: 'company.saved', primaryContact: 'contact.primary.saved', secondaryContact: 'contact.secondary.saved' };

interface PartnerRow {
  tenant_id: string;
  company: Company | null;
  primary_contact: Contact | null;
  secondary_contact: Contact | null;
  secondary_skipped: boolean;
  confirmed_at: Date | null;
  email_verified_at: Date | null;
}

/** Names of the fields whose values differ: what the audit log records about a change. */
function changedFields(before: object | null | undefined, after: object): string[] {
  const b = (before ?? {}) as Record<string, unknown>;
  const a = after as Record<string, unknown>;
  return [...new Set([...Object.keys(b), ...Object.keys(a)])].filter((k) => JSON.stringify(b[k]) !== JSON.stringify(a[k])).sort();
}

/**
 * Partners and their members. Every method is scoped by tenant id; callers get the tenant from the
 * Teams activity itself, so one tenant's users can never name another tenant's partner.
 */
export class PartnerRepository {
  constructor(private readonly db: Db) {}

  async get(tenantId: string): Promise<Partner | undefined> {
    const [row] = await this.db.query<PartnerRow>('SELECT * FROM partners WHERE tenant_id = $1', [tenantId]);
    if (!row) return undefined;
    const members = await this.db.query<{ aad_object_id: string; display_name: string; role: Member['role']; conversation_id: string | null }>(
      'SELECT aad_object_id, display_name, role, conversation_id FROM partner_members WHERE tenant_id = $1 ORDER BY role DESC, added_at',
      [tenantId],
    );
    return {
      tenantId: row.tenant_id,
      company: row.company ?? undefined,
      primaryContact: row.primary_contact ?? undefined,
      secondaryContact: row.secondary_contact ?? undefined,
      secondarySkipped: row.secondary_skipped,
      confirmedAt: row.confirmed_at ?? undefined,
      emailVerifiedAt: row.email_verified_at ?? undefined,
      members: members.map((m) => ({ aadObjectId: m.aad_object_id, name: m.display_name, role: m.role, conversationId: m.conversation_id ?? undefined })),
    };
  }

  /** Creates the partner with `owner` as its owner, unless the tenant already has one. */
  async createIfMissing(tenantId: string, owner: Person, conversationId?: string): Promise<{ created: boolean }> {
    return this.db.transaction(async (tx) => {
      const inserted = await tx.query('INSERT INTO partners (tenant_id) VALUES ($1) ON CONFLICT (tenant_id) DO NOTHING RETURNING tenant_id', [tenantId]);
      if (inserted.length === 0) return { created: false };
      await tx.query(
        "INSERT INTO partner_members (tenant_id, aad_object_id, display_name, role, conversation_id) VALUES ($1, $2, $3, 'owner', $4)",
        [tenantId, owner.aadObjectId, owner.name, conversationId ?? null],
      );
      await recordAudit(tx, { tenantId, actor: owner.aadObjectId, action: 'partner.created' });
      return { created: true };
    });
  }

  async addMember(tenantId: string, by: Person, member: Person, conversationId?: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.query(
        "INSERT INTO partner_members (tenant_id, aad_object_id, display_name, role, added_by, conversation_id) VALUES ($1, $2, $3, 'member', $4, $5) ON CONFLICT DO NOTHING",
        [tenantId, member.aadObjectId, member.name, by.aadObjectId, conversationId ?? null],
      );
      await recordAudit(tx, { tenantId, actor: by.aadObjectId, action: 'partner.member_added', detail: { member: member.aadObjectId } });
    });
  }

  /**
   * Records that `actor` asked to join, unless they already did within `intervalMs`: true when
   * this request is new and should be passed on to the owner.
   */
  async recordJoinRequest(tenantId: string, actor: string, intervalMs: number): Promise<boolean> {
    if (await hasRecentAudit(this.db, tenantId, actor, 'partner.member_requested', new Date(Date.now() - intervalMs))) return false;
    await recordAudit(this.db, { tenantId, actor, action: 'partner.member_requested' });
    return true;
  }

  /**
   * Saves one section of the onboarding data, answering card `cardId`. The card is recorded as
   * answered in the same transaction: a second submit of the same card returns `already-saved`
   * and changes nothing, even when both arrive at once.
   */
  async saveSection(tenantId: string, section: Section, value: Company | Contact, actor: string, cardId: string): Promise<'saved' | 'already-saved'> {
    return this.db.transaction(async (tx) => {
      if (!(await claimCard(tx, tenantId, cardId, section, actor))) return 'already-saved';
      const column = SECTION_COLUMN[section];
      const [before] = await tx.query<Record<string, object | null>>(`SELECT ${column} AS v FROM partners WHERE tenant_id = $1 FOR UPDATE`, [tenantId]);
      // Editing after the review was confirmed makes the review due again.
      await tx.query(
        `UPDATE partners SET ${column} = $2::jsonb, ${section === 'secondaryContact' ? 'secondary_skipped = false,' : ''} confirmed_at = NULL, updated_at = now() WHERE tenant_id = $1`,
        [tenantId, JSON.stringify(value)],
      );
      await recordAudit(tx, { tenantId, actor, action: SECTION_ACTION[section], detail: { fields: changedFields(before?.v, value) } });
      return 'saved';
    });
  }

  async skipSecondary(tenantId: string, actor: string, cardId: string): Promise<'saved' | 'already-saved'> {
    return this.db.transaction(async (tx) => {
      if (!(await claimCard(tx, tenantId, cardId, 'secondaryContact', actor))) return 'already-saved';
      await tx.query('UPDATE partners SET secondary_contact = NULL, secondary_skipped = true, confirmed_at = NULL, updated_at = now() WHERE tenant_id = $1', [tenantId]);
      await recordAudit(tx, { tenantId, actor, action: 'contact.secondary.skipped' });
      return 'saved';
    });
  }

  async confirm(tenantId: string, actor: string, cardId: string): Promise<'saved' | 'already-saved'> {
    return this.db.transaction(async (tx) => {
      if (!(await claimCard(tx, tenantId, cardId, 'review', actor))) return 'already-saved';
      await tx.query('UPDATE partners SET confirmed_at = now(), updated_at = now() WHERE tenant_id = $1', [tenantId]);
      await recordAudit(tx, { tenantId, actor, action: 'review.confirmed' });
      return 'saved';
    });
  }

  /** Records a card as answered without other changes (edit buttons, confirmations). */
  async answerCard(tenantId: string, cardId: string, kind: string, actor: string): Promise<boolean> {
    return this.db.transaction((tx) => claimCard(tx, tenantId, cardId, kind, actor));
  }

  async isAnswered(tenantId: string, cardId: string): Promise<boolean> {
    return (await this.db.query('SELECT 1 FROM answered_cards WHERE tenant_id = $1 AND card_id = $2', [tenantId, cardId])).length > 0;
  }

  async markEmailVerified(q: Queryable, tenantId: string, actor: string, how: 'teams-identity' | 'code' | 'link'): Promise<void> {
    await q.query('UPDATE partners SET email_verified_at = now(), email_verified_by = $2, updated_at = now() WHERE tenant_id = $1', [tenantId, how]);
    await recordAudit(q, { tenantId, actor, action: 'email.verified', detail: { how } });
  }

  async verifyEmail(tenantId: string, actor: string, how: 'teams-identity' | 'code' | 'link'): Promise<void> {
    await this.db.transaction((tx) => this.markEmailVerified(tx, tenantId, actor, how));
  }

  /** Start over: the entered data goes, the partner and its members stay. */
  async reset(tenantId: string, actor: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.query(
        `UPDATE partners SET company = NULL, primary_contact = NULL, secondary_contact = NULL, secondary_skipped = false,
           confirmed_at = NULL, email_verified_at = NULL, email_verified_by = NULL, updated_at = now() WHERE tenant_id = $1`,
        [tenantId],
      );
      await tx.query('DELETE FROM email_verifications WHERE tenant_id = $1', [tenantId]);
      await recordAudit(tx, { tenantId, actor, action: 'partner.reset' });
    });
  }

  /**
   * Deletes everything the bot keeps about the partner, except the audit trail, which gets a
   * tombstone. Secrets are deleted by the caller (they live in the secret store).
   */
  async delete(tenantId: string, actor: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.query('DELETE FROM partners WHERE tenant_id = $1', [tenantId]);
      await tx.query('DELETE FROM answered_cards WHERE tenant_id = $1', [tenantId]);
      await tx.query('DELETE FROM conversation_references WHERE tenant_id = $1', [tenantId]);
      await recordAudit(tx, { tenantId, actor, action: 'partner.deleted', detail: { tombstone: true } });
    });
  }
}

async function claimCard(tx: Queryable, tenantId: string, cardId: string, kind: string, actor: string): Promise<boolean> {
  const rows = await tx.query(
    'INSERT INTO answered_cards (tenant_id, card_id, kind, answered_by) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING card_id',
    [tenantId, cardId, kind, actor],
  );
  return rows.length > 0;
}
