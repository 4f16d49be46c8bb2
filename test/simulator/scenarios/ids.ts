/**
 * Fixed ids shared by every scenario file, so tests can name the same partner, user, group and
 * app whatever scenario is loaded, plus the real Microsoft ids the simulator publishes.
 */

export const PARTNER_TENANT_ID = 'a0a0a0a0-1111-4111-8111-000000000001';
export const PARTNER_DOMAIN = 'contosopartner.onmicrosoft.com';
export const PARTNER_CUSTOM_DOMAIN = 'contosopartner.com';
export const PARTNER_MPN_ID = '4812345';

export const SERVICE_ACCOUNT_ID = 'a0a0a0a0-2222-4222-8222-000000000001';
export const SERVICE_ACCOUNT_UPN = `admin@${PARTNER_DOMAIN}`;
export const SERVICE_ACCOUNT_PASSWORD = 'Sim-Passw0rd!';
export const HELPDESK_USER_ID = 'a0a0a0a0-2222-4222-8222-000000000002';
export const HELPDESK_USER_UPN = `helpdesk@${PARTNER_DOMAIN}`;

export const ADMIN_AGENTS_GROUP_ID = 'a0a0a0a0-3333-4333-8333-000000000001';
export const HELPDESK_AGENTS_GROUP_ID = 'a0a0a0a0-3333-4333-8333-000000000002';

/** The partner's "Partner Onboarding Connector" app registration. */
export const APP_ID = 'a0a0a0a0-4444-4444-8444-000000000001';
export const APP_OBJECT_ID = 'a0a0a0a0-4444-4444-8444-000000000002';
export const APP_SERVICE_PRINCIPAL_ID = 'a0a0a0a0-4444-4444-8444-000000000003';
export const APP_DISPLAY_NAME = 'Partner Onboarding Connector';
export const APP_SECRET_KEY_ID = 'a0a0a0a0-5555-4555-8555-000000000001';
export const APP_SECRET_VALUE = 'Qd78Q~simulated.healthy.secret_0123456789ab';
export const APP_REDIRECT_URI = 'http://localhost:3978/auth/callback';

export const CA_POLICY_ID = 'a0a0a0a0-6666-4666-8666-000000000001';
export const MLT_RELATIONSHIP_ID = 'a0a0a0a0-7777-4777-8777-000000000001';

/**
 * `wrong-tenant`: the customer tenant the service account lives in. It is customer #0 of the
 * healthy partner (seed 1), so the same tenant also shows up in the partner's customer list.
 */
export const CUSTOMER_TENANT_ID = '8f2032aa-81ae-4552-8702-000000000000';
export const CUSTOMER_DOMAIN = 'willowfoods1.onmicrosoft.com';
export const CUSTOMER_ADMIN_ID = 'a0a0a0a0-2222-4222-8222-000000000099';
export const CUSTOMER_ADMIN_UPN = `admin@${CUSTOMER_DOMAIN}`;

/** Microsoft Graph's application id, the same in every tenant. */
export const GRAPH_RESOURCE_APP_ID = '00000003-0000-0000-c000-000000000000';
/** "Microsoft Partner Center" (api.partnercenter.microsoft.com) and its one delegated scope. */
export const PARTNER_CENTER_RESOURCE_APP_ID = 'fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd';
export const PARTNER_CENTER_USER_IMPERSONATION_ID = '1cebfa2a-fb4d-419e-b5f9-839b4383e05a';

/** Microsoft Graph application permissions (app roles): name → the real id. */
export const GRAPH_APP_ROLES = {
  'Application.Read.All': '9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30',
  'Application.ReadWrite.All': '1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9',
  'AuditLog.Read.All': 'b0afded3-3588-46d8-8b3d-9842eff778da',
  'DelegatedAdminRelationship.Read.All': 'f6e9e124-4586-492f-adc0-c6f96e4823fd',
  'DelegatedAdminRelationship.ReadWrite.All': 'cc13eba4-8cd8-44c6-b4d4-f93237adce58',
  'Directory.Read.All': '7ab1d382-f21e-4acd-a863-ba3e13f7da61',
  'Directory.ReadWrite.All': '19dbc75e-c2e2-444c-a770-ec69d8559fc7',
  'Group.Read.All': '5b567255-7703-4780-807c-7be8301ae99b',
  'Group.ReadWrite.All': '62a82d76-70ea-41e2-9197-370581804d09',
  'GroupMember.Read.All': '98830695-27a2-44f7-8c18-0c3ebc9698f6',
  'Mail.Send': 'b633e1c5-b582-4048-a93e-9f11b44c7e96',
  'Organization.Read.All': '498476ce-e0fe-48b0-b801-37ba7e2685c6',
  'Policy.Read.All': '246dd0d5-5bd0-4def-940b-0421030a5b68',
  'RoleManagement.Read.Directory': '483bed4a-2ad3-4361-a73b-c83ccdbdc53c',
  'RoleManagement.ReadWrite.Directory': '9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8',
  'User.Read.All': 'df021288-bdef-4463-88db-98f22de89214',
  'User.ReadWrite.All': '741f803b-c850-494e-b5df-cde7c675a1ca',
  'UserAuthenticationMethod.Read.All': '38d9df27-64da-44fd-b7c5-a6fbac20248f',
} as const;

