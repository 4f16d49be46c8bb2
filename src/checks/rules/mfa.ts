import type { ConditionalAccessPolicy, Facts, ServiceAccount } from '../facts';
import { GRAPH_APP_ID, LINKS, PARTNER_CENTER_APP_ID } from '../microsoft';
import type { Outcome, RuleContext } from '../types';
import { known, listNames, sameId, unknownOutcome } from './util';

/** Methods Entra reports that are phone-based (SMS / voice): weakest second factor. */
const PHONE_METHODS = new Set(['mobilePhone', 'alternateMobilePhone', 'officePhone']);

export function mfaRegistered(facts: Facts): Outcome {
  const r = known(facts.mfaRegistration);
  if (!r.ok) return unknownOutcome('MFA registration', r.unknown, LINKS.registrationReport);
  const methods = r.value.methodsRegistered;
  if (!r.value.isMfaRegistered || methods.length === 0) {
    return { status: 'fail', evidence: 'no MFA method registered (third-party MFA such as Duo does not count)' };
  }
  if (methods.every((m) => PHONE_METHODS.has(m))) {
    return { status: 'warn', evidence: `only phone methods registered: ${listNames(methods)}`, fix: { text: 'Add Microsoft Authenticator (or a FIDO2 key) to the service account on its Security info page; SMS and voice are the weakest second factor.', link: LINKS.securityInfo } };
  }
  return { status: 'pass', evidence: `registered: ${listNames(methods)}` };
}

interface Who {
  /** False when the account's groups could not be read: group-targeted policies cannot be judged. */
  readonly groupsKnown: boolean;
  readonly userId: string;
  readonly groupIds: ReadonlySet<string>;
  readonly roleIds: ReadonlySet<string>;
}

function who(user: ServiceAccount, facts: Facts): Who {
  const groups = known(facts.serviceAccountGroups);
  const roles = known(facts.roleAssignments);
  return {
    groupsKnown: groups.ok,
    userId: user.id.toLowerCase(),
    groupIds: new Set(groups.ok ? groups.value.map((g) => g.id.toLowerCase()) : []),
    roleIds: new Set(roles.ok ? roles.value.map((r) => r.roleDefinitionId.toLowerCase()) : []),
  };
}

const has = (list: readonly string[] | undefined, pred: (x: string) => boolean) => (list ?? []).some(pred);

/** Does the policy apply to the service account signing in to Partner Center / Graph with the app? */
export function policyApplies(p: ConditionalAccessPolicy, w: Who, appId?: string): boolean {
  const u = p.conditions.users;
  if (!u) return false;
  const id = (x: string) => x.toLowerCase();
  const included = has(u.includeUsers, (x) => x === 'All' || id(x) === w.userId)
    || has(u.includeGroups, (x) => w.groupIds.has(id(x)))
    || has(u.includeRoles, (x) => w.roleIds.has(id(x)));
  const excluded = has(u.excludeUsers, (x) => id(x) === w.userId)
    || has(u.excludeGroups, (x) => w.groupIds.has(id(x)))
    || has(u.excludeRoles, (x) => w.roleIds.has(id(x)));
  if (!included || excluded) return false;
  const apps = p.conditions.applications;
  if (!apps) return true;
  const relevant = (x: string) => sameId(x, GRAPH_APP_ID) || sameId(x, PARTNER_CENTER_APP_ID) || (!!appId && sameId(x, appId));
  const inApps = has(apps.includeApplications, (x) => x === 'All' || x === 'Office365' || relevant(x));
  return inApps && !has(apps.excludeApplications, relevant);
}

function requiresMfa(p: ConditionalAccessPolicy): 'yes' | 'partly' | 'no' {
  const g = p.grantControls;
  if (!g) return 'no';
  const controls = g.builtInControls ?? [];
  const mfa = controls.includes('mfa') || !!g.authenticationStrength;
  if (!mfa) return 'no';
  // "Require one of: MFA or a compliant device" lets a sign-in through without MFA.
  const others = controls.filter((c) => c !== 'mfa');
  return (g.operator ?? 'OR').toUpperCase() === 'OR' && others.length > 0 ? 'partly' : 'yes';
}

