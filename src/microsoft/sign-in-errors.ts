import { z } from 'zod';

/**
 * Errors as guidance: turns a failed sign-in, consent or Partner Center call into a short, typed
 * explanation the bot can show in chat — what happened, why, and the exact fix.
 *
 * Only numbers and fixed strings reach the output. Microsoft's `error_description` carries trace
 * and correlation ids, timestamps, user names and tenant ids, so it is read for its AADSTS number
 * and never echoed. Wording follows Microsoft's error code reference
 * (https://learn.microsoft.com/en-us/entra/identity-platform/reference-error-codes) and the pages
 * linked from each entry.
 */

/**
 * What trying again will do:
 * - `now`: a fresh sign-in can succeed right away;
 * - `after-fix`: something in a tenant, an app registration or an account has to change first;
 * - `wait`: nothing to change, try once more after a short wait;
 * - `never`: this attempt is spent (a used or foreign sign-in link); retrying it can't succeed.
 */
export type RetryAdvice = 'now' | 'after-fix' | 'wait' | 'never';

export interface SignInExplanation {
  /** `AADSTS<n>` for Entra ID, `PC<code>` (or `PC_HTTP_<status>`) for Partner Center, else our own kind. */
  code: string;
  title: string;
  /** What happened, in one or two sentences. */
  what: string;
  /** Why it usually happens. */
  why: string;
  /** What to do, as exactly as we can say it. */
  fix: string;
  /** A Microsoft page that helps with the fix. */
  link?: string;
  retry: RetryAdvice;
}

/** An Entra ID token-endpoint body or authorize/admin-consent redirect error (OAuth field names). */
export interface EntraErrorInput {
  source: 'entra';
  error?: string;
  error_description?: string;
  suberror?: string;
  error_codes?: readonly unknown[];
}

/** A failed Partner Center call: its HTTP status and body (parsed JSON, or the raw text). */
export interface PartnerCenterErrorInput {
  source: 'partner-center';
  status: number;
  body?: unknown;
}

export type StateProblem = 'state_replayed' | 'state_expired' | 'state_unknown' | 'state_other_user' | 'state_other_partner';

/** Failures our own consent callback and token checks detect. */
export type LocalFailureInput =
  | { source: 'local'; kind: 'consent_declined' }
  | { source: 'local'; kind: StateProblem }
  | {
      source: 'local';
      kind: 'wrong_account';
      /** The service account the partner named; shown back only when it is a plain UPN. */
      expectedAccount?: string;
      /** The account that actually signed in; shown only when it is a plain UPN. */
      signedInAccount?: string;
    }
  | { source: 'local'; kind: 'wrong_tenant' }
  | { source: 'local'; kind: 'mfa_missing' }
  /** Entra's redirect said consent was given, but the app's own token doesn't show the Graph grants. */
  | { source: 'local'; kind: 'admin_consent_not_found' }
  /** The grants couldn't be read just now (Entra ID or Graph unavailable): nothing recorded yet. */
  | { source: 'local'; kind: 'admin_consent_unconfirmed' }
  | { source: 'local'; kind: 'bad_client_secret'; reason?: 'looks_like_secret_id' | 'rejected' };

export type LocalFailureKind = LocalFailureInput['kind'];

export type SignInErrorInput = EntraErrorInput | PartnerCenterErrorInput | LocalFailureInput;

type Entry = Omit<SignInExplanation, 'code'>;

/** Pages the fixes point to (each checked to exist and to say what the fix relies on). */
export const DOC_LINKS = {
  errorCodes: 'https://learn.microsoft.com/en-us/entra/identity-platform/reference-error-codes',
  partnerCenterMfa: 'https://learn.microsoft.com/en-us/partner-center/security/partner-security-requirements-mandating-mfa',
  securityInfo: 'https://aka.ms/mysecurityinfo',
  sessionLifetime: 'https://learn.microsoft.com/en-us/entra/identity/conditional-access/concept-session-lifetime',
  refreshTokenLifetime: 'https://learn.microsoft.com/en-us/entra/identity-platform/refresh-tokens#token-lifetime',
  refreshTokenRevocation: 'https://learn.microsoft.com/en-us/entra/identity-platform/refresh-tokens#token-revocation',
  adminConsent: 'https://learn.microsoft.com/en-us/entra/identity/enterprise-apps/grant-admin-consent',
  apiPermissions: 'https://learn.microsoft.com/en-us/entra/identity-platform/quickstart-configure-app-access-web-apis',
  serviceProviderUsers: 'https://learn.microsoft.com/en-us/entra/identity/conditional-access/concept-conditional-access-users-groups#external-partner-access',
  conditionalAccessTroubleshooting: 'https://learn.microsoft.com/en-us/entra/identity/conditional-access/troubleshoot-conditional-access',
  clientSecrets: 'https://learn.microsoft.com/en-us/entra/identity-platform/how-to-add-credentials',
  partnerCenterRoles: 'https://learn.microsoft.com/en-us/partner-center/account-settings/permissions-overview',
} as const;

