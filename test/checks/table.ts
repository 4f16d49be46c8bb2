import assert from 'node:assert/strict';
import { catalog, type CheckId } from '../../src/checks/catalog';
import type { Facts } from '../../src/checks/facts';
import { evaluate, type CheckResult } from '../../src/checks/run';
import type { EvaluateOptions, Status } from '../../src/checks/types';
import {
  ADMIN_AGENTS_GROUP_ID, APP_DISPLAY_NAME, APP_ID, APP_SECRET_KEY_ID, APP_SERVICE_PRINCIPAL_ID, CUSTOMER_TENANT_ID,
  GLOBAL_ADMIN_TEMPLATE_ID, HELPDESK_AGENTS_GROUP_ID, PARTNER_TENANT_ID, SERVICE_ACCOUNT_ID, SERVICE_ACCOUNT_UPN, STANDARD_GDAP_ROLES,
} from '../simulator/scenarios/ids';

/** The time every table runs at. */
export const NOW = new Date('2026-11-30T04:00:00.000Z');
export const daysFromNow = (n: number) => new Date(NOW.getTime() + n * 86_400_000).toISOString();

export const GRAPH_SP_ID = 'a0a0a0a0-8888-4888-8888-000000000001';
export const ADMIN_AGENTS = { id: ADMIN_AGENTS_GROUP_ID, displayName: 'AdminAgents' };
export const HELPDESK_AGENTS = { id: HELPDESK_AGENTS_GROUP_ID, displayName: 'HelpdeskAgents' };

const relationship = (n: number, over: Record<string, unknown> = {}) => ({
  id: `rel-${n}`,
  displayName: `GDAP Customer ${n}`,
  customer: { tenantId: `${CUSTOMER_TENANT_ID.slice(0, -1)}${n}`, displayName: `Customer ${n}` },
  status: 'active',
  endDateTime: daysFromNow(700),
  autoExtendDuration: 'P180D',
  accessDetails: { unifiedRoles: STANDARD_GDAP_ROLES.map((roleDefinitionId) => ({ roleDefinitionId })) },
  accessAssignments: [{
    id: `assignment-${n}`, status: 'active',
    accessContainer: { accessContainerId: ADMIN_AGENTS_GROUP_ID, accessContainerType: 'securityGroup' },
    accessDetails: { unifiedRoles: STANDARD_GDAP_ROLES.map((roleDefinitionId) => ({ roleDefinitionId })) },
  }],
  ...over,
});
export const gdap = relationship;