function skipsLocations(p: ConditionalAccessPolicy): boolean {
  const l = p.conditions.locations;
  if (!l) return false;
  return (l.excludeLocations ?? []).length > 0 || (!!l.includeLocations && !l.includeLocations.includes('All'));
}

export function mfaEnforced(facts: Facts, ctx: RuleContext): Outcome {
  const u = known(facts.serviceAccount);
  const defaults = known(facts.securityDefaultsEnabled);
  if (defaults.ok && defaults.value) return { status: 'pass', evidence: 'security defaults on' };

  const policies = known(facts.conditionalAccessPolicies);
  const perUser = known(facts.perUserMfaState);
  const partial: string[] = [];
  if (policies.ok && u.ok && u.value) {
    const w = who(u.value, facts);
    const covering = policies.value.filter((p) => p.state === 'enabled' && policyApplies(p, w, ctx.appId));
    const full = covering.find((p) => requiresMfa(p) === 'yes' && !skipsLocations(p));
    if (full) return { status: 'pass', evidence: `conditional access "${full.displayName}" requires MFA` };
    for (const p of covering) {
      const req = requiresMfa(p);
      if (req === 'partly') partial.push(`"${p.displayName}" accepts another control instead of MFA`);
      else if (req === 'yes') partial.push(`"${p.displayName}" skips MFA from named locations`);
    }
  }
  if (perUser.ok && perUser.value === 'enforced') return { status: 'pass', evidence: 'per-user MFA enforced' };
  if (partial.length) {
    return { status: 'warn', evidence: `MFA required only in part: ${partial.sort().join('; ')}`, fix: { text: 'Make a conditional access policy that requires MFA for the service account on every sign-in: no trusted-location exclusion, no "require one of" alternative.', link: LINKS.conditionalAccess } };
  }
  if (perUser.ok && perUser.value === 'enabled') {
    return { status: 'warn', evidence: 'per-user MFA "enabled" but not "enforced"', fix: { text: 'Set the service account\'s per-user MFA to **Enforced**, or better, turn on security defaults or a conditional access policy requiring MFA.', link: LINKS.perUserMfa } };
  }

  const unknowns: string[] = [];
  // Before the sign-in none of the three can be read: the check simply runs after it.
  const afterSignIn = [defaults, policies, perUser].every((f) => !f.ok && f.unknown?.afterSignIn);
  const refusal = [defaults, policies, perUser].map((f) => (f.ok ? undefined : f.unknown?.fix)).find((t) => t);
  if (!defaults.ok) unknowns.push(`security defaults: ${defaults.unknown?.unknown ?? 'not checked'}`);
  if (!policies.ok) unknowns.push(`conditional access: ${policies.unknown?.unknown ?? 'not checked'}`);
  else if (!u.ok || !u.value) unknowns.push('conditional access: the service account is not known');
  if (!perUser.ok) unknowns.push(`per-user MFA: ${perUser.unknown?.unknown ?? 'not checked'}`);
  if (unknowns.length) {
    return {
      status: 'unknown', evidence: `MFA enforcement not proven — ${unknowns.join('; ')}`,
      fix: { text: afterSignIn ? 'Sign in as the service account (the next step): this check runs then.' : `${refusal ? `${refusal} ` : ''}Turning on **security defaults** settles it: the bot can always read them.`, link: LINKS.securityDefaults },
      ...(afterSignIn ? { afterSignIn: true } : {}),
    };
  }
  return { status: 'fail', evidence: 'MFA not enforced: security defaults off, no conditional access policy requires MFA for the account, per-user MFA disabled' };
}

export function mfaInToken(facts: Facts): Outcome {
  const amr = known(facts.consentTokenAmr);
  if (!amr.ok) return unknownOutcome('MFA in the consent token', amr.unknown ?? { unknown: 'no sign-in yet', afterSignIn: true, fix: 'Sign in as the service account (the next step): this check runs then.' }, LINKS.securityInfo);
  const claims = amr.value;
  if (claims.includes('mfa')) return { status: 'pass', evidence: `token amr: ${claims.join(', ')}` };
  const federated = claims.includes('fed');
  return {
    status: 'fail',
    evidence: `token amr: ${claims.length ? claims.join(', ') : '(empty)'} — no "mfa"`,
    fix: federated
      ? { text: 'The sign-in came from a federated identity provider that did not pass MFA on. Make it send the MFA claim (federatedIdpMfaBehavior) or require Entra MFA, then sign in again.', link: LINKS.partnerCenterMfa }
      : { text: 'Partner Center accepts only Microsoft Entra MFA (Duo and other third-party MFA do not put "mfa" in the token). Register Microsoft Authenticator for the service account, then sign in again.', link: LINKS.securityInfo },
  };
}

