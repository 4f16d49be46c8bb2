/**
 * Microsoft's fixed ids and the portal pages the fixes link to. Permission ids are checked against
 * Microsoft's generated table (microsoft-graph-docs-contrib, concepts/includes/permissions-ids.md,
 * included by https://learn.microsoft.com/en-us/graph/permissions-reference).
 */

export const GRAPH_APP_ID = '00000003-0000-0000-c000-000000000000';
export const PARTNER_CENTER_APP_ID = 'fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd';
export const PARTNER_CENTER_USER_IMPERSONATION_ID = '1cebfa2a-fb4d-419e-b5f9-839b4383e05a';

export interface Permission {
  readonly name: string;
  readonly id: string;
  readonly type: 'Role' | 'Scope';
}

/** The four Microsoft Graph application permissions (app roles) the platform needs. */
export const GRAPH_APP_PERMISSIONS: readonly Permission[] = [
  { name: 'Directory.ReadWrite.All', id: '19dbc75e-c2e2-444c-a770-ec69d8559fc7', type: 'Role' },
  { name: 'Group.ReadWrite.All', id: '62a82d76-70ea-41e2-9197-370581804d09', type: 'Role' },
  { name: 'RoleManagement.ReadWrite.Directory', id: '9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8', type: 'Role' },
  { name: 'User.ReadWrite.All', id: '741f803b-c850-494e-b5df-cde7c675a1ca', type: 'Role' },
];

/** The delegated Microsoft Graph permission (scope) the platform needs. */
export const GRAPH_DELEGATED_PERMISSIONS: readonly Permission[] = [
  { name: 'User.Read', id: 'e1fe6dd8-ba31-4d61-89e7-88639da4683d', type: 'Scope' },
];

export const GLOBAL_ADMIN_ROLE_ID = '62e90394-69f5-4237-9190-012177145e10';

/** Built-in Entra role template ids → names, for evidence ("holds: User Administrator"). */
export const ROLE_NAMES: Readonly<Record<string, string>> = {
  [GLOBAL_ADMIN_ROLE_ID]: 'Global Administrator',
  'f2ef992c-3afb-46b9-b7cf-a126ee74c451': 'Global Reader',
  '88d8e3e3-8f55-4a1e-953a-9b9898b8876b': 'Directory Readers',
  '9360feb5-f418-4baa-8175-e2a00bac4301': 'Directory Writers',
  'fe930be7-5e62-47db-91af-98c3a49a38b1': 'User Administrator',
  '729827e3-9c14-49f7-bb1b-9608f156bbb8': 'Helpdesk Administrator',
  '4d6ac14f-3453-41d0-bef9-a3e0c569773a': 'License Administrator',
  'f023fd81-a637-4b56-95fd-791ac0226033': 'Service Support Administrator',
  'e8611ab8-c189-46e8-94e1-60213ab1f814': 'Privileged Role Administrator',
  '7be44c8a-adaf-4e2a-84d6-ab2649e08a13': 'Privileged Authentication Administrator',
  'c4e39bd9-1100-46d3-8c65-fb160da0071f': 'Authentication Administrator',
  '194ae4cb-b126-40b2-bd5b-6091b380977d': 'Security Administrator',
  '5d6b6bb7-de71-4623-b4af-96380a352509': 'Security Reader',
  '29232cdf-9323-42fd-ade2-1d097af3e4de': 'Exchange Administrator',
  'f28a1f50-f6e7-4571-818b-6a12f2af6b6c': 'SharePoint Administrator',
  '69091246-20e8-4a56-aa4d-066075b2a7a8': 'Teams Administrator',
  '9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3': 'Application Administrator',
  '158c047a-c907-4556-b7ef-446551a6b5f7': 'Cloud Application Administrator',
  'b0f54661-2d74-4c50-afa3-1ec803f12efe': 'Billing Administrator',
  '3a2c62db-5318-420d-8d74-23affee5d9d5': 'Intune Administrator',
};

export function roleName(id: string): string {
  return ROLE_NAMES[id.toLowerCase()] ?? `role ${id}`;
}

/**
 * Roles the platform needs in each customer's GDAP relationship (licensing and user management).
 * Operator config may replace them; judged by id, never by a relationship's name.
 */
export const DEFAULT_GDAP_ROLE_IDS: readonly string[] = [
  '88d8e3e3-8f55-4a1e-953a-9b9898b8876b', // Directory Readers
  'fe930be7-5e62-47db-91af-98c3a49a38b1', // User Administrator
  '4d6ac14f-3453-41d0-bef9-a3e0c569773a', // License Administrator
];

/** The Partner Center security group every CSP partner tenant has. */
export const ADMIN_AGENTS = 'AdminAgents';

const ENTRA = 'https://entra.microsoft.com/#view';