/**
 * Microsoft Graph delegated permissions (scopes): name → the real id
 * (https://learn.microsoft.com/en-us/graph/permissions-reference).
 */
export const GRAPH_SCOPES = {
  'Application.ReadWrite.All': 'bdfbf15f-ee85-4955-8675-146e8e5296b5',
  'AppRoleAssignment.ReadWrite.All': '84bccea3-f856-4a8a-967b-dbe0a3d53a64',
  'AuditLog.Read.All': 'e4c9e354-4dc5-45b8-9e7c-e1393b0b1a20',
  'DelegatedAdminRelationship.Read.All': '0c0064ea-477b-4130-82a5-4c2cc4ff68aa',
  'DelegatedPermissionGrant.ReadWrite.All': '41ce6ca6-6826-4807-84f1-1c82854f7ee5',
  'Directory.AccessAsUser.All': '0e263e50-5827-48a4-b97c-d940288653c7',
  'Directory.Read.All': '06da0dbc-49e2-44d2-8312-53f166ab848a',
  'GroupMember.ReadWrite.All': 'f81125ac-d3b7-4573-a3b2-7099cc39df9e',
  'offline_access': '7427e0e9-2fba-42fe-b0c0-848c9e6a8182',
  'Policy.Read.All': '572fea84-0151-49b2-9301-11cb16974376',
  'RoleManagement.Read.Directory': '741c54c3-0c1e-44a1-818b-3f97ab4e8c83',
  'User.Read': 'e1fe6dd8-ba31-4d61-89e7-88639da4683d',
  'UserAuthenticationMethod.Read.All': 'aec28ec7-4d02-4e8c-b864-50163aea77eb',
} as const;

/**
 * Delegated Graph permissions whose "Admin consent required" is Yes in the permissions reference:
 * only an administrator can consent to them (for the organization, or for themselves); anyone
 * else gets "Need admin approval" (AADSTS90094). Compared case-insensitively.
 * https://learn.microsoft.com/en-us/entra/identity-platform/scopes-oidc#admin-restricted-permissions
 */
export const GRAPH_ADMIN_CONSENT_SCOPES: readonly string[] = [
  'Application.Read.All', 'Application.ReadWrite.All', 'AppRoleAssignment.ReadWrite.All', 'AuditLog.Read.All',
  'DelegatedAdminRelationship.Read.All', 'DelegatedPermissionGrant.ReadWrite.All', 'GroupMember.ReadWrite.All',
  'DelegatedAdminRelationship.ReadWrite.All', 'Directory.AccessAsUser.All', 'Directory.Read.All', 'Directory.ReadWrite.All',
  'Group.Read.All', 'Group.ReadWrite.All', 'GroupMember.Read.All', 'Organization.Read.All', 'Policy.Read.All',
  'Reports.Read.All', 'RoleManagement.Read.Directory', 'RoleManagement.ReadWrite.Directory', 'User.Read.All',
  'User.ReadWrite.All', 'UserAuthenticationMethod.Read.All',
];

export type GraphAppRoleName = keyof typeof GRAPH_APP_ROLES;
export type GraphScopeName = keyof typeof GRAPH_SCOPES;

/** The four application permissions the onboarding guide asks for (DESIGN.md, step 5). */
export const REQUIRED_APP_ROLES: readonly GraphAppRoleName[] = [
  'Directory.ReadWrite.All', 'Group.ReadWrite.All', 'RoleManagement.ReadWrite.Directory', 'User.ReadWrite.All',
];
export const REQUIRED_SCOPES: readonly GraphScopeName[] = ['User.Read'];

export const GLOBAL_ADMIN_TEMPLATE_ID = '62e90394-69f5-4237-9190-012177145e10';

