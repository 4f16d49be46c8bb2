import { randomUUID } from 'node:crypto';
import type { Company, Contact } from '../domain/forms';
import type { ChecksVerdict, Connection, CredentialKind, CredentialMeta, JoinRequest, Member, Partner, Person, Section } from '../domain/partner';
import { AUDIT_INSERT, recordAudit, type AuditAction } from './audit-log';
import type { Db, Queryable } from './db';



const SECTION_COLUMN: Record<Section, string> = { company: 'company', primaryContact: 'primary_contact', secondaryContact: 'secondary_contact' };
const SECTION_ACTION: Record<Section, AuditAction> = { company: 'company.saved', primaryContact: 'contact.primary.saved', secondaryContact: 'contact.secondary.saved' };

/** The partner without its members: what a write hands back for the turn to keep. */
export type PartnerRecord = Omit<Partner, 'members'>;

export interface PartnerRow {
  tenant_id: string;
  company: Company | null;
  primary_contact: Contact | null;
  secondary_contact: Contact | null;
  secondary_skipped: boolean;
  confirmed_at: Date | null;
  email_verified_at: Date | null;
  email_verified_by: string | null;
  prep_done: string[];
  prepared_at: Date | null;
  connection: Connection | null;
  credentials: Partial<Record<CredentialKind, CredentialMeta>>;
  consent_at: Date | null;
  consent_account: string | null;
  consent_used_at: Date | null;
  consent_broken_at: Date | null;
  consent_broken_reason: string | null;
  admin_consent_at: Date | null;
  checks_at: Date | null;
  checks_verdict: ChecksVerdict | null;
  synced_at: Date | null;
}

export interface MemberRow {
  aad_object_id: string;
  display_name: string;
  role: Member['role'];
  conversation_id: string | null;
}

/** The record's columns; "verified" counts only for the address that was verified. */
export const RECORD_COLUMNS = `tenant_id, company, primary_contact, secondary_contact, secondary_skipped, confirmed_at,
  CASE WHEN email_verified_address = lower(primary_contact->>'email') THEN email_verified_at END AS email_verified_at,
  CASE WHEN email_verified_address = lower(primary_contact->>'email') THEN email_verified_by END AS email_verified_by,
  prep_done, prepared_at, connection, credentials, consent_at, consent_account, consent_used_at, consent_broken_at,
  consent_broken_reason, admin_consent_at, checks_at, checks_verdict, synced_at`;

const date = (v: Date | string | null): Date | undefined => (v ? new Date(v) : undefined);

/** The record with its members, owner first. */
export const WITH_MEMBERS = `SELECT ${RECORD_COLUMNS},
  coalesce((SELECT json_agg(json_build_object('aad_object_id', m.aad_object_id, 'display_name', m.display_name, 'role', m.role, 'conversation_id', m.conversation_id)
            ORDER BY m.role DESC, m.added_at) FROM partner_members m WHERE m.tenant_id = p.tenant_id), '[]'::json) AS members
  FROM partners p`;

export function withMembers(row: PartnerRow & { members: MemberRow[] }): Partner {
  return {
    ...toRecord(row),
    members: row.members.map((m) => ({ aadObjectId: m.aad_object_id, name: m.display_name, role: m.role, conversationId: m.conversation_id ?? undefined })),
  };
}

export function toRecord(row: PartnerRow): PartnerRecord {
  return {
    tenantId: row.tenant_id,
    company: row.company ?? undefined,
    primaryContact: row.primary_contact ?? undefined,
    secondaryContact: row.secondary_contact ?? undefined,
    secondarySkipped: row.secondary_skipped,
    confirmedAt: row.confirmed_at ? new Date(row.confirmed_at) : undefined,
    emailVerifiedAt: date(row.email_verified_at),
    ...(row.email_verified_by ? { emailVerifiedBy: row.email_verified_by } : {}),
    preparation: { done: row.prep_done ?? [], confirmedAt: date(row.prepared_at) },
    connection: row.connection ?? undefined,
    credentials: row.credentials ?? {},
    consent: {
      at: date(row.consent_at),
      account: row.consent_account ?? undefined,
      usedAt: date(row.consent_used_at),
      brokenAt: date(row.consent_broken_at),
      brokenReason: row.consent_broken_reason ?? undefined,
      adminConsentAt: date(row.admin_consent_at),
    },
    ...(row.checks_at && row.checks_verdict ? { checks: { at: new Date(row.checks_at), verdict: row.checks_verdict } } : {}),
    ...(row.synced_at ? { syncedAt: new Date(row.synced_at) } : {}),
  };
}

