import type { Facts } from '../checks/facts';
import { gatherAppOnlyFacts } from '../checks/gather/app-only';
import { evaluate, summarize, type CheckResult } from '../checks/run';
import type { Severity } from '../checks/types';
import { GRAPH_DEFAULT, PARTNER_CENTER_DEFAULT } from '../credentials/scopes';
import type { Partner } from '../domain/partner';
import { MicrosoftHttpClient, type AccessTokenFunction } from '../microsoft/http';
import type { CheckRun, CheckRunRepository } from '../store/check-runs';

/** The token functions the pre-flight needs (src/auth/partner-tokens.ts gives them). */
export interface AppOnlyTokens {
  appOnlyGraphTokenFunction(tenantId: string): AccessTokenFunction;
  appOnlyTokenFunction(tenantId: string): AccessTokenFunction;
}

export interface PreflightOptions {
  graphBaseUrl: string;
  partnerCenterBaseUrl: string;
  tokens: AppOnlyTokens;
  runs: CheckRunRepository;
  /** Operator config: how much "the app's service principal in AdminAgents" weighs. Default blocking. */
  appInAdminAgentsSeverity?: Severity;
}

/**
 * The checks the partner's own app can already see with app-only tokens (issue 17 item 3): run as
 * soon as the credentials are in, so a missing AdminAgents membership or an ungranted permission is
 * fixed before the service account signs in. Facts come from the one gatherer (Graph `$batch`,
 * Partner Center), rules are the pure catalog; every run is kept in the history.
 */
export class PreflightChecks {
  constructor(private readonly o: PreflightOptions) {}

  async run(partner: Omit<Partner, 'members'>, actor: string, signal?: AbortSignal): Promise<CheckRun> {
    const connection = partner.connection;
    if (!connection) throw new Error('pre-flight checks need the credentials first');
    const roundTrips = { graph: 0, partnerCenter: 0 };
    const common = { maxRetries: 3, timeoutMs: 15_000, retryBudgetMs: 30_000 };
    const graph = new MicrosoftHttpClient({
      ...common, baseUrl: this.o.graphBaseUrl, tokenProvider: this.o.tokens.appOnlyGraphTokenFunction(partner.tenantId), scopes: [GRAPH_DEFAULT],
      requestIds: 'graph', onAttempt: () => { roundTrips.graph += 1; },
    });
    const partnerCenter = connection.pcAppId
      ? new MicrosoftHttpClient({
        ...common, baseUrl: this.o.partnerCenterBaseUrl, tokenProvider: this.o.tokens.appOnlyTokenFunction(partner.tenantId), scopes: [PARTNER_CENTER_DEFAULT],
        requestIds: 'partner-center', onAttempt: () => { roundTrips.partnerCenter += 1; },
      })
      : undefined;
    const now = new Date();
    const gathered = await gatherAppOnlyFacts({
      graph, partnerCenter, serviceAccountUpn: connection.serviceAccountUpn, appId: connection.appId,
      secretHint: partner.credentials.appSecret?.hint, now, signal,
    });
    const facts: Facts = {
      ...gathered.facts,
      // What the partner entered, and the consent as the bot holds it.
      partnerCenterSecretExpiry: partner.credentials.pcSecret?.expiresAt ?? null,
      consent: partner.consent.at
        ? { consentedAt: partner.consent.at.toISOString(), lastRefreshAt: partner.consent.usedAt?.toISOString() ?? null, lastRefreshError: partner.consent.brokenReason ?? null }
        : null,
    };
    const results: CheckResult[] = evaluate(facts, {
      now, appId: connection.appId, tenantId: connection.partnerTenantId, companyCountry: partner.company?.country,
      appInAdminAgentsSeverity: this.o.appInAdminAgentsSeverity,
    });
    return this.o.runs.record({ tenantId: partner.tenantId, kind: 'preflight', actor, verdict: summarize(results).verdict, results, roundTrips });
  }
}

/** The pre-flight card's words; `results` from a run of the history. */
export function preflightCardData(run: CheckRun): { title: string; subtitle: string; results: CheckResult[]; note: string } {
  return {
    title: 'Before you sign in: what your app can already see',
    subtitle: `Checked ${run.runAt.toISOString().slice(0, 16).replace('T', ' ')} UTC with your app's own (app-only) permissions. What needs the service account's sign-in shows as not visible yet.`,
    results: run.results,
    note: 'Fixed something? Select **Re-run checks**. Microsoft can take minutes (group membership, consent) to hours (GDAP) to apply a change.',
  };
}
