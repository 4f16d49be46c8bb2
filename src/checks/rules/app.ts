import type { AppRegistration, Facts } from '../facts';
import {
  ADMIN_AGENTS, GRAPH_APP_ID, GRAPH_APP_PERMISSIONS, GRAPH_DELEGATED_PERMISSIONS, LINKS, PARTNER_CENTER_APP_ID,
  PARTNER_CENTER_USER_IMPERSONATION_ID, type Permission,
} from '../microsoft';
import type { Outcome, RuleContext } from '../types';
import { groupsLine, known, listNames, sameId, unknownOutcome } from './util';

function application(facts: Facts, ctx: RuleContext, what: string): { ok: true; value: AppRegistration } | { ok: false; outcome: Outcome } {
  const app = known(facts.application);
  if (!app.ok) return { ok: false, outcome: unknownOutcome(what, app.unknown, LINKS.appRegistrations) };
  if (!app.value) return { ok: false, outcome: { status: 'unknown', evidence: `${what}: the app registration was not found`, fix: { text: 'Fix "App registration exists" first.', link: LINKS.appApiPermissions(ctx.appId) } } };
  return { ok: true, value: app.value };
}

export function appExists(facts: Facts, ctx: RuleContext): Outcome {
  const app = known(facts.application);
  if (!app.ok) return unknownOutcome('App registration', app.unknown, LINKS.appRegistrations);
  if (!app.value) return { status: 'fail', evidence: `no app registration with client ID ${ctx.appId ?? '(as entered)'} in the partner tenant` };
  const sp = known(facts.appServicePrincipal);
  if (sp.ok && sp.value === null) {
    return { status: 'fail', evidence: `"${app.value.displayName}" has no enterprise application (service principal) in the tenant`, fix: { text: 'Open the app registration\'s **API permissions** and select **Grant admin consent**: that creates its enterprise application.', link: LINKS.appApiPermissions(app.value.appId) } };
  }
  if (sp.ok && sp.value && sp.value.accountEnabled === false) {
    return { status: 'fail', evidence: `"${app.value.displayName}" enterprise application is disabled for sign-in`, fix: { text: 'In the enterprise application\'s **Properties**, set **Enabled for users to sign in** to Yes.', link: LINKS.enterpriseAppPermissions(sp.value.id, app.value.appId) } };
  }
  return { status: 'pass', evidence: `"${app.value.displayName}" (${app.value.appId})` };
}

function requested(app: AppRegistration, resourceAppId: string, p: { id: string; type: string }): boolean {
  return app.requiredResourceAccess.some((r) => sameId(r.resourceAppId, resourceAppId)
    && r.resourceAccess.some((a) => sameId(a.id, p.id) && a.type === p.type));
}

const NEEDED: readonly Permission[] = [...GRAPH_APP_PERMISSIONS, ...GRAPH_DELEGATED_PERMISSIONS];

export function permissionsRequested(facts: Facts, ctx: RuleContext): Outcome {
  const a = application(facts, ctx, 'Requested permissions');
  if (!a.ok) return a.outcome;
  const missing = NEEDED.filter((p) => !requested(a.value, GRAPH_APP_ID, p));
  const pc = requested(a.value, PARTNER_CENTER_APP_ID, { id: PARTNER_CENTER_USER_IMPERSONATION_ID, type: 'Scope' });
  if (missing.length) {
    const kinds = missing.map((p) => `${p.name} (${p.type === 'Role' ? 'application' : 'delegated'})`);
    return { status: 'fail', evidence: `not requested: ${kinds.join(', ')}` };
  }
  if (!pc) {
    return { status: 'warn', evidence: 'Graph permissions requested; Partner Center user_impersonation not requested', fix: { text: 'Add **Microsoft Partner Center → user_impersonation** (delegated) under **API permissions**, then grant admin consent: the Partner Center consent asks for it.', link: LINKS.appApiPermissions(a.value.appId) } };
  }
  return { status: 'pass', evidence: `requests ${GRAPH_APP_PERMISSIONS.length} application permissions, User.Read and Partner Center user_impersonation` };
}

