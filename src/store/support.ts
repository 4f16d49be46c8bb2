import type { Db, Queryable } from './db';
import { recordNotices, type SupportNoticeItem } from './notices';

/** The channel escalations land in: a standard channel of a team in the operator's tenant. */
export interface SupportChannel {
  tenantId: string;
  /** The Teams channel id (`19:…@thread.tacv2`; a team's General channel has the team's id). */
  channelId: string;
  teamId?: string;
  setBy: string;
  setAt: Date;
}

export type CaseStatus = 'open' | 'claimed' | 'resolved';

/** A partner's support case: one per partner, one thread in the support channel, reopened when asked again. */
export interface SupportCase {
  tenantId: string;
  status: CaseStatus;
  /** Where its thread is: the support channel's tenant and channel, the thread (`<channel>;messageid=<root>`) and its status card. */
  channelTenantId?: string;
  channelId?: string;
  threadId?: string;
  cardActivityId?: string;
  checklistConversationId?: string;
  checklistActivityId?: string;
  openedBy: string;
  openedByName: string;
  openedConversationId?: string;
  openedAt: Date;
  escalations: number;
  claimedBy?: string;
  claimedByName?: string;
  claimedAt?: Date;
  resolvedByName?: string;
  resolvedAt?: Date;
  version: number;
}

interface CaseRow {
  tenant_id: string; status: CaseStatus; thread_claimed_at?: unknown; channel_tenant_id: string | null; channel_id: string | null; thread_id: string | null; card_activity_id: string | null;
  checklist_conversation_id: string | null; checklist_activity_id: string | null;
  opened_by: string; opened_by_name: string; opened_conversation_id: string | null; opened_at: Date | string; escalations: number;
  claimed_by: string | null; claimed_by_name: string | null; claimed_at: Date | string | null; resolved_by_name: string | null; resolved_at: Date | string | null; version: number;
}

const opt = <T>(v: T | null): T | undefined => (v === null ? undefined : v);
const optDate = (v: Date | string | null): Date | undefined => (v === null ? undefined : new Date(v));

const toCase = (r: CaseRow): SupportCase => ({
  tenantId: r.tenant_id, status: r.status, channelTenantId: opt(r.channel_tenant_id), channelId: opt(r.channel_id), threadId: opt(r.thread_id),
  cardActivityId: opt(r.card_activity_id), checklistConversationId: opt(r.checklist_conversation_id), checklistActivityId: opt(r.checklist_activity_id),
  openedBy: r.opened_by, openedByName: r.opened_by_name, openedConversationId: opt(r.opened_conversation_id), openedAt: new Date(r.opened_at),
  escalations: r.escalations, claimedBy: opt(r.claimed_by), claimedByName: opt(r.claimed_by_name), claimedAt: optDate(r.claimed_at),
  resolvedByName: opt(r.resolved_by_name), resolvedAt: optDate(r.resolved_at), version: r.version,
});

export interface Engineer {
  aadObjectId: string;
  name: string;
}

/**
 * The support channel and the partners' cases. Every change of a case is one conditional UPDATE,
 * so two engineers clicking at once (or two instances) settle in the database: one claims. A claim
 * or resolve records the partner's messages in the notices outbox in the same transaction: the
 * change and its telling commit together, and the dispatcher sends them (once) afterwards.
 */
export class SupportRepository {
  constructor(private readonly db: Db) {}

  async channel(): Promise<SupportChannel | undefined> {
    const [r] = await this.db.query<{ tenant_id: string; channel_id: string; team_id: string | null; set_by: string; set_at: Date | string }>('SELECT * FROM support_channel');
    return r ? { tenantId: r.tenant_id, channelId: r.channel_id, ...(r.team_id ? { teamId: r.team_id } : {}), setBy: r.set_by, setAt: new Date(r.set_at) } : undefined;
  }

  async setChannel(c: Omit<SupportChannel, 'setAt'>): Promise<void> {
    await this.db.query(
      `INSERT INTO support_channel (id, tenant_id, channel_id, team_id, set_by) VALUES (true, $1, $2, $3, $4)
       ON CONFLICT (id) DO UPDATE SET tenant_id = EXCLUDED.tenant_id, channel_id = EXCLUDED.channel_id, team_id = EXCLUDED.team_id, set_by = EXCLUDED.set_by, set_at = now()`,
      [c.tenantId, c.channelId, c.teamId ?? null, c.setBy],
    );
  }