/** The healthy partner of the simulator's `healthy` scenario, as gathered facts. */
export const HEALTHY: Facts = {
  serviceAccount: { id: SERVICE_ACCOUNT_ID, userPrincipalName: SERVICE_ACCOUNT_UPN, accountEnabled: true, passwordPolicies: 'DisablePasswordExpiration', userType: 'Member' },
  serviceAccountGroups: [ADMIN_AGENTS],
  domainPasswordNeverExpires: false,
  roleAssignments: [{ principalId: SERVICE_ACCOUNT_ID, roleDefinitionId: GLOBAL_ADMIN_TEMPLATE_ID, directoryScopeId: '/' }],
  roleEligibilities: [],
  mfaRegistration: { isMfaRegistered: true, methodsRegistered: ['microsoftAuthenticatorPush'] },
  securityDefaultsEnabled: true,
  conditionalAccessPolicies: [],
  perUserMfaState: 'disabled',
  consentTokenAmr: ['pwd', 'mfa'],
  rememberMfaOff: true,
  application: {
    appId: APP_ID, displayName: APP_DISPLAY_NAME,
    requiredResourceAccess: [
      {
        resourceAppId: '00000003-0000-0000-c000-000000000000',
        resourceAccess: [
          { id: '19dbc75e-c2e2-444c-a770-ec69d8559fc7', type: 'Role' },
          { id: '62a82d76-70ea-41e2-9197-370581804d09', type: 'Role' },
          { id: '9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8', type: 'Role' },
          { id: '741f803b-c850-494e-b5df-cde7c675a1ca', type: 'Role' },
          { id: 'e1fe6dd8-ba31-4d61-89e7-88639da4683d', type: 'Scope' },
        ],
      },
      { resourceAppId: 'fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd', resourceAccess: [{ id: '1cebfa2a-fb4d-419e-b5f9-839b4383e05a', type: 'Scope' }] },
    ],
    passwordCredentials: [{ keyId: APP_SECRET_KEY_ID, hint: 'Qd7', displayName: 'onboarding-bot', endDateTime: daysFromNow(700) }],
  },
  appServicePrincipal: { id: APP_SERVICE_PRINCIPAL_ID, appId: APP_ID, accountEnabled: true },
  graphServicePrincipalId: GRAPH_SP_ID,
  appRoleAssignments: [
    '19dbc75e-c2e2-444c-a770-ec69d8559fc7', '62a82d76-70ea-41e2-9197-370581804d09',
    '9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8', '741f803b-c850-494e-b5df-cde7c675a1ca',
  ].map((appRoleId) => ({ appRoleId, resourceId: GRAPH_SP_ID })),
  delegatedGrants: [{ clientId: APP_SERVICE_PRINCIPAL_ID, consentType: 'AllPrincipals', principalId: null, resourceId: GRAPH_SP_ID, scope: 'User.Read' }],
  appServicePrincipalGroups: [ADMIN_AGENTS],
  secretInUse: { hint: 'Qd7' },
  partnerCenterSecretExpiry: daysFromNow(365),
  partnerCenterProfile: { ok: true, value: { companyName: 'Contoso Partner Ltd', country: 'US' } },
  partnerCenterCustomers: { ok: true, value: { count: 25, hasMore: false } },
  partnerCenterInvoices: { ok: true, value: { count: 1, totalCount: 12 } },
  organization: { id: PARTNER_TENANT_ID, displayName: 'Contoso Partner', partnerTenantType: 'resellerPartnerDelegatedAdmin', countryLetterCode: 'US' },
  gdapRelationships: [relationship(1), relationship(2), relationship(3)],
  gdapAccessGroups: [ADMIN_AGENTS],
  consent: { consentedAt: daysFromNow(-20), lastRefreshAt: daysFromNow(-1), lastRefreshError: null },
};

export const OPTIONS: EvaluateOptions = { now: NOW, appId: APP_ID, tenantId: PARTNER_TENANT_ID, companyCountry: 'US' };

export interface Row {
  readonly name: string;
  /** Changes to the healthy facts (a key set to undefined removes that fact: "not gathered"). */
  readonly facts: Partial<Facts>;
  readonly status: Status;
  readonly evidence: RegExp;
  readonly fix?: RegExp;
  readonly options?: Partial<EvaluateOptions>;
}

export function runOne(check: CheckId, facts: Partial<Facts>, options: Partial<EvaluateOptions> = {}): CheckResult {
  const [result] = evaluate({ ...HEALTHY, ...facts }, { ...OPTIONS, ...options, only: [check] });
  assert.ok(result, `no result for ${check}`);
  return result;
}

/**
 * A table for one check: each row runs the check over the healthy facts with the row's changes.
 * The table must hold a row for every status the check's catalog entry says it can give.
 */
export function table(check: CheckId, rows: readonly Row[]): void {
  describe(check, () => {
    it('has a row for each status it can give', () => {
      const def = catalog().find((d) => d.id === check)!;
      assert.deepEqual([...new Set(rows.map((r) => r.status))].sort(), [...def.outcomes].sort());
    });
    for (const row of rows) {
      it(`${row.status}: ${row.name}`, () => {
        const result = runOne(check, row.facts, row.options);
        assert.equal(result.status, row.status, `evidence: ${result.evidence}`);
        assert.match(result.evidence, row.evidence);
        if (row.status === 'pass') assert.equal(result.fix, null);
        else {
          assert.ok(result.fix, 'a result that is not a pass has a fix');
          assert.match(result.fix.link, /^https:\/\//);
          if (row.fix) assert.match(result.fix.text, row.fix);
        }
        assert.doesNotMatch(result.evidence, /\n/);
      });
    }
  });
}