/** Microsoft Partner Center's first-party app id, whose service principal a partner tenant needs. */
const PARTNER_CENTER_APP_ID = 'fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd';

const SIGN_IN_AGAIN = 'Select **Sign in** again';
const SIGN_IN_AGAIN_LATER = 'select **Sign in** again';
const PRIVATE_WINDOW = 'A private (InPrivate or incognito) browser window stops the browser from picking an account that is already signed in.';

const MFA_NEEDED: Entry = {
  title: 'Multi-factor sign-in needed',
  what: 'Microsoft asked the service account for multi-factor authentication (MFA), and this sign-in didn’t include it.',
  why: 'Your tenant requires MFA for this account (security defaults, Conditional Access or per-user MFA), MFA was switched on after the account last signed in, or the sign-in came from a new location.',
  fix: `${SIGN_IN_AGAIN} with the service account and complete the MFA prompt. Partner Center only accepts Microsoft Entra MFA, so approve it with a Microsoft method such as Microsoft Authenticator.`,
  link: DOC_LINKS.partnerCenterMfa,
  retry: 'now',
};

const CONSENT_DECLINED: Entry = {
  title: 'Consent was declined',
  what: 'The consent request was declined, so the app didn’t get the permissions it needs.',
  why: '**Cancel** was selected on Microsoft’s permissions page, or the page was closed before **Accept**.',
  fix: `${SIGN_IN_AGAIN} as the service account, review the permissions and select **Accept**.`,
  retry: 'now',
};

const SERVICE_PRINCIPAL_MISSING: Entry = {
  title: 'A Microsoft service is missing in your tenant',
  what: 'The app asked for a Microsoft service (for example Partner Center) that has no service principal in the tenant you signed in to.',
  why: 'Either the sign-in went to the wrong tenant (a customer’s instead of your partner tenant), or the service was never added to your tenant.',
  fix:
    'First check that you signed in to your partner tenant. If you did, a Global Administrator adds the missing service principal — for Partner Center run ' +
    `\`New-MgServicePrincipal -AppId ${PARTNER_CENTER_APP_ID}\` in Microsoft Graph PowerShell — then ${SIGN_IN_AGAIN_LATER}.`,
  retry: 'after-fix',
};

