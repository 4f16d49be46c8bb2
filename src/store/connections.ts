import { createHash } from 'node:crypto';
import type { Connection, CredentialKind, CredentialMeta } from '../domain/partner';
import { recordAudit } from './audit-log';
import type { Db } from './db';
import { claimCard, RECORD_COLUMNS, toRecord, type PartnerRecord, type PartnerRow } from './partners';

/** Why a sign-in link's `state` was not accepted. */
export type StateRefusal = 'state_unknown' | 'state_replayed' | 'state_expired';

export interface AuthState {
  tenantId: string;
  purpose: 'signin' | 'adminconsent' | 'takeover' | 'setup';
  aadObjectId: string;
  conversationId?: string;
}

/** Only a hash of a state is stored: a database read gives no usable sign-in link. */
export function stateHash(state: string): string {
  return createHash('sha256').update(state).digest('base64url');
}

/**
 * The partner's Microsoft side: preparation progress, the tenant and app ids, credential metadata
 * (values live in the secret store), consent state and the sign-in links' states. Writes return the
 * partner record so a turn can keep working with what was saved.
 */
export class ConnectionRepository {
  constructor(private readonly db: Db) {}

  /** Sets the ticked preparation items (a toggle on the checklist card). */
  async setPreparation(tenantId: string, done: readonly string[], actor: string): Promise<PartnerRecord | undefined> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx.query<PartnerRow>(
        `UPDATE partners SET prep_done = $2::jsonb, updated_at = now() WHERE tenant_id = $1 RETURNING ${RECORD_COLUMNS}`,
        [tenantId, JSON.stringify([...new Set(done)].sort())],
      );
      if (row) await recordAudit(tx, { tenantId, actor, action: 'preparation.updated', detail: { done: row.prep_done } });
      return row ? toRecord(row) : undefined;
    });
  }

  /** "I've done this": the checklist is finished, answering card `cardId` once. */
  async confirmPreparation(tenantId: string, done: readonly string[], actor: string, cardId: string): Promise<PartnerRecord | undefined> {
    return this.db.transaction(async (tx) => {
      if (!(await claimCard(tx, tenantId, cardId, 'preparation', actor))) return undefined;
      const [row] = await tx.query<PartnerRow>(
        `UPDATE partners SET prep_done = $2::jsonb, prepared_at = now(), updated_at = now() WHERE tenant_id = $1 RETURNING ${RECORD_COLUMNS}`,
        [tenantId, JSON.stringify([...new Set(done)].sort())],
      );
      if (row) await recordAudit(tx, { tenantId, actor, action: 'preparation.done', detail: { done: row.prep_done } });
      return row ? toRecord(row) : undefined;
    });
  }

  /**
   * Saves the ids of a credential card and the metadata of its secret. A different tenant, service
   * account or app makes the consent given before worthless: it is cleared, to be given again.
   */
  async saveCredentials(
    tenantId: string,
    connection: Connection,
    secrets: Partial<Record<CredentialKind, CredentialMeta>>,
    actor: string,
    cardId: string,
    extra: { adminConsentDetected?: boolean } = {},
  ): Promise<PartnerRecord | undefined> {
    return this.db.transaction(async (tx) => {
      if (!(await claimCard(tx, tenantId, cardId, 'credentials', actor))) return undefined;
      const [before] = await tx.query<{ connection: Connection | null }>('SELECT connection FROM partners WHERE tenant_id = $1 FOR UPDATE', [tenantId]);
      const old = before?.connection;
      const identityChanged = !old || old.partnerTenantId !== connection.partnerTenantId || old.appId !== connection.appId
        || old.serviceAccountUpn.toLowerCase() !== connection.serviceAccountUpn.toLowerCase();
      const sets = ['connection = $2::jsonb', 'credentials = credentials || $3::jsonb', 'updated_at = now()'];
      if (identityChanged) sets.push('consent_at = NULL', 'consent_account = NULL', 'consent_used_at = NULL', 'consent_broken_at = NULL', 'consent_broken_reason = NULL');
      if (extra.adminConsentDetected) sets.push(identityChanged ? 'admin_consent_at = now()' : 'admin_consent_at = coalesce(admin_consent_at, now())');
      else if (identityChanged) sets.push('admin_consent_at = NULL');
      const [row] = await tx.query<PartnerRow>(
        `UPDATE partners SET ${sets.join(', ')}
         WHERE tenant_id = $1 RETURNING ${RECORD_COLUMNS}`,
        [tenantId, JSON.stringify(connection), JSON.stringify(secrets)],
      );
      if (row) {
        const changed = Object.keys(connection).filter((k) => JSON.stringify((old as Record<string, unknown> | null | undefined)?.[k]) !== JSON.stringify((connection as unknown as Record<string, unknown>)[k]));
        await recordAudit(tx, { tenantId, actor, action: 'credentials.saved', detail: { fields: changed.sort(), secrets: Object.keys(secrets).sort(), consentCleared: identityChanged && !!old } });
      }
      return row ? toRecord(row) : undefined;
    });
  }

  /** The service account signed in with MFA and consented. */
  async recordConsent(tenantId: string, account: string, actor: string, detail: Record<string, unknown> = {}): Promise<PartnerRecord | undefined> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx.query<PartnerRow>(
        `UPDATE partners SET consent_at = now(), consent_account = $2, consent_used_at = now(), consent_broken_at = NULL, consent_broken_reason = NULL, updated_at = now()
         WHERE tenant_id = $1 RETURNING ${RECORD_COLUMNS}`,
        [tenantId, account],
      );
      if (row) await recordAudit(tx, { tenantId, actor, action: 'consent.granted', detail });
      return row ? toRecord(row) : undefined;
    });
  }

  /** The app's Graph application permissions are granted (admin consent given, or seen in a token). */
  async recordAdminConsent(tenantId: string, actor: string, how: 'admin-consent' | 'token-roles'): Promise<PartnerRecord | undefined> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx.query<PartnerRow>(
        `UPDATE partners SET admin_consent_at = now(), updated_at = now() WHERE tenant_id = $1 RETURNING ${RECORD_COLUMNS}`,
        [tenantId],
      );
      if (row) await recordAudit(tx, { tenantId, actor, action: 'consent.admin_granted', detail: { how } });
      return row ? toRecord(row) : undefined;
    });
  }

  /** A token was really redeemed with the stored refresh token. */
  async markConsentUsed(tenantId: string): Promise<void> {
    await this.db.query('UPDATE partners SET consent_used_at = now() WHERE tenant_id = $1 AND consent_at IS NOT NULL', [tenantId]);
  }

  /** The refresh token stopped working; returns true the first time (so the event is raised once). */
  async markConsentBroken(tenantId: string, reason: string): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const rows = await tx.query(
        'UPDATE partners SET consent_broken_at = now(), consent_broken_reason = $2 WHERE tenant_id = $1 AND consent_at IS NOT NULL AND consent_broken_at IS NULL RETURNING tenant_id',
        [tenantId, reason],
      );
      if (rows.length > 0) await recordAudit(tx, { tenantId, actor: 'system', action: 'consent.broken', detail: { reason } });
      return rows.length > 0;
    });
  }

  /** Partners whose consent is alive and was last used before `before` (the keep-alive's work). */
  async consentsUsedBefore(before: Date, limit = 100): Promise<string[]> {
    const rows = await this.db.query<{ tenant_id: string }>(
      `SELECT tenant_id FROM partners WHERE consent_at IS NOT NULL AND consent_broken_at IS NULL AND consent_used_at < $1
       ORDER BY consent_used_at LIMIT $2`,
      [before, limit],
    );
    return rows.map((r) => r.tenant_id);
  }

  /** Keeps a sign-in link's state (as a hash) for `ttlMs`. */
  async createState(state: string, value: AuthState, ttlMs: number): Promise<void> {
    await this.db.query(
      `INSERT INTO auth_states (tenant_id, state_hash, purpose, aad_object_id, conversation_id, expires_at)
       VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6::double precision / 1000))`,
      [value.tenantId, stateHash(state), value.purpose, value.aadObjectId, value.conversationId ?? null, ttlMs],
    );
  }

  /**
   * Looks a state up without taking it (the start page, or to learn which chat a refused state
   * belongs to). `status` says whether it could still be consumed.
   */
  async findState(state: string, purpose: AuthState['purpose']): Promise<(AuthState & { status: 'valid' | StateRefusal }) | undefined> {
    const [row] = await this.db.query<{ tenant_id: string; aad_object_id: string; conversation_id: string | null; used: boolean; expired: boolean }>(
      `SELECT tenant_id, aad_object_id, conversation_id, used_at IS NOT NULL AS used, expires_at <= now() AS expired
       FROM auth_states WHERE state_hash = $1 AND purpose = $2`,
      [stateHash(state), purpose],
    );
    if (!row) return undefined;
    return {
      tenantId: row.tenant_id, purpose, aadObjectId: row.aad_object_id, conversationId: row.conversation_id ?? undefined,
      status: row.used ? 'state_replayed' : row.expired ? 'state_expired' : 'valid',
    };
  }

  /**
   * Takes a state once: the first caller gets it, a replay, an expired or an unknown state is
   * refused with its reason. The claim is one UPDATE, so two callbacks at once can't both win.
   */
  async consumeState(state: string, purpose: AuthState['purpose']): Promise<AuthState | { refused: StateRefusal }> {
    const hash = stateHash(state);
    const [won] = await this.db.query<{ tenant_id: string; aad_object_id: string; conversation_id: string | null }>(
      `UPDATE auth_states SET used_at = now() WHERE state_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > now()
       RETURNING tenant_id, aad_object_id, conversation_id`,
      [hash, purpose],
    );
    if (won) return { tenantId: won.tenant_id, purpose, aadObjectId: won.aad_object_id, conversationId: won.conversation_id ?? undefined };
    const [seen] = await this.db.query<{ used: boolean; expired: boolean }>(
      'SELECT used_at IS NOT NULL AS used, expires_at <= now() AS expired FROM auth_states WHERE state_hash = $1 AND purpose = $2',
      [hash, purpose],
    );
    if (!seen) return { refused: 'state_unknown' };
    return { refused: seen.used ? 'state_replayed' : 'state_expired' };
  }
}
