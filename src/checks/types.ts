import type { Facts } from './facts';

export type Status = 'pass' | 'warn' | 'fail' | 'unknown';
export type Severity = 'blocking' | 'advisory';
export type CheckGroup = 'Service account' | 'MFA' | 'App registration' | 'Secrets' | 'Partner Center' | 'Customer access (GDAP)';

/** What to change and where: one sentence or two, and a deep link to the exact page. */
export interface Fix {
  readonly text: string;
  readonly link: string;
}

/** What a rule returns. A rule may give its own fix (e.g. eligible-only PIM); otherwise the check's. */
export interface Outcome {
  readonly status: Status;
  /** One line, no secret: a secret appears only as its 3-character hint. */
  readonly evidence: string;
  readonly fix?: Fix;
  /** An unknown that waiting will not change (a licence the tenant lacks): it does not hold the journey. */
  readonly lasting?: boolean;
  /** An unknown only the service account's sign-in can settle: the pre-flight says it runs then. */
  readonly afterSignIn?: boolean;
}

export interface EvaluateOptions {
  /** The time of the run; rules never read the clock. */
  readonly now: Date;
  /** Severity of "app's service principal in AdminAgents" (operator config). Default blocking. */
  readonly appInAdminAgentsSeverity?: Severity;
  /** Role template ids customers' GDAP relationships must hold. Default `DEFAULT_GDAP_ROLE_IDS`. */
  readonly gdapRoleIds?: readonly string[];
  /** The app's client ID the partner entered (deep links, conditional access targeting). */
  readonly appId?: string;
  /** The partner tenant id the partner entered. */
  readonly tenantId?: string;
  /** The company's country from the company form (ISO 3166 alpha-2). */
  readonly companyCountry?: string;
}

/** The options with their defaults filled in, as rules see them. */
export interface RuleContext extends Required<Pick<EvaluateOptions, 'now' | 'gdapRoleIds'>> {
  readonly appId?: string;
  readonly tenantId?: string;
  readonly companyCountry?: string;
}

export type Rule = (facts: Facts, ctx: RuleContext) => Outcome;
