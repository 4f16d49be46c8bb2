import type { Db } from './db';

/** A customer's verdict: manageable, or the reason it is not (best relationship's, see sync/gdap.ts). */
export type CustomerVerdict = 'manageable' | 'pending' | 'no-access' | 'missing-roles' | 'expired' | 'terminated' | 'none';

export const VERDICTS: readonly CustomerVerdict[] = ['manageable', 'pending', 'no-access', 'missing-roles', 'expired', 'terminated', 'none'];

/** One access assignment of a relationship, as read from Graph. */
export interface AssignmentEvidence {
  id: string;
  status: string;
  /** The security group the assignment gives its roles to. */
  groupId: string;
  /** The group's name when the service account is in it (the only groups the bot reads); else null. */
  groupName: string | null;
  /** Active, and its group holds the service account. */
  reachesAccount: boolean;
  roles: string[];
}

/** One GDAP relationship of a customer, as read from Graph, with its own verdict. */
export interface RelationshipEvidence {
  id: string;
  name: string;
  status: string;
  endDateTime: string | null;
  /** ISO 8601 duration; "PT0S" or null: no auto-extend. */
  autoExtendDuration: string | null;
  roles: string[];
  verdict: CustomerVerdict;
  assignments: AssignmentEvidence[];
}

export interface CustomerRecord {
  tenantId: string;
  customerTenantId: string;
  companyName: string;
  domain: string | null;
  verdict: CustomerVerdict;
  relationshipIds: string[];
  evidence: RelationshipEvidence[];
  /** The last "Check again"; undefined: the evidence is the last sync's. */
  checkedAt?: Date;
  updatedAt: Date;
}

interface Row {
  tenant_id: string; customer_tenant_id: string; company_name: string; domain: string | null; manageable: boolean;
  not_manageable_reason: string | null; gdap_relationship_ids: string[]; gdap_evidence: RelationshipEvidence[] | string;
  checked_at: Date | string | null; updated_at: Date | string;
}

const COLUMNS = 'tenant_id, customer_tenant_id, company_name, domain, manageable, not_manageable_reason, gdap_relationship_ids, gdap_evidence, checked_at, updated_at';

const toRecord = (r: Row): CustomerRecord => ({
  tenantId: r.tenant_id, customerTenantId: r.customer_tenant_id, companyName: r.company_name, domain: r.domain,
  verdict: r.manageable ? 'manageable' : (VERDICTS.includes(r.not_manageable_reason as CustomerVerdict) ? r.not_manageable_reason as CustomerVerdict : 'none'),
  relationshipIds: r.gdap_relationship_ids ?? [],
  evidence: typeof r.gdap_evidence === 'string' ? JSON.parse(r.gdap_evidence) as RelationshipEvidence[] : r.gdap_evidence ?? [],
  ...(r.checked_at ? { checkedAt: new Date(r.checked_at) } : {}),
  updatedAt: new Date(r.updated_at),
});

/** Worst first: the order of `unmanageable` (the sync's rank, sync/gdap.ts RANK). */
const RANK_SQL = `CASE not_manageable_reason WHEN 'none' THEN 6 WHEN 'terminated' THEN 5 WHEN 'expired' THEN 4
  WHEN 'missing-roles' THEN 3 WHEN 'no-access' THEN 2 WHEN 'pending' THEN 1 ELSE 6 END`;

/** `%`, `_` and `\` in what a person typed match themselves. */
const likeEscaped = (s: string) => s.replace(/[\\%_]/g, '\\$&');

/**
 * The two passes of `find`, exported so a test can EXPLAIN exactly what runs. startsWith: $2 the
 * escaped `q%`, $3 the text (an exact name or domain first; IS TRUE: a customer without a domain
 * compares NULL, which DESC would put first). The start is also said as a range of the prefix
 * indexes' own order (`~>=~ q`, `~<~ q` and the last code point): a named statement may run a
 * plan made without its values, and LIKE with a parameter gives such a plan no prefix to read the
 * index by (it would read the trigram indexes, which see nothing in one or two characters).
 * contains: $2 `%q%`, $3 `q%` (what the first pass already gave), on the trigram indexes from 3
 * characters on.
 */
