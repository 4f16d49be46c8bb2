import type { SignInExplanation } from '../microsoft/sign-in-errors';

/** What the setup says in chat and on its pages: the partner's words, never Graph's. */
export const SetupMessages = {
  started: 'Thanks: the sign-in showed an administrator of your partner tenant. I’m setting up your Entra app now; the card below ticks each step over as it is done.',
  alreadyRunning: 'The setup is already running: its card in the chat shows each step.',
  running: 'The setup is still running: its card above ticks each step over. I’ll carry on by myself when it is done.',
  waiting: (what: string) => `Microsoft hasn’t finished replicating ${what} yet (new objects can take a minute to reach every part of Microsoft’s directory). I’m waiting and trying again; nothing is done twice.`,
  secretCapped: (days: number, until: string) =>
    `Your tenant’s app management policy doesn’t allow a client secret valid for 2 years, so I created one valid for ${days} days (until ${until}). It is in the encrypted vault; I’ll warn you before it expires.`,
  done: (until: string) =>
    `Your Entra app is set up: registered with its permissions and redirect addresses, admin consent granted, the app and the service account in AdminAgents, and a client secret (valid until ${until}) proven with Microsoft and kept in the vault: nobody has to copy it.`,
  partnerCenterOptional:
    'A Partner Center web app key is optional on this path: without one, the customer sync reads your customers with the service account’s sign-in. You can add one any time with **update credentials**.',
  interrupted: (step: string) =>
    `The setup stopped at “${step}” because the bot restarted. The administrator’s sign-in is never kept, so I need it once more: select **Try again from here** and I’ll go on from that step (nothing is done twice).`,
  repairInterrupted: (step: string) =>
    `The repair of your app stopped at “${step}” because the bot restarted. The administrator’s sign-in is never kept, so I need it once more: select **Try again from here**, a Global Administrator signs in, and I’ll go on from that step (nothing is done twice).`,
  accountSaved: (upn: string) => `The service account will be **${upn}**. Now a Global Administrator of your partner tenant signs in, once, so I can make the changes.`,
  switchedToManual: 'Fine: you’ll set up the app yourself. The card below takes its details.',
  cannotSwitch: 'The setup has started, so I’ll finish it: the app it makes is in your tenant already. If you’d rather enter another app later, type **update credentials**.',
  notOffered: 'Setting the app up for you isn’t available on this installation: please set it up yourself with the checklist.',
  rotateNotOurs: 'I didn’t create your Entra app, so I can’t replace its secret for you. Create a new client secret in the Entra admin center and enter it with **update credentials**: the old one keeps working until you do.',
  rotateStarted: 'Thanks: the sign-in showed an administrator of your partner tenant. I’m replacing the app’s client secret now; your connection keeps working with the old one until the new one is proven.',
  rotateBusy: 'The secret is already being replaced: its card in the chat shows each step.',
  rotated: (until: string) =>
    `Your app’s client secret is replaced: the new one is valid until ${until}, proven with Microsoft and kept in the vault (nobody saw it), and the old one is removed. Your connection kept working throughout. I’ll warn you again before the new one expires.`,
  repairNotOurs: 'I didn’t create your Entra app, so I don’t repair it for you: each failing check on the card says what to change, and where.',
  repaired: (items: readonly string[]) => items.length === 0
    ? 'Your app needed no repair: everything the setup made was in place. The checks below are fresh.'
    : `Your app is repaired: ${items.join('; ')}. Everything else was in place and left as it was. The checks below are fresh.`,
  repairFailed: 'Nothing was changed. You can try again with **Fix it for me** on the checks card (or type **fix it for me**).',
  rotateFailedKeptOld: 'Nothing changed for your connection: the old secret is still in use and still works. You can try again with **Rotate it for me** on the expiry notice (or type **rotate for me**).',
};

/** A refusal of the setup sign-in or run in the sign-in guide's shape (toChatText renders it). */
function refusal(code: string, title: string, what: string, why: string, fix: string, retry: SignInExplanation['retry'] = 'after-fix', link?: string): SignInExplanation {
  return { code, title, what, why, fix, retry, ...(link ? { link } : {}) };
}

const ROLES = 'https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/permissions-reference';