/** Built-in Entra role display names → role template ids (the ids GDAP `unifiedRoles` use). */
export const DIRECTORY_ROLE_TEMPLATES = {
  'Global Administrator': GLOBAL_ADMIN_TEMPLATE_ID,
  'Global Reader': 'f2ef992c-3afb-46b9-b7cf-a126ee74c451',
  'Directory Readers': '88d8e3e3-8f55-4a1e-953a-9b9898b8876b',
  'Directory Writers': '9360feb5-f418-4baa-8175-e2a00bac4301',
  'User Administrator': 'fe930be7-5e62-47db-91af-98c3a49a38b1',
  'Helpdesk Administrator': '729827e3-9c14-49f7-bb1b-9608f156bbb8',
  'License Administrator': '4d6ac14f-3453-41d0-bef9-a3e0c569773a',
  'Service Support Administrator': 'f023fd81-a637-4b56-95fd-791ac0226033',
  'Privileged Role Administrator': 'e8611ab8-c189-46e8-94e1-60213ab1f814',
  'Privileged Authentication Administrator': '7be44c8a-adaf-4e2a-84d6-ab2649e08a13',
  'Authentication Administrator': 'c4e39bd9-1100-46d3-8c65-fb160da0071f',
  'Security Administrator': '194ae4cb-b126-40b2-bd5b-6091b380977d',
  'Security Reader': '5d6b6bb7-de71-4623-b4af-96380a352509',
  'Exchange Administrator': '29232cdf-9323-42fd-ade2-1d097af3e4de',
  'SharePoint Administrator': 'f28a1f50-f6e7-4571-818b-6a12f2af6b6c',
  'Teams Administrator': '69091246-20e8-4a56-aa4d-066075b2a7a8',
  'Application Administrator': '9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3',
  'Cloud Application Administrator': '158c047a-c907-4556-b7ef-446551a6b5f7',
  'Billing Administrator': 'b0f54661-2d74-4c50-afa3-1ec803f12efe',
  'Intune Administrator': '3a2c62db-5318-420d-8d74-23affee5d9d5',
} as const;

export type DirectoryRoleName = keyof typeof DIRECTORY_ROLE_TEMPLATES;

/** Roles of the GDAP relationships derived for generated customers (no Global Admin: auto-extend works). */
export const STANDARD_GDAP_ROLES: readonly string[] = [
  DIRECTORY_ROLE_TEMPLATES['Directory Readers'],
  DIRECTORY_ROLE_TEMPLATES['User Administrator'],
  DIRECTORY_ROLE_TEMPLATES['License Administrator'],
  DIRECTORY_ROLE_TEMPLATES['Helpdesk Administrator'],
  DIRECTORY_ROLE_TEMPLATES['Service Support Administrator'],
];
/** Roles of a Microsoft-led transition (`MLT_…`) relationship as the `gdap-readonly` scenario has it. */
export const READ_ONLY_GDAP_ROLES: readonly string[] = [
  DIRECTORY_ROLE_TEMPLATES['Directory Readers'],
  DIRECTORY_ROLE_TEMPLATES['Global Reader'],
];

/**
 * The bot's own app registration (SingleTenant) in the operator's tenant: the simulator adds this
 * tenant to every scenario that lacks it, so the bot can get Bot Framework tokens in any scenario.
 */
export const SIM_BOT_TENANT_ID = 'b0b0b0b0-1111-4111-8111-000000000001';
export const SIM_BOT_APP_ID = 'b0b0b0b0-4444-4444-8444-000000000001';
export const SIM_BOT_SECRET = 'Bot~simulated.secret_0123456789abcdefghij';

/**
 * The operator's own multi-tenant "setup" app, in the operator tenant beside the bot's: a partner's
 * member signs in to it from their own tenant (`take over`: delegated User.Read only; issue 30's
 * "set it up for me" reuses it). Its redirect URIs are the bot's callbacks.
 */
export const SIM_SETUP_APP_ID = 'b0b0b0b0-4444-4444-8444-000000000011';
export const SIM_SETUP_APP_SECRET = 'Setup~simulated.secret_0123456789abcdefgh';
export const SIM_SETUP_REDIRECT_URIS: readonly string[] = ['http://localhost:3978/auth/callback', 'http://localhost:3978/auth/adminconsent/callback'];

/**
 * "Set it up for me" (issue 30): the delegated Graph permissions the setup app asks a partner's
 * Global Administrator to consent to, all "Admin consent required"
 * (https://learn.microsoft.com/en-us/graph/permissions-reference).
 */
export const SETUP_SCOPES: readonly GraphScopeName[] = [
  'Application.ReadWrite.All', 'AppRoleAssignment.ReadWrite.All', 'DelegatedPermissionGrant.ReadWrite.All',
  'GroupMember.ReadWrite.All', 'Directory.Read.All',
];
/** `setup-*` scenarios: a Privileged Role Administrator + Application Administrator (no Global Administrator). */
export const PRA_USER_ID = 'a0a0a0a0-2222-4222-8222-000000000003';
export const PRA_USER_UPN = `praadmin@${PARTNER_DOMAIN}`;
/** `setup-*` scenarios: a guest (userType Guest), never a valid service account. */
export const GUEST_USER_ID = 'a0a0a0a0-2222-4222-8222-000000000004';
export const GUEST_USER_UPN = `guest_fabrikam.com#EXT#@${PARTNER_DOMAIN}`;
/**
 * The tag `setup-half`'s hand-made app carries (ours: the bot chooses its tag; this one names the
 * platform and the partner tenant, as issue 30 asks).
 */
export const SETUP_APP_TAG = `PartnerOnboardingBot:${PARTNER_TENANT_ID}`;
/** `setup-*` scenarios: the Global Administrator who runs the setup sign-in (the service account is admin@). */
export const SETUP_ADMIN_ID = 'a0a0a0a0-2222-4222-8222-000000000005';
export const SETUP_ADMIN_UPN = `globaladmin@${PARTNER_DOMAIN}`;
