import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';

/**
 * A scenario is a declarative picture of one Microsoft cloud: tenants with their users, groups,
 * app registrations, Partner Center data, GDAP relationships, and how the cloud throttles.
 * Ids are fixed in the files so tests can name them; generated data (customers) is deterministic.
 */

const Guid = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'a GUID');
/** Either an ISO date-time or a number of days from "now" (negative = in the past). */
const When = z.union([z.string().datetime({ offset: true }), z.object({ daysFromNow: z.number() })]);

export const MfaMethod = z.enum(['microsoftAuthenticator', 'phoneAuthentication', 'fido2', 'softwareOneTimePasscode', 'windowsHelloForBusiness', 'thirdParty']);

export const UserSchema = z.object({
  id: Guid,
  /** `name@domain`; a guest's is `name_home.com#EXT#@domain` (not an email address to zod). */
  userPrincipalName: z.string().regex(/^[^@\s]+@[^@\s]+\.[^@\s]+$/, 'a user principal name (name@domain)'),
  displayName: z.string(),
  password: z.string().default('Passw0rd!'),
  accountEnabled: z.boolean().default(true),
  /** Graph `user.userType`: a guest (B2B) is never a valid service account. */
  userType: z.enum(['Member', 'Guest']).default('Member'),
  /** Directory role display names, e.g. "Global Administrator" (active assignments). */
  roles: z.array(z.string()).default([]),
  /** PIM-eligible roles not activated: absent from memberOf and directoryRoles, listed in roleEligibilitySchedules. */
  eligibleRoles: z.array(z.string()).default([]),
  /** Legacy per-user MFA (beta `authentication/requirements`), independent of security defaults and CA. */
  perUserMfaState: z.enum(['disabled', 'enabled', 'enforced']).default('disabled'),
  /** Group display names, e.g. "AdminAgents". */
  groups: z.array(z.string()).default([]),
  /** Registered MFA methods; `thirdParty` (Duo…) satisfies sign-in but puts no `mfa` in `amr`. */
  mfaMethods: z.array(MfaMethod).default([]),
  /** Whether sign-in enforces MFA (per-user, security defaults or CA). */
  mfaEnforced: z.boolean().default(false),
  passwordPolicies: z.string().optional(),
  /** Sessions revoked at this time: refresh tokens issued before it are dead (AADSTS50173). */
  sessionsRevokedAt: When.optional(),
  /** Password changed or reset at this time: kills public clients' refresh tokens only (50173). */
  passwordChangedAt: When.optional(),
  /** The device the user signed in on was deleted at this time: refresh tokens die with 700003. */
  deviceDeletedAt: When.optional(),
});

export const SecretSchema = z.object({
  keyId: Guid,
  displayName: z.string().default('secret'),
  /** The secret value a partner would paste. */
  value: z.string(),
  startDateTime: When.default({ daysFromNow: -30 }),
  endDateTime: When,
  /** Seconds after simulator start during which the secret is not replicated yet (AADSTS7000215). */
  replicationDelaySeconds: z.number().nonnegative().default(0),
  /** Ours: the token endpoint refuses this many more uses of the secret (AADSTS7000215), then accepts it. */
  refusedAttempts: z.number().int().nonnegative().default(0),
});

export const ApplicationSchema = z.object({
  appId: Guid,
  objectId: Guid,
  servicePrincipalId: Guid,
  displayName: z.string(),
  /** Graph application permissions (app roles) the app registration *requests*. */
  requestedAppRoles: z.array(z.string()).default([]),
  /** Graph delegated scopes the app registration requests. */
  requestedScopes: z.array(z.string()).default([]),
  /** Graph app roles actually granted (admin consent) to the service principal. */
  grantedAppRoles: z.array(z.string()).default([]),
  /** Delegated scopes granted tenant-wide (oauth2PermissionGrants, consentType AllPrincipals). */
  grantedScopes: z.array(z.string()).default([]),
  /**
   * Delegated grants for one user only (oauth2PermissionGrant consentType Principal), one per user
   * and resource: Graph (the default) or Partner Center (`user_impersonation`). A user's consent on
   * the sign-in page adds here; ticking "Consent on behalf of your organization" fills
   * `grantedScopes` / `partnerCenterConsent` instead.
   */
  principalGrants: z.array(z.object({
    principalId: Guid,
    resource: z.enum(['graph', 'partnerCenter']).optional(),
    scopes: z.array(z.string()).min(1),
  })).default([]),
  /** Partner Center `user_impersonation` consented for this app. */
  partnerCenterConsent: z.boolean().default(false),
  secrets: z.array(SecretSchema).default([]),
  /** Group display names the service principal is a member of (AdminAgents…). */
  servicePrincipalGroups: z.array(z.string()).default([]),
  redirectUris: z.array(z.string()).default([]),
  /**
   * Graph `application.uniqueName`: a key the client chose when it created the app with an upsert
   * (`PATCH /applications(uniqueName='…')`); absent on apps made otherwise.
   * https://learn.microsoft.com/en-us/graph/api/application-upsert
   */
  uniqueName: z.string().optional(),
  /** Graph `application.tags` (the setup run finds its app by a tag). */
  tags: z.array(z.string()).default([]),
  signInAudience: z.enum(['AzureADMyOrg', 'AzureADMultipleOrgs', 'AzureADandPersonalMicrosoftAccount', 'PersonalMicrosoftAccount']).default('AzureADMyOrg'),
  /** Whether the app has its service principal in the tenant (an app created through Graph has none until POST /servicePrincipals). */
  hasServicePrincipal: z.boolean().default(true),
  /** Whether `requiredResourceAccess` lists Partner Center `user_impersonation`. */
  requestsPartnerCenter: z.boolean().default(true),
  /** Object ids of the users owning the app registration (its creator, for an app created through Graph). */
  owners: z.array(Guid).default([]),
});

