import type { ChecksCardData } from '../cards/render';
import { PROPAGATES } from '../checks/catalog';
import type { Fact, Facts, Unknown } from '../checks/facts';
import { AFTER_SIGN_IN, gatherFacts } from '../checks/gather/gather';
import { evaluate, summarize, type CheckResult } from '../checks/run';
import type { Severity } from '../checks/types';
import { decodeJwtPayload, stringList } from '../credentials/client-credentials';
import { GRAPH_DEFAULT, PARTNER_CENTER_DEFAULT, PARTNER_CENTER_USER } from '../credentials/scopes';
import type { Partner } from '../domain/partner';
import { consentComplete } from '../domain/steps';
import { MicrosoftHttpClient, type AccessTokenFunction } from '../microsoft/http';
import type { Logger } from '../logger';
import type { CheckRun, CheckRunRepository } from '../store/check-runs';

/** The token functions the checks need (src/auth/partner-tokens.ts gives them). */
export interface CheckTokens {
  appOnlyGraphTokenFunction(tenantId: string): AccessTokenFunction;
  appOnlyTokenFunction(tenantId: string): AccessTokenFunction;
  /** The service account's delegated token (after the consent). */
  userTokenFunction(tenantId: string): AccessTokenFunction;
}

export interface CheckRunnerOptions {
  graphBaseUrl: string;
  partnerCenterBaseUrl: string;
  tokens: CheckTokens;
  runs: CheckRunRepository;
  /** Operator config: how much "the app's service principal in AdminAgents" weighs. Default blocking. */
  appInAdminAgentsSeverity?: Severity;
  /** Role template ids customers' GDAP relationships must hold (operator config). */
  gdapRoleIds?: readonly string[];
  /** Each Partner Center round-trip is logged with the MS-RequestId and MS-CorrelationId it carried. */
  logger?: Logger;
}

/** Facts only the service account's delegated token can read (the app's permissions do not cover them). */
const SIGNED_IN_ONLY: readonly (keyof Facts)[] = [
  'mfaRegistration', 'securityDefaultsEnabled', 'conditionalAccessPolicies', 'perUserMfaState', 'gdapRelationships', 'gdapAccessGroups',
];

const COMMON = { maxRetries: 3, timeoutMs: 15_000, retryBudgetMs: 30_000 };

/**
 * Runs the checks and keeps every run in the history. Two kinds (issue 17 item 3):
 * - **pre-flight**, as soon as the credentials are in: what the partner's app sees with its own
 *   app-only tokens, so a missing AdminAgents membership or an ungranted permission is fixed
 *   before the service account signs in;
 * - **full**, once the consent is complete: the app-only token for the directory and the service
 *   account's delegated token for policies, MFA, GDAP and Partner Center, the consent token's
 *   `amr` included. A full run's verdict is the journey's checks step.
 * Facts come from the one gatherer (Graph `$batch`, Partner Center); rules are the pure catalog.
 * Microsoft failing is never an exception here: it is an unknown result naming why.
 */
export class CheckRunner {
  /** Runs in flight in this process, by partner tenant. */
  private readonly inFlight = new Map<string, Promise<CheckRun>>();

  constructor(private readonly o: CheckRunnerOptions) {}

  /**
   * The full run when the consent is complete, else the pre-flight. One run per partner at a
   * time: a request while one is in flight joins it and gets its result (ten `recheck` at once
   * make one run, not ten times Microsoft's requests).
   */
  run(partner: Omit<Partner, 'members'>, actor: string, signal?: AbortSignal): Promise<CheckRun> {
    const running = this.inFlight.get(partner.tenantId);
    if (running) return running;
    const run = (consentComplete({ ...partner, members: [] }) ? this.full(partner, actor, signal) : this.preflight(partner, actor, signal))
      .finally(() => this.inFlight.delete(partner.tenantId));
    this.inFlight.set(partner.tenantId, run);
    return run;
  }

  /** True while a run for the partner is in flight here. */
  running(tenantId: string): boolean {
    return this.inFlight.has(tenantId);
  }

  /** The run in flight for the partner, to join (held by the caller: it may end before the caller awaits it). */
  inFlightRun(tenantId: string): Promise<CheckRun> | undefined {
    return this.inFlight.get(tenantId);
  }