export const CUSTOMER_SEARCH_SQL = {
  startsWith: `SELECT ${COLUMNS} FROM customers WHERE tenant_id = $1 AND removed_at IS NULL
      AND ((lower(company_name) ~>=~ $3 AND lower(company_name) ~<~ ($3 || chr(1114111)) AND lower(company_name) LIKE $2 ESCAPE '\\')
        OR (lower(domain) ~>=~ $3 AND lower(domain) ~<~ ($3 || chr(1114111)) AND lower(domain) LIKE $2 ESCAPE '\\'))
    ORDER BY (lower(company_name) = $3 OR lower(domain) = $3) IS TRUE DESC, lower(company_name), customer_tenant_id LIMIT $4`,
  contains: `SELECT ${COLUMNS} FROM customers WHERE tenant_id = $1 AND removed_at IS NULL
      AND (lower(company_name) LIKE $2 ESCAPE '\\' OR lower(domain) LIKE $2 ESCAPE '\\')
      AND NOT (lower(company_name) LIKE $3 ESCAPE '\\' OR COALESCE(lower(domain) LIKE $3 ESCAPE '\\', false))
    ORDER BY lower(company_name), customer_tenant_id LIMIT $4`,
} as const;

/**
 * The partner's synced customers as the chat reads them: search by name or domain, counts by
 * verdict, the unmanageable worst first, and the verdict a "Check again" found. Every query is
 * keyed by the partner's tenant: a partner never reads another's customers.
 */
export class CustomerRepository {
  constructor(private readonly db: Db) {}

  /**
   * Customers whose name or domain contains `text` (case-insensitive), best match first: exact,
   * then starts with, then contains. Prefix matches come from the prefix indexes; the contains
   * pass, only when they are not enough, from the trigram indexes (migration 19).
   */
  async find(tenantId: string, text: string, limit: number): Promise<CustomerRecord[]> {
    const q = text.trim().toLowerCase();
    if (!q) return [];
    const prefix = `${likeEscaped(q)}%`;
    const head = await this.db.query<Row>(CUSTOMER_SEARCH_SQL.startsWith, [tenantId, prefix, q, limit]);
    if (head.length >= limit) return head.map(toRecord);
    const rest = await this.db.query<Row>(CUSTOMER_SEARCH_SQL.contains, [tenantId, `%${likeEscaped(q)}%`, prefix, limit - head.length]);
    return [...head, ...rest].map(toRecord);
  }

  async get(tenantId: string, customerTenantId: string): Promise<CustomerRecord | undefined> {
    const [row] = await this.db.query<Row>(`SELECT ${COLUMNS} FROM customers WHERE tenant_id = $1 AND customer_tenant_id = $2`, [tenantId, customerTenantId.toLowerCase()]);
    return row ? toRecord(row) : undefined;
  }

  /** Listed customers (not removed) by verdict; every verdict is present (0 when none). */
  async countsByVerdict(tenantId: string): Promise<Record<CustomerVerdict, number>> {
    const rows = await this.db.query<{ verdict: string; n: string }>(
      `SELECT CASE WHEN manageable THEN 'manageable' ELSE COALESCE(not_manageable_reason, 'none') END AS verdict, count(*) AS n
       FROM customers WHERE tenant_id = $1 AND removed_at IS NULL GROUP BY 1`, [tenantId]);
    const counts = Object.fromEntries(VERDICTS.map((v) => [v, 0])) as Record<CustomerVerdict, number>;
    for (const r of rows) {
      const v = VERDICTS.includes(r.verdict as CustomerVerdict) ? r.verdict as CustomerVerdict : 'none';
      counts[v] += Number(r.n);
    }
    return counts;
  }

  /** A page of the customers that are not manageable, worst first, then by name. */
  async unmanageable(tenantId: string, offset: number, limit: number): Promise<CustomerRecord[]> {
    const rows = await this.db.query<Row>(
      `SELECT ${COLUMNS} FROM customers WHERE tenant_id = $1 AND removed_at IS NULL AND NOT manageable
       ORDER BY ${RANK_SQL} DESC, lower(company_name), customer_tenant_id OFFSET $2 LIMIT $3`,
      [tenantId, offset, limit],
    );
    return rows.map(toRecord);
  }

  /** What a "Check again" read: the verdict and its evidence, replacing the last sync's. */
  async saveCheck(tenantId: string, customerTenantId: string, verdict: CustomerVerdict, evidence: readonly RelationshipEvidence[]): Promise<CustomerRecord | undefined> {
    const [row] = await this.db.query<Row>(
      `UPDATE customers SET manageable = $3, not_manageable_reason = $4, gdap_relationship_ids = $5::text[], gdap_evidence = $6::jsonb,
         checked_at = now(), updated_at = now()
       WHERE tenant_id = $1 AND customer_tenant_id = $2 RETURNING ${COLUMNS}`,
      [tenantId, customerTenantId.toLowerCase(), verdict === 'manageable', verdict === 'manageable' ? null : verdict, evidence.map((e) => e.id), JSON.stringify(evidence)],
    );
    return row ? toRecord(row) : undefined;
  }
}