export const GroupSchema = z.object({
  id: Guid,
  displayName: z.string(),
  description: z.string().optional(),
  /** Role-assignable group (`isAssignableToRole`); its members hold `roles` transitively. */
  isAssignableToRole: z.boolean().default(false),
  /** Directory roles assigned to the group (role-assignable groups only). */
  roles: z.array(z.string()).default([]),
});

export const GdapSchema = z.object({
  id: z.string(),
  displayName: z.string(),
  customerTenantId: Guid,
  /** delegatedAdminRelationshipStatus: https://learn.microsoft.com/en-us/graph/api/resources/delegatedadminrelationship */
  status: z.enum(['activating', 'active', 'approvalPending', 'approved', 'created', 'expired', 'expiring', 'terminated', 'terminating', 'terminationRequested']).default('active'),
  /** Role template ids granted by the relationship. */
  roles: z.array(Guid).default([]),
  endDateTime: When.default({ daysFromNow: 700 }),
  autoExtendDuration: z.string().default('P180D'),
  accessAssignments: z.array(z.object({
    id: z.string(),
    groupDisplayName: z.string(),
    roles: z.array(Guid),
    status: z.enum(['active', 'pending', 'deleted', 'error']).default('active'),
  })).default([]),
});

export const CustomersSchema = z.object({
  count: z.number().int().nonnegative().default(0),
  /** Seed for deterministic names, domains and ids. */
  seed: z.number().int().default(1),
  /** Every Nth customer has only a reseller relationship (no GDAP): the partner cannot manage it. */
  resellerOnlyEvery: z.number().int().positive().optional(),
});

export const TenantSchema = z.object({
  id: Guid,
  displayName: z.string(),
  /** Verified domains; the first is the initial `*.onmicrosoft.com` domain. */
  domains: z.array(z.string()).min(1),
  /** Graph `domain.passwordValidityPeriodInDays` of every domain; unset is null (Graph's default, 90 days); 2147483647 = never. */
  passwordValidityPeriodInDays: z.number().int().positive().optional(),
  countryLetterCode: z.string().length(2).default('US'),
  /**
   * Entra ID licence: `free` tenants get 403 from registration reports and conditional access (P1)
   * and PIM (P2); security defaults need no licence.
   */
  entraLicense: z.enum(['free', 'P1', 'P2']).default('P2'),
  /** Graph `organization.partnerTenantType`. */
  partnerTenantType: z.enum(['microsoftSupport', 'syndicatePartner', 'breadthPartner', 'breadthPartnerDelegatedAdmin', 'resellerPartnerDelegatedAdmin', 'valueAddedResellerPartnerDelegatedAdmin']).optional(),
  /** Whether the tenant is enrolled in Partner Center at all. */
  partnerCenter: z.object({
    enrolled: z.boolean().default(true),
    mpnId: z.string().optional(),
    companyName: z.string().optional(),
    /** `links.next.uri` form: `relative` (`/customers?…`, relative to `{base}/v1`) or `versioned` (`/v1/customers?…`). */
    nextLinkStyle: z.enum(['relative', 'versioned']).default('relative'),
  }).default({ enrolled: false, nextLinkStyle: 'relative' }),
  securityDefaultsEnabled: z.boolean().default(false),
  conditionalAccessPolicies: z.array(z.object({
    id: Guid,
    displayName: z.string(),
    state: z.enum(['enabled', 'disabled', 'enabledForReportingButNotEnforced']).default('enabled'),
    requiresMfa: z.boolean().default(true),
    excludesServiceProviderUsers: z.boolean().default(false),
    /** Session control `signInFrequency`: refresh tokens older than this (since sign-in) fail with 70043. */
    signInFrequency: z.object({ value: z.number().int().positive(), type: z.enum(['hours', 'days']) }).optional(),
  })).default([]),
  users: z.array(UserSchema).default([]),
  groups: z.array(GroupSchema).default([]),
  applications: z.array(ApplicationSchema).default([]),
  customers: CustomersSchema.default({ count: 0, seed: 1 }),
  gdapRelationships: z.array(GdapSchema).default([]),
  /**
   * Microsoft's "Users can register applications" (authorizationPolicy
   * `defaultUserRolePermissions.allowedToCreateApps`): off, only Application Developer and the
   * application admin roles may create app registrations.
   * https://learn.microsoft.com/en-us/entra/fundamentals/users-default-permissions#restrict-member-users-default-permissions
   */
  usersCanRegisterApps: z.boolean().default(true),
  /**
   * The tenant's default app management policy: a `passwordLifetime` restriction caps new client
   * secrets (addPassword answers 400 CredentialInvalidLifetimeAsPerAppPolicy beyond it).
   * https://learn.microsoft.com/en-us/graph/api/resources/tenantappmanagementpolicy
   */
  appManagementPolicy: z.object({ passwordMaxLifetimeDays: z.number().int().positive() }).optional(),
  /** Microsoft's own apps (by appId: Graph, Partner Center) whose service principal the tenant lacks. */
  absentServicePrincipals: z.array(Guid).default([]),
  /**
   * Ours (the numbers; the delay itself is Microsoft's): how long objects and secrets created
   * through Graph stay invisible. An object is refused (404 Request_ResourceNotFound) while fewer
   * than `newObjectNotFoundReads` requests naming it were refused OR fewer than
   * `newObjectNotFoundSeconds` passed; a new secret is refused by the token endpoint (AADSTS7000215)
   * for its first `newSecretRefusedAttempts` uses and for `newSecretRefusedSeconds`; with
   * `newObjectHiddenFromLists`, collection queries leave a replicating object out as well.
   */
  replication: z.object({
    newObjectNotFoundReads: z.number().int().nonnegative().default(0),
    newObjectNotFoundSeconds: z.number().nonnegative().default(0),
    newSecretRefusedAttempts: z.number().int().nonnegative().default(0),
    newSecretRefusedSeconds: z.number().nonnegative().default(0),
    /** Ours: an object still replicating is also missing from collection queries (`$filter=tags/any…`). */
    newObjectHiddenFromLists: z.boolean().optional(),
  }).optional(),
});