const ENTRA: Readonly<Record<number, Entry>> = {
  50076: MFA_NEEDED,
  50079: {
    title: 'The service account must register MFA',
    what: 'The service account has to register a multi-factor authentication (MFA) method before it can sign in.',
    why: 'MFA is required for this account, but it has no method registered yet.',
    fix:
      'Sign in at https://aka.ms/mysecurityinfo as the service account and add Microsoft Authenticator (or another Microsoft method), ' +
      `then ${SIGN_IN_AGAIN_LATER}. A third-party MFA such as Duo through custom controls doesn’t count for Partner Center.`,
    link: DOC_LINKS.securityInfo,
    retry: 'after-fix',
  },
  50078: {
    title: 'The MFA sign-in has expired',
    what: 'The service account’s last multi-factor sign-in is older than your tenant allows, so Microsoft won’t renew the connection without a new one.',
    why: 'A policy in your tenant limits how long an MFA sign-in lasts, such as a Conditional Access sign-in frequency or “remember MFA on trusted devices” running out.',
    fix:
      `${SIGN_IN_AGAIN} with the service account and complete MFA. So it doesn’t break again, exclude the service account from sign-in frequency limits ` +
      '(Conditional Access session controls) and from “remember MFA on trusted devices”.',
    link: DOC_LINKS.sessionLifetime,
    retry: 'now',
  },
  70043: {
    title: 'A sign-in frequency policy ended the session',
    what: 'A Conditional Access sign-in frequency check ended the service account’s session, so I can no longer renew the connection.',
    why: 'A Conditional Access policy in your tenant demands a fresh sign-in after a set time, and it applies to the service account.',
    fix:
      `${SIGN_IN_AGAIN} with the service account now. So it doesn’t happen again, exclude the service account from the sign-in frequency ` +
      'session control in that Conditional Access policy.',
    link: DOC_LINKS.sessionLifetime,
    retry: 'now',
  },
  700082: {
    title: 'The connection expired after 90 days unused',
    what: 'The sign-in I keep for the service account expired because it wasn’t used for 90 days.',
    why: 'Microsoft ends refresh tokens that go unused for 90 days. I renew it regularly, so this usually means the connection was paused for a long time.',
    fix: `${SIGN_IN_AGAIN} with the service account to reconnect.`,
    link: DOC_LINKS.refreshTokenLifetime,
    retry: 'now',
  },
  // refresh-tokens#token-revocation: an admin reset in the Entra or M365 admin center revokes a
  // confidential client's refresh token; a user's own change, SSPR or an Azure portal reset doesn't.
  50173: {
    title: 'Access was revoked',
    what: 'Microsoft revoked the service account’s sign-in, so the connection stopped working.',
    why:
      'Someone revoked the account’s sessions, or an admin reset its password in the Microsoft Entra or Microsoft 365 admin center. ' +
      'A password change by the account itself, or a reset in the Azure portal, doesn’t end our connection.',
    fix: `${SIGN_IN_AGAIN} with the service account. If nobody expected this, check the account’s audit log in Entra first.`,
    link: DOC_LINKS.refreshTokenRevocation,
    retry: 'now',
  },
  // Not in the error code reference; Entra's message is "Device object was not found in the tenant directory".
  700003: {
    title: 'The device behind the sign-in is gone',
    what: 'Microsoft couldn’t find the device this sign-in was bound to in your directory, so the connection stopped working.',
    why: 'The device object was deleted or disabled in Entra after the service account signed in from it.',
    fix: `${SIGN_IN_AGAIN} with the service account to reconnect.`,
    retry: 'now',
  },
  50057: {
    title: 'The service account is disabled',
    what: 'The service account is disabled, so Microsoft won’t let it sign in.',
    why: 'An admin blocked sign-in for the account, or it was disabled in your on-premises directory.',
    fix: `An admin enables the account again (Entra admin center → Users → the account → **Account enabled**), then ${SIGN_IN_AGAIN_LATER}.`,
    retry: 'after-fix',
  },
  65001: {
    title: 'Consent is missing',
    what: 'Nobody has granted the app the permissions it asked for in your tenant, or the grant was removed.',
    why: 'An app only gets delegated or application permissions after a user or an administrator consents to them.',
    fix:
      'A Global Administrator selects **Grant consent** on the card and accepts, or opens the app registration in the Entra admin center → ' +
      '**API permissions** → **Grant admin consent**.',
    link: DOC_LINKS.adminConsent,
    retry: 'after-fix',
  },
  65004: CONSENT_DECLINED,
  // "The grant requires admin permission": a non-admin reached an admin-only consent.
  90094: {
    title: 'An administrator has to approve',
    what: 'The account that signed in isn’t allowed to grant these permissions for your organization.',
    why: 'Permissions such as the app’s Microsoft Graph application permissions can only be granted by a Global Administrator or a Privileged Role Administrator.',
    fix: `${SIGN_IN_AGAIN} with a Global Administrator of your partner tenant (the service account is one if you followed the checklist) and select **Accept**.`,
    link: DOC_LINKS.adminConsent,
    retry: 'after-fix',
  },
  // The reference still has the older wording ("hasn't subscribed to or enabled"); Entra now says the
  // tenant "lacks a service principal" for the service.
  650052: SERVICE_PRINCIPAL_MISSING,
  500011: SERVICE_PRINCIPAL_MISSING,
  // Not in the error code reference; Entra's message is "asked for scope '…' that doesn't exist on the resource".
  650053: {
    title: 'A requested permission doesn’t exist',
    what: 'The sign-in asked a Microsoft service for a permission that service doesn’t have.',
    why: 'The permission was asked of the wrong service or misspelled — a mistake in the request, not in your tenant.',
    fix: 'Type **support** so we can correct the request; signing in again won’t help until then.',
    retry: 'after-fix',
  },
  650057: {
    title: 'A permission isn’t on the app registration',
    what: 'The app asked for access to a service that isn’t listed in its app registration’s API permissions.',
    why: 'The app registration is missing a permission we need, or the app ID entered is a different app.',
    fix:
      'In the Entra admin center open the app registration → **API permissions** and add: Microsoft Graph application permissions Directory.ReadWrite.All, ' +
      'Group.ReadWrite.All, RoleManagement.ReadWrite.Directory and User.ReadWrite.All, delegated User.Read, and Microsoft Partner Center ' +
      `user_impersonation (delegated). Then select **Grant admin consent** and ${SIGN_IN_AGAIN_LATER}.`,
    link: DOC_LINKS.apiPermissions,
    retry: 'after-fix',
  },
  50020: {
    title: 'That account belongs to another tenant',
    what: 'The account that signed in isn’t from your partner tenant, so it can’t sign in there.',
    why: 'Browser single sign-on often picks an account that is already signed in, such as a customer’s admin or a personal account.',
    fix: `${SIGN_IN_AGAIN} and choose the service account of your partner tenant. ${PRIVATE_WINDOW}`,
    retry: 'now',
  },
  53003: {
    title: 'Blocked by Conditional Access',
    what: 'A Conditional Access policy blocked the sign-in.',
    why:
      'In a customer’s tenant, a policy aimed at guests or external users often blocks partner staff too. ' +
      'In your own tenant, a policy is blocking the service account (for example by location or device).',
    fix:
      'If it’s a customer’s tenant, their admin excludes **Service provider users** for your partner tenant from that policy ' +
      '(Users → Exclude → Guest or external users). If it’s your tenant, find this sign-in in the Entra sign-in logs, see which policy applied, ' +
      'and exclude the service account or meet its conditions.',
    link: DOC_LINKS.serviceProviderUsers,
    retry: 'after-fix',
  },
  530032: {
    title: 'Blocked by a security policy',
    what: 'A security policy of the tenant blocked this sign-in.',
    why: 'The tenant’s admin has set a tenant-wide security policy that refuses requests like this one.',
    fix:
      'An admin finds this sign-in in the Entra admin center (**Monitoring & health** → **Sign-in logs**), reads which policy blocked it, ' +
      `and changes the policy or the way the service account signs in. Then ${SIGN_IN_AGAIN_LATER}.`,
    link: DOC_LINKS.conditionalAccessTroubleshooting,
    retry: 'after-fix',
  },
  // Entra's own message says to send "the client secret value, not the client secret ID". Replication
  // delay for a brand-new secret is our experience (and the simulator's), not documented.
  7000215: {
    title: 'The client secret was rejected',
    what: 'Microsoft rejected the app’s client secret.',
    why:
      'Most often the secret’s **Secret ID** was pasted instead of its **Value**, or part of it was lost when copying. ' +
      'A secret created a moment ago may also not be active everywhere yet.',
    fix:
      'If you created the secret in the last few minutes, wait a minute and I’ll try once more. Otherwise open the app registration → ' +
      '**Certificates & secrets**, create a new client secret, copy its **Value** (shown only once) and enter it again.',
    link: DOC_LINKS.clientSecrets,
    retry: 'wait',
  },
  7000222: {
    title: 'The client secret has expired',
    what: 'The app’s client secret has expired.',
    why: 'Every client secret has an end date, and this one has passed.',
    fix:
      'Open the app registration → **Certificates & secrets**, create a new client secret, copy its **Value** and enter it again. ' +
      'I’ll warn you before the new one expires.',
    link: DOC_LINKS.clientSecrets,
    retry: 'after-fix',
  },
  700016: {
    title: 'The app wasn’t found in your tenant',
    what: 'Microsoft couldn’t find an app with the application (client) ID you entered in that tenant.',
    why: 'The ID has a typo, is another value from the portal (such as the object ID), or the app is registered in a different tenant.',
    fix: 'Copy the **Application (client) ID** from the app registration’s **Overview** page in your partner tenant and enter it again.',
    retry: 'after-fix',
  },
  90002: {
    title: 'Tenant not found',
    what: 'Microsoft couldn’t find the tenant you entered.',
    why: 'The tenant ID or domain has a typo, or the domain isn’t verified in any tenant.',
    fix: 'Copy the **Tenant ID** from the Entra admin center’s **Overview** page and enter it again.',
    retry: 'after-fix',
  },
};