  /** The support channel is gone (its team or itself deleted, the bot removed): unset, when it is the one in `scope`. */
  async clearChannel(tenantId: string, scope: { teamId: string } | { channelId: string }): Promise<boolean> {
    const rows = await this.db.query(
      `DELETE FROM support_channel WHERE tenant_id = $1 AND ${'teamId' in scope ? '(team_id = $2 OR channel_id = $2)' : 'channel_id = $2'} RETURNING 1`,
      [tenantId, 'teamId' in scope ? scope.teamId : scope.channelId]);
    return rows.length > 0;
  }

  async get(tenantId: string): Promise<SupportCase | undefined> {
    const [r] = await this.db.query<CaseRow>('SELECT * FROM support_cases WHERE tenant_id = $1', [tenantId]);
    return r ? toCase(r) : undefined;
  }

  /**
   * The case whose thread an action came from: the conversation is the thread
   * (`<channel>;messageid=<root>`), or the bare channel with the card's own activity id.
   */
  async byThread(channelTenantId: string, channelId: string, conversationId: string, cardActivityId: string | undefined): Promise<SupportCase | undefined> {
    // Two texts, not one OR that only a value settles: a prepared statement may run a plan made
    // without its values, and that plan of such an OR scans every case in the channel.
    const [r] = conversationId === channelId && cardActivityId
      ? await this.db.query<CaseRow>(
        'SELECT * FROM support_cases WHERE channel_tenant_id = $1 AND channel_id = $2 AND (thread_id = $3 OR card_activity_id = $4)',
        [channelTenantId, channelId, conversationId, cardActivityId])
      : await this.db.query<CaseRow>(
        'SELECT * FROM support_cases WHERE channel_tenant_id = $1 AND channel_id = $2 AND thread_id = $3',
        [channelTenantId, channelId, conversationId]);
    return r ? toCase(r) : undefined;
  }

  /**
   * The partner asks for support: a new case, or the existing one reopened (unclaimed again unless
   * still open). `fresh`: the case was not open before (a new request for the support team).
   */
  async open(tenantId: string, by: Engineer, conversationId: string, checklist?: { conversationId: string; activityId: string }): Promise<{ supportCase: SupportCase; fresh: boolean }> {
    const [r] = await this.db.query<CaseRow & { was: CaseStatus | null }>(
      `WITH before AS (SELECT status FROM support_cases WHERE tenant_id = $1)
       INSERT INTO support_cases (tenant_id, status, opened_by, opened_by_name, opened_conversation_id, checklist_conversation_id, checklist_activity_id)
       VALUES ($1, 'open', $2, $3, $4, $5, $6)
       ON CONFLICT (tenant_id) DO UPDATE SET
         escalations = support_cases.escalations + 1, version = support_cases.version + 1, updated_at = now(),
         opened_by = EXCLUDED.opened_by, opened_by_name = EXCLUDED.opened_by_name, opened_conversation_id = EXCLUDED.opened_conversation_id,
         checklist_conversation_id = coalesce(EXCLUDED.checklist_conversation_id, support_cases.checklist_conversation_id),
         checklist_activity_id = coalesce(EXCLUDED.checklist_activity_id, support_cases.checklist_activity_id),
         status = CASE WHEN support_cases.status = 'resolved' THEN 'open' ELSE support_cases.status END,
         opened_at = CASE WHEN support_cases.status = 'resolved' THEN now() ELSE support_cases.opened_at END,
         claimed_by = CASE WHEN support_cases.status = 'resolved' THEN NULL ELSE support_cases.claimed_by END,
         claimed_by_name = CASE WHEN support_cases.status = 'resolved' THEN NULL ELSE support_cases.claimed_by_name END,
         claimed_at = CASE WHEN support_cases.status = 'resolved' THEN NULL ELSE support_cases.claimed_at END
       RETURNING support_cases.*, (SELECT status FROM before) AS was`,
      [tenantId, by.aadObjectId, by.name, conversationId, checklist?.conversationId ?? null, checklist?.activityId ?? null],
    );
    return { supportCase: toCase(r!), fresh: r!.was === null || r!.was === 'resolved' };
  }

