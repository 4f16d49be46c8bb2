/**
 * What the bot gathered about a partner's tenant, as plain data. Every fact is either its value or
 * `{ unknown }` saying why it could not be gathered (a 403 without Entra ID P1/P2, a call that
 * failed, no consent yet). A fact left out was not gathered in this run (a pre-flight run before
 * the sign-in gathers only what the app's own permissions can see). Gathering is elsewhere; the
 * rules in this folder only read these shapes, which follow Graph's and Partner Center's answers.
 */

export interface Unknown {
  /** Why the bot could not see it, in words for the card: "Graph answered 403 (needs Entra ID P1)". */
  readonly unknown: string;
  /** What would let the bot see it, if there is something to do: "an Entra ID P1 licence". */
  readonly needs?: string;
  /** Waiting or re-running will not change it: the tenant lacks the licence the API needs. */
  readonly lasting?: boolean;
  /** Read only with the service account's sign-in: the pre-flight counts it as "runs after you sign in". */
  readonly afterSignIn?: boolean;
  /** What the partner can do about it, as a sentence for the card's fix line (when there is something). */
  readonly fix?: string;
  /** Microsoft refused the read (401/403): the token may not see it, as opposed to an outage. */
  readonly refused?: boolean;
}

export type Fact<T> = T | Unknown;

export function isUnknown<T>(fact: Fact<T> | undefined): fact is Unknown {
  return typeof fact === 'object' && fact !== null && !Array.isArray(fact) && typeof (fact as Partial<Unknown>).unknown === 'string';
}

/** `users/{id}` (`$select=id,userPrincipalName,accountEnabled,passwordPolicies,userType`). */
export interface ServiceAccount {
  readonly id: string;
  readonly userPrincipalName: string;
  readonly accountEnabled: boolean;
  /** e.g. "DisablePasswordExpiration", "DisablePasswordExpiration, DisableStrongPassword", or null. */
  readonly passwordPolicies: string | null;
  readonly userType?: string | null;
}

/** A group from `transitiveMemberOf/microsoft.graph.group` (all pages) or `groups/{id}`. */
export interface GroupRef {
  readonly id: string;
  readonly displayName: string;
}

/** `roleManagement/directory/(transitive)roleAssignments` or `roleEligibilitySchedules`, filtered to the principal. */
export interface RoleAssignment {
  readonly principalId: string;
  readonly roleDefinitionId: string;
  readonly directoryScopeId?: string;
  /** Set when the active assignment is a time-bound PIM activation (from the schedule instance). */
  readonly endDateTime?: string | null;
}

/** `reports/authenticationMethods/userRegistrationDetails/{id}`. */
export interface MfaRegistration {
  readonly isMfaRegistered: boolean;
  readonly methodsRegistered: readonly string[];
}

/** beta `users/{id}/authentication/requirements`: legacy per-user MFA. */
export type PerUserMfaState = 'disabled' | 'enabled' | 'enforced';

/** `identity/conditionalAccess/policies`, the parts the rules read. */
export interface ConditionalAccessPolicy {
  readonly id: string;
  readonly displayName: string;
  readonly state: 'enabled' | 'disabled' | 'enabledForReportingButNotEnforced' | string;
  readonly conditions: {
    readonly users?: {
      readonly includeUsers?: readonly string[];
      readonly excludeUsers?: readonly string[];
      readonly includeGroups?: readonly string[];
      readonly excludeGroups?: readonly string[];
      readonly includeRoles?: readonly string[];
      readonly excludeRoles?: readonly string[];
    } | null;
    readonly applications?: {
      readonly includeApplications?: readonly string[];
      readonly excludeApplications?: readonly string[];
    } | null;
    readonly locations?: {
      readonly includeLocations?: readonly string[];
      readonly excludeLocations?: readonly string[];
    } | null;
  };
  readonly grantControls?: {
    readonly operator?: 'AND' | 'OR' | string;
    readonly builtInControls?: readonly string[];
    readonly authenticationStrength?: { readonly id?: string; readonly displayName?: string } | null;
  } | null;
  readonly sessionControls?: {
    readonly signInFrequency?: {
      readonly isEnabled?: boolean | null;
      readonly value?: number | null;
      readonly type?: 'hours' | 'days' | string | null;
      readonly frequencyInterval?: 'timeBased' | 'everyTime' | string | null;
    } | null;
  } | null;
}