/** Portal pages. Functions take the ids the page needs; without them they fall back to the list page. */
export const LINKS = {
  user: (userId?: string) => userId
    ? `${ENTRA}/Microsoft_AAD_UsersAndTenants/UserProfileMenuBlade/~/overview/userId/${userId}`
    : `${ENTRA}/Microsoft_AAD_UsersAndTenants/UserManagementMenuBlade/~/AllUsers`,
  userRoles: (userId?: string) => userId
    ? `${ENTRA}/Microsoft_AAD_UsersAndTenants/UserProfileMenuBlade/~/AdministrativeRole/userId/${userId}`
    : `${ENTRA}/Microsoft_AAD_UsersAndTenants/UserManagementMenuBlade/~/AllUsers`,
  userGroups: (userId?: string) => userId
    ? `${ENTRA}/Microsoft_AAD_UsersAndTenants/UserProfileMenuBlade/~/Groups/userId/${userId}`
    : `${ENTRA}/Microsoft_AAD_IAM/GroupsManagementMenuBlade/~/AllGroups`,
  groupMembers: (groupId?: string) => groupId
    ? `${ENTRA}/Microsoft_AAD_IAM/GroupDetailsMenuBlade/~/Members/groupId/${groupId}`
    : `${ENTRA}/Microsoft_AAD_IAM/GroupsManagementMenuBlade/~/AllGroups`,
  pimRoles: `${ENTRA}/Microsoft_Azure_PIMCommon/ResourceMenuBlade/~/roles/resourceId//resourceType/tenant/provider/aadroles`,
  passwordExpiration: 'https://admin.microsoft.com/#/Settings/SecurityPrivacy/:/Settings/L1/PasswordPolicy',
  securityInfo: 'https://mysignins.microsoft.com/security-info',
  registrationReport: `${ENTRA}/Microsoft_AAD_IAM/AuthenticationMethodsMenuBlade/~/UserRegistrationDetails`,
  securityDefaults: `${ENTRA}/Microsoft_AAD_IAM/TenantOverview.ReactView/initialValue//tabId/properties`,
  conditionalAccess: `${ENTRA}/Microsoft_AAD_ConditionalAccess/ConditionalAccessBlade/~/Policies`,
  conditionalAccessPolicy: (policyId: string) => `${ENTRA}/Microsoft_AAD_ConditionalAccess/PolicyBlade/policyId/${policyId}`,
  perUserMfa: 'https://account.activedirectory.windowsazure.com/UserManagement/MultifactorVerification.aspx',
  /** Legacy MFA service settings: "Allow users to remember multifactor authentication on devices they trust". */
  mfaServiceSettings: 'https://account.activedirectory.windowsazure.com/UserManagement/MfaSettings.aspx',
  appRegistrations: `${ENTRA}/Microsoft_AAD_RegisteredApps/ApplicationsListBlade`,
  appApiPermissions: (appId?: string) => appId
    ? `${ENTRA}/Microsoft_AAD_RegisteredApps/ApplicationMenuBlade/~/CallAnAPI/appId/${appId}`
    : `${ENTRA}/Microsoft_AAD_RegisteredApps/ApplicationsListBlade`,
  appSecrets: (appId?: string) => appId
    ? `${ENTRA}/Microsoft_AAD_RegisteredApps/ApplicationMenuBlade/~/Credentials/appId/${appId}`
    : `${ENTRA}/Microsoft_AAD_RegisteredApps/ApplicationsListBlade`,
  enterpriseAppPermissions: (spId?: string, appId?: string) => spId && appId
    ? `${ENTRA}/Microsoft_AAD_IAM/ManagedAppMenuBlade/~/Permissions/objectId/${spId}/appId/${appId}`
    : `${ENTRA}/Microsoft_AAD_IAM/StartboardApplicationsMenuBlade/~/AppAppsPreview`,
  partnerCenterApps: 'https://partner.microsoft.com/dashboard/account/v3/appmanagement',
  partnerCenterProfile: 'https://partner.microsoft.com/dashboard/account/v3/organization/legalinfo',
  /** Partner Center → Settings → User management: the service account's Partner Center roles. */
  partnerCenterUsers: 'https://partner.microsoft.com/dashboard/account/v3/usermanagement',
  partnerCenterRolesGuide: 'https://learn.microsoft.com/en-us/partner-center/account-settings/create-user-accounts-and-set-permissions',
  partnerCenterMfa: 'https://learn.microsoft.com/en-us/partner-center/security/partner-security-requirements-mandating-mfa',
  partnerCenterEnroll: 'https://learn.microsoft.com/en-us/partner-center/enroll/csp-overview',
  gdapRelationships: 'https://partner.microsoft.com/dashboard/v2/customers/adminrelationships',
  gdapGuide: 'https://learn.microsoft.com/en-us/partner-center/customers/gdap-introduction',
  sessionLifetime: 'https://learn.microsoft.com/en-us/entra/identity/conditional-access/concept-session-lifetime',
  refreshTokens: 'https://learn.microsoft.com/en-us/entra/identity-platform/refresh-tokens#token-lifetime',
} as const;
