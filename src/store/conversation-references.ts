import type { ConversationReference } from 'botbuilder';
import type { Db } from './db';

export type ConversationKind = 'personal' | 'groupChat' | 'channel';

export interface StoredConversation {
  tenantId: string;
  conversationId: string;
  kind: ConversationKind;
  reference: Partial<ConversationReference>;
  installed: boolean;
  /** A channel conversation's team. */
  teamId?: string;
}

interface Row {
  tenant_id: string;
  conversation_id: string;
  conversation_type: string;
  reference: Partial<ConversationReference>;
  installed: boolean;
  team_id: string | null;
}

function toKind(type: string | undefined): ConversationKind {
  return type === 'groupChat' || type === 'channel' ? type : 'personal';
}

function fromRow(r: Row): StoredConversation {
  return { tenantId: r.tenant_id, conversationId: r.conversation_id, kind: toKind(r.conversation_type), reference: r.reference, installed: r.installed, ...(r.team_id ? { teamId: r.team_id } : {}) };
}

/** Conversations whose last write this instance remembers. */
const LAST_SEEN_MAX = 10_000;

/** Where the bot can speak later (proactive messages): one row per conversation it is in. */
export class ConversationReferenceRepository {
  constructor(private readonly db: Db) {}

  /**
   * What this instance last wrote per conversation, with the row's version after it: a turn that
   * read the same version and brings the same reference writes nothing. Bounded: the oldest goes.
   */
  private readonly lastSeen = new Map<string, { version: number; form: string }>();

  /**
   * Records (or refreshes) a conversation the bot is in (`teamId`: a channel's team). Writes only
   * when something changed. `knownVersion`: the row's version as this turn read it (null: no row);
   * when it is the version this instance last wrote the same reference at, no statement is sent.
   */
  async save(tenantId: string, reference: Partial<ConversationReference>, teamId?: string, knownVersion?: number | null): Promise<void> {
    const conversationId = reference.conversation?.id;
    if (!conversationId) return;
    const key = `${tenantId}\u0000${conversationId}`;
    const json = JSON.stringify(reference);
    const form = `${json}\u0000${teamId ?? ''}`;
    const seen = this.lastSeen.get(key);
    if (knownVersion !== undefined && knownVersion !== null && seen?.version === knownVersion && seen.form === form) return;
    const rows = await this.db.query<{ version: number }>(
      `INSERT INTO conversation_references (tenant_id, conversation_id, conversation_type, reference, installed, team_id)
       VALUES ($1, $2, $3, $4::jsonb, true, $5)
       ON CONFLICT (tenant_id, conversation_id) DO UPDATE
         SET reference = EXCLUDED.reference, conversation_type = EXCLUDED.conversation_type, installed = true, dead_at = NULL, dead_reason = NULL,
             team_id = coalesce(EXCLUDED.team_id, conversation_references.team_id), version = conversation_references.version + 1, updated_at = now()
       WHERE conversation_references.reference IS DISTINCT FROM EXCLUDED.reference OR NOT conversation_references.installed
          OR conversation_references.team_id IS DISTINCT FROM coalesce(EXCLUDED.team_id, conversation_references.team_id)
       RETURNING version`,
      [tenantId, conversationId, toKind(reference.conversation?.conversationType), json, teamId ?? null],
    );
    // Nothing written: the row is as this turn read it.
    const version = rows[0]?.version ?? knownVersion;
    if (version === undefined || version === null) return;
    this.lastSeen.delete(key);
    if (this.lastSeen.size >= LAST_SEEN_MAX) this.lastSeen.delete(this.lastSeen.keys().next().value as string);
    this.lastSeen.set(key, { version, form });
  }

  /**
   * The bot left a team (uninstalled, removed) or the team or one channel was deleted: every
   * conversation there (`scope`: the team's, or one channel's with its threads) stops being used.
   * Returns how many were retired.
   */
  async retire(tenantId: string, scope: { teamId: string } | { channelId: string }, reason: string): Promise<number> {
    const rows = await this.db.query(
      `UPDATE conversation_references SET installed = false, welcomed_at = NULL, dead_at = now(), dead_reason = $3, version = version + 1, updated_at = now()
       WHERE tenant_id = $1 AND installed AND ${'teamId' in scope ? '(team_id = $2 OR split_part(conversation_id, \';\', 1) = $2)' : 'split_part(conversation_id, \';\', 1) = $2'}
       RETURNING 1`,
      [tenantId, 'teamId' in scope ? scope.teamId : scope.channelId, reason],
    );
    return rows.length;
  }

  /** The bot was removed from a conversation: keep the row (audit, re-install) but stop using it. */
  async markUninstalled(tenantId: string, conversationId: string): Promise<void> {
    await this.db.query(
      'UPDATE conversation_references SET installed = false, welcomed_at = NULL, version = version + 1, updated_at = now() WHERE tenant_id = $1 AND conversation_id = $2',
      [tenantId, conversationId],
    );
  }

  /**
   * The connector refused the conversation for good (403: the bot was removed or blocked; 404: it
   * is gone): not used again until the bot is in it again (any activity there re-saves it).
   */
  async markDead(tenantId: string, conversationId: string, reason: string): Promise<void> {
    await this.db.query(
      'UPDATE conversation_references SET installed = false, dead_at = now(), dead_reason = $3, version = version + 1, updated_at = now() WHERE tenant_id = $1 AND conversation_id = $2',
      [tenantId, conversationId, reason],
    );
  }

  /**
   * True for exactly one caller per installation of the bot in a conversation: the one that
   * should send the welcome. Atomic, so two install events handled at once welcome once.
   */
  async claimWelcome(tenantId: string, conversationId: string): Promise<boolean> {
    const rows = await this.db.query(
      'UPDATE conversation_references SET welcomed_at = now() WHERE tenant_id = $1 AND conversation_id = $2 AND welcomed_at IS NULL RETURNING 1',
      [tenantId, conversationId],
    );
    return rows.length > 0;
  }

  async get(tenantId: string, conversationId: string): Promise<StoredConversation | undefined> {
    const rows = await this.db.query<Row>(
      'SELECT tenant_id, conversation_id, conversation_type, reference, installed, team_id FROM conversation_references WHERE tenant_id = $1 AND conversation_id = $2',
      [tenantId, conversationId],
    );
    return rows[0] ? fromRow(rows[0]) : undefined;
  }

  async listForTenant(tenantId: string): Promise<StoredConversation[]> {
    const rows = await this.db.query<Row>(
      'SELECT tenant_id, conversation_id, conversation_type, reference, installed, team_id FROM conversation_references WHERE tenant_id = $1 ORDER BY conversation_id',
      [tenantId],
    );
    return rows.map(fromRow);
  }
}
