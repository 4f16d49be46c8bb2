import { z } from 'zod';
import { GRAPH_RESOURCE } from '../credentials/scopes';
import { isMicrosoftHttpError } from '../microsoft/http-errors';
import { MicrosoftHttpClient } from '../microsoft/http';

/**
 * The Graph writes of the setup run, with the signed-in administrator's delegated token (held by
 * the caller, in memory only). Wire types stay here; each method names its documented endpoint.
 */

export const SETUP_SCOPES = [
  `${GRAPH_RESOURCE}/Application.ReadWrite.All`,
  `${GRAPH_RESOURCE}/AppRoleAssignment.ReadWrite.All`,
  `${GRAPH_RESOURCE}/DelegatedPermissionGrant.ReadWrite.All`,
  `${GRAPH_RESOURCE}/GroupMember.ReadWrite.All`,
  `${GRAPH_RESOURCE}/Directory.Read.All`,
] as const;

const ResourceAccess = z.object({ id: z.string(), type: z.string() });
const RequiredResourceAccess = z.object({ resourceAppId: z.string(), resourceAccess: z.array(ResourceAccess).default([]) });
export type RequiredResourceAccess = z.infer<typeof RequiredResourceAccess>;

const PasswordCredential = z.object({
  keyId: z.string(), displayName: z.string().nullish(), hint: z.string().nullish(), endDateTime: z.string().nullish(),
});
export type PasswordCredential = z.infer<typeof PasswordCredential>;

const Application = z.object({
  id: z.string(),
  appId: z.string(),
  displayName: z.string().nullish(),
  tags: z.array(z.string()).default([]),
  createdDateTime: z.string().nullish(),
  requiredResourceAccess: z.array(RequiredResourceAccess).default([]),
  web: z.object({ redirectUris: z.array(z.string()).default([]) }).nullish(),
  passwordCredentials: z.array(PasswordCredential).default([]),
});
export type Application = z.infer<typeof Application>;

const ServicePrincipal = z.object({ id: z.string(), appId: z.string(), displayName: z.string().nullish() });
export type ServicePrincipal = z.infer<typeof ServicePrincipal>;

const AppRoleAssignment = z.object({ id: z.string(), appRoleId: z.string(), resourceId: z.string(), principalId: z.string() });
const Grant = z.object({ id: z.string(), clientId: z.string(), resourceId: z.string(), consentType: z.string(), scope: z.string().nullish() });
export type Grant = z.infer<typeof Grant>;

const User = z.object({ id: z.string(), userPrincipalName: z.string().nullish(), userType: z.string().nullish(), accountEnabled: z.boolean().nullish() });
export type GraphUser = z.infer<typeof User>;

const Id = z.object({ id: z.string() });
const Secret = z.object({ keyId: z.string(), secretText: z.string(), hint: z.string().nullish(), endDateTime: z.string().nullish() });
export type NewSecret = z.infer<typeof Secret>;

const APP_SELECT = 'id,appId,displayName,tags,createdDateTime,requiredResourceAccess,web,passwordCredentials';

/** A new object not yet everywhere in the directory: Graph answers 404 (or a 400 naming the missing object) for a while. */
export function isNotReplicatedYet(err: unknown): boolean {
  if (!isMicrosoftHttpError(err) || err.failure !== 'status') return false;
  if (err.status === 404 || err.code === 'Request_ResourceNotFound') return true;
  return err.status === 400 && /does not (exist|reference a valid)|not found|Request_ResourceNotFound/i.test(err.description ?? '');
}

/** Adding a member that is one already: Graph's 400 on members/$ref. https://learn.microsoft.com/en-us/graph/api/group-post-members */
function isAlreadyMember(err: unknown): boolean {
  return isMicrosoftHttpError(err) && err.status === 400 && /already exist/i.test(err.description ?? '');
}

export class SetupGraph {
  private readonly http: MicrosoftHttpClient;

  constructor(baseUrl: string, accessToken: () => string, options: { timeoutMs?: number; maxRetries?: number } = {}) {
    this.http = new MicrosoftHttpClient({
      baseUrl, tokenProvider: async () => accessToken(), scopes: [...SETUP_SCOPES], requestIds: 'graph',
      timeoutMs: options.timeoutMs ?? 20_000, maxRetries: options.maxRetries ?? 3, retryBudgetMs: 60_000,
    });
  }

  private async get<T>(path: string, parse: z.ZodType<T>, query?: Record<string, string>, headers?: Record<string, string>): Promise<T> {
    return (await this.http.request('GET', path, { query, headers, parse })).data;
  }

