import type { Facts } from './facts';
import { LINKS } from './microsoft';
import * as account from './rules/account';
import * as app from './rules/app';
import * as consent from './rules/consent';
import * as gdap from './rules/gdap';
import * as mfa from './rules/mfa';
import * as pc from './rules/partner-center';
import * as secrets from './rules/secrets';
import { known } from './rules/util';
import type { CheckGroup, Fix, Rule, RuleContext, Severity, Status } from './types';

export interface CheckDefinition {
  readonly id: CheckId;
  readonly title: string;
  readonly group: CheckGroup;
  /** Blocking failures stop the journey before sync; advisories never do. */
  readonly severity: Severity;
  /** The facts the rule reads (the gatherer batches these). */
  readonly facts: readonly (keyof Facts)[];
  /** The statuses this rule can give; the tests hold a row for each. */
  readonly outcomes: readonly Status[];
  readonly rule: Rule;
  /** The fix when the rule gives none of its own: what to change, and a link to the exact page. */
  readonly fix: (facts: Facts, ctx: RuleContext) => Fix;
}

export const CHECK_IDS = [
  'account.exists', 'account.enabled', 'account.password-never-expires', 'account.global-admin', 'account.admin-agents',
  'mfa.registered', 'mfa.enforced', 'mfa.token', 'mfa.sign-in-frequency', 'mfa.remember-devices',
  'app.exists', 'app.permissions-requested', 'app.permissions-granted', 'app.admin-agents',
  'secret.app', 'secret.partner-center',
  'partner-center.works', 'partner-center.partner-tenant', 'partner-center.country', 'partner-center.billing',
  'gdap.roles', 'gdap.expiry', 'gdap.global-admin', 'gdap.assignments',
  'consent.fresh',
] as const;
export type CheckId = (typeof CHECK_IDS)[number];

/**
 * Checks whose fix Microsoft applies later (group membership and consent: minutes up to an hour;
 * role assignments: minutes; GDAP: up to hours): a failure here is worth a re-check later.
 */
export const PROPAGATES: ReadonlySet<CheckId> = new Set<CheckId>([
  'account.global-admin', 'account.admin-agents', 'app.permissions-granted', 'app.admin-agents', 'mfa.enforced',
  'gdap.roles', 'gdap.assignments',
]);

const userId = (f: Facts) => {
  const u = known(f.serviceAccount);
  return u.ok && u.value ? u.value.id : undefined;
};
const spIds = (f: Facts, ctx: RuleContext): [string | undefined, string | undefined] => {
  const sp = known(f.appServicePrincipal);
  return sp.ok && sp.value ? [sp.value.id, sp.value.appId] : [undefined, ctx.appId];
};
const adminAgentsFix = (text: string): Fix => ({ text, link: LINKS.groupMembers() });
const ALL: readonly Status[] = ['pass', 'warn', 'fail', 'unknown'];
const NO_WARN: readonly Status[] = ['pass', 'fail', 'unknown'];