  /**
   * True for the one caller that should post the case's thread in `channelId` (it has none there
   * yet). A claim not followed by {@link attachThread} within a minute (a crash) can be taken again.
   */
  async claimThread(tenantId: string, channelId: string): Promise<boolean> {
    const rows = await this.db.query(
      `UPDATE support_cases SET thread_claimed_at = now()
       WHERE tenant_id = $1 AND (thread_id IS NULL OR channel_id IS DISTINCT FROM $2)
         AND (thread_claimed_at IS NULL OR thread_claimed_at < now() - interval '1 minute') RETURNING 1`, [tenantId, channelId]);
    return rows.length > 0;
  }

  /** Where the case's thread and status card are (once posted). */
  async attachThread(tenantId: string, t: { channelTenantId: string; channelId: string; threadId: string; cardActivityId: string }): Promise<void> {
    await this.db.query(
      'UPDATE support_cases SET channel_tenant_id = $2, channel_id = $3, thread_id = $4, card_activity_id = $5, thread_claimed_at = NULL, updated_at = now() WHERE tenant_id = $1',
      [tenantId, t.channelTenantId, t.channelId, t.threadId, t.cardActivityId],
    );
  }

  async setChecklist(tenantId: string, conversationId: string, activityId: string): Promise<void> {
    await this.db.query('UPDATE support_cases SET checklist_conversation_id = $2, checklist_activity_id = $3 WHERE tenant_id = $1', [tenantId, conversationId, activityId]);
  }

  /**
   * An open case becomes the engineer's, and the partner's chats in `tell` get "claimed" from the
   * outbox. undefined: it was not open (claimed already, or resolved); nothing is recorded then.
   */
  async claim(tenantId: string, by: Engineer, tell: readonly string[] = []): Promise<SupportCase | undefined> {
    return this.changeAndTell('support-claimed', by, tell, (q) => q.query<CaseRow>(
      `UPDATE support_cases SET status = 'claimed', claimed_by = $2, claimed_by_name = $3, claimed_at = now(), version = version + 1, updated_at = now()
       WHERE tenant_id = $1 AND status = 'open' RETURNING *`, [tenantId, by.aadObjectId, by.name]));
  }

  /** A case not yet resolved is resolved, and the chats in `tell` get "resolved" from the outbox. undefined: it was resolved already. */
  async resolve(tenantId: string, by: Engineer, tell: readonly string[] = []): Promise<SupportCase | undefined> {
    return this.changeAndTell('support-resolved', by, tell, (q) => q.query<CaseRow>(
      `UPDATE support_cases SET status = 'resolved', resolved_by_name = $2, resolved_at = now(), version = version + 1, updated_at = now()
       WHERE tenant_id = $1 AND status <> 'resolved' RETURNING *`, [tenantId, by.name]));
  }

  /**
   * One transaction: the case's change, then one outbox row per chat, keyed by the case's new
   * version (each change is told once per chat, however often the statement is retried).
   */
  private changeAndTell(item: SupportNoticeItem, by: Engineer, tell: readonly string[], change: (q: Queryable) => Promise<CaseRow[]>): Promise<SupportCase | undefined> {
    return this.db.transaction(async (tx) => {
      const [r] = await change(tx);
      if (!r) return undefined;
      const c = toCase(r);
      const at = (item === 'support-claimed' ? c.claimedAt : c.resolvedAt) ?? new Date();
      await recordNotices(tx, [...new Set(tell)].map((conversationId) => ({
        tenantId: c.tenantId, item, itemKey: `v${c.version}`, threshold: 0, expiresAt: at, conversationId, detail: by.name,
      })));
      return c;
    });
  }

  /** Something on the card changed (checks re-run): its version moves on. */
  async touch(tenantId: string): Promise<SupportCase | undefined> {
    const [r] = await this.db.query<CaseRow>('UPDATE support_cases SET version = version + 1, updated_at = now() WHERE tenant_id = $1 RETURNING *', [tenantId]);
    return r ? toCase(r) : undefined;
  }
}