/** The AADSTS codes with specific advice (the rest get a generic answer naming the code). */
export const EXPLAINED_AADSTS_CODES: readonly number[] = Object.keys(ENTRA).map(Number);

/**
 * Partner Center's 2032 is a plain 403 "Access denied" in its error-code table
 * (https://learn.microsoft.com/en-us/partner-center/developer/error-codes), as is a 403 with no
 * code: a role or permission refusal, not proof of a customer tenant. The roles are the seeds'
 * (Global Admin, Admin Agent, Incentives Admin).
 */
const PARTNER_CENTER_ACCESS_DENIED: Entry = {
  title: 'Partner Center refused access',
  what: 'Partner Center accepted the service account’s sign-in but refused it access.',
  why: 'The account is missing a Partner Center role the connection needs, or the tenant it signed in to isn’t the one your Partner Center account belongs to.',
  fix:
    'In Partner Center, open **Account settings** → **User management**, find the service account and give it **Global Admin**, **Admin Agent** ' +
    '(membership of the AdminAgents group in Entra) and **Incentives Admin**. Check it is the tenant you sign in to Partner Center with. ' +
    `Partner Center can take up to an hour to see a change; then ${SIGN_IN_AGAIN_LATER}.`,
  link: DOC_LINKS.partnerCenterRoles,
  retry: 'after-fix',
};