/** Every check, in the order the card shows them. The app-in-AdminAgents severity is set by `catalog()`. */
const DEFINITIONS: readonly CheckDefinition[] = [
  {
    id: 'account.exists', title: 'Service account exists', group: 'Service account', severity: 'blocking',
    facts: ['serviceAccount'], outcomes: NO_WARN, rule: account.serviceAccountExists,
    fix: () => ({ text: 'Create a member user in the partner tenant for the platform (e.g. platform@<tenant>.onmicrosoft.com), or correct the sign-in name entered in the bot.', link: LINKS.user() }),
  },
  {
    id: 'account.enabled', title: 'Service account enabled', group: 'Service account', severity: 'blocking',
    facts: ['serviceAccount'], outcomes: NO_WARN, rule: account.serviceAccountEnabled,
    fix: (f) => ({ text: 'Open the user and set **Account enabled**.', link: LINKS.user(userId(f)) }),
  },
  {
    id: 'account.password-never-expires', title: 'Password never expires', group: 'Service account', severity: 'blocking',
    facts: ['serviceAccount', 'domainPasswordNeverExpires'], outcomes: ALL, rule: account.passwordNeverExpires,
    fix: () => ({ text: 'Run `Update-MgUser -UserId <service account> -PasswordPolicies DisablePasswordExpiration` (Microsoft Graph PowerShell), or set the organization\'s password expiration policy to "never expire": an expired or changed password revokes the connection.', link: LINKS.passwordExpiration }),
  },
  {
    id: 'account.global-admin', title: 'Global Administrator (active)', group: 'Service account', severity: 'blocking',
    facts: ['serviceAccount', 'serviceAccountGroups', 'roleAssignments', 'roleEligibilities'], outcomes: ALL, rule: account.globalAdministrator,
    fix: (f) => ({ text: 'Open the service account\'s **Assigned roles**, select **Add assignments**, choose **Global Administrator** with assignment type **Active**, permanent.', link: LINKS.userRoles(userId(f)) }),
  },
  {
    id: 'account.admin-agents', title: 'Service account in AdminAgents', group: 'Service account', severity: 'blocking',
    facts: ['serviceAccount', 'serviceAccountGroups'], outcomes: NO_WARN, rule: account.inAdminAgents,
    fix: () => adminAgentsFix('Open **Groups → AdminAgents → Members**, select **Add members** and add the service account (it gives the Admin Agent role in Partner Center). Microsoft can take up to an hour to apply it.'),
  },
  {
    id: 'mfa.registered', title: 'MFA method registered', group: 'MFA', severity: 'advisory',
    facts: ['mfaRegistration'], outcomes: ALL, rule: mfa.mfaRegistered,
    fix: () => ({ text: 'Sign in as the service account at Security info and add Microsoft Authenticator. Third-party MFA (Duo and the like) is not accepted by Partner Center.', link: LINKS.securityInfo }),
  },
  {
    id: 'mfa.enforced', title: 'MFA enforced', group: 'MFA', severity: 'blocking',
    facts: ['securityDefaultsEnabled', 'conditionalAccessPolicies', 'perUserMfaState', 'serviceAccount', 'serviceAccountGroups', 'roleAssignments'],
    outcomes: ALL, rule: mfa.mfaEnforced,
    fix: () => ({ text: 'Turn on **security defaults** (Entra ID → Overview → Properties → Manage security defaults), or create a conditional access policy requiring MFA for the service account. Enforce MFA *before* consenting: enabling it afterwards revokes the consent.', link: LINKS.securityDefaults }),
  },
  {
    id: 'mfa.token', title: 'MFA proven at sign-in', group: 'MFA', severity: 'blocking',
    facts: ['consentTokenAmr'], outcomes: NO_WARN, rule: mfa.mfaInToken,
    fix: () => ({ text: 'Sign in again with the service account and complete the Microsoft MFA prompt.', link: LINKS.partnerCenterMfa }),
  },
  {
    id: 'mfa.sign-in-frequency', title: 'No sign-in frequency limit', group: 'MFA', severity: 'blocking',
    facts: ['conditionalAccessPolicies', 'serviceAccount', 'serviceAccountGroups', 'roleAssignments'], outcomes: ALL, rule: mfa.noSignInFrequency,
    fix: () => ({ text: 'Exclude the service account from every conditional access policy with a sign-in frequency session control: it ends the refresh token the platform lives on.', link: LINKS.sessionLifetime }),
  },
  {
    id: 'mfa.remember-devices', title: '"Remember MFA on trusted devices" off', group: 'MFA', severity: 'advisory',
    facts: ['rememberMfaOff'], outcomes: ['pass', 'warn', 'unknown'], rule: mfa.rememberMfa,
    fix: () => ({ text: 'In the legacy MFA service settings, clear "Allow users to remember multifactor authentication on devices they trust", then sign in again.', link: LINKS.mfaServiceSettings }),
  },
  {
    id: 'app.exists', title: 'App registration exists', group: 'App registration', severity: 'blocking',
    facts: ['application', 'appServicePrincipal'], outcomes: NO_WARN, rule: app.appExists,
    fix: () => ({ text: 'Check the **Application (client) ID** entered in the bot against **App registrations** in the partner tenant, or register the app.', link: LINKS.appRegistrations }),
  },
  {
    id: 'app.permissions-requested', title: 'App requests the permissions', group: 'App registration', severity: 'blocking',
    facts: ['application'], outcomes: ALL, rule: app.permissionsRequested,
    fix: (_f, ctx) => ({ text: 'Under **API permissions → Add a permission → Microsoft Graph**, add the application permissions Directory.ReadWrite.All, Group.ReadWrite.All, RoleManagement.ReadWrite.Directory, User.ReadWrite.All and the delegated User.Read, then **Grant admin consent**.', link: LINKS.appApiPermissions(ctx.appId) }),
  },
  {
    id: 'app.permissions-granted', title: 'Permissions granted (admin consent)', group: 'App registration', severity: 'blocking',
    facts: ['appServicePrincipal', 'appRoleAssignments', 'delegatedGrants', 'graphServicePrincipalId', 'serviceAccount'], outcomes: NO_WARN, rule: app.permissionsGranted,
    fix: (f, ctx) => ({ text: 'Open the app\'s **API permissions** as a Global Administrator and select **Grant admin consent**; every permission must show "Granted".', link: LINKS.appApiPermissions(spIds(f, ctx)[1]) }),
  },
  {
    id: 'app.admin-agents', title: 'App in AdminAgents', group: 'App registration', severity: 'blocking',
    facts: ['appServicePrincipal', 'appServicePrincipalGroups'], outcomes: NO_WARN, rule: app.appInAdminAgents,
    fix: () => adminAgentsFix('Open **Groups → AdminAgents → Members → Add members**, search for the app by name and add it: the platform\'s app-only calls into customer tenants act through it.'),
  },
  {
    id: 'secret.app', title: 'Client secret valid', group: 'Secrets', severity: 'blocking',
    facts: ['secretInUse', 'application'], outcomes: ALL, rule: secrets.appSecretValid,
    fix: (_f, ctx) => ({ text: 'Under **Certificates & secrets**, add a new client secret and enter its **Value** in the bot.', link: LINKS.appSecrets(ctx.appId) }),
  },
  {
    id: 'secret.partner-center', title: 'Partner Center web app secret valid', group: 'Secrets', severity: 'blocking',
    facts: ['partnerCenterSecretExpiry', 'partnerCenterSecretEnteredAt'], outcomes: ALL, rule: secrets.partnerCenterSecretValid,
    fix: () => ({ text: 'In Partner Center **App management**, add a new key to the web app and enter it with its expiry in the bot.', link: LINKS.partnerCenterApps }),
  },
  {
    id: 'partner-center.works', title: 'Partner Center answers', group: 'Partner Center', severity: 'blocking',
    facts: ['partnerCenterProfile', 'partnerCenterCustomers'], outcomes: ALL, rule: pc.partnerCenterWorks,
    fix: () => pc.PARTNER_CENTER_ROLES_FIX,
  },
  {
    id: 'partner-center.partner-tenant', title: 'Partner tenant (not a customer tenant)', group: 'Partner Center', severity: 'blocking',
    facts: ['organization', 'partnerCenterProfile'], outcomes: ALL, rule: pc.partnerTenant,
    fix: () => ({ text: 'Use the tenant of your Partner Center account: Partner Center → Settings → Account settings → Organization profile shows its Microsoft ID. Sign in with an account of that tenant (a private window avoids a cached one).', link: LINKS.partnerCenterProfile }),
  },
  {
    id: 'partner-center.country', title: 'Country recorded', group: 'Partner Center', severity: 'blocking',
    facts: ['partnerCenterProfile', 'organization'], outcomes: ALL, rule: pc.countryRecorded,
    fix: () => ({ text: 'Fill in the address in the Partner Center legal profile.', link: LINKS.partnerCenterProfile }),
  },
  {
    id: 'partner-center.billing', title: 'Billing visible to the service account', group: 'Partner Center', severity: 'advisory',
    facts: ['partnerCenterInvoices'], outcomes: ['pass', 'warn', 'unknown'], rule: pc.billingVisible,
    fix: () => ({ text: 'Give the service account **Global Admin** (or **Billing admin**) in Partner Center → Settings → User management.', link: LINKS.partnerCenterUsers }),
  },
  {
    id: 'gdap.roles', title: 'GDAP relationships hold the needed roles', group: 'Customer access (GDAP)', severity: 'advisory',
    facts: ['gdapRelationships'], outcomes: ALL, rule: gdap.gdapRoles,
    fix: () => ({ text: 'For each customer, request a GDAP relationship with the roles the platform needs (Directory Readers, User Administrator, License Administrator); a Microsoft-led (MLT_) relationship is read-only. The customer approves it.', link: LINKS.gdapRelationships }),
  },
  {
    id: 'gdap.expiry', title: 'GDAP relationships not about to end', group: 'Customer access (GDAP)', severity: 'advisory',
    facts: ['gdapRelationships'], outcomes: ALL, rule: gdap.gdapExpiry,
    fix: () => ({ text: 'Turn on auto-extend (180 days) for those relationships, or request new ones before they end.', link: LINKS.gdapRelationships }),
  },
  {
    id: 'gdap.global-admin', title: 'No Global Administrator in GDAP', group: 'Customer access (GDAP)', severity: 'advisory',
    facts: ['gdapRelationships'], outcomes: ['pass', 'warn', 'unknown'], rule: gdap.gdapGlobalAdmin,
    fix: () => ({ text: 'Replace those relationships with ones that leave out Global Administrator, so they can auto-extend.', link: LINKS.gdapGuide }),
  },
  {
    id: 'gdap.assignments', title: 'GDAP roles assigned to the service account', group: 'Customer access (GDAP)', severity: 'advisory',
    facts: ['gdapRelationships', 'serviceAccountGroups', 'gdapAccessGroups'], outcomes: ALL, rule: gdap.gdapAssignments,
    fix: () => ({ text: 'In each relationship, **Assign roles** to a security group that holds the service account (AdminAgents works) for every needed role. Microsoft takes minutes to hours to apply it: re-check later.', link: LINKS.gdapRelationships }),
  },
  {
    id: 'consent.fresh', title: 'Consent kept alive', group: 'Partner Center', severity: 'blocking',
    facts: ['consent'], outcomes: ALL, rule: consent.consentFresh,
    fix: () => ({ text: 'Sign in again with the service account to renew the consent.', link: LINKS.refreshTokens }),
  },
];

export interface CatalogOptions {
  /** Severity of "App in AdminAgents" (operator config). Default blocking, as the onboarding guides require. */
  readonly appInAdminAgentsSeverity?: Severity;
}

/** The checks, with operator config applied. */
export function catalog(options: CatalogOptions = {}): readonly CheckDefinition[] {
  const appSeverity = options.appInAdminAgentsSeverity ?? 'blocking';
  return DEFINITIONS.map((d) => (d.id === 'app.admin-agents' ? { ...d, severity: appSeverity } : d));
}