  private async list<T>(path: string, item: z.ZodType<T>, query?: Record<string, string>, headers?: Record<string, string>): Promise<T[]> {
    const out: T[] = [];
    for await (const page of this.http.graphPages(path, { query, headers, item })) out.push(...page.items);
    return out;
  }

  /** Undefined on 404. */
  private async maybe<T>(fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await fn();
    } catch (err) {
      if (isMicrosoftHttpError(err) && err.status === 404) return undefined;
      throw err;
    }
  }

  /** https://learn.microsoft.com/en-us/graph/api/user-list-transitivememberof (an OData cast: advanced query). */
  async myDirectoryRoles(): Promise<string[]> {
    const roles = await this.list('/v1.0/me/transitiveMemberOf/microsoft.graph.directoryRole', z.object({ roleTemplateId: z.string().nullish() }),
      { $select: 'roleTemplateId', $count: 'true' }, { ConsistencyLevel: 'eventual' });
    return roles.map((r) => r.roleTemplateId).filter((r): r is string => !!r).map((r) => r.toLowerCase());
  }

  /** https://learn.microsoft.com/en-us/graph/api/user-get */
  async user(upn: string): Promise<GraphUser | undefined> {
    return this.maybe(() => this.get(`/v1.0/users/${encodeURIComponent(upn)}`, User, { $select: 'id,userPrincipalName,userType,accountEnabled' }));
  }

  /** Apps carrying our tag. https://learn.microsoft.com/en-us/graph/api/application-list (tags: $filter eq via any) */
  async applicationsTagged(tag: string): Promise<Application[]> {
    return this.list('/v1.0/applications', Application, { $filter: `tags/any(t:t eq '${tag.replace(/'/g, "''")}')`, $select: APP_SELECT });
  }

  /** https://learn.microsoft.com/en-us/graph/api/application-get (by appId: the alternate key) */
  async applicationByAppId(appId: string): Promise<Application | undefined> {
    return this.maybe(() => this.get(`/v1.0/applications(appId='${encodeURIComponent(appId)}')`, Application, { $select: APP_SELECT }));
  }

  async application(id: string): Promise<Application> {
    return this.get(`/v1.0/applications/${encodeURIComponent(id)}`, Application, { $select: APP_SELECT });
  }

  /**
   * Creates the app under a key of ours unless it exists: one app however often this is sent, even
   * while a new app is still missing from lists (replication). 201 with the app when it made one,
   * 204 (undefined here) when one had the key already.
   * https://learn.microsoft.com/en-us/graph/api/application-upsert
   */
  async upsertApplication(uniqueName: string, body: { displayName: string; tags: string[]; requiredResourceAccess: RequiredResourceAccess[]; redirectUris: string[] }): Promise<Application | undefined> {
    const res = await this.http.request('PATCH', `/v1.0/applications(uniqueName='${encodeURIComponent(uniqueName)}')`, {
      headers: { Prefer: 'create-if-missing' }, idempotent: true,
      body: { displayName: body.displayName, signInAudience: 'AzureADMyOrg', tags: body.tags, requiredResourceAccess: body.requiredResourceAccess, web: { redirectUris: body.redirectUris } },
    });
    return res.status === 201 ? Application.parse(res.data) : undefined;
  }

  /** By our key; a 404 (none yet, or not replicated yet) is thrown. https://learn.microsoft.com/en-us/graph/api/application-get */
  async applicationByUniqueName(uniqueName: string): Promise<Application> {
    return this.get(`/v1.0/applications(uniqueName='${encodeURIComponent(uniqueName)}')`, Application, { $select: APP_SELECT });
  }

  /** https://learn.microsoft.com/en-us/graph/api/application-update (collections are replaced whole) */
  async updateApplication(id: string, patch: { tags?: string[]; requiredResourceAccess?: RequiredResourceAccess[]; redirectUris?: string[] }): Promise<void> {
    const body: Record<string, unknown> = {};
    if (patch.tags) body.tags = patch.tags;
    if (patch.requiredResourceAccess) body.requiredResourceAccess = patch.requiredResourceAccess;
    if (patch.redirectUris) body.web = { redirectUris: patch.redirectUris };
    await this.http.request('PATCH', `/v1.0/applications/${encodeURIComponent(id)}`, { body, idempotent: true });
  }

  /** https://learn.microsoft.com/en-us/graph/api/serviceprincipal-get (by appId) */
  async servicePrincipal(appId: string): Promise<ServicePrincipal | undefined> {
    return this.maybe(() => this.get(`/v1.0/servicePrincipals(appId='${encodeURIComponent(appId)}')`, ServicePrincipal, { $select: 'id,appId,displayName' }));
  }

  /** https://learn.microsoft.com/en-us/graph/api/serviceprincipal-post-serviceprincipals */
  async createServicePrincipal(appId: string): Promise<ServicePrincipal> {
    return (await this.http.request('POST', '/v1.0/servicePrincipals', { body: { appId }, parse: ServicePrincipal })).data;
  }

  /** https://learn.microsoft.com/en-us/graph/api/application-addpassword: the value comes back once, in `secretText`. */
  async addPassword(appObjectId: string, displayName: string, endDateTime: string): Promise<NewSecret> {
    return (await this.http.request('POST', `/v1.0/applications/${encodeURIComponent(appObjectId)}/addPassword`, {
      body: { passwordCredential: { displayName, endDateTime } }, parse: Secret,
    })).data;
  }

  /** https://learn.microsoft.com/en-us/graph/api/application-removepassword */
  async removePassword(appObjectId: string, keyId: string): Promise<void> {
    try {
      await this.http.request('POST', `/v1.0/applications/${encodeURIComponent(appObjectId)}/removePassword`, { body: { keyId }, idempotent: true });
    } catch (err) {
      if (!(isMicrosoftHttpError(err) && err.status === 404)) throw err;
    }
  }

  /** https://learn.microsoft.com/en-us/graph/api/serviceprincipal-list-approleassignments */
  async appRoleAssignments(spId: string): Promise<Array<z.infer<typeof AppRoleAssignment>>> {
    return this.list(`/v1.0/servicePrincipals/${encodeURIComponent(spId)}/appRoleAssignments`, AppRoleAssignment);
  }

  /** https://learn.microsoft.com/en-us/graph/api/serviceprincipal-post-approleassignments */
  async assignAppRole(spId: string, resourceId: string, appRoleId: string): Promise<void> {
    await this.http.request('POST', `/v1.0/servicePrincipals/${encodeURIComponent(spId)}/appRoleAssignments`, {
      body: { principalId: spId, resourceId, appRoleId }, parse: Id,
    });
  }

  /** https://learn.microsoft.com/en-us/graph/api/oauth2permissiongrant-list */
  async allPrincipalsGrants(clientId: string, resourceId: string): Promise<Grant[]> {
    return this.list('/v1.0/oauth2PermissionGrants', Grant, { $filter: `clientId eq '${clientId}' and consentType eq 'AllPrincipals' and resourceId eq '${resourceId}'` });
  }

  /** https://learn.microsoft.com/en-us/graph/api/oauth2permissiongrant-post-oauth2permissiongrants */
  async createGrant(clientId: string, resourceId: string, scope: string): Promise<void> {
    await this.http.request('POST', '/v1.0/oauth2PermissionGrants', { body: { clientId, consentType: 'AllPrincipals', resourceId, scope }, parse: Id });
  }

  /** https://learn.microsoft.com/en-us/graph/api/oauth2permissiongrant-update */
  async updateGrantScope(id: string, scope: string): Promise<void> {
    await this.http.request('PATCH', `/v1.0/oauth2PermissionGrants/${encodeURIComponent(id)}`, { body: { scope }, idempotent: true });
  }

  /** https://learn.microsoft.com/en-us/graph/api/group-list ($filter on displayName eq) */
  async groupByName(name: string): Promise<string | undefined> {
    const groups = await this.list('/v1.0/groups', Id, { $filter: `displayName eq '${name.replace(/'/g, "''")}'`, $select: 'id,displayName' });
    return groups[0]?.id;
  }

  /** https://learn.microsoft.com/en-us/graph/api/group-list-members */
  async groupMemberIds(groupId: string): Promise<Set<string>> {
    const members = await this.list(`/v1.0/groups/${encodeURIComponent(groupId)}/members`, Id, { $select: 'id' });
    return new Set(members.map((m) => m.id.toLowerCase()));
  }

  /** https://learn.microsoft.com/en-us/graph/api/group-post-members: adding a member twice answers 400 "already exist", which is success here. */
  async addGroupMember(groupId: string, objectId: string, graphBaseForRef: string): Promise<void> {
    try {
      await this.http.request('POST', `/v1.0/groups/${encodeURIComponent(groupId)}/members/$ref`, {
        body: { '@odata.id': `${graphBaseForRef}/v1.0/directoryObjects/${objectId}` },
      });
    } catch (err) {
      if (!isAlreadyMember(err)) throw err;
    }
  }
}
