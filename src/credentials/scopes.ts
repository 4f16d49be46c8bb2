/**
 * Resource ids as Entra ID names them. They stay the real ones wherever the APIs are served (the
 * simulator accepts them too): a token's audience is the resource, not the URL it is sent to.
 */
export const GRAPH_RESOURCE = 'https://graph.microsoft.com';
export const PARTNER_CENTER_RESOURCE = 'https://api.partnercenter.microsoft.com';

export const GRAPH_DEFAULT = `${GRAPH_RESOURCE}/.default`;
export const PARTNER_CENTER_DEFAULT = `${PARTNER_CENTER_RESOURCE}/.default`;
export const PARTNER_CENTER_USER = `${PARTNER_CENTER_RESOURCE}/user_impersonation`;

/**
 * Delegated Graph read scopes the checks need beyond the app's four application permissions,
 * consented at sign-in through `extraScopesToConsent` (for the service account: a Principal grant):
 * role assignments and PIM eligibility, conditional access and security defaults, MFA registration,
 * GDAP relationships.
 */
export const GRAPH_CHECK_SCOPES = [
  `${GRAPH_RESOURCE}/RoleManagement.Read.Directory`,
  `${GRAPH_RESOURCE}/Policy.Read.All`,
  `${GRAPH_RESOURCE}/UserAuthenticationMethod.Read.All`,
  `${GRAPH_RESOURCE}/AuditLog.Read.All`,
  `${GRAPH_RESOURCE}/DelegatedAdminRelationship.Read.All`,
] as const;
