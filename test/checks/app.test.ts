import type { AppRegistration } from '../../src/checks/facts';
import { APP_SERVICE_PRINCIPAL_ID, SERVICE_ACCOUNT_ID } from '../simulator/scenarios/ids';
import { GRAPH_SP_ID, HEALTHY, HELPDESK_AGENTS, table } from './table';

const app = HEALTHY.application as AppRegistration;
const ROLE_MGMT = '9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8';
const withoutAccess = (id: string): AppRegistration => ({
  ...app,
  requiredResourceAccess: app.requiredResourceAccess.map((r) => ({ ...r, resourceAccess: r.resourceAccess.filter((a) => a.id !== id) })),
});
const grants = HEALTHY.appRoleAssignments as { appRoleId: string; resourceId: string }[];
const principalGrant = (principalId: string) => [{ clientId: APP_SERVICE_PRINCIPAL_ID, consentType: 'Principal', principalId, resourceId: GRAPH_SP_ID, scope: 'User.Read offline_access' }];
const sp = HEALTHY.appServicePrincipal as { id: string; appId: string };

describe('checks: app registration', () => {
  table('app.exists', [
    { name: 'app and enterprise app found', facts: {}, status: 'pass', evidence: /"Partner Onboarding Connector" \(a0a0a0a0-4444/ },
    { name: 'no app with that client ID', facts: { application: null }, status: 'fail', evidence: /no app registration with client ID a0a0a0a0-4444-4444-8444-000000000001/, fix: /Application \(client\) ID/ },
    { name: 'no service principal', facts: { appServicePrincipal: null }, status: 'fail', evidence: /has no enterprise application/, fix: /Grant admin consent/ },
    { name: 'service principal disabled', facts: { appServicePrincipal: { ...sp, accountEnabled: false } }, status: 'fail', evidence: /disabled for sign-in/ },
    { name: 'lookup failed', facts: { application: { unknown: 'Graph did not answer (timeout)' } }, status: 'unknown', evidence: /App registration: Graph did not answer/ },
  ]);

  table('app.permissions-requested', [
    { name: 'all five by id, and Partner Center', facts: {}, status: 'pass', evidence: /requests 4 application permissions, User.Read and Partner Center user_impersonation/ },
    { name: 'Partner Center user_impersonation missing', facts: { application: { ...app, requiredResourceAccess: app.requiredResourceAccess.slice(0, 1) } }, status: 'warn', evidence: /Partner Center user_impersonation not requested/ },
    { name: 'RoleManagement.ReadWrite.Directory missing', facts: { application: withoutAccess(ROLE_MGMT) }, status: 'fail', evidence: /^not requested: RoleManagement.ReadWrite.Directory \(application\)$/, fix: /RoleManagement.ReadWrite.Directory/ },
    { name: 'User.Read missing', facts: { application: withoutAccess('e1fe6dd8-ba31-4d61-89e7-88639da4683d') }, status: 'fail', evidence: /User.Read \(delegated\)/ },
    {
      name: 'the right id as the wrong type (delegated instead of application) does not count',
      facts: { application: { ...app, requiredResourceAccess: app.requiredResourceAccess.map((r, i) => (i === 0 ? { ...r, resourceAccess: r.resourceAccess.map((a) => (a.id === ROLE_MGMT ? { ...a, type: 'Scope' } : a)) } : r)) } },
      status: 'fail', evidence: /RoleManagement.ReadWrite.Directory/,
    },
    { name: 'app unreadable', facts: { application: { unknown: 'Graph answered 403', needs: 'Application.Read.All granted' } }, status: 'unknown', evidence: /Requested permissions: Graph answered 403; needs Application.Read.All granted/ },
  ]);

  table('app.permissions-granted', [
    { name: 'app roles and AllPrincipals User.Read', facts: {}, status: 'pass', evidence: /granted: 4 application permissions; delegated User.Read$/ },
    { name: 'User.Read granted for the service account only (Principal)', facts: { delegatedGrants: principalGrant(SERVICE_ACCOUNT_ID) }, status: 'pass', evidence: /delegated User.Read for the service account/ },
    { name: 'requested, never consented', facts: { appRoleAssignments: [], delegatedGrants: [] }, status: 'fail', evidence: /requested but not granted: Directory.ReadWrite.All, Group.ReadWrite.All, RoleManagement.ReadWrite.Directory, User.Read, User.ReadWrite.All$/, fix: /Grant admin consent/ },
    { name: 'one app role missing', facts: { appRoleAssignments: grants.filter((g) => g.appRoleId !== ROLE_MGMT) }, status: 'fail', evidence: /^requested but not granted: RoleManagement.ReadWrite.Directory$/ },
    { name: 'a Principal grant for someone else', facts: { delegatedGrants: principalGrant('a0a0a0a0-2222-4222-8222-000000000002') }, status: 'fail', evidence: /not granted: User.Read/ },
    { name: 'an app role on another resource does not count', facts: { appRoleAssignments: grants.map((g) => ({ ...g, resourceId: 'other-resource' })) }, status: 'fail', evidence: /not granted/ },
    { name: 'a permission the app does not request is left to the "requested" check', facts: { application: withoutAccess(ROLE_MGMT), appRoleAssignments: grants.filter((g) => g.appRoleId !== ROLE_MGMT) }, status: 'pass', evidence: /granted: 3 application permissions; delegated User.Read \(not requested, so not judged here: RoleManagement.ReadWrite.Directory\)$/ },
    { name: 'no enterprise application yet: left to "App registration exists"', facts: { appServicePrincipal: null }, status: 'unknown', evidence: /no enterprise application yet/, fix: /App registration exists/ },
    { name: 'grants unreadable', facts: { appRoleAssignments: { unknown: 'Graph did not answer' } }, status: 'unknown', evidence: /Granted application permissions: Graph did not answer/ },
  ]);

  table('app.admin-agents', [
    { name: 'member', facts: {}, status: 'pass', evidence: /is a member of AdminAgents/ },
    { name: 'not a member', facts: { appServicePrincipalGroups: [HELPDESK_AGENTS] }, status: 'fail', evidence: /not a member — member of: HelpdeskAgents/, fix: /search for the app/ },
    { name: 'no service principal yet', facts: { appServicePrincipal: null }, status: 'unknown', evidence: /no enterprise application yet/ },
    { name: 'groups unreadable', facts: { appServicePrincipalGroups: { unknown: 'HTTP 503' } }, status: 'unknown', evidence: /App in AdminAgents: HTTP 503/ },
  ]);
});