const PARTNER_CENTER: Readonly<Record<string, Entry>> = {
  2032: PARTNER_CENTER_ACCESS_DENIED,
  900421: {
    title: 'Partner Center needs MFA',
    what: 'Partner Center refused the service account’s sign-in because it carries no multi-factor authentication (MFA).',
    why:
      'Partner Center requires MFA on every app + user call, proven by Microsoft Entra. A third-party MFA (such as Duo through custom controls) ' +
      'or a trusted location that skips MFA doesn’t count.',
    fix:
      'Make Microsoft Entra MFA required for the service account (security defaults, or a Conditional Access policy requiring MFA with no trusted-location exception), ' +
      `then ${SIGN_IN_AGAIN_LATER} and complete MFA.`,
    link: DOC_LINKS.partnerCenterMfa,
    retry: 'after-fix',
  },
  // "The supplied role does not have the rights to perform the requested operation".
  900150: {
    title: 'The service account has no Partner Center role',
    what: 'Partner Center accepted the service account’s sign-in but refused the request: the account has no role in Partner Center that allows it.',
    why: 'Partner Center roles come from the Admin Agents, Sales Agents and Helpdesk Agents groups of your partner tenant (or Global Administrator); the service account is in none of them.',
    fix: `Add the service account to the **AdminAgents** group of your partner tenant (Entra admin center → Groups). Partner Center can take up to an hour to see the change; then ${SIGN_IN_AGAIN_LATER}.`,
    link: DOC_LINKS.partnerCenterRoles,
    retry: 'after-fix',
  },
};

const STATE: Readonly<Record<StateProblem, Entry>> = {
  state_expired: {
    title: 'That sign-in link has expired',
    what: 'That sign-in link has expired, so nothing changed.',
    why: 'Sign-in links only work for a short time after the card is shown.',
    fix: 'Select **Sign in** on the latest card to get a fresh link.',
    retry: 'now',
  },
  state_unknown: {
    title: 'I don’t recognise that sign-in',
    what: 'I couldn’t match that sign-in to one I started, so I ignored it and nothing changed.',
    why: 'The link was changed, or it belongs to a card that was replaced.',
    fix: 'Select **Sign in** on the latest card.',
    retry: 'now',
  },
  state_replayed: {
    title: 'That sign-in link was already used',
    what: 'That sign-in link was already used, so I ignored it and nothing changed.',
    why: 'Each sign-in link works once, so an old browser tab or a reloaded page can’t sign in a second time.',
    fix: 'If you aren’t connected yet, select **Sign in** on the latest card.',
    retry: 'never',
  },
  state_other_user: {
    title: 'That sign-in link belongs to someone else',
    what: 'That sign-in link was started by another person in your organization’s onboarding, so I ignored it and nothing changed.',
    why: 'A sign-in link only works for the person who selected **Sign in**, while they run the onboarding.',
    fix: 'Select **Sign in** on your own latest card.',
    retry: 'never',
  },
  state_other_partner: {
    title: 'That sign-in link is for other details',
    what: 'That sign-in link was made for a partner tenant, app or service account that is no longer the one in your onboarding, so I ignored it and nothing changed.',
    why: 'The tenant, the app or the service account was changed after the link was made, or the link belongs to another organization’s onboarding.',
    fix: 'Select **Sign in** on the latest card: it uses the details you entered last.',
    retry: 'never',
  },
};

const WRONG_TENANT: Entry = {
  title: 'Signed in to the wrong tenant',
  what: 'The sign-in happened in a different tenant than your partner tenant, for example a customer’s.',
  why: 'Onboarding connects your partner tenant, where Partner Center and your service account live.',
  fix: `${SIGN_IN_AGAIN} with the service account of your partner tenant. ${PRIVATE_WINDOW}`,
  retry: 'now',
};