export const SetupRefusals = {
  notAdmin: refusal('setup_not_admin', 'That account is not an administrator of your tenant',
    'The account that signed in holds neither the Global Administrator role nor both Privileged Role Administrator and Application Administrator in your partner tenant, so I changed nothing.',
    'Creating the app, granting admin consent and adding AdminAgents members need one of those roles, active (a role that is only eligible in Privileged Identity Management doesn’t count until it is activated).',
    'Ask a Global Administrator of your partner tenant to sign in (or activate your role first), then select **Try again from here**.', 'after-fix', ROLES),
  wrongTenant: refusal('setup_wrong_tenant', 'That sign-in was for another tenant',
    'The account that signed in belongs to another Microsoft tenant than the one this chat is in, so I changed nothing.',
    'A browser often signs in with an account it remembers, from another organization.',
    'Sign in with an administrator of your partner tenant (a private browser window avoids a remembered account), then select **Try again from here**.'),
  rolesUnavailable: refusal('setup_roles_unavailable', 'I couldn’t read the account’s roles',
    'Microsoft didn’t tell me which roles the signed-in account holds, so I changed nothing.',
    'Microsoft Graph was briefly unavailable.', 'Wait a minute, then select **Try again from here**.', 'wait'),
  accountMissing: (upn: string) => refusal('setup_account_missing', 'The service account doesn’t exist',
    `Your partner tenant has no user ${upn}, so I stopped before changing anything for it.`,
    'The address may be mistyped, or the account not created yet.',
    'Create the account in Entra ID (Users → New user), or enter another one, then select **Try again from here**.'),
  accountGuest: (upn: string) => refusal('setup_account_guest', 'The service account is a guest',
    `${upn} is a guest in your partner tenant. A guest can’t act for your customers in Partner Center.`,
    'The service account must be a member (a user created in your partner tenant), never a guest from another organization.',
    'Create a member account for the platform, enter it, then select **Try again from here**.'),
  accountDisabled: (upn: string) => refusal('setup_account_disabled', 'The service account is disabled',
    `${upn} is blocked from signing in.`, 'A disabled account can’t sign in for the platform.',
    'Allow it to sign in (Entra ID → Users → the account → Edit properties → Account enabled), then select **Try again from here**.'),
  noAdminAgents: refusal('setup_no_adminagents', 'Your tenant has no AdminAgents group',
    'I found no group named AdminAgents in your partner tenant.',
    'Partner Center creates AdminAgents in a CSP partner’s tenant; without it this is not the tenant of your Partner Center account.',
    'Check that Teams runs in the tenant of your Partner Center account (Partner Center → Settings → Account settings → Organization profile), then select **Try again from here**.'),
  adminAgentsDenied: refusal('setup_adminagents_denied', 'Microsoft refused to add AdminAgents members',
    'The account that signed in may create apps and grant consent, but not change the AdminAgents group.',
    'Adding members to AdminAgents needs Global Administrator (or Groups Administrator or User Administrator).',
    'Ask a Global Administrator to sign in, then select **Try again from here**: I go on from this step.', 'after-fix', ROLES),
  slowReplication: refusal('setup_replication_slow', 'Microsoft is slower than usual today',
    'Microsoft hasn’t finished replicating the new app (or its secret) after several minutes of waiting, so I stopped where I was.',
    'Directory changes usually reach every part of Microsoft within a minute; now and then it takes much longer.',
    'Wait a few minutes, then select **Try again from here**: I go on from this step and nothing is done twice.', 'wait'),
  rotateAppGone: refusal('setup_rotate_app_gone', 'Your Entra app wasn’t found',
    'The app the connection uses is no longer in your partner tenant (or the account that signed in can’t see it), so I changed nothing.',
    'It may have been deleted in the Entra admin center.',
    'If it was deleted, restore it under Deleted applications; otherwise type **support**: the support team can help connect a new one.'),
  secretUnproven: refusal('setup_secret_unproven', 'Microsoft didn’t accept the new secret',
    'The client secret I created was refused by Microsoft’s sign-in service.',
    'A policy of your tenant may restrict the app, or Microsoft is still replicating it.',
    'Select **Try again from here** in a few minutes; if it happens again, type **support**.'),
};

/** The administrator declined the setup app's permissions on Microsoft's consent page. */
export const SETUP_DECLINED = refusal('setup_declined', 'The permissions were declined',
  'Microsoft came back without the permissions the setup asks for: they were declined on Microsoft’s page, or the account that signed in may not grant them (Microsoft then shows “Need admin approval”). I changed nothing in your tenant.',
  'Only a Global Administrator can grant these permissions. The setup needs them once, for this run only: the sign-in is not kept.',
  'Select **Try again from here**, sign in as a Global Administrator and accept the permissions; or choose **I’ll do it myself** to set the app up by hand.', 'now');
