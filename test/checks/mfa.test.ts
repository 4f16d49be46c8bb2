import type { ConditionalAccessPolicy } from '../../src/checks/facts';
import { SERVICE_ACCOUNT_ID } from '../simulator/scenarios/ids';
import { ADMIN_AGENTS, HELPDESK_AGENTS, table } from './table';

const policy = (over: Partial<ConditionalAccessPolicy> & { users?: Record<string, string[]>; locations?: Record<string, string[]>; apps?: Record<string, string[]> } = {}): ConditionalAccessPolicy => ({
  id: 'a0a0a0a0-6666-4666-8666-000000000001',
  displayName: 'Require MFA for admins',
  state: 'enabled',
  conditions: {
    users: { includeUsers: ['All'], excludeUsers: [], includeGroups: [], excludeGroups: [], includeRoles: [], excludeRoles: [], ...over.users },
    applications: { includeApplications: ['All'], excludeApplications: [], ...over.apps },
    locations: over.locations ?? null,
  },
  grantControls: over.grantControls ?? { operator: 'OR', builtInControls: ['mfa'] },
  sessionControls: over.sessionControls ?? null,
  ...(over.state ? { state: over.state } : {}),
  ...(over.displayName ? { displayName: over.displayName } : {}),
});
const sif = (value: number, type = 'hours') => ({ signInFrequency: { isEnabled: true, value, type, frequencyInterval: 'timeBased' } });
const noP1 = { unknown: 'Graph answered 403 Authentication_RequestFromNonPremiumTenantOrB2CTenant', needs: 'Microsoft Entra ID P1 or P2' };
const off = { securityDefaultsEnabled: false, perUserMfaState: 'disabled' as const };