/** `applications(appId='…')`: what the app requests and its secrets (never a secret's value). */
export interface AppRegistration {
  readonly appId: string;
  readonly displayName: string;
  readonly requiredResourceAccess: readonly {
    readonly resourceAppId: string;
    readonly resourceAccess: readonly { readonly id: string; readonly type: 'Role' | 'Scope' | string }[];
  }[];
  readonly passwordCredentials: readonly PasswordCredential[];
}

export interface PasswordCredential {
  readonly keyId: string;
  /** The secret's first three characters, as Graph returns it. */
  readonly hint: string | null;
  readonly displayName?: string | null;
  readonly endDateTime: string | null;
}

/** The app's service principal (`servicePrincipals(appId='…')`). */
export interface AppServicePrincipal {
  readonly id: string;
  readonly appId: string;
  readonly accountEnabled?: boolean;
}

/** `servicePrincipals/{id}/appRoleAssignments`: granted application permissions. */
export interface AppRoleAssignment {
  readonly appRoleId: string;
  readonly resourceId: string;
}

/** `oauth2PermissionGrants?$filter=clientId eq '{sp id}'`: granted delegated permissions. */
export interface PermissionGrant {
  readonly clientId: string;
  readonly consentType: 'AllPrincipals' | 'Principal' | string;
  readonly principalId: string | null;
  readonly resourceId: string;
  /** Space-separated scope names. */
  readonly scope: string;
}

/** The secret the bot uses, as stored: only what identifies it, never the value. */
export interface SecretInUse {
  /** First three characters of the secret the partner entered. */
  readonly hint: string;
  readonly keyId?: string;
}

/** One Partner Center call: it answered (ok), or it refused with an HTTP status and its code. */
export type PartnerCenterAnswer<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly httpStatus: number; readonly code?: number; readonly description?: string };

/** `GET /v1/profiles/organization`. */
export interface PartnerCenterProfile {
  readonly companyName: string;
  /** `defaultAddress.country` (ISO 3166 alpha-2) or null. */
  readonly country: string | null;
}

/** The first page of `GET /v1/customers?size=N`. */
export interface CustomersPage {
  readonly count: number;
  readonly hasMore: boolean;
}

/** The first page of `GET /v1/invoices` (billing visible to the service account). */
export interface InvoicesPage {
  readonly count: number;
  readonly totalCount: number | null;
}

/** `organization`. */
export interface Organization {
  readonly id: string;
  readonly displayName: string;
  /**
   * Nullable in Graph's organization resource: null does not prove a customer tenant; Partner
   * Center answering the partner profile with the service account's token proves a partner one.
   */
  readonly partnerTenantType: string | null;
  readonly countryLetterCode: string | null;
}

/** `tenantRelationships/delegatedAdminRelationships` with each one's `accessAssignments`. */
export interface GdapRelationship {
  readonly id: string;
  readonly displayName: string;
  readonly customer: { readonly tenantId: string; readonly displayName: string };
  readonly status: string;
  readonly endDateTime: string | null;
  /** ISO 8601 duration; "PT0S" (or absent) means no auto-extend. */
  readonly autoExtendDuration?: string | null;
  readonly accessDetails: { readonly unifiedRoles: readonly { readonly roleDefinitionId: string }[] };
  readonly accessAssignments: readonly GdapAccessAssignment[];
}