/** Share of Graph and Partner Center requests answered 429 at random in every scenario, unless set. */
export const DEFAULT_RANDOM_THROTTLE_RATE = 0.03;

export const ThrottleSchema = z.object({
  /** Answer every Nth request with 429 (0 = never). */
  every: z.number().int().nonnegative().default(0),
  /**
   * Also answer this share of requests (0–1) with 429, from a PRNG seeded per scenario load, so a
   * run is repeatable. Any call may be throttled in the real cloud; code must honour Retry-After.
   */
  randomRate: z.number().min(0).max(1).default(DEFAULT_RANDOM_THROTTLE_RATE),
  retryAfterSeconds: z.number().nonnegative().default(1),
  /**
   * A rate limit (0 = none): a token bucket of this many requests per second with a one-second
   * burst; a request over it gets 429 with `Retry-After` in whole seconds until the next token, as
   * Partner Center's dynamic limits answer.
   * https://learn.microsoft.com/en-us/partner-center/developer/api-throttling-guidance
   */
  perSecond: z.number().nonnegative().default(0),
});

const THROTTLE_DEFAULT = { every: 0, randomRate: DEFAULT_RANDOM_THROTTLE_RATE, retryAfterSeconds: 1, perSecond: 0 };

export const ScenarioSchema = z.object({
  name: z.string(),
  description: z.string(),
  tenants: z.array(TenantSchema).min(1),
  throttling: z.object({
    graph: ThrottleSchema.default(THROTTLE_DEFAULT),
    partnerCenter: ThrottleSchema.default(THROTTLE_DEFAULT),
    /** Seed of the random throttling PRNG. */
    seed: z.number().int().default(1),
  }).default({ graph: THROTTLE_DEFAULT, partnerCenter: THROTTLE_DEFAULT, seed: 1 }),
});

export type Scenario = z.infer<typeof ScenarioSchema>;
export type Tenant = z.infer<typeof TenantSchema>;
export type User = z.infer<typeof UserSchema>;
export type Application = z.infer<typeof ApplicationSchema>;
export type Secret = z.infer<typeof SecretSchema>;
export type Gdap = z.infer<typeof GdapSchema>;

export const SCENARIO_DIR = join(__dirname, 'scenarios');

/** Resolves a `When` to a Date relative to `now`. */
export function resolveWhen(when: z.infer<typeof When>, now = Date.now()): Date {
  return typeof when === 'string' ? new Date(when) : new Date(now + when.daysFromNow * 86_400_000);
}

export async function listScenarios(dir = SCENARIO_DIR): Promise<string[]> {
  return (await readdir(dir)).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();
}

/** Loads and validates `scenarios/<name>.json`; a bad file fails with every problem listed. */
export async function loadScenario(name: string, dir = SCENARIO_DIR): Promise<Scenario> {
  if (!/^[a-z0-9-]+$/.test(name)) throw new Error(`scenario name "${name}" must be kebab-case`);
  let raw: string;
  try {
    raw = await readFile(join(dir, `${name}.json`), 'utf8');
  } catch {
    throw new Error(`unknown scenario "${name}"; known: ${(await listScenarios(dir)).join(', ')}`);
  }
  const parsed = ScenarioSchema.safeParse(JSON.parse(raw));
  if (!parsed.success) {
    throw new Error(`scenario "${name}" is invalid:\n${parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n')}`);
  }
  return parsed.data;
}
