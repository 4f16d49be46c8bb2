import { catalog, type CheckId } from './catalog';
import type { Facts } from './facts';
import { DEFAULT_GDAP_ROLE_IDS } from './microsoft';
import type { CheckGroup, EvaluateOptions, Fix, RuleContext, Severity, Status } from './types';

export interface CheckResult {
  readonly id: CheckId;
  readonly title: string;
  readonly group: CheckGroup;
  readonly severity: Severity;
  readonly status: Status;
  readonly evidence: string;
  /** What to change and where; null when the check passed. */
  readonly fix: Fix | null;
  /** Unknown for a reason waiting will not change (a licence the tenant lacks). */
  readonly lasting?: boolean;
  /** Unknown until the service account signs in (pre-flight only). */
  readonly afterSignIn?: boolean;
}

/** Runs every check (or `only` those) over the facts. Pure: the same facts and `now` give the same results. */
export function evaluate(facts: Facts, options: EvaluateOptions & { readonly only?: readonly CheckId[] }): CheckResult[] {
  const ctx: RuleContext = {
    now: options.now,
    gdapRoleIds: options.gdapRoleIds ?? DEFAULT_GDAP_ROLE_IDS,
    appId: options.appId,
    tenantId: options.tenantId,
    companyCountry: options.companyCountry,
  };
  const only = options.only ? new Set(options.only) : undefined;
  return catalog({ appInAdminAgentsSeverity: options.appInAdminAgentsSeverity })
    .filter((d) => !only || only.has(d.id))
    .map((d) => {
      let outcome;
      try {
        outcome = d.rule(facts, ctx);
      } catch (err) {
        // A rule meeting a shape it did not expect must not break the run, and must not pass.
        outcome = { status: 'unknown' as const, evidence: `the facts had an unexpected shape (${err instanceof Error ? err.name : 'error'})` };
      }
      return {
        id: d.id, title: d.title, group: d.group, severity: d.severity, status: outcome.status,
        evidence: oneLine(outcome.evidence),
        fix: outcome.status === 'pass' ? null : outcome.fix ?? d.fix(facts, ctx),
        ...(outcome.status === 'unknown' && outcome.lasting ? { lasting: true } : {}),
        ...(outcome.status === 'unknown' && outcome.afterSignIn ? { afterSignIn: true } : {}),
      };
    });
}

/** The same words as the partner's `ChecksVerdict` (domain/partner.ts), which stores it. */
export type Verdict = 'passed' | 'passed-with-advisories' | 'incomplete' | 'blocked';

export interface Summary {
  readonly verdict: Verdict;
  /**
   * Blocking failures stop the journey before sync, and so does a blocking check the bot could not
   * see this time (never a false pass: the card offers a re-run). Advisories never do.
   */
  readonly stopsJourney: boolean;
  readonly blockingFailures: readonly CheckResult[];
  /** Blocking checks the bot could not see this time (an outage, a missing permission). */
  readonly blockingUnknown: readonly CheckResult[];
  /** Advisory failures, and warnings and unknowns of any check. */
  readonly advisories: readonly CheckResult[];
  readonly counts: Readonly<Record<Status, number>>;
}

export function summarize(results: readonly CheckResult[]): Summary {
  const blockingFailures = results.filter((r) => r.severity === 'blocking' && r.status === 'fail');
  // An unknown the tenant's licence makes lasting is listed with what it needs, not waited for.
  const blockingUnknown = results.filter((r) => r.severity === 'blocking' && r.status === 'unknown' && !r.lasting);
  const advisories = results.filter((r) => r.status !== 'pass' && !blockingFailures.includes(r) && !blockingUnknown.includes(r));
  const counts: Record<Status, number> = { pass: 0, warn: 0, fail: 0, unknown: 0 };
  for (const r of results) counts[r.status] += 1;
  const verdict: Verdict = blockingFailures.length ? 'blocked'
    : blockingUnknown.length ? 'incomplete'
      : advisories.length ? 'passed-with-advisories' : 'passed';
  return { verdict, stopsJourney: blockingFailures.length > 0 || blockingUnknown.length > 0, blockingFailures, blockingUnknown, advisories, counts };
}

const MAX_EVIDENCE = 240;

/** Collapses whitespace and control characters and caps the length at a word's end: evidence is one line. */
function oneLine(text: string): string {
  const flat = text.replace(/[\u0000-\u001f\u007f\s]+/g, ' ').trim();
  if (flat.length <= MAX_EVIDENCE) return flat;
  const cut = flat.slice(0, MAX_EVIDENCE - 1);
  const space = cut.lastIndexOf(' ');
  return `${(space > MAX_EVIDENCE / 2 ? cut.slice(0, space) : cut).replace(/[\s,;:(—-]+$/, '')}…`;
}

const MARK: Record<Status, string> = { pass: 'PASS', warn: 'WARN', fail: 'FAIL', unknown: 'UNKNOWN' };

/**
 * The stable one-line form for the card and for support: "FAIL account.admin-agents — Service
 * account in AdminAgents: not a member — member of: HelpdeskAgents". No secret ever reaches a rule
 * (facts carry only a secret's 3-character hint), so none can reach this line.
 */
export function evidenceLine(result: CheckResult): string {
  return `${MARK[result.status]} ${result.id} — ${result.title}: ${result.evidence}`;
}