/**
 * Partners and their members. Every method is scoped by tenant id; callers get the tenant from the
 * Teams activity itself, so one tenant's users can never name another tenant's partner.
 */
export class PartnerRepository {
  constructor(private readonly db: Db) {}

  /** The partner and its members, in one statement. */
  async get(tenantId: string): Promise<Partner | undefined> {
    const [row] = await this.db.query<PartnerRow & { members: MemberRow[] }>(`${WITH_MEMBERS} WHERE p.tenant_id = $1`, [tenantId]);
    return row ? withMembers(row) : undefined;
  }

  /** Partners with credentials in, `limit` at a time after `afterTenantId` (keyset paging: one page in memory). */
  async connectedPage(afterTenantId: string, limit: number): Promise<Partner[]> {
    const rows = await this.db.query<PartnerRow & { members: MemberRow[] }>(
      `${WITH_MEMBERS} WHERE p.connection IS NOT NULL AND p.tenant_id > $1 ORDER BY p.tenant_id LIMIT $2`, [afterTenantId, limit]);
    return rows.map(withMembers);
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
   * Records that `person` asked to join, unless they already did within `intervalMs` or are a
   * member: the new request's id, to pass on to the owner, or undefined. The request stays here;
   * the owner's card carries only its id.
   */
  async recordJoinRequest(tenantId: string, person: Person, conversationId: string | undefined, intervalMs: number): Promise<string | undefined> {
    return this.db.transaction(async (tx) => {
      await tx.query('SELECT 1 FROM partners WHERE tenant_id = $1 FOR UPDATE', [tenantId]);
      const recent = await tx.query(
        'SELECT 1 FROM join_requests WHERE tenant_id = $1 AND aad_object_id = $2 AND requested_at > $3',
        [tenantId, person.aadObjectId, new Date(Date.now() - intervalMs)],
      );
      if (recent.length > 0) return undefined;
      const id = randomUUID();
      await tx.query(
        'INSERT INTO join_requests (tenant_id, id, aad_object_id, display_name, conversation_id) VALUES ($1, $2, $3, $4, $5)',
        [tenantId, id, person.aadObjectId, person.name.slice(0, 100), conversationId ?? null],
      );
      await recordAudit(tx, { tenantId, actor: person.aadObjectId, action: 'partner.member_requested' });
      return id;
    });
  }

  /**
   * The owner answers join request `requestId`: once only (a second answer, or an unknown id,
   * gives undefined). Adding makes the requester a member in the same transaction.
   */
  async answerJoinRequest(tenantId: string, requestId: string, owner: Person, add: boolean): Promise<JoinRequest | undefined> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx.query<{ aad_object_id: string; display_name: string; conversation_id: string | null }>(
        'UPDATE join_requests SET answered_at = now() WHERE tenant_id = $1 AND id = $2 AND answered_at IS NULL RETURNING aad_object_id, display_name, conversation_id',
        [tenantId, requestId],
      );
      if (!row) return undefined;
      const request: JoinRequest = { id: requestId, aadObjectId: row.aad_object_id, name: row.display_name, conversationId: row.conversation_id ?? undefined };
      if (add) {
        await tx.query(
          "INSERT INTO partner_members (tenant_id, aad_object_id, display_name, role, added_by, conversation_id) VALUES ($1, $2, $3, 'member', $4, $5) ON CONFLICT DO NOTHING",
          [tenantId, request.aadObjectId, request.name, owner.aadObjectId, request.conversationId ?? null],
        );
        await recordAudit(tx, { tenantId, actor: owner.aadObjectId, action: 'partner.member_added', detail: { member: request.aadObjectId } });
      }
      return request;
    });
  }

  /**
   * Makes member `to` the owner; the previous owner stays a member. `why`: handed over by the
   * owner, or taken over by someone who proved Global Administrator of the tenant.
   */
  async transferOwnership(tenantId: string, to: Person, actor: string, why: 'handover' | 'global-admin', conversationId?: string): Promise<{ previousOwner?: Member }> {
    return this.db.transaction(async (tx) => {
      const [previous] = await tx.query<{ aad_object_id: string; display_name: string; conversation_id: string | null }>(
        "SELECT aad_object_id, display_name, conversation_id FROM partner_members WHERE tenant_id = $1 AND role = 'owner' FOR UPDATE",
        [tenantId],
      );
      await tx.query("UPDATE partner_members SET role = 'member' WHERE tenant_id = $1 AND role = 'owner'", [tenantId]);
      await tx.query(
        `INSERT INTO partner_members (tenant_id, aad_object_id, display_name, role, added_by, conversation_id) VALUES ($1, $2, $3, 'owner', $4, $5)
         ON CONFLICT (tenant_id, aad_object_id) DO UPDATE SET role = 'owner', conversation_id = coalesce(EXCLUDED.conversation_id, partner_members.conversation_id)`,
        [tenantId, to.aadObjectId, to.name, actor, conversationId ?? null],
      );
      await recordAudit(tx, { tenantId, actor, action: 'partner.owner_changed', detail: { from: previous?.aad_object_id ?? null, to: to.aadObjectId, why } });
      return {
        previousOwner: previous && previous.aad_object_id !== to.aadObjectId
          ? { aadObjectId: previous.aad_object_id, name: previous.display_name, role: 'member', conversationId: previous.conversation_id ?? undefined }
          : undefined,
      };
    });
  }

  /**
   * Saves one section of the onboarding data, answering card `cardId`: the card's claim, the
   * section, what an edit undoes (a confirmed review; a changed primary address's verification and
   * its pending codes) and the audit line, in one statement whose data-modifying parts commit
   * together or not at all. A second submit of the same card returns undefined and changes nothing,
   * even when both arrive at once. One statement, not a transaction of five: on the embedded
   * database a transaction holds the one connection for every round trip to the bot's thread, and
   * every other turn waits behind it.
   */
  async saveSection(tenantId: string, section: Section, value: Company | Contact, actor: string, cardId: string): Promise<PartnerRecord | undefined> {
    const column = SECTION_COLUMN[section];
    // The address changed (or there was none): compared with the row as this statement locks it.
    const emailChanged = (v: string) => `lower(${v}->>'email') IS DISTINCT FROM lower($2::jsonb->>'email')`;
    const unverify = section === 'primaryContact'
      ? ['email_verified_at', 'email_verified_by', 'email_verified_address'].map((c) => `${c} = CASE WHEN ${emailChanged('primary_contact')} THEN NULL ELSE ${c} END,`).join(' ')
      : '';
    const [row] = await this.db.query<PartnerRow>(
      `WITH claim AS (${claimSql(1, 3, 4, 5)}),
       before AS (SELECT ${column} AS v FROM partners WHERE tenant_id = $1 AND EXISTS (SELECT 1 FROM claim) FOR UPDATE),
       saved AS (
         UPDATE partners SET ${column} = $2::jsonb, ${section === 'secondaryContact' ? 'secondary_skipped = false,' : ''} ${unverify}
           confirmed_at = NULL, updated_at = now()
         WHERE tenant_id = $1 AND EXISTS (SELECT 1 FROM before) RETURNING ${RECORD_COLUMNS}),
       ${section === 'primaryContact'
         // Codes and links sent to the old address stop working.
         ? `unsent AS (DELETE FROM email_verifications WHERE tenant_id = $1 AND EXISTS (SELECT 1 FROM before WHERE ${emailChanged('v')})),`
         : ''}
       fields AS (
         SELECT coalesce(jsonb_agg(k ORDER BY k COLLATE "C"), '[]'::jsonb) AS names FROM before,
           LATERAL (SELECT jsonb_object_keys(coalesce(before.v, '{}'::jsonb)) UNION SELECT jsonb_object_keys($2::jsonb)) AS keys(k)
         WHERE coalesce(before.v, '{}'::jsonb) -> k IS DISTINCT FROM $2::jsonb -> k),
       audit AS (${AUDIT_INSERT} SELECT $1, $5, $6, jsonb_build_object('fields', fields.names) FROM saved, fields)
       SELECT saved.* FROM saved`,
      [tenantId, JSON.stringify(value), cardId, section, actor, SECTION_ACTION[section]],
    );
    return row ? toRecord(row) : undefined;
  }


  /** "Skip: no secondary contact", once per card: the claim, the skip and the audit line in one statement. */
  async skipSecondary(tenantId: string, actor: string, cardId: string): Promise<PartnerRecord | undefined> {
    const [row] = await this.db.query<PartnerRow>(
      `WITH claim AS (${claimSql(1, 2, 3, 4)}),
       saved AS (
         UPDATE partners SET secondary_contact = NULL, secondary_skipped = true, confirmed_at = NULL, updated_at = now()
         WHERE tenant_id = $1 AND EXISTS (SELECT 1 FROM claim) RETURNING ${RECORD_COLUMNS}),
       audit AS (${AUDIT_INSERT} SELECT $1, $4, 'contact.secondary.skipped', '{}'::jsonb FROM saved)
       SELECT * FROM saved`,
      [tenantId, cardId, 'secondaryContact', actor],
    );
    return row ? toRecord(row) : undefined;
  }


  /** The review confirmed, once per card: the claim, the confirmation and the audit line in one statement. */
  async confirm(tenantId: string, actor: string, cardId: string): Promise<PartnerRecord | undefined> {
    const [row] = await this.db.query<PartnerRow>(
      `WITH claim AS (${claimSql(1, 2, 3, 4)}),
       saved AS (UPDATE partners SET confirmed_at = now(), updated_at = now() WHERE tenant_id = $1 AND EXISTS (SELECT 1 FROM claim) RETURNING ${RECORD_COLUMNS}),
       audit AS (${AUDIT_INSERT} SELECT $1, $4, 'review.confirmed', '{}'::jsonb FROM saved)
       SELECT * FROM saved`,
      [tenantId, cardId, 'review', actor],
    );
    return row ? toRecord(row) : undefined;
  }


  /** Records a card as answered without other changes (edit buttons, confirmations). */
  async answerCard(tenantId: string, cardId: string, kind: string, actor: string): Promise<boolean> {
    return this.db.transaction((tx) => claimCard(tx, tenantId, cardId, kind, actor));
  }

  async isAnswered(tenantId: string, cardId: string): Promise<boolean> {
    return (await this.db.query('SELECT 1 FROM answered_cards WHERE tenant_id = $1 AND card_id = $2', [tenantId, cardId])).length > 0;
  }

  /**
   * The claim on `cardId` and its take-overs (`<cardId>/resumed/<n>`, see dialogs/step-claims.ts):
   * how many take-overs, and the newest claim's age in seconds by the database's clock; undefined
   * when the card is not answered.
   */
  async claimOf(tenantId: string, cardId: string): Promise<{ takeovers: number; ageSeconds: number } | undefined> {
    const [row] = await this.db.query<{ n: string | number; age: string | number | null }>(
      `SELECT count(*) AS n, EXTRACT(EPOCH FROM now() - max(answered_at)) AS age FROM answered_cards
       WHERE tenant_id = $1 AND (card_id = $2 OR card_id LIKE $3)`,
      [tenantId, cardId, `${cardId}/resumed/%`],
    );
    if (!row || Number(row.n) === 0) return undefined;
    return { takeovers: Number(row.n) - 1, ageSeconds: Number(row.age ?? 0) };
  }

  /** Records `address` as verified, when it is still the primary contact's address. */
  async markEmailVerified(q: Queryable, tenantId: string, address: string, actor: string, how: 'teams-identity' | 'code' | 'link'): Promise<PartnerRecord | undefined> {
    const [row] = await q.query<PartnerRow>(
      `UPDATE partners SET email_verified_at = now(), email_verified_by = $2, email_verified_address = $3, updated_at = now()
       WHERE tenant_id = $1 AND lower(primary_contact->>'email') = $3 RETURNING ${RECORD_COLUMNS}`,
      [tenantId, how, address.toLowerCase()],
    );
    if (!row) return undefined;
    await recordAudit(q, { tenantId, actor, action: 'email.verified', detail: { how } });
    return toRecord(row);
  }


  async verifyEmail(tenantId: string, address: string, actor: string, how: 'teams-identity' | 'code' | 'link'): Promise<PartnerRecord | undefined> {
    return this.db.transaction((tx) => this.markEmailVerified(tx, tenantId, address, actor, how));
  }


  /** Start over: the entered data goes, the partner and its members stay. */
  async reset(tenantId: string, actor: string): Promise<PartnerRecord | undefined> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx.query<PartnerRow>(
        `UPDATE partners SET company = NULL, primary_contact = NULL, secondary_contact = NULL, secondary_skipped = false,
           confirmed_at = NULL, email_verified_at = NULL, email_verified_by = NULL, email_verified_address = NULL, updated_at = now()
         WHERE tenant_id = $1 RETURNING ${RECORD_COLUMNS}`,
        [tenantId],
      );
      await tx.query('DELETE FROM email_verifications WHERE tenant_id = $1', [tenantId]);
      await recordAudit(tx, { tenantId, actor, action: 'partner.reset' });
      return row ? toRecord(row) : undefined;
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

export async function claimCard(tx: Queryable, tenantId: string, cardId: string, kind: string, actor: string): Promise<boolean> {
  return (await tx.query(claimSql(1, 2, 3, 4), [tenantId, cardId, kind, actor])).length > 0;
}

/** The card's claim: its values are the statement's parameters at these places; a row when this statement claimed the card (also inside a WITH). */
const claimSql = (tenant: number, card: number, kind: number, actor: number) =>
  `INSERT INTO answered_cards (tenant_id, card_id, kind, answered_by) VALUES ($${tenant}, $${card}, $${kind}, $${actor}) ON CONFLICT DO NOTHING RETURNING card_id`;