export function permissionsGranted(facts: Facts, ctx: RuleContext): Outcome {
  const sp = known(facts.appServicePrincipal);
  if (!sp.ok) return unknownOutcome('Granted permissions', sp.unknown, LINKS.enterpriseAppPermissions());
  if (!sp.value) return { status: 'unknown', evidence: 'Granted permissions: the app has no enterprise application yet', fix: { text: 'Fix "App registration exists" first.', link: LINKS.appRegistrations } };
  const roles = known(facts.appRoleAssignments);
  if (!roles.ok) return unknownOutcome('Granted application permissions', roles.unknown, LINKS.enterpriseAppPermissions(sp.value.id, sp.value.appId));
  const grants = known(facts.delegatedGrants);
  if (!grants.ok) return unknownOutcome('Granted delegated permissions', grants.unknown, LINKS.enterpriseAppPermissions(sp.value.id, sp.value.appId));
  const graph = known(facts.graphServicePrincipalId);
  const graphId = graph.ok ? graph.value : undefined;
  const onGraph = (resourceId: string) => !graphId || sameId(resourceId, graphId);
  const account = known(facts.serviceAccount);
  const accountId = account.ok && account.value ? account.value.id : undefined;

  // A permission the app does not request is the "requested" check's failure; judge the rest here.
  const app = known(facts.application);
  const asked = (p: Permission) => !app.ok || !app.value || requested(app.value, GRAPH_APP_ID, p);
  const notAsked = NEEDED.filter((p) => !asked(p)).map((p) => p.name);
  const missingRoles = GRAPH_APP_PERMISSIONS.filter(asked).filter((p) => !roles.value.some((r) => sameId(r.appRoleId, p.id) && onGraph(r.resourceId)));
  const ours = grants.value.filter((g) => sameId(g.clientId, sp.value!.id) && onGraph(g.resourceId));
  const scopes = (g: { scope: string }) => g.scope.split(' ').filter(Boolean);
  const tenantWide = (name: string) => ours.some((g) => g.consentType === 'AllPrincipals' && scopes(g).includes(name));
  const forAccount = (name: string) => ours.some((g) => g.consentType === 'Principal' && sameId(g.principalId, accountId) && scopes(g).includes(name));
  const missingScopes = GRAPH_DELEGATED_PERMISSIONS.filter(asked).filter((p) => !tenantWide(p.name) && !forAccount(p.name));

  if (missingRoles.length || missingScopes.length) {
    const names = [...missingRoles, ...missingScopes].map((p) => p.name);
    return { status: 'fail', evidence: `requested but not granted: ${listNames(names, 5)}`, fix: { text: 'Open the app\'s **API permissions** as a Global Administrator and select **Grant admin consent for <tenant>**; a requested permission works only once granted.', link: LINKS.appApiPermissions(ctx.appId ?? sp.value.appId) } };
  }
  const grantedRoles = GRAPH_APP_PERMISSIONS.filter(asked).length;
  const requestedScopes = GRAPH_DELEGATED_PERMISSIONS.filter(asked);
  const principalOnly = requestedScopes.filter((p) => !tenantWide(p.name)).map((p) => p.name);
  const delegated = principalOnly.length ? `${principalOnly.join(', ')} for the service account` : requestedScopes.map((p) => p.name).join(', ') || 'none';
  const skipped = notAsked.length ? ` (not requested, so not judged here: ${listNames(notAsked, 5)})` : '';
  return { status: 'pass', evidence: `granted: ${grantedRoles} application permissions; delegated ${delegated}${skipped}` };
}

export function appInAdminAgents(facts: Facts): Outcome {
  const sp = known(facts.appServicePrincipal);
  if (!sp.ok) return unknownOutcome('App in AdminAgents', sp.unknown, LINKS.groupMembers());
  if (!sp.value) return { status: 'unknown', evidence: 'App in AdminAgents: the app has no enterprise application yet', fix: { text: 'Fix "App registration exists" first.', link: LINKS.appRegistrations } };
  const groups = known(facts.appServicePrincipalGroups);
  if (!groups.ok) return unknownOutcome('App in AdminAgents', groups.unknown, LINKS.groupMembers());
  if (groups.value.some((g) => g.displayName.toLowerCase() === ADMIN_AGENTS.toLowerCase())) {
    return { status: 'pass', evidence: 'the app\'s service principal is a member of AdminAgents' };
  }
  return { status: 'fail', evidence: `the app's service principal is not a member — ${groupsLine(groups.value)}` };
}
