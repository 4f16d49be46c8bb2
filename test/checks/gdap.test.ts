import { DIRECTORY_ROLE_TEMPLATES, READ_ONLY_GDAP_ROLES, STANDARD_GDAP_ROLES } from '../simulator/scenarios/ids';
import { ADMIN_AGENTS, daysFromNow, gdap, HELPDESK_AGENTS, table } from './table';

const roles = (ids: readonly string[]) => ({ unifiedRoles: ids.map((roleDefinitionId) => ({ roleDefinitionId })) });
const GA = DIRECTORY_ROLE_TEMPLATES['Global Administrator'];
const mlt = gdap(9, {
  displayName: 'MLT_a0a0a0a0-7777-4777-8777-000000000001', autoExtendDuration: 'PT0S', accessDetails: roles(READ_ONLY_GDAP_ROLES),
  accessAssignments: [{ id: 'a', status: 'active', accessContainer: { accessContainerId: ADMIN_AGENTS.id }, accessDetails: roles(READ_ONLY_GDAP_ROLES) }],
});
const assignedTo = (groupId: string, status = 'active') => [{ id: 'x', status, accessContainer: { accessContainerId: groupId }, accessDetails: roles(STANDARD_GDAP_ROLES) }];
const unreadable = { unknown: 'Graph answered 403', needs: 'DelegatedAdminRelationship.Read.All granted' };

describe('checks: GDAP (advisory)', () => {
  table('gdap.roles', [
    { name: 'every active relationship holds the roles', facts: {}, status: 'pass', evidence: /^3 active relationships hold the needed roles$/ },
    { name: 'a relationship named like a good one but read-only is judged by its roles', facts: { gdapRelationships: [gdap(1), gdap(2, { displayName: 'Full admin access', accessDetails: roles(READ_ONLY_GDAP_ROLES) })] }, status: 'warn', evidence: /1 of 2 active relationships lack needed roles: Customer 2/ },
    { name: 'only a read-only MLT_ relationship', facts: { gdapRelationships: [mlt] }, status: 'fail', evidence: /no active relationship holds the needed roles — missing: License Administrator, User Administrator/, fix: /MLT_/ },
    { name: 'none at all', facts: { gdapRelationships: [] }, status: 'fail', evidence: /no GDAP relationships/ },
    { name: 'only ended ones', facts: { gdapRelationships: [gdap(1, { status: 'expired' })] }, status: 'fail', evidence: /no active relationship \(1 relationship ended or pending\)/ },
    { name: 'roles configured by the operator', facts: { gdapRelationships: [mlt] }, options: { gdapRoleIds: [DIRECTORY_ROLE_TEMPLATES['Global Reader']] }, status: 'pass', evidence: /^1 active relationship holds the needed roles$/ },
    { name: 'unreadable', facts: { gdapRelationships: unreadable }, status: 'unknown', evidence: /GDAP relationships: Graph answered 403; needs DelegatedAdminRelationship.Read.All granted/ },
  ]);

  table('gdap.expiry', [
    { name: 'ending in 10 days but auto-extends', facts: { gdapRelationships: [gdap(1, { endDateTime: daysFromNow(10) })] }, status: 'pass', evidence: /no active relationship ends within 30 days/ },
    { name: 'ending in 10 days, no auto-extend', facts: { gdapRelationships: [gdap(1), gdap(2, { endDateTime: daysFromNow(10), autoExtendDuration: 'PT0S' })] }, status: 'warn', evidence: /^1 relationship ends within 30 days without auto-extend, first: Customer 2 on 2026-12-10$/, fix: /auto-extend/ },
    { name: 'already past its end', facts: { gdapRelationships: [gdap(1, { endDateTime: daysFromNow(-1), autoExtendDuration: null })] }, status: 'fail', evidence: /ended without auto-extend: Customer 1 \(2026-11-29\)/ },
    { name: 'no active relationship to judge', facts: { gdapRelationships: [] }, status: 'unknown', evidence: /no active relationship to judge/ },
  ]);

  table('gdap.global-admin', [
    { name: 'none', facts: {}, status: 'pass', evidence: /no active relationship includes Global Administrator/ },
    { name: 'one with Global Administrator', facts: { gdapRelationships: [gdap(1), gdap(2, { accessDetails: roles([...STANDARD_GDAP_ROLES, GA]) })] }, status: 'warn', evidence: /Global Administrator in 1 relationship \(which cannot auto-extend\): Customer 2/, fix: /leave out Global Administrator/ },
    { name: 'unreadable', facts: { gdapRelationships: { unknown: 'HTTP 500' } }, status: 'unknown', evidence: /HTTP 500/ },
  ]);

  table('gdap.assignments', [
    { name: 'AdminAgents holds every needed role everywhere', facts: {}, status: 'pass', evidence: /in all 3 relationships/ },
    { name: 'assignment still pending', facts: { gdapRelationships: [gdap(1, { accessAssignments: assignedTo(ADMIN_AGENTS.id, 'pending') })] }, status: 'warn', evidence: /pending in 1 relationship: Customer 1 \(Microsoft takes minutes to hours\)/ },
    { name: 'missing in some relationships', facts: { gdapRelationships: [gdap(1), gdap(2, { accessAssignments: [] })] }, status: 'warn', evidence: /in 1 of 2 relationships: Customer 2/ },
    { name: 'assigned to a group the account is not in', facts: { gdapRelationships: [gdap(1, { accessAssignments: assignedTo(HELPDESK_AGENTS.id) })], gdapAccessGroups: [ADMIN_AGENTS, HELPDESK_AGENTS] }, status: 'fail', evidence: /reaches the needed roles through no active access assignment in any of the 1 relationship/, fix: /security group that holds the service account/ },
    { name: 'the assigned group was deleted', facts: { gdapRelationships: [gdap(1)], gdapAccessGroups: [] }, status: 'fail', evidence: /in any of the 1 relationship: Customer 1/ },
    { name: 'groups unreadable', facts: { gdapAccessGroups: { unknown: 'Graph did not answer' } }, status: 'unknown', evidence: /GDAP access: security groups: Graph did not answer/ },
  ]);
});