const MFA_MISSING: Entry = {
  title: 'Signed in without MFA',
  what: 'The service account signed in without multi-factor authentication (MFA), and Partner Center won’t accept that.',
  why:
    'MFA wasn’t required for this sign-in (for example a trusted location skips it), or it was done with a third-party MFA such as Duo ' +
    'through custom controls, which Microsoft doesn’t report as MFA.',
  fix:
    'Make Microsoft Entra MFA required for the service account (security defaults, or a Conditional Access policy requiring MFA with no trusted-location exception), ' +
    `then ${SIGN_IN_AGAIN_LATER} and complete MFA.`,
  link: DOC_LINKS.partnerCenterMfa,
  retry: 'after-fix',
};

const ADMIN_CONSENT_NOT_FOUND: Entry = {
  title: 'Admin consent isn’t in place yet',
  what: 'Microsoft’s page came back saying consent was given, but your app doesn’t hold all the Microsoft Graph permissions it asks for, so I haven’t recorded the consent.',
  why: 'The consent page wasn’t completed, it was given for another app or tenant, or the permissions were removed again. A consent given a moment ago can also take a minute to show.',
  fix:
    'Select **Grant consent** in the chat again, sign in as a Global Administrator of your partner tenant and select **Accept**. ' +
    'You can also open the app registration → **API permissions** → **Grant admin consent**, then select **Grant consent** in the chat so I can check it.',
  link: DOC_LINKS.adminConsent,
  retry: 'after-fix',
};

const ADMIN_CONSENT_UNCONFIRMED: Entry = {
  title: 'I couldn’t check the admin consent',
  what: 'Microsoft’s page came back saying consent was given, but I couldn’t reach Microsoft to check that your app now holds its permissions, so I haven’t recorded it yet.',
  why: 'Microsoft’s sign-in service or Microsoft Graph was briefly unavailable.',
  fix: 'Wait a minute, then select **Grant consent** in the chat again.',
  retry: 'wait',
};

const SECRET_ID_PASTED: Entry = {
  title: 'That looks like the secret’s ID',
  what: 'What you entered looks like the client secret’s **Secret ID**, not its **Value**.',
  why: 'The portal shows both side by side, and only the **Value** signs the app in.',
  fix:
    'Open the app registration → **Certificates & secrets** and copy the **Value** column. It’s shown only right after the secret is created; ' +
    'if it’s hidden now, create a new secret and copy its value.',
  link: DOC_LINKS.clientSecrets,
  retry: 'after-fix',
};

const OAUTH_ERROR = /^[a-z_]{1,64}$/;
const AADSTS_IN_TEXT = /AADSTS(\d{1,9})(?!\d)/g;
const DIGITS = /^\d{1,9}$/;
const NAMED_CODE = /^[A-Za-z][A-Za-z0-9_]{0,39}$/;
// A plain UPN: no spaces, markdown or markup characters, so it can be shown in code formatting.
const PLAIN_UPN = /^[A-Za-z0-9._%+'-]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$/;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TRANSIENT_OAUTH = new Set(['temporarily_unavailable', 'server_error']);
const MAX_BODY_TEXT = 64 * 1024;

/** The one entry point: any failure at hand → a chat-safe explanation. */
export function explainSignInError(input: SignInErrorInput): SignInExplanation {
  switch (input.source) {
    case 'entra':
      return explainEntra(input);
    case 'partner-center':
      return explainPartnerCenter(input);
    case 'local':
      return explainLocal(input);
  }
}

/** The AADSTS numbers in an Entra error: the description's first, then `error_codes`, without repeats. */
export function aadstsCodes(input: Pick<EntraErrorInput, 'error_description' | 'error_codes'>): number[] {
  const found: number[] = [];
  if (typeof input.error_description === 'string') {
    for (const m of input.error_description.matchAll(AADSTS_IN_TEXT)) found.push(Number(m[1]));
  }
  if (Array.isArray(input.error_codes)) {
    for (const c of input.error_codes) {
      const n = toCodeNumber(c);
      if (n !== undefined) found.push(n);
    }
  }
  return [...new Set(found)];
}

/** Whether a pasted "secret" is really the secret's ID (a GUID); real secret values are not GUIDs. */
export function looksLikeSecretId(value: string): boolean {
  return GUID.test(value.trim());
}

/** Reads an Entra authorize or admin-consent redirect; undefined when it carries no `error`. */
export function entraErrorFromQuery(params: URLSearchParams): EntraErrorInput | undefined {
  const error = params.get('error');
  if (error === null) return undefined;
  return {
    source: 'entra',
    error,
    error_description: params.get('error_description') ?? undefined,
    suberror: params.get('suberror') ?? undefined,
  };
}

const TokenErrorBody = z.object({
  error: z.string().optional(),
  error_description: z.string().optional(),
  suberror: z.string().optional(),
  error_codes: z.array(z.unknown()).optional(),
});

/** Reads an Entra token-endpoint error body (parsed JSON); undefined when it isn't one. */
export function entraErrorFromBody(body: unknown): EntraErrorInput | undefined {
  const parsed = TokenErrorBody.safeParse(body);
  if (!parsed.success || (parsed.data.error === undefined && parsed.data.error_codes === undefined)) return undefined;
  return { source: 'entra', ...parsed.data };
}

const MsalErrorShape = z.object({
  errorCode: z.string().optional(),
  errorMessage: z.string().optional(),
  subError: z.string().optional(),
  errorNo: z.union([z.string(), z.number()]).optional(),
});

/**
 * Reads an msal-node error (ServerError, InteractionRequiredAuthError): `errorCode` is the OAuth
 * `error`, `errorMessage` holds the description, `errorNo` the first of `error_codes`.
 */
export function entraErrorFromMsal(err: unknown): EntraErrorInput | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const parsed = MsalErrorShape.safeParse(err);
  if (!parsed.success || !parsed.data.errorCode) return undefined;
  const { errorCode, errorMessage, subError, errorNo } = parsed.data;
  return {
    source: 'entra',
    error: errorCode,
    error_description: errorMessage,
    suberror: subError || undefined,
    error_codes: errorNo === undefined || errorNo === '' ? undefined : [errorNo],
  };
}

