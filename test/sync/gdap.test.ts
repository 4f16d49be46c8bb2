import assert from 'node:assert/strict';
import type { GdapRelationship } from '../../src/checks/facts';
import { DEFAULT_GDAP_ROLE_IDS } from '../../src/checks/microsoft';
import { RANK, relationshipVerdict, type GdapContext } from '../../src/sync/gdap';

const GROUP = 'a0a0a0a0-3333-4333-8333-000000000001';
const OTHER = 'a0a0a0a0-3333-4333-8333-000000000002';
const roles = (ids: readonly string[]) => ids.map((roleDefinitionId) => ({ roleDefinitionId }));
const ctx: GdapContext = { roleIds: DEFAULT_GDAP_ROLE_IDS, accountGroupIds: new Set([GROUP]), now: new Date('2026-11-30T00:00:00Z') };

function rel(over: Partial<GdapRelationship> = {}): GdapRelationship {
  return {
    id: 'r', displayName: 'Any name: never judged by it', customer: { tenantId: 'c', displayName: 'C' }, status: 'active',
    endDateTime: '2027-06-01T00:00:00Z', autoExtendDuration: 'P180D', accessDetails: { unifiedRoles: roles(DEFAULT_GDAP_ROLE_IDS) },
    accessAssignments: [{ id: 'a', status: 'active', accessContainer: { accessContainerId: GROUP }, accessDetails: { unifiedRoles: roles(DEFAULT_GDAP_ROLE_IDS) } }],
    ...over,
  };
}

describe('sync: is a customer manageable through a GDAP relationship (pure)', () => {
  const rows: { name: string; r: GdapRelationship; want: ReturnType<typeof relationshipVerdict> }[] = [
    { name: 'active, the roles, assigned to a group the account is in', r: rel(), want: 'manageable' },
    { name: 'ids in upper case', r: rel({ accessAssignments: [{ id: 'a', status: 'Active', accessContainer: { accessContainerId: GROUP.toUpperCase() }, accessDetails: { unifiedRoles: roles(DEFAULT_GDAP_ROLE_IDS.map((x) => x.toUpperCase())) } }] }), want: 'manageable' },
    { name: 'terminated', r: rel({ status: 'terminated' }), want: 'terminated' },
    { name: 'termination requested', r: rel({ status: 'terminationRequested' }), want: 'terminated' },
    { name: 'expired', r: rel({ status: 'expired' }), want: 'expired' },
    { name: 'active but past its end date', r: rel({ endDateTime: '2026-11-01T00:00:00Z' }), want: 'expired' },
    { name: 'approval pending', r: rel({ status: 'approvalPending' }), want: 'pending' },
    { name: 'a needed role missing', r: rel({ accessDetails: { unifiedRoles: roles(DEFAULT_GDAP_ROLE_IDS.slice(1)) } }), want: 'missing-roles' },
    { name: 'assigned to a group the account is not in', r: rel({ accessAssignments: [{ id: 'a', status: 'active', accessContainer: { accessContainerId: OTHER }, accessDetails: { unifiedRoles: roles(DEFAULT_GDAP_ROLE_IDS) } }] }), want: 'no-access' },
    { name: 'assignment still pending', r: rel({ accessAssignments: [{ id: 'a', status: 'pending', accessContainer: { accessContainerId: GROUP }, accessDetails: { unifiedRoles: roles(DEFAULT_GDAP_ROLE_IDS) } }] }), want: 'no-access' },
    { name: 'assignment covers only some roles', r: rel({ accessAssignments: [{ id: 'a', status: 'active', accessContainer: { accessContainerId: GROUP }, accessDetails: { unifiedRoles: roles(DEFAULT_GDAP_ROLE_IDS.slice(0, 1)) } }] }), want: 'no-access' },
    { name: 'no assignment', r: rel({ accessAssignments: [] }), want: 'no-access' },
  ];
  for (const row of rows) it(`${row.name}: ${row.want}`, () => assert.equal(relationshipVerdict(row.r, ctx), row.want));

  it('ranks: manageable best, none worst; a customer takes its best relationship', () => {
    assert.ok(RANK.manageable < RANK.pending && RANK.pending < RANK['no-access'] && RANK['no-access'] < RANK['missing-roles']);
    assert.ok(RANK['missing-roles'] < RANK.expired && RANK.expired < RANK.terminated && RANK.terminated < RANK.none);
  });
});