export interface GdapAccessAssignment {
  readonly id: string;
  readonly status: string;
  readonly accessContainer: { readonly accessContainerId: string; readonly accessContainerType?: string };
  readonly accessDetails: { readonly unifiedRoles: readonly { readonly roleDefinitionId: string }[] };
}

/** The stored consent: when it was given and when the refresh path last worked. */
export interface ConsentState {
  readonly consentedAt: string;
  readonly lastRefreshAt: string | null;
  /** Set when the latest refresh failed: the AADSTS code or a short reason (never a token). */
  readonly lastRefreshError?: string | null;
}

export interface Facts {
  /** null: no such user in the tenant. */
  readonly serviceAccount?: Fact<ServiceAccount | null>;
  /** Every group the service account is in, transitively, all pages. */
  readonly serviceAccountGroups?: Fact<readonly GroupRef[]>;
  /** The domain's password policy says passwords never expire (`passwordValidityPeriodInDays` 2147483647). */
  readonly domainPasswordNeverExpires?: Fact<boolean>;
  /** Active directory role assignments held by the service account, directly or through its groups. */
  readonly roleAssignments?: Fact<readonly RoleAssignment[]>;
  /** PIM eligibility schedules of the service account (licence-gated: P2). */
  readonly roleEligibilities?: Fact<readonly RoleAssignment[]>;
  readonly mfaRegistration?: Fact<MfaRegistration>;
  readonly securityDefaultsEnabled?: Fact<boolean>;
  readonly conditionalAccessPolicies?: Fact<readonly ConditionalAccessPolicy[]>;
  readonly perUserMfaState?: Fact<PerUserMfaState>;
  /** `amr` of the Partner Center access token the consent produced (the v1.0 token; ID tokens have none). */
  readonly consentTokenAmr?: Fact<readonly string[]>;
  /** The partner's own answer to "is 'remember MFA on trusted devices' off?" (Graph cannot read it). */
  readonly rememberMfaOff?: Fact<boolean>;
  /** null: no app registration with that client ID in the tenant. */
  readonly application?: Fact<AppRegistration | null>;
  /** null: the app has no service principal (enterprise app) in the tenant. */
  readonly appServicePrincipal?: Fact<AppServicePrincipal | null>;
  /** The id of Microsoft Graph's service principal in the tenant (the resource of the grants). */
  readonly graphServicePrincipalId?: Fact<string>;
  readonly appRoleAssignments?: Fact<readonly AppRoleAssignment[]>;
  readonly delegatedGrants?: Fact<readonly PermissionGrant[]>;
  /** Every group the app's service principal is in, transitively. */
  readonly appServicePrincipalGroups?: Fact<readonly GroupRef[]>;
  readonly secretInUse?: Fact<SecretInUse>;
  /** The Partner Center web app secret's expiry as the partner entered it (ISO date), null if not entered. */
  readonly partnerCenterSecretExpiry?: Fact<string | null>;
  /** When the partner entered that key (ISO date): expiry minus this is the validity it was created with. */
  readonly partnerCenterSecretEnteredAt?: Fact<string | null>;
  /** No Partner Center web app is needed: the bot set up the app, and the sync reads customers with the consented sign-in. */
  readonly partnerCenterWebAppOptional?: Fact<boolean>;
  readonly partnerCenterProfile?: Fact<PartnerCenterAnswer<PartnerCenterProfile>>;
  readonly partnerCenterCustomers?: Fact<PartnerCenterAnswer<CustomersPage>>;
  /** The service account's token reads invoices (seed step: billing visible). */
  readonly partnerCenterInvoices?: Fact<PartnerCenterAnswer<InvoicesPage>>;
  readonly organization?: Fact<Organization>;
  readonly gdapRelationships?: Fact<readonly GdapRelationship[]>;
  /** Which of the groups GDAP access assignments point at exist (id → group). */
  readonly gdapAccessGroups?: Fact<readonly GroupRef[]>;
  /** null: no consent stored yet. */
  readonly consent?: Fact<ConsentState | null>;
}