/** The explanation as one chat message, in the bot's "what happened / what to do" shape. */
export function toChatText(e: SignInExplanation): string {
  const more = e.link ? `\n\nMore: ${e.link}` : '';
  return `**${e.title}**\n\n${e.what} ${e.why}\n\n**What to do:** ${e.fix}${more}`;
}

function explainEntra(input: EntraErrorInput): SignInExplanation {
  const codes = aadstsCodes(input);
  const known = codes.find((c) => ENTRA[c] !== undefined);
  if (known !== undefined) return { code: `AADSTS${known}`, ...ENTRA[known]! };

  const error = typeof input.error === 'string' && OAUTH_ERROR.test(input.error) ? input.error : undefined;
  const first = codes[0];
  if (first !== undefined) {
    return {
      code: `AADSTS${first}`,
      title: `Sign-in failed (AADSTS${first})`,
      what: `Microsoft refused the sign-in with error AADSTS${first}, which I have no specific advice for.`,
      why: 'Microsoft’s error code reference describes what the code means and how to fix it.',
      fix: `${SIGN_IN_AGAIN}. If it fails the same way, look the code up in Microsoft’s reference, or type **support** and mention AADSTS${first}.`,
      link: DOC_LINKS.errorCodes,
      retry: error && TRANSIENT_OAUTH.has(error) ? 'wait' : 'after-fix',
    };
  }
  // No number: the suberror or the OAuth error still says something.
  const suberror = typeof input.suberror === 'string' ? input.suberror : undefined;
  if (suberror === 'basic_action') return { code: 'AADSTS50076', ...MFA_NEEDED };
  if (suberror === 'consent_required') return { code: 'AADSTS65001', ...ENTRA[65001]! };
  if (error === 'access_denied') return { code: 'consent_declined', ...CONSENT_DECLINED };
  const transient = error !== undefined && TRANSIENT_OAUTH.has(error);
  return {
    code: error ? `entra_${error}` : 'entra_unknown',
    title: 'Sign-in failed',
    what: `Microsoft refused the sign-in${error ? ` (${error})` : ''} without saying which error it was.`,
    why: transient ? 'Microsoft’s sign-in service was briefly unavailable.' : 'Microsoft didn’t send an error code I could read.',
    fix: transient
      ? 'Wait a minute, then select **Sign in** again.'
      : `${SIGN_IN_AGAIN}. If it fails the same way, type **support** and we’ll look at it with you.`,
    retry: transient ? 'wait' : 'after-fix',
  };
}

const PartnerCenterBody = z.object({
  code: z.union([z.number(), z.string()]).optional(),
  statusCode: z.number().optional(),
  error: z.object({ code: z.union([z.number(), z.string()]).optional() }).optional(),
});

