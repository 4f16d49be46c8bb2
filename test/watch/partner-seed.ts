import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { Db } from '../../src/store/db';
import { connectorServiceUrl } from '../harness/activities';
import { connectorOf, personalConversationId } from '../simulator/services/connector';
import type { Simulator } from '../simulator/server';
import { PARTNER_TENANT_ID, SERVICE_ACCOUNT_UPN } from '../simulator/scenarios/ids';
import { noonInDays } from '../helpers/days';

const BOT = { id: '28:expiry-bench-bot', name: 'Partner Onboarding' };
const CHUNK = 2_000;

export interface SeededPartner {
  tenantId: string;
  ownerAadObjectId: string;
  /** The owner's personal chat with the bot, defined in the simulator's connector. */
  conversationId: string;
  /** Days until its Partner Center key ends. */
  days: number;
}

/**
 * `count` connected partners written straight into the database (what the credential cards would
 * have saved: a connection and a Partner Center key ending at noon (UTC) on the date `days(i)` days
 * from today, no app secret in the store, so the scan reads nothing from Graph), each an owner with
 * a personal chat with the bot: its conversation reference stored, and the conversation defined in
 * the simulator's connector (in the partner's tenant, so each has Teams' limits per tenant to
 * itself).
 */
export async function seedPartnersWithExpiringKey(db: Db, sim: Simulator, count: number, days: (i: number) => number): Promise<SeededPartner[]> {
  const connector = connectorOf(sim);
  const serviceUrl = connectorServiceUrl(sim.baseUrl);
  const now = Date.now();
  const partners: SeededPartner[] = Array.from({ length: count }, (_, i) => {
    const tenantId = randomUUID();
    const ownerAadObjectId = randomUUID();
    return { tenantId, ownerAadObjectId, conversationId: personalConversationId(tenantId, `29:${ownerAadObjectId}`, BOT.id), days: days(i) };
  });
  for (let at = 0; at < partners.length; at += CHUNK) {
    const chunk = partners.slice(at, at + CHUNK);
    const tenants = chunk.map((p) => p.tenantId);
    const setAt = new Date(now).toISOString();
    await db.query(
      `INSERT INTO partners (tenant_id, connection, credentials)
       SELECT t, c::jsonb, k::jsonb FROM unnest($1::text[], $2::text[], $3::text[]) AS u(t, c, k)`,
      [tenants,
        chunk.map(() => JSON.stringify({ partnerTenantId: PARTNER_TENANT_ID, serviceAccountUpn: SERVICE_ACCOUNT_UPN, appId: randomUUID() })),
        chunk.map((p) => JSON.stringify({
          pcSecret: { storeName: `pcSecret-${p.tenantId}`, hint: 'pcK', expiresAt: noonInDays(p.days, now).toISOString(), setBy: p.ownerAadObjectId, setAt },
        }))],
    );
    await db.query(
      `INSERT INTO partner_members (tenant_id, aad_object_id, display_name, role, conversation_id)
       SELECT t, a, 'Megan Bowen', 'owner', c FROM unnest($1::text[], $2::text[], $3::text[]) AS u(t, a, c)`,
      [tenants, chunk.map((p) => p.ownerAadObjectId), chunk.map((p) => p.conversationId)],
    );
    await db.query(
      `INSERT INTO conversation_references (tenant_id, conversation_id, conversation_type, reference, installed)
       SELECT t, c, 'personal', r::jsonb, true FROM unnest($1::text[], $2::text[], $3::text[]) AS u(t, c, r)`,
      [tenants, chunk.map((p) => p.conversationId), chunk.map((p) => JSON.stringify({
        bot: BOT, channelId: 'msteams', serviceUrl, conversation: { id: p.conversationId, conversationType: 'personal', tenantId: p.tenantId },
      }))],
    );
  }
  for (const p of partners) {
    connector.defineConversation({
      id: p.conversationId, tenantId: p.tenantId, conversationType: 'personal',
      members: [{ id: `29:${p.ownerAadObjectId}`, aadObjectId: p.ownerAadObjectId, name: 'Megan Bowen' }],
    });
  }
  return partners;
}

/** How many notice cards each conversation received, by the connector's transcripts (what Teams got). */
export function noticesReceived(sim: Simulator, partners: readonly SeededPartner[]): Map<string, number> {
  const connector = connectorOf(sim);
  return new Map(partners.map((p) => [p.conversationId, connector.transcript(p.conversationId).entries.filter((e) => /Partner Center web app key/.test(e.text ?? '')).length]));
}

/**
 * What a SIGKILL left of the notices: once the connector has fallen quiet (requests the dead process
 * wrote may still be read by the simulator; quiet means no new request for `quietMs`), what Teams
 * received per chat, the chats the outbox had marked sent, and those in doubt (Teams has the notice,
 * the outbox had not marked it: sent again after its lease).
 */
export async function whatTheKillLeft(sim: Simulator, db: Db, partners: readonly SeededPartner[], quietMs: number): Promise<{ received: Map<string, number>; marked: Set<string>; inDoubt: string[] }> {
  const connector = connectorOf(sim);
  for (let seen = -1; seen !== connector.requests.length;) {
    seen = connector.requests.length;
    await delay(quietMs);
  }
  const received = noticesReceived(sim, partners);
  const marked = new Set((await db.query<{ conversation_id: string }>("SELECT conversation_id FROM notices WHERE status = 'sent'")).map((r) => r.conversation_id));
  return { received, marked, inDoubt: partners.filter((p) => received.get(p.conversationId)! > 0 && !marked.has(p.conversationId)).map((p) => p.conversationId) };
}
