import type {
  AppRegistration, AppRoleAssignment, AppServicePrincipal, ConditionalAccessPolicy, CustomersPage, GdapRelationship, GroupRef, InvoicesPage,
  MfaRegistration, Organization, PartnerCenterProfile, PasswordCredential, PerUserMfaState, PermissionGrant, RoleAssignment,
  ServiceAccount, Unknown,
} from '../facts';

/**
 * Pure mappers from Graph's and Partner Center's wire shapes to the facts' types. Each takes the
 * parsed JSON body (`unknown`) and throws a TypeError on a shape it cannot read, which the
 * gatherer turns into an unknown fact: a surprising answer is never a pass.
 */

type Json = Record<string, unknown>;

function obj(v: unknown, what: string): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new TypeError(`${what} is not an object`);
  return v as Json;
}
function str(v: unknown, what: string): string {
  if (typeof v !== 'string') throw new TypeError(`${what} is not a string`);
  return v;
}
function optStr(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}
function list(v: unknown, what: string): unknown[] {
  if (!Array.isArray(v)) throw new TypeError(`${what} is not a list`);
  return v;
}
/** The `value` of a Graph collection body. */
export function collection(body: unknown): unknown[] {
  return list(obj(body, 'collection').value, 'value');
}

export function mapServiceAccount(body: unknown): ServiceAccount {
  const u = obj(body, 'user');
  if (typeof u.accountEnabled !== 'boolean') throw new TypeError('accountEnabled missing (not selected?)');
  return {
    id: str(u.id, 'id'), userPrincipalName: str(u.userPrincipalName, 'userPrincipalName'), accountEnabled: u.accountEnabled,
    passwordPolicies: optStr(u.passwordPolicies), userType: optStr(u.userType),
  };
}

export function mapGroup(v: unknown): GroupRef {
  const g = obj(v, 'group');
  return { id: str(g.id, 'id'), displayName: optStr(g.displayName) ?? '' };
}

export function mapRoleAssignment(v: unknown): RoleAssignment {
  const a = obj(v, 'role assignment');
  return {
    principalId: str(a.principalId, 'principalId'), roleDefinitionId: str(a.roleDefinitionId, 'roleDefinitionId'),
    directoryScopeId: optStr(a.directoryScopeId) ?? '/',
    ...(a.endDateTime !== undefined ? { endDateTime: optStr(a.endDateTime) } : {}),
  };
}

export function mapMfaRegistration(body: unknown): MfaRegistration {
  const r = obj(body, 'userRegistrationDetails');
  if (typeof r.isMfaRegistered !== 'boolean') throw new TypeError('isMfaRegistered missing');
  return { isMfaRegistered: r.isMfaRegistered, methodsRegistered: list(r.methodsRegistered ?? [], 'methodsRegistered').map((m) => str(m, 'method')) };
}

export function mapSecurityDefaults(body: unknown): boolean {
  const p = obj(body, 'identitySecurityDefaultsEnforcementPolicy');
  if (typeof p.isEnabled !== 'boolean') throw new TypeError('isEnabled missing');
  return p.isEnabled;
}

export function mapConditionalAccessPolicy(v: unknown): ConditionalAccessPolicy {
  const p = obj(v, 'conditional access policy');
  // The rules read these parts as Graph returns them; only the identifying fields are required.
  return {
    id: str(p.id, 'id'), displayName: optStr(p.displayName) ?? '', state: str(p.state, 'state'),
    conditions: obj(p.conditions ?? {}, 'conditions') as ConditionalAccessPolicy['conditions'],
    grantControls: (p.grantControls ?? null) as ConditionalAccessPolicy['grantControls'],
    sessionControls: (p.sessionControls ?? null) as ConditionalAccessPolicy['sessionControls'],
  };
}

export function mapPerUserMfa(body: unknown): PerUserMfaState {
  const state = str(obj(body, 'authentication requirements').perUserMfaState, 'perUserMfaState');
  if (state !== 'disabled' && state !== 'enabled' && state !== 'enforced') throw new TypeError(`perUserMfaState ${state}`);
  return state;
}

