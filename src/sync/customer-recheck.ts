import type { GdapRelationship } from '../checks/facts';
import { mapGdapAccessAssignment, mapGdapRelationship } from '../checks/gather/map';
import { DEFAULT_GDAP_ROLE_IDS } from '../checks/microsoft';
import { GRAPH_DEFAULT } from '../credentials/scopes';
import type { Partner } from '../domain/partner';
import type { Logger } from '../logger';
import { MicrosoftHttpClient, type AccessTokenFunction } from '../microsoft/http';
import type { CustomerRecord, CustomerRepository, CustomerVerdict } from '../store/customers';
import { accountGroups } from './customer-sync';
import { RANK, relationshipEvidence, type GdapContext } from './gdap';

export interface CustomerRecheckOptions {
  customers: Pick<CustomerRepository, 'saveCheck'>;
  tokens: {
    appOnlyGraphTokenFunction(tenantId: string): AccessTokenFunction;
    userTokenFunction(tenantId: string): AccessTokenFunction;
  };
  graphBaseUrl: string;
  logger: Logger;
  gdapRoleIds?: readonly string[];
}

export type RecheckOutcome = { ok: true; customer: CustomerRecord } | { ok: false; reason: 'gone' | 'microsoft' };

/**
 * "Check again" for one customer: its GDAP relationships and their access assignments read from
 * Graph now (not the whole sync), judged as the sync judges them, and stored with the evidence.
 * Relationships with the service account's consented token, as the sync reads them; its groups
 * app-only.
 */
export class CustomerRecheck {
  constructor(private readonly o: CustomerRecheckOptions) {}

  async recheck(partner: Partner, customerTenantId: string, signal?: AbortSignal): Promise<RecheckOutcome> {
    const connection = partner.connection;
    if (!connection) return { ok: false, reason: 'microsoft' };
    const client = (tokens: AccessTokenFunction) => new MicrosoftHttpClient({
      // A person is waiting for the card: short waits, few retries.
      baseUrl: this.o.graphBaseUrl, tokenProvider: tokens, scopes: [GRAPH_DEFAULT], timeoutMs: 15_000, maxRetries: 2, retryBudgetMs: 20_000, requestIds: 'graph',
    });
    try {
      const graph = client(this.o.tokens.userTokenFunction(partner.tenantId));
      const groups = await accountGroups(client(this.o.tokens.appOnlyGraphTokenFunction(partner.tenantId)), connection.serviceAccountUpn, signal);
      const ctx: GdapContext = { roleIds: this.o.gdapRoleIds ?? DEFAULT_GDAP_ROLE_IDS, accountGroupIds: new Set(groups.keys()), now: new Date() };
      const relationships: GdapRelationship[] = [];
      // $filter on customer/tenantId is supported by the list:
      // https://learn.microsoft.com/en-us/graph/api/tenantrelationship-list-delegatedadminrelationships
      for await (const page of graph.graphPages('/v1.0/tenantRelationships/delegatedAdminRelationships', {
        query: { $filter: `customer/tenantId eq '${customerTenantId.toLowerCase().replace(/'/g, "''")}'`, $top: 300 }, item: mapGdapRelationship, signal,
      })) {
        for (const r of page.items) {
          const assignments: GdapRelationship['accessAssignments'][number][] = [];
          for await (const a of graph.graphPages(`/v1.0/tenantRelationships/delegatedAdminRelationships/${encodeURIComponent(r.id)}/accessAssignments`, {
            query: { $top: 300 }, item: mapGdapAccessAssignment, signal,
          })) assignments.push(...a.items);
          relationships.push({ ...r, accessAssignments: assignments });
        }
      }
      const evidence = relationships.map((r) => relationshipEvidence(r, ctx, groups));
      const verdict = evidence.reduce<CustomerVerdict>((best, e) => (RANK[e.verdict] < RANK[best] ? e.verdict : best), 'none');
      const saved = await this.o.customers.saveCheck(partner.tenantId, customerTenantId, verdict, evidence);
      return saved ? { ok: true, customer: saved } : { ok: false, reason: 'gone' };
    } catch (err) {
      signal?.throwIfAborted();
      this.o.logger.warn({ err, tenantId: partner.tenantId, customerTenantId }, 'customer check again failed');
      return { ok: false, reason: 'microsoft' };
    }
  }
}
