import { GLOBAL_ADMIN_TEMPLATE_ID, SERVICE_ACCOUNT_ID, SERVICE_ACCOUNT_UPN } from '../simulator/scenarios/ids';
import { ADMIN_AGENTS, daysFromNow, HEALTHY, HELPDESK_AGENTS, table } from './table';

const user = HEALTHY.serviceAccount as { id: string; userPrincipalName: string; accountEnabled: boolean; passwordPolicies: string | null };
const GA = GLOBAL_ADMIN_TEMPLATE_ID;
const USER_ADMIN = 'fe930be7-5e62-47db-91af-98c3a49a38b1';
const ROLE_GROUP = { id: 'a0a0a0a0-3333-4333-8333-000000000009', displayName: 'Tier0 Admins' };
const licenceGated = { unknown: 'Graph answered 400 AadPremiumLicenseRequired', needs: 'Microsoft Entra ID P2' };

describe('checks: service account', () => {
  table('account.exists', [
    { name: 'the user is there', facts: {}, status: 'pass', evidence: new RegExp(`^${SERVICE_ACCOUNT_UPN} found$`) },
    { name: 'no such user', facts: { serviceAccount: null }, status: 'fail', evidence: /no user with that sign-in name/, fix: /Create a member user/ },
    { name: 'a guest', facts: { serviceAccount: { ...user, userType: 'Guest' } }, status: 'fail', evidence: /is a guest/, fix: /not a guest/ },
    { name: 'Graph call failed', facts: { serviceAccount: { unknown: 'Graph did not answer (timeout)' } }, status: 'unknown', evidence: /Service account: Graph did not answer/ },
    { name: 'not gathered', facts: { serviceAccount: undefined }, status: 'unknown', evidence: /not checked in this run/ },
  ]);

  table('account.enabled', [
    { name: 'enabled', facts: {}, status: 'pass', evidence: /sign-in allowed/ },
    { name: 'disabled', facts: { serviceAccount: { ...user, accountEnabled: false } }, status: 'fail', evidence: /is disabled/, fix: /Account enabled.*sign in again/s },
    { name: 'user not found: cannot judge', facts: { serviceAccount: null }, status: 'unknown', evidence: /not found/ },
    { name: 'call failed', facts: { serviceAccount: { unknown: 'HTTP 503' } }, status: 'unknown', evidence: /HTTP 503/ },
  ]);

  table('account.password-never-expires', [
    { name: 'DisablePasswordExpiration', facts: {}, status: 'pass', evidence: /DisablePasswordExpiration/ },
    { name: 'with other policies', facts: { serviceAccount: { ...user, passwordPolicies: 'DisableStrongPassword, DisablePasswordExpiration' } }, status: 'pass', evidence: /never expires/ },
    { name: 'domain policy never expires', facts: { serviceAccount: { ...user, passwordPolicies: null }, domainPasswordNeverExpires: true }, status: 'pass', evidence: /domain's password policy/ },
    { name: 'domain policy not readable', facts: { serviceAccount: { ...user, passwordPolicies: null }, domainPasswordNeverExpires: { unknown: 'HTTP 403' } }, status: 'warn', evidence: /could not be read \(HTTP 403\)/ },
    { name: 'password expires', facts: { serviceAccount: { ...user, passwordPolicies: 'None' } }, status: 'fail', evidence: /password expires/, fix: /DisablePasswordExpiration/ },
    { name: 'user unknown', facts: { serviceAccount: { unknown: 'HTTP 500' } }, status: 'unknown', evidence: /Password expiry: HTTP 500/ },
  ]);

  table('account.global-admin', [
    { name: 'direct active assignment', facts: {}, status: 'pass', evidence: /^active Global Administrator \(direct\)$/ },
    {
      name: 'through a role-assignable group',
      facts: { serviceAccountGroups: [ADMIN_AGENTS, ROLE_GROUP], roleAssignments: [{ principalId: ROLE_GROUP.id, roleDefinitionId: GA, directoryScopeId: '/' }] },
      status: 'pass', evidence: /through group Tier0 Admins/,
    },
    {
      name: 'through a group when the account\'s groups cannot be read',
      facts: { serviceAccountGroups: { unknown: 'HTTP 503' }, roleAssignments: [{ principalId: ROLE_GROUP.id, roleDefinitionId: GA, directoryScopeId: '/' }] },
      status: 'pass', evidence: /^active Global Administrator \(through a group\)$/,
    },
    { name: 'active and eligibility unreadable (no P2): still a pass', facts: { roleEligibilities: licenceGated }, status: 'pass', evidence: /active Global Administrator/ },
    {
      name: 'a PIM activation that ends',
      facts: { roleAssignments: [{ principalId: SERVICE_ACCOUNT_ID, roleDefinitionId: GA, directoryScopeId: '/', endDateTime: daysFromNow(0.3) }] },
      status: 'warn', evidence: /active only until 2026-11-30 \(a PIM activation, direct\)/, fix: /active\*\*, \*\*permanent/,
    },
    {
      name: 'eligible only (PIM)',
      facts: { roleAssignments: [], roleEligibilities: [{ principalId: SERVICE_ACCOUNT_ID, roleDefinitionId: GA, directoryScopeId: '/' }] },
      status: 'fail', evidence: /^Global Administrator is eligible only \(PIM\), not active$/, fix: /Privileged Identity Management/,
    },
    { name: 'another role only', facts: { roleAssignments: [{ principalId: SERVICE_ACCOUNT_ID, roleDefinitionId: USER_ADMIN, directoryScopeId: '/' }] }, status: 'fail', evidence: /not a Global Administrator \(holds: User Administrator\)/, fix: /Assigned roles/ },
    { name: 'scoped to an administrative unit is not tenant-wide', facts: { roleAssignments: [{ principalId: SERVICE_ACCOUNT_ID, roleDefinitionId: GA, directoryScopeId: '/administrativeUnits/x' }] }, status: 'fail', evidence: /not a Global Administrator/ },
    {
      name: 'no active role, eligibility unreadable: the eligibility part is unknown, not a fail of its own',
      facts: { roleAssignments: [], roleEligibilities: licenceGated },
      status: 'fail', evidence: /no active Global Administrator assignment \(holds no directory role\); PIM eligibility unknown: Graph answered 400 AadPremiumLicenseRequired/,
    },
    { name: 'assignments unreadable', facts: { roleAssignments: { unknown: 'Graph answered 403 Authorization_RequestDenied', needs: 'RoleManagement.Read.Directory granted' } }, status: 'unknown', evidence: /Active role assignments: .*403.*needs RoleManagement.Read.Directory granted/ },
  ]);

  table('account.admin-agents', [
    { name: 'member', facts: {}, status: 'pass', evidence: /^member of AdminAgents$/ },
    { name: 'member of other groups only', facts: { serviceAccountGroups: [HELPDESK_AGENTS] }, status: 'fail', evidence: /^not a member — member of: HelpdeskAgents$/, fix: /AdminAgents.*Add members/s },
    { name: 'in no group', facts: { serviceAccountGroups: [] }, status: 'fail', evidence: /^not a member — member of no groups$/ },
    { name: 'groups unreadable', facts: { serviceAccountGroups: { unknown: 'Graph did not answer' } }, status: 'unknown', evidence: /AdminAgents membership: Graph did not answer/ },
  ]);
});