function mapPasswordCredential(v: unknown): PasswordCredential {
  const c = obj(v, 'passwordCredential');
  return { keyId: str(c.keyId, 'keyId'), hint: optStr(c.hint), displayName: optStr(c.displayName), endDateTime: optStr(c.endDateTime) };
}

/** `applications?$filter=appId eq '…'`: the first match, or null when the tenant has none. */
export function mapApplication(body: unknown): AppRegistration | null {
  const [first] = collection(body);
  if (first === undefined) return null;
  const a = obj(first, 'application');
  return {
    appId: str(a.appId, 'appId'), displayName: optStr(a.displayName) ?? '',
    requiredResourceAccess: list(a.requiredResourceAccess ?? [], 'requiredResourceAccess').map((r) => {
      const o = obj(r, 'requiredResourceAccess');
      return {
        resourceAppId: str(o.resourceAppId, 'resourceAppId'),
        resourceAccess: list(o.resourceAccess ?? [], 'resourceAccess').map((x) => {
          const ra = obj(x, 'resourceAccess');
          return { id: str(ra.id, 'id'), type: str(ra.type, 'type') };
        }),
      };
    }),
    passwordCredentials: list(a.passwordCredentials ?? [], 'passwordCredentials').map(mapPasswordCredential),
  };
}

/** `servicePrincipals?$filter=appId eq '…'`: the first match, or null. */
export function mapServicePrincipal(body: unknown): AppServicePrincipal | null {
  const [first] = collection(body);
  if (first === undefined) return null;
  const sp = obj(first, 'servicePrincipal');
  return {
    id: str(sp.id, 'id'), appId: str(sp.appId, 'appId'),
    ...(typeof sp.accountEnabled === 'boolean' ? { accountEnabled: sp.accountEnabled } : {}),
  };
}

export function mapAppRoleAssignment(v: unknown): AppRoleAssignment {
  const a = obj(v, 'appRoleAssignment');
  return { appRoleId: str(a.appRoleId, 'appRoleId'), resourceId: str(a.resourceId, 'resourceId') };
}

export function mapPermissionGrant(v: unknown): PermissionGrant {
  const g = obj(v, 'oAuth2PermissionGrant');
  return {
    clientId: str(g.clientId, 'clientId'), consentType: str(g.consentType, 'consentType'), principalId: optStr(g.principalId),
    resourceId: str(g.resourceId, 'resourceId'), scope: optStr(g.scope) ?? '',
  };
}

export function mapOrganization(body: unknown): Organization {
  const [first] = collection(body);
  const o = obj(first, 'organization');
  return {
    id: str(o.id, 'id'), displayName: optStr(o.displayName) ?? '',
    partnerTenantType: optStr(o.partnerTenantType), countryLetterCode: optStr(o.countryLetterCode),
  };
}

/** `passwordValidityPeriodInDays` of 2147483647 means never; unset (null) is Graph's default of 90 days. https://learn.microsoft.com/en-us/graph/api/resources/domain */
export const PASSWORD_NEVER_EXPIRES_DAYS = 2147483647;

export function mapDomainPasswordNeverExpires(body: unknown): boolean {
  const d = obj(body, 'domain');
  const days = d.passwordValidityPeriodInDays;
  if (days !== null && days !== undefined && typeof days !== 'number') throw new TypeError('passwordValidityPeriodInDays is not a number');
  return days === PASSWORD_NEVER_EXPIRES_DAYS;
}

function mapRoles(v: unknown): { roleDefinitionId: string }[] {
  const d = obj(v ?? {}, 'accessDetails');
  return list(d.unifiedRoles ?? [], 'unifiedRoles').map((r) => ({ roleDefinitionId: str(obj(r, 'unifiedRole').roleDefinitionId, 'roleDefinitionId') }));
}