  async preflight(partner: Omit<Partner, 'members'>, actor: string, signal?: AbortSignal): Promise<CheckRun> {
    const connection = partner.connection;
    if (!connection) throw new Error('checks need the credentials first');
    const graph = this.graph(this.o.tokens.appOnlyGraphTokenFunction(partner.tenantId));
    const partnerCenter = connection.pcAppId ? this.partnerCenter(this.o.tokens.appOnlyTokenFunction(partner.tenantId), [PARTNER_CENTER_DEFAULT]) : undefined;
    const now = new Date();
    const gathered = await gatherFacts({
      graph, partnerCenter, serviceAccountUpn: connection.serviceAccountUpn, appId: connection.appId,
      secretHint: partner.credentials.appSecret?.hint, now, signal,
    });
    const facts: Record<string, unknown> = { ...gathered.facts, ...this.entered(partner) };
    // What only the sign-in can read is not a missing permission: it simply runs after the sign-in.
    for (const k of SIGNED_IN_ONLY) if (isUnknownFact(facts[k]) && !(facts[k] as Unknown).lasting) facts[k] = AFTER_SIGN_IN;
    return this.record(partner, actor, 'preflight', facts as Facts, now, gathered.roundTrips);
  }

  async full(partner: Omit<Partner, 'members'>, actor: string, signal?: AbortSignal): Promise<CheckRun> {
    const connection = partner.connection;
    if (!connection) throw new Error('checks need the credentials first');
    const user = this.o.tokens.userTokenFunction(partner.tenantId);
    // Both delegated tokens first (no Graph or Partner Center round-trip): the Graph one names the
    // service account's object id, the Partner Center one carries the consent's `amr`.
    const [graphToken, pcToken] = await Promise.allSettled([
      user([GRAPH_DEFAULT], { forceRefresh: false, signal }),
      user([PARTNER_CENTER_USER], { forceRefresh: false, signal }),
    ]);
    signal?.throwIfAborted();
    const oid = graphToken.status === 'fulfilled' ? claim(graphToken.value, 'oid') : undefined;
    const now = new Date();
    const gathered = await gatherFacts({
      graph: this.graph(this.o.tokens.appOnlyGraphTokenFunction(partner.tenantId)),
      signedIn: typeof oid === 'string' && oid ? { graph: this.graph(user), serviceAccountId: oid } : undefined,
      partnerCenter: this.partnerCenter(user, [PARTNER_CENTER_USER]),
      serviceAccountUpn: connection.serviceAccountUpn, appId: connection.appId, secretHint: partner.credentials.appSecret?.hint, now, signal,
    });
    const facts: Record<string, unknown> = { ...gathered.facts, ...this.entered(partner) };
    if (graphToken.status === 'rejected' || !oid) {
      // Without the service account's token, what only it can read stays unknown for that reason
      // (not for a permission the app was never meant to have).
      const why = tokenUnknown(graphToken.status === 'rejected' ? graphToken.reason : new Error('the token names no account'));
      for (const k of SIGNED_IN_ONLY) if (isUnknownFact(facts[k])) facts[k] = why;
    }
    facts.consentTokenAmr = pcToken.status === 'fulfilled' ? stringList(claimOf(pcToken.value).amr) : tokenUnknown(pcToken.reason);
    return this.record(partner, actor, 'full', facts as Facts, now, gathered.roundTrips);
  }

  /** What the partner entered, and the consent as the bot holds it. */
  private entered(partner: Omit<Partner, 'members'>): Partial<Facts> {
    return {
      partnerCenterSecretExpiry: partner.credentials.pcSecret?.expiresAt ?? null,
      partnerCenterSecretEnteredAt: partner.credentials.pcSecret?.setAt ?? null,
      // "Set it up for me": the web app is optional for the app the bot created (domain/steps.ts).
      partnerCenterWebAppOptional: !partner.credentials.pcSecret && !!partner.connection?.botCreatedAppId && partner.connection.botCreatedAppId === partner.connection.appId,
      consent: partner.consent.at
        ? { consentedAt: partner.consent.at.toISOString(), lastRefreshAt: partner.consent.usedAt?.toISOString() ?? null, lastRefreshError: partner.consent.brokenReason ?? null }
        : null,
    };
  }

  private async record(partner: Omit<Partner, 'members'>, actor: string, kind: CheckRun['kind'], facts: Facts, now: Date, roundTrips: CheckRun['roundTrips']): Promise<CheckRun> {
    const connection = partner.connection!;
    const results: CheckResult[] = evaluate(facts, {
      now, appId: connection.appId, tenantId: connection.partnerTenantId, companyCountry: partner.company?.country,
      appInAdminAgentsSeverity: this.o.appInAdminAgentsSeverity, gdapRoleIds: this.o.gdapRoleIds,
    });
    return this.o.runs.record({ tenantId: partner.tenantId, kind, actor, verdict: summarize(results).verdict, results, roundTrips });
  }

