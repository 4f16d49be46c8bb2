import { isMicrosoftHttpError } from './http-errors';
import type { SignInExplanation } from './sign-in-errors';

/**
 * The sign-in error guide's companion for Graph's *write* errors (the setup run: creating the
 * app, its secret, consent and group memberships with a Global Administrator's delegated token).
 * Only the status and Graph's `error.code` are read; Graph's message is never echoed.
 * Codes: https://learn.microsoft.com/en-us/graph/errors and each write's own page.
 */

const ROLES_LINK = 'https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/permissions-reference';
const POLICY_LINK = 'https://learn.microsoft.com/en-us/graph/api/resources/tenantappmanagementpolicy';

export type GraphWriteStep = 'app' | 'servicePrincipal' | 'resources' | 'secret' | 'consent' | 'adminAgents' | 'account' | 'prove' | 'preflight' | 'other';

/** Graph refused a write because of who signed in, or the tenant's rules: what to tell the partner. */
export function explainGraphWriteError(err: unknown, step: GraphWriteStep): SignInExplanation {
  if (!isMicrosoftHttpError(err)) return unavailable();
  const code = typeof err.code === 'string' ? err.code : undefined;
  if (err.failure !== 'status' || err.status === undefined || err.status >= 500 || err.status === 429) return unavailable();
  if (code === 'Authorization_RequestDenied' || err.status === 403) {
    return {
      code: 'setup_denied', retry: 'after-fix', link: ROLES_LINK,
      title: 'Microsoft refused a change in your tenant',
      what: `Microsoft refused to let the account that signed in ${WHAT[step]}.`,
      why: 'The account needs an active Global Administrator role (or Privileged Role Administrator and Application Administrator) in your partner tenant, or a policy of your tenant blocks this change.',
      fix: 'Sign in with an account that holds the **Global Administrator** role actively (activate it in Privileged Identity Management if it is only eligible), then select **Try again from here**.',
    };
  }
  if (code === 'CredentialInvalidLifetimeAsPerAppPolicy') {
    return {
      code: 'setup_secret_policy', retry: 'after-fix', link: POLICY_LINK,
      title: 'Your tenant’s app policy refused every secret lifetime',
      what: 'Microsoft refused to create a client secret, even one valid for 30 days.',
      why: 'An app management policy of your tenant restricts client secrets (their lifetime, or adding them at all).',
      fix: 'In Entra ID → Enterprise applications → App management policies, allow password credentials for this app (or a lifetime of at least 30 days), then select **Try again from here**.',
    };
  }
  if (code === 'Request_BadRequest' && step === 'app') {
    return {
      code: 'setup_app_rejected', retry: 'after-fix',
      title: 'Microsoft refused the app registration’s settings',
      what: 'Microsoft refused to save the app registration (its permissions or redirect addresses).',
      why: 'Usually an address already taken by another app in your tenant, or a setting your tenant’s policies do not allow.',
      fix: 'Select **Try again from here**. If it happens again, select **Ask support**: they can see what Microsoft answered.',
    };
  }
  return {
    code: `setup_http_${err.status}`, retry: 'after-fix',
    title: 'Microsoft refused a step of the setup',
    what: `Microsoft refused to ${WHAT[step]}.`,
    why: 'Something in your tenant is not as the setup expects.',
    fix: 'Select **Try again from here**. If it happens again, type **support**: the support team sees which step stopped.',
  };
}

const WHAT: Record<GraphWriteStep, string> = {
  account: 'read the service account',
  app: 'create or change the app registration',
  servicePrincipal: 'create the app’s enterprise application',
  resources: 'add Microsoft Graph or Partner Center to your tenant',
  secret: 'create a client secret',
  consent: 'grant admin consent',
  adminAgents: 'add members to the AdminAgents group',
  prove: 'sign the new app in',
  preflight: 'run the checks',
  other: 'make a change',
};

function unavailable(): SignInExplanation {
  return {
    code: 'setup_unavailable', retry: 'wait',
    title: 'Microsoft did not answer',
    what: 'Microsoft did not answer properly just now, so the setup stopped where it was.',
    why: 'Microsoft’s services are briefly busy or unavailable now and then.',
    fix: 'Wait a minute, then select **Try again from here**: nothing is done twice.',
  };
}
