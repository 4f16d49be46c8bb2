import { LINKS } from '../checks/microsoft';

/**
 * The preparation checklist (journey step 5): the seeds' manual steps, grouped, each with the
 * portal page where it is done. The partner ticks items as they go; the bot proves them later
 * (checks), so a tick is progress kept for the person, not evidence.
 */
export interface PrepItem {
  readonly id: string;
  readonly title: string;
  readonly detail: string;
  readonly link: string;
  readonly linkTitle: string;
}

export interface PrepGroup {
  readonly id: string;
  readonly title: string;
  readonly items: readonly PrepItem[];
}

export const PREPARATION: readonly PrepGroup[] = [
  {
    id: 'account',
    title: 'Service account',
    items: [
      { id: 'account.create', title: 'Create a dedicated service account', detail: 'A user in your partner tenant used only by this platform, e.g. onboarding@yourdomain.onmicrosoft.com. Once it is connected, don\'t change its roles or password: the connection breaks until it signs in again.', link: LINKS.user(), linkTitle: 'Users' },
      { id: 'account.globalAdmin', title: 'Make it a Global Administrator (active, not only eligible)', detail: 'Assign the Global Administrator role directly; a PIM-eligible assignment is not enough.', link: LINKS.userRoles(), linkTitle: 'Users → Assigned roles' },
      { id: 'account.passwordNeverExpires', title: 'Set its password to never expire', detail: 'On the account (Update-MgUser -PasswordPolicies DisablePasswordExpiration) or for the whole domain (password expiration policy: never). A password change would stop the connection until someone signs in again.', link: LINKS.passwordExpiration, linkTitle: 'Password expiration policy' },
      { id: 'account.mfa', title: 'Enforce MFA with a Microsoft method', detail: 'Security defaults or a Conditional Access policy; register Microsoft Authenticator. Partner Center accepts only Microsoft Entra MFA.', link: LINKS.securityDefaults, linkTitle: 'Security defaults' },
    ],
  },
  {
    id: 'partnerCenter',
    title: 'Partner Center',
    items: [
      { id: 'pc.roles', title: 'Give the account Global Admin, Admin Agent and Incentives Admin in Partner Center', detail: 'Partner Center → Settings → User management: Global Admin, Admin Agent, and Incentives Admin for the entire organization. Admin Agent adds it to the AdminAgents group. I check Global Administrator and AdminAgents through Microsoft Graph; only the Partner Center portal shows Incentives Admin, so please check that one there.', link: LINKS.partnerCenterUsers, linkTitle: 'User management' },
      { id: 'pc.adminAgents', title: 'Check the account is in the AdminAgents group', detail: 'Entra ID → Groups → AdminAgents → Members; add it if missing.', link: LINKS.groupMembers(), linkTitle: 'Groups' },
      { id: 'pc.webAppSecret', title: 'Create a Partner Center web app key valid for 2 years', detail: 'Partner Center → Settings → App management → Web app: copy the App ID, add a key with a validity of **2 years**, copy its value (no trailing spaces) and its expiry date.', link: LINKS.partnerCenterApps, linkTitle: 'App management' },
      { id: 'pc.billing', title: 'Check the account sees billing', detail: 'Sign in to Partner Center as the service account (a private window) and open Billing: invoices must show. If they don\'t, it needs Global Admin (or Billing admin). I check it too after the sign-in.', link: LINKS.partnerCenterUsers, linkTitle: 'User management' },
    ],
  },
  {
    id: 'app',
    title: 'Entra app registration',
    items: [
      { id: 'app.register', title: 'Register an app and add a client secret', detail: 'Copy the Application (client) ID and the secret’s **Value** (not its Secret ID).', link: LINKS.appRegistrations, linkTitle: 'App registrations' },
      { id: 'app.redirectUris', title: 'Add this bot’s redirect URIs to the app', detail: 'Authentication → Add a platform → Web, with the redirect URIs {publicBaseUrl}/auth/callback and {publicBaseUrl}/auth/adminconsent/callback: the sign-in and the admin consent come back there.', link: LINKS.appRegistrations, linkTitle: 'App registrations' },
      { id: 'app.permissions', title: 'Add the Microsoft Graph permissions', detail: 'Application: Directory.ReadWrite.All, Group.ReadWrite.All, RoleManagement.ReadWrite.Directory, User.ReadWrite.All. Delegated: User.Read.', link: LINKS.appApiPermissions(), linkTitle: 'API permissions' },
      { id: 'app.partnerCenterPermission', title: 'Add Partner Center’s user_impersonation permission', detail: 'API permissions → Add a permission → APIs my organization uses → **Microsoft Partner Center** → Delegated → **user_impersonation**. The service account consents to it when it signs in.', link: LINKS.appApiPermissions(), linkTitle: 'API permissions' },
      { id: 'app.adminConsent', title: 'Grant admin consent', detail: 'Select **Grant admin consent** on the API permissions page (or I can ask for it after sign-in).', link: LINKS.appApiPermissions(), linkTitle: 'API permissions' },
      { id: 'app.adminAgents', title: 'Add the app to the AdminAgents group', detail: 'Its service principal (enterprise application) becomes a member, so it can act for your customers.', link: LINKS.groupMembers(), linkTitle: 'Groups' },
    ],
  },
];

/** Item details name this bot's own address where the portal needs it. */
export function prepDetail(item: PrepItem, publicBaseUrl: string): string {
  return item.detail.replaceAll('{publicBaseUrl}', publicBaseUrl);
}

export const PREP_ITEM_IDS: ReadonlySet<string> = new Set(PREPARATION.flatMap((g) => g.items.map((i) => i.id)));
export const PREP_ITEM_COUNT = PREP_ITEM_IDS.size;

/** Only known item ids, each once, sorted: what a card toggle may store. */
export function cleanPrepItems(values: Iterable<unknown>): string[] {
  return [...new Set([...values].filter((v): v is string => typeof v === 'string' && PREP_ITEM_IDS.has(v)))].sort();
}