/** Partner Center's error code from its body: `{"code": 900421}`, `{"code": "900421"}` or `{"error": {"code": …}}`. */
export function partnerCenterCode(body: unknown): string | undefined {
  let value = body;
  if (typeof value === 'string') {
    if (value.length > MAX_BODY_TEXT) return undefined;
    try {
      value = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  const parsed = PartnerCenterBody.safeParse(value);
  if (!parsed.success) return undefined;
  return normaliseCode(parsed.data.code) ?? normaliseCode(parsed.data.error?.code);
}

function explainPartnerCenter(input: PartnerCenterErrorInput): SignInExplanation {
  const status = Number.isInteger(input.status) && input.status >= 100 && input.status <= 599 ? input.status : undefined;
  const code = partnerCenterCode(input.body);
  const entry = code === undefined ? undefined : PARTNER_CENTER[code];
  if (code !== undefined && entry) return { code: `PC${code}`, ...entry };
  if (code === undefined && status === 403) return { code: 'PC_HTTP_403', ...PARTNER_CENTER_ACCESS_DENIED };

  const busy = status === 429 || (status !== undefined && status >= 500);
  const refused = status === 401 || status === 403;
  const label = code !== undefined ? `code ${code}` : status !== undefined ? `HTTP ${status}` : 'no code';
  return {
    code: code !== undefined ? `PC${code}` : `PC_HTTP_${status ?? 'unknown'}`,
    title: `Partner Center refused the request (${label})`,
    what: `Partner Center answered with ${label}${code !== undefined && status !== undefined ? ` (HTTP ${status})` : ''}, which I have no specific advice for.`,
    why: busy
      ? 'Partner Center is busy or briefly unavailable.'
      : refused
        ? 'Partner Center didn’t accept the service account or the app for this call.'
        : 'Partner Center couldn’t complete the request.',
    fix: busy
      ? 'Nothing to change: I’ll try again after a short wait.'
      : `Type **support** and mention Partner Center ${label}; we’ll look at it with you.`,
    retry: busy ? 'wait' : 'after-fix',
  };
}

function explainLocal(input: LocalFailureInput): SignInExplanation {
  switch (input.kind) {
    case 'consent_declined':
      return { code: input.kind, ...CONSENT_DECLINED };
    case 'state_expired':
    case 'state_unknown':
    case 'state_replayed':
    case 'state_other_user':
    case 'state_other_partner':
      return { code: input.kind, ...STATE[input.kind] };
    case 'wrong_tenant':
      return { code: input.kind, ...WRONG_TENANT };
    case 'mfa_missing':
      return { code: input.kind, ...MFA_MISSING };
    case 'admin_consent_not_found':
      return { code: input.kind, ...ADMIN_CONSENT_NOT_FOUND };
    case 'admin_consent_unconfirmed':
      return { code: input.kind, ...ADMIN_CONSENT_UNCONFIRMED };
    case 'wrong_account':
      return wrongAccount(input.expectedAccount, input.signedInAccount);
    case 'bad_client_secret':
      return input.reason === 'looks_like_secret_id'
        ? { code: input.kind, ...SECRET_ID_PASTED }
        : { code: input.kind, ...ENTRA[7000215]! };
  }
}

function wrongAccount(expectedAccount: string | undefined, signedInAccount: string | undefined): SignInExplanation {
  const expected = plainUpn(expectedAccount);
  const actual = plainUpn(signedInAccount);
  const who = actual ? `as \`${actual}\`` : 'with a different account';
  const target = expected ? `the service account \`${expected}\`` : 'the service account you named';
  return {
    code: 'wrong_account',
    title: 'A different account signed in',
    what: `You signed in ${who}, but I need ${target}.`,
    why: 'Browser single sign-on often picks the account you are already signed in with.',
    fix: `${SIGN_IN_AGAIN} and choose ${target}. ${PRIVATE_WINDOW}`,
    retry: 'now',
  };
}

function plainUpn(value: string | undefined): string | undefined {
  if (typeof value !== 'string') return undefined;
  const v = value.trim();
  return PLAIN_UPN.test(v) ? v : undefined;
}

function toCodeNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value > 0 && value < 1e9 ? value : undefined;
  if (typeof value === 'string' && DIGITS.test(value.trim())) return Number(value.trim());
  return undefined;
}

function normaliseCode(value: unknown): string | undefined {
  const n = toCodeNumber(value);
  if (n !== undefined) return String(n);
  if (typeof value === 'string' && NAMED_CODE.test(value.trim())) return value.trim();
  return undefined;
}