  private graph(tokenProvider: AccessTokenFunction): MicrosoftHttpClient {
    return new MicrosoftHttpClient({ ...COMMON, baseUrl: this.o.graphBaseUrl, tokenProvider, scopes: [GRAPH_DEFAULT], requestIds: 'graph' });
  }

  private partnerCenter(tokenProvider: AccessTokenFunction, scopes: string[]): MicrosoftHttpClient {
    return new MicrosoftHttpClient({
      ...COMMON, baseUrl: this.o.partnerCenterBaseUrl, tokenProvider, scopes, requestIds: 'partner-center',
      // Microsoft support asks for these ids to trace a call.
      onAttempt: (e) => this.o.logger?.info({ method: e.method, path: e.path, status: e.status, attempt: e.attempt, msRequestId: e.msRequestId, msCorrelationId: e.msCorrelationId }, 'partner center call'),
    });
  }
}

function claimOf(token: string): Record<string, unknown> {
  try {
    return decodeJwtPayload(token);
  } catch {
    return {};
  }
}

function claim(token: string, name: string): unknown {
  return claimOf(token)[name];
}

function isUnknownFact(v: unknown): boolean {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && typeof (v as Partial<Unknown>).unknown === 'string';
}

/** Why the service account's token could not be had, in words for the card (never the token). */
function tokenUnknown(err: unknown): Fact<never> {
  const reason = (err as { reason?: string } | undefined)?.reason;
  const words: Record<string, string> = {
    consent_broken: 'the service account\'s sign-in no longer works',
    not_connected: 'no sign-in of the service account is stored',
    secret_rejected: 'Entra refused the app\'s secret',
    unavailable: 'Microsoft\'s sign-in service did not answer',
  };
  return {
    unknown: reason && words[reason] ? words[reason]! : 'the service account\'s token could not be had',
    fix: reason === 'unavailable' ? 'Re-run the checks in a few minutes.'
      : reason === 'secret_rejected' ? 'Add a new client secret under the app\'s **Certificates & secrets** and enter it with **update credentials**, then re-run the checks.'
        : 'Sign in again as the service account (type **start**), then re-run the checks.',
  };
}

/** The checks card's words for a run of the history. */
export function checksCardData(run: CheckRun, status?: string, options: { fixForMe?: boolean } = {}): ChecksCardData {
  const when = run.runAt.toISOString().slice(0, 16).replace('T', ' ');
  const failing = run.results.filter((r) => r.status !== 'pass');
  // What the setup run repairs on an app the bot created: the registration, its consent, AdminAgents.
  const offerFix = options.fixForMe === true && failing.some((r) => r.status === 'fail' && r.id.startsWith('app.'));
  const waiting = failing.some((r) => PROPAGATES.has(r.id) && r.status !== 'unknown');
  const unseen = failing.some((r) => r.status === 'unknown' && r.severity === 'blocking' && !r.lasting);
  const base = { results: run.results, status, offerFix, offerSupport: failing.some((r) => r.status === 'fail' || (r.status === 'unknown' && r.severity === 'blocking')) };
  if (run.kind === 'preflight') {
    return {
      ...base,
      title: 'Before you sign in: what your app can already see',
      subtitle: `Checked ${when} UTC with your app's own permissions. The checks that need the service account run after you sign in.`,
      note: 'Fixed something? Select **Re-run checks**. Microsoft can take minutes (group membership, consent) to hours (GDAP) to apply a change.',
      offerSupport: false,
    };
  }
  return {
    ...base,
    title: run.verdict === 'blocked' ? 'Checks: fix these before customer sync' : run.verdict === 'incomplete' ? 'Checks: some could not be seen' : 'Checks: your connection is verified',
    subtitle: `Checked ${when} UTC through Microsoft Graph and Partner Center, as your app and as the service account.`,
    note: waiting || unseen
      ? 'Fixed something? Select **Re-run checks**. Microsoft takes minutes (role assignments) up to an hour (group membership, consent) or longer (GDAP) to apply a change: **Re-check in 15 minutes** runs them for you and posts the result here.'
      : 'Fixed something? Select **Re-run checks**; **status** shows the last run.',
    offerLater: waiting || unseen,
  };
}