export function noSignInFrequency(facts: Facts, ctx: RuleContext): Outcome {
  const u = known(facts.serviceAccount);
  if (!u.ok || !u.value) return unknownOutcome('Sign-in frequency', u.ok ? { unknown: 'the service account was not found' } : u.unknown, LINKS.conditionalAccess);
  const policies = known(facts.conditionalAccessPolicies);
  if (!policies.ok) {
    // Entra refuses to enable a conditional access policy while security defaults are on (one or
    // the other), so with them on no session control can apply, read or not.
    const defaults = known(facts.securityDefaultsEnabled);
    if (defaults.ok && defaults.value) return { status: 'pass', evidence: 'security defaults are on, so no conditional access policy (and no sign-in frequency) is enforced' };
    return unknownOutcome('Sign-in frequency', policies.unknown, LINKS.conditionalAccess);
  }
  const w = who(u.value, facts);
  const sif = (p: ConditionalAccessPolicy) => {
    const s = p.sessionControls?.signInFrequency;
    return !!s && s.isEnabled !== false && (typeof s.value === 'number' || s.frequencyInterval === 'everyTime');
  };
  const hits = policies.value.filter((p) => sif(p) && policyApplies(p, w, ctx.appId));
  const unjudged = w.groupsKnown ? [] : policies.value.filter((p) => sif(p) && p.state !== 'disabled' && !hits.includes(p)
    && (p.conditions.users?.includeGroups ?? []).length > 0);
  const enforced = hits.filter((p) => p.state === 'enabled');
  const describe = (p: ConditionalAccessPolicy) => {
    const s = p.sessionControls!.signInFrequency!;
    return s.frequencyInterval === 'everyTime' ? `"${p.displayName}" (every time)` : `"${p.displayName}" (${s.value} ${s.type})`;
  };
  if (enforced.length) {
    return {
      status: 'fail',
      evidence: `sign-in frequency applies: ${enforced.map(describe).sort().join(', ')} — it ends the refresh token (AADSTS70043)`,
      fix: { text: 'Exclude the service account from the sign-in frequency session control of that conditional access policy.', link: LINKS.conditionalAccessPolicy(enforced[0]!.id) },
    };
  }
  if (unjudged.length) {
    const groups = known(facts.serviceAccountGroups);
    return unknownOutcome(`Sign-in frequency: ${unjudged.map((p) => `"${p.displayName}"`).sort().join(', ')} targets groups, and the account's groups`, groups.ok ? undefined : groups.unknown, LINKS.conditionalAccess);
  }
  const reportOnly = hits.filter((p) => p.state === 'enabledForReportingButNotEnforced');
  if (reportOnly.length) {
    return {
      status: 'warn',
      evidence: `report-only policy would apply sign-in frequency: ${reportOnly.map(describe).sort().join(', ')}`,
      fix: { text: 'Exclude the service account before that policy is switched on, or it will end the refresh token.', link: LINKS.conditionalAccessPolicy(reportOnly[0]!.id) },
    };
  }
  return { status: 'pass', evidence: 'no sign-in frequency control applies to the account' };
}

export function rememberMfa(facts: Facts): Outcome {
  const answer = known(facts.rememberMfaOff);
  if (!answer.ok) {
    return {
      status: 'unknown',
      evidence: '"Remember MFA on trusted devices" cannot be read through Graph — check it yourself',
      fix: { text: 'In the legacy **MFA service settings**, make sure "Allow users to remember multifactor authentication on devices they trust" is off: it shortens the refresh token the platform lives on.', link: LINKS.mfaServiceSettings },
      // Graph never shows this setting: no run will, so it does not wait for one.
      lasting: true,
    };
  }
  return answer.value
    ? { status: 'pass', evidence: '"remember MFA on trusted devices" is off (as the partner confirmed)' }
    : { status: 'warn', evidence: '"remember MFA on trusted devices" is on (as the partner said)' };
}
