import { createHash } from 'node:crypto';
import type { Tenant } from './scenario';

/**
 * Deterministic Partner Center customers, generated on demand from `tenant.customers`
 * ({count, seed, resellerOnlyEvery}). Nothing is materialised: a page of the 20,000-customer
 * scenario costs one hash per customer on that page.
 *
 * The customer id equals its tenant id (as for most real CSP customers), and its last 12 hex
 * digits are the index, so a tenant id can be mapped back to its customer without a table.
 */

export type CustomerSpec = Tenant['customers'];

export interface GeneratedCustomer {
  index: number;
  /** Partner Center customer id; equal to the tenant id. */
  id: string;
  tenantId: string;
  companyName: string;
  /** `<name><index+1>.onmicrosoft.com` */
  domain: string;
  /** Only a reseller relationship: the partner has no GDAP relationship with this customer. */
  resellerOnly: boolean;
}

const ADJECTIVES = ['Blue', 'Northwind', 'Silver', 'Bright', 'Summit', 'Harbor', 'Maple', 'Granite', 'Cedar', 'Aurora',
  'Coastal', 'Crimson', 'Golden', 'Iron', 'Lakeside', 'Meadow', 'Nova', 'Pioneer', 'Quantum', 'Redwood', 'Riverbend',
  'Sapphire', 'Sterling', 'Thunder', 'Velvet', 'Willow', 'Zenith', 'Alpine', 'Beacon', 'Copper'] as const;
const NOUNS = ['Analytics', 'Bakery', 'Builders', 'Clinic', 'Consulting', 'Dental', 'Design', 'Engineering', 'Farms',
  'Foods', 'Freight', 'Health', 'Holdings', 'Interiors', 'Labs', 'Legal', 'Logistics', 'Media', 'Motors', 'Outfitters',
  'Partners', 'Pharmacy', 'Robotics', 'Solar', 'Studios', 'Systems', 'Textiles', 'Travel', 'Ventures', 'Works'] as const;
const SUFFIXES = ['Ltd', 'Inc', 'GmbH', 'LLC', 'BV', 'AB', 'Pty Ltd', 'SAS', 'Oy', 'AG'] as const;

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** A stable version-4-shaped GUID derived from the given parts. */
export function guidFrom(...parts: Array<string | number>): string {
  const hex = sha256(parts.join('\u0000')).toString('hex');
  return formatGuid(hex.slice(0, 20), hex.slice(20, 32));
}

function formatGuid(head20: string, tail12: string): string {
  const variant = ((parseInt(head20.charAt(16), 16) & 0x3) | 0x8).toString(16);
  return `${head20.slice(0, 8)}-${head20.slice(8, 12)}-4${head20.slice(13, 16)}-${variant}${head20.slice(17, 20)}-${tail12}`;
}

function pick<T>(list: readonly T[], byte: number): T {
  return list[byte % list.length]!;
}

export function customerCount(spec: CustomerSpec): number {
  return spec.count;
}

export function isResellerOnly(spec: CustomerSpec, index: number): boolean {
  return spec.resellerOnlyEvery !== undefined && (index + 1) % spec.resellerOnlyEvery === 0;
}

export function customerAt(spec: CustomerSpec, index: number): GeneratedCustomer {
  if (!Number.isInteger(index) || index < 0 || index >= spec.count) throw new RangeError(`no customer #${index}`);
  const h = sha256(`customer:${spec.seed}:${index}`);
  const tenantId = formatGuid(h.toString('hex').slice(0, 20), index.toString(16).padStart(12, '0'));
  const adjective = pick(ADJECTIVES, h[10]!);
  const noun = pick(NOUNS, h[11]!);
  const suffix = pick(SUFFIXES, h[12]!);
  return {
    index,
    id: tenantId,
    tenantId,
    companyName: `${adjective} ${noun} ${suffix}`,
    domain: `${(adjective + noun).toLowerCase()}${index + 1}.onmicrosoft.com`,
    resellerOnly: isResellerOnly(spec, index),
  };
}

/** The customer whose tenant (or customer) id this is, or undefined. */
export function customerByTenantId(spec: CustomerSpec, tenantId: string): GeneratedCustomer | undefined {
  const m = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-([0-9a-f]{12})$/i.exec(tenantId);
  if (!m) return undefined;
  const index = parseInt(m[1]!, 16);
  if (index >= spec.count) return undefined;
  const c = customerAt(spec, index);
  return c.tenantId === tenantId.toLowerCase() ? c : undefined;
}

/** How many customers have a GDAP relationship (are not reseller-only). */
export function manageableCount(spec: CustomerSpec): number {
  const every = spec.resellerOnlyEvery;
  return every === undefined ? spec.count : spec.count - Math.floor(spec.count / every);
}

/** The k-th customer (0-based) that is not reseller-only. */
export function manageableAt(spec: CustomerSpec, k: number): GeneratedCustomer {
  const every = spec.resellerOnlyEvery;
  // Every `every`-th position is reseller-only, so each run of (every - 1) manageable ones skips one.
  const index = every === undefined ? k : k + Math.floor(k / (every - 1));
  return customerAt(spec, index);
}
