import type { Partner } from '../domain/partner';
import type { SqlStorage } from './bot-storage';
import type { Db } from './db';
import { WITH_MEMBERS, withMembers, type MemberRow, type PartnerRow } from './partners';

/** What a turn reads before it runs, in one statement. */
export interface TurnRead {
  partner: Partner | undefined;
  /** The conversation reference's version (null: the bot has no row for this conversation). */
  referenceVersion: number | null;
  /** Drops the conversation state read with it, if the turn did not use it. */
  release(): void;
}

/**
 * One statement at the start of every turn: the partner with its members, the version of the
 * conversation's reference (the turn skips its upsert when nothing changed) and the conversation's
 * bot state, handed to the bot's Storage for the turn's first read of that key.
 */
export class TurnReads {
  constructor(private readonly db: Db, private readonly storage: SqlStorage) {}

  async read(tenantId: string | undefined, conversationId: string | undefined, stateKey: string | undefined): Promise<TurnRead> {
    const [row] = await this.db.query<{ partner: (PartnerRow & { members: MemberRow[] }) | null; reference_version: number | null; state: { doc: Record<string, unknown>; etag: string } | null }>(
      `SELECT (SELECT row_to_json(t) FROM (${WITH_MEMBERS} WHERE p.tenant_id = $1) t) AS partner,
              (SELECT version FROM conversation_references WHERE tenant_id = $1 AND conversation_id = $2) AS reference_version,
              (SELECT json_build_object('doc', doc, 'etag', etag) FROM bot_state WHERE key = $3) AS state`,
      [tenantId ?? null, conversationId ?? null, stateKey ?? null],
    );
    const release = stateKey ? this.storage.prime(stateKey, row?.state ? { ...row.state.doc, eTag: row.state.etag } : undefined) : () => undefined;
    return { partner: row?.partner ? withMembers(row.partner) : undefined, referenceVersion: row?.reference_version ?? null, release };
  }
}
