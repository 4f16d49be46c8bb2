import type { GdapRelationship } from '../checks/facts';
import { GLOBAL_ADMIN_ROLE_ID } from '../checks/microsoft';
import { autoExtends } from '../checks/rules/gdap';
import { daysLeft } from '../checks/rules/util';
import type { Partner } from '../domain/partner';
import type { NoticeItem } from '../store/notices';

/**
 * What expires, and which warning is due (pure). Thresholds in days before the end: 60, 30, 14,
 * 7, 3, 1, and 0 (expired). A scan notices only the threshold the item is in now: a partner first
 * scanned 5 days before the end gets the 7-day notice, not the 60-, 30- and 14-day ones late.
 */

export const THRESHOLDS = [60, 30, 14, 7, 3, 1] as const;

/** Microsoft ends a refresh token unused for 90 days: https://learn.microsoft.com/en-us/entra/identity-platform/refresh-tokens */
export const REFRESH_INACTIVITY_DAYS = 90;
const DAY_MS = 86_400_000;

export interface Expiring {
  item: NoticeItem;
  /** What exactly (a rotated secret or a new consent is a new key, so it is noticed afresh). */
  key: string;
  expiresAt: Date;
  /** What exactly, for the card (a GDAP relationship's customer). */
  detail?: string;
}

export type WatchedRelationship = Omit<GdapRelationship, 'accessAssignments'>;

/**
 * A GDAP relationship that ends for good: active, with an end date, and no auto-extend (none set,
 * or Global Administrator among its roles, which Microsoft never auto-extends).
 * https://learn.microsoft.com/en-us/partner-center/customers/gdap-faq
 */
export function endsForGood(r: WatchedRelationship): boolean {
  if (!['active', 'expiring'].includes(r.status.toLowerCase()) || !r.endDateTime) return false;
  const ga = r.accessDetails.unifiedRoles.some((u) => u.roleDefinitionId.toLowerCase() === GLOBAL_ADMIN_ROLE_ID);
  return ga || !autoExtends(r);
}

/** The threshold an item `daysLeft` from its end is in: 0 once expired; undefined beyond 60 days. */
export function thresholdFor(daysLeft: number): number | undefined {
  if (daysLeft <= 0) return 0;
  return THRESHOLDS.slice().reverse().find((t) => daysLeft <= t);
}

/** The checks' one count of days left, in the partner's terms: every card and message counts with it. */
export { daysLeft };

/**
 * The partner's items that end: the Entra app's client secret (its end date read fresh from Graph
 * when the bot could, else as stored), the Partner Center web app key (as entered), and the
 * refresh path (90 days after its last use), and the GDAP relationships that end for good.
 */
export function expiringItems(partner: Omit<Partner, 'members'>, appSecretEnd: Date | undefined, gdap: readonly WatchedRelationship[] = []): Expiring[] {
  const out: Expiring[] = [];
  const app = partner.credentials.appSecret;
  const appEnd = appSecretEnd ?? (app?.expiresAt ? new Date(app.expiresAt) : undefined);
  if (app && appEnd) out.push({ item: 'app-secret', key: `${app.hint}:${appEnd.toISOString().slice(0, 10)}`, expiresAt: appEnd });
  const pc = partner.credentials.pcSecret;
  if (pc?.expiresAt) out.push({ item: 'pc-secret', key: `${pc.hint}:${pc.expiresAt.slice(0, 10)}`, expiresAt: new Date(pc.expiresAt) });
  const consent = partner.consent;
  if (consent.at && !consent.brokenAt) {
    const used = consent.usedAt ?? consent.at;
    // One key per consent: a later use moves the end away, and a threshold already noticed for this consent is not noticed again.
    out.push({ item: 'refresh-token', key: consent.at.toISOString(), expiresAt: new Date(used.getTime() + REFRESH_INACTIVITY_DAYS * DAY_MS) });
  }
  for (const r of gdap.filter(endsForGood)) {
    const end = new Date(r.endDateTime!);
    // Keyed by the relationship and its end: a renewed relationship (a new end) is noticed afresh.
    out.push({ item: 'gdap', key: `${r.id}:${end.toISOString().slice(0, 10)}`, expiresAt: end, detail: r.customer.displayName || r.displayName || r.customer.tenantId });
  }
  return out;
}