describe('checks: MFA', () => {
  table('mfa.registered', [
    { name: 'Authenticator', facts: {}, status: 'pass', evidence: /^registered: microsoftAuthenticatorPush$/ },
    { name: 'phone only', facts: { mfaRegistration: { isMfaRegistered: true, methodsRegistered: ['mobilePhone'] } }, status: 'warn', evidence: /only phone methods registered: mobilePhone/, fix: /Microsoft Authenticator/ },
    { name: 'nothing registered (or third-party only)', facts: { mfaRegistration: { isMfaRegistered: false, methodsRegistered: [] } }, status: 'fail', evidence: /no MFA method registered/, fix: /Security info.*Authenticator/s },
    { name: 'report needs P1 (403)', facts: { mfaRegistration: noP1 }, status: 'unknown', evidence: /MFA registration: Graph answered 403 .*needs Microsoft Entra ID P1 or P2/, fix: /Check it yourself in the Microsoft Entra admin center: Microsoft shows it to the bot only with Microsoft Entra ID P1 or P2/ },
  ]);

  table('mfa.enforced', [
    { name: 'security defaults', facts: {}, status: 'pass', evidence: /^security defaults on$/ },
    { name: 'a CA policy for all users', facts: { ...off, conditionalAccessPolicies: [policy()] }, status: 'pass', evidence: /conditional access "Require MFA for admins" requires MFA/ },
    { name: 'a CA policy for a group the account is in', facts: { ...off, conditionalAccessPolicies: [policy({ users: { includeUsers: [], includeGroups: [ADMIN_AGENTS.id] } })] }, status: 'pass', evidence: /requires MFA/ },
    { name: 'a CA policy for the Global Administrator role', facts: { ...off, conditionalAccessPolicies: [policy({ users: { includeUsers: [], includeRoles: ['62e90394-69f5-4237-9190-012177145e10'] } })] }, status: 'pass', evidence: /requires MFA/ },
    { name: 'legacy per-user MFA enforced (CA unreadable)', facts: { securityDefaultsEnabled: false, conditionalAccessPolicies: noP1, perUserMfaState: 'enforced' }, status: 'pass', evidence: /^per-user MFA enforced$/ },
    { name: 'CA skips trusted locations', facts: { ...off, conditionalAccessPolicies: [policy({ locations: { includeLocations: ['All'], excludeLocations: ['AllTrusted'] } })] }, status: 'warn', evidence: /skips MFA from named locations/, fix: /no trusted-location exclusion/ },
    { name: 'CA accepts a compliant device instead', facts: { ...off, conditionalAccessPolicies: [policy({ grantControls: { operator: 'OR', builtInControls: ['mfa', 'compliantDevice'] } })] }, status: 'warn', evidence: /accepts another control instead of MFA/ },
    { name: 'per-user MFA enabled, not enforced', facts: { ...off, perUserMfaState: 'enabled' }, status: 'warn', evidence: /"enabled" but not "enforced"/, fix: /Enforced/ },
    { name: 'nothing enforces MFA', facts: { ...off }, status: 'fail', evidence: /MFA not enforced: security defaults off/, fix: /security defaults.*before\* consenting/s },
    { name: 'the account is excluded from the only policy', facts: { ...off, conditionalAccessPolicies: [policy({ users: { excludeUsers: [SERVICE_ACCOUNT_ID] } })] }, status: 'fail', evidence: /MFA not enforced/ },
    { name: 'a report-only policy does not enforce', facts: { ...off, conditionalAccessPolicies: [policy({ state: 'enabledForReportingButNotEnforced' })] }, status: 'fail', evidence: /MFA not enforced/ },
    { name: 'a policy excluding Partner Center does not count', facts: { ...off, conditionalAccessPolicies: [policy({ apps: { excludeApplications: ['fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd'] } })] }, status: 'fail', evidence: /MFA not enforced/ },
    {
      name: 'no P1: CA 403 and per-user unreadable, security defaults off',
      facts: { securityDefaultsEnabled: false, conditionalAccessPolicies: noP1, perUserMfaState: { unknown: 'Graph answered 403', needs: 'Policy.Read.All granted' } },
      status: 'unknown', evidence: /MFA enforcement not proven — conditional access: Graph answered 403 .*; per-user MFA: Graph answered 403/, fix: /security defaults/,
    },
  ]);

  table('mfa.token', [
    { name: 'amr has mfa', facts: {}, status: 'pass', evidence: /^token amr: pwd, mfa$/ },
    { name: 'third-party MFA: amr without mfa', facts: { consentTokenAmr: ['pwd'] }, status: 'fail', evidence: /token amr: pwd — no "mfa"/, fix: /Duo/ },
    { name: 'federated sign-in without MFA claim', facts: { consentTokenAmr: ['fed'] }, status: 'fail', evidence: /no "mfa"/, fix: /federatedIdpMfaBehavior/ },
    { name: 'not consented yet', facts: { consentTokenAmr: undefined }, status: 'unknown', evidence: /^MFA in the consent token: no sign-in yet$/ },
  ]);

  table('mfa.sign-in-frequency', [
    { name: 'no CA policies', facts: {}, status: 'pass', evidence: /no sign-in frequency control applies/ },
    { name: 'a sign-in frequency policy that excludes the account', facts: { conditionalAccessPolicies: [policy({ sessionControls: sif(12), users: { excludeUsers: [SERVICE_ACCOUNT_ID] } })] }, status: 'pass', evidence: /no sign-in frequency/ },
    { name: 'for another group only', facts: { conditionalAccessPolicies: [policy({ sessionControls: sif(12), users: { includeUsers: [], includeGroups: [HELPDESK_AGENTS.id] } })] }, status: 'pass', evidence: /no sign-in frequency/ },
    { name: 'report-only policy', facts: { conditionalAccessPolicies: [policy({ displayName: 'Daily sign-in', state: 'enabledForReportingButNotEnforced', sessionControls: sif(1, 'days') })] }, status: 'warn', evidence: /report-only policy would apply sign-in frequency: "Daily sign-in" \(1 days\)/ },
    { name: 'enabled policy covering everyone', facts: { conditionalAccessPolicies: [policy({ displayName: 'Daily sign-in', sessionControls: sif(1, 'days') })] }, status: 'fail', evidence: /sign-in frequency applies: "Daily sign-in" \(1 days\) — it ends the refresh token \(AADSTS70043\)/, fix: /Exclude the service account/ },
    { name: 'CA not readable (no P1), security defaults off', facts: { conditionalAccessPolicies: noP1, securityDefaultsEnabled: false }, status: 'unknown', evidence: /Sign-in frequency: Graph answered 403/ },
    { name: 'CA not readable (no P1), security defaults on: no CA policy can be enforced', facts: { conditionalAccessPolicies: noP1, securityDefaultsEnabled: true }, status: 'pass', evidence: /security defaults are on, so no conditional access policy/ },
    { name: 'a group-targeted policy when the account\'s groups are unreadable', facts: { serviceAccountGroups: { unknown: 'Graph did not answer' }, conditionalAccessPolicies: [policy({ displayName: 'Daily sign-in', sessionControls: sif(1, 'days'), users: { includeUsers: [], includeGroups: [HELPDESK_AGENTS.id] } })] }, status: 'unknown', evidence: /"Daily sign-in" targets groups, and the account's groups: Graph did not answer/ },
  ]);

  table('mfa.remember-devices', [
    { name: 'the partner confirmed it is off', facts: { rememberMfaOff: true }, status: 'pass', evidence: /is off/ },
    { name: 'the partner said it is on', facts: { rememberMfaOff: false }, status: 'warn', evidence: /is on/, fix: /remember multifactor authentication/ },
    { name: 'not readable through Graph: says what to check and where', facts: { rememberMfaOff: undefined }, status: 'unknown', evidence: /cannot be read through Graph/, fix: /MFA service settings/ },
  ]);
});