/** A relationship without its access assignments (they come from a second call each). */
export function mapGdapRelationship(v: unknown): Omit<GdapRelationship, 'accessAssignments'> {
  const r = obj(v, 'delegatedAdminRelationship');
  const c = obj(r.customer ?? {}, 'customer');
  return {
    id: str(r.id, 'id'), displayName: optStr(r.displayName) ?? '', status: str(r.status, 'status'),
    customer: { tenantId: optStr(c.tenantId) ?? '', displayName: optStr(c.displayName) ?? '' },
    endDateTime: optStr(r.endDateTime), autoExtendDuration: optStr(r.autoExtendDuration),
    accessDetails: { unifiedRoles: mapRoles(r.accessDetails) },
  };
}

export function mapGdapAccessAssignment(v: unknown): GdapRelationship['accessAssignments'][number] {
  const a = obj(v, 'accessAssignment');
  const container = obj(a.accessContainer ?? {}, 'accessContainer');
  return {
    id: str(a.id, 'id'), status: str(a.status, 'status'),
    accessContainer: {
      accessContainerId: str(container.accessContainerId, 'accessContainerId'),
      ...(typeof container.accessContainerType === 'string' ? { accessContainerType: container.accessContainerType } : {}),
    },
    accessDetails: { unifiedRoles: mapRoles(a.accessDetails) },
  };
}

/** `GET /v1/profiles/organization`. */
export function mapPartnerCenterProfile(body: unknown): PartnerCenterProfile {
  const p = obj(body, 'organization profile');
  const address = typeof p.defaultAddress === 'object' && p.defaultAddress !== null ? (p.defaultAddress as Json) : {};
  return { companyName: optStr(p.companyName) ?? '', country: optStr(address.country) };
}

/** The first page of `GET /v1/customers?size=N`. */
export function mapCustomersPage(body: unknown): CustomersPage {
  const b = obj(body, 'customers page');
  const items = list(b.items, 'items');
  const links = typeof b.links === 'object' && b.links !== null ? (b.links as Json) : {};
  const next = typeof links.next === 'object' && links.next !== null ? (links.next as Json) : undefined;
  return { count: items.length, hasMore: typeof next?.uri === 'string' && next.uri !== '' };
}

/** The first page of `GET /v1/invoices?size=1&offset=0`: that it answered is what the check needs. */
export function mapInvoicesPage(body: unknown): InvoicesPage {
  const b = obj(body, 'invoices page');
  const items = list(b.items, 'items');
  return { count: items.length, totalCount: typeof b.totalCount === 'number' ? b.totalCount : null };
}

/** Graph error code of an item body (`{error: {code}}`). */
export function graphErrorCode(body: unknown): string | undefined {
  const e = typeof body === 'object' && body !== null ? (body as Json).error : undefined;
  const code = typeof e === 'object' && e !== null ? (e as Json).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

/**
 * A Graph refusal as an unknown fact: what Graph said, and what would let the bot see. Licence
 * gates (403 for reports and conditional access without P1, 400 for PIM without P2) name the
 * licence; any other 403 names the permission the item needs.
 */
export function refusedFact(status: number, body: unknown, permission: string): Unknown {
  const code = graphErrorCode(body);
  const said = `Graph answered ${status}${code ? ` ${code}` : ''}`;
  const licence = (name: string, short: string): Unknown => ({
    unknown: `${said} (needs ${short})`, needs: `Microsoft ${name}`, lasting: true,
    fix: `Check it yourself in the Microsoft Entra admin center: Microsoft shows it to the bot only on tenants with ${name}.`,
  });
  if (code === 'Authentication_RequestFromNonPremiumTenantOrB2CTenant') return licence('Entra ID P1 or P2', 'Entra ID P1/P2');
  if (code === 'AadPremiumLicenseRequired') return licence('Entra ID P2', 'Entra ID P2');
  if (status === 403 || status === 401) {
    // The checklist's permissions cover every read: a refusal means a grant is missing, not a permission to add.
    return {
      unknown: `${said} (not allowed to read it: ${permission} not granted)`, refused: true,
      fix: 'On the app\'s **API permissions** page, check every permission shows "Granted" (else select **Grant admin consent**), sign in again as the service account (type **start**), then re-run the checks.',
    };
  }
  return { unknown: said };
}
