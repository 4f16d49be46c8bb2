import type { ConsentFlow, ConsentOutcome, FlowStage } from '../auth/consent-flow';
import type { TakeOver, TakeOverOutcome } from '../auth/take-over';
import type { SetupSignIn, SetupSignInOutcome } from '../setup/setup-sign-in';
import type { SignInExplanation } from '../microsoft/sign-in-errors';
import { escapeHtml, html, para, type Page } from './page-html';

/**
 * The browser's side of the consent flow: redirects to Entra ID, and the small pages that say
 * what happened and what to do. Pages carry our own explanations only: never Microsoft's
 * `error_description`, a token, a code or a state.
 */
export interface AuthPages {
  start(s: string): Promise<Page>;
  callback(query: URLSearchParams): Promise<Page>;
  adminConsentStart(s: string): Promise<Page>;
  adminConsentCallback(query: URLSearchParams): Promise<Page>;
  /** `take over`: the member's own sign-in (its answer comes back to `callback`). */
  takeOverStart(s: string): Promise<Page>;
  /** "Set it up for me": the administrator's sign-in for the setup run (its answer comes back to `callback`). */
  setupStart(s: string): Promise<Page>;
}

/** `setup`: undefined when the operator's setup app is not configured (no setup sign-in exists then). */
export function authPages(flow: ConsentFlow, takeOver: TakeOver, setup?: SetupSignIn): AuthPages {
  return {
    start: async (s) => consentPage(await flow.start(s)),
    // One redirect URI for every sign-in (the partner's own app registers only this one): the state says whose it is.
    callback: async (query) => {
      const s = query.get('state') ?? '';
      if (await takeOver.owns(s)) return takeOverPage(await takeOver.callback(query));
      if (setup && (await setup.owns(s))) return setupPage(await setup.callback(query));
      return consentPage(await flow.callback(query));
    },
    takeOverStart: async (s) => takeOverPage(await takeOver.start(s)),
    setupStart: async (s) => (setup ? setupPage(await setup.start(s)) : { status: 404, html: html('Not available', para('Setting the app up for you is not available on this installation.')) }),
    adminConsentStart: async (s) => consentPage(await flow.adminConsentStart(s)),
    adminConsentCallback: async (query) => consentPage(await flow.adminConsentCallback(query)),
  };
}

const BACK_TO_TEAMS = 'You can close this page and go back to the chat in Microsoft Teams.';

export function consentPage(outcome: ConsentOutcome): Page {
  switch (outcome.kind) {
    case 'redirect':
      return { status: 302, location: outcome.location, html: '' };
    case 'signed-in':
      return {
        status: 200,
        html: html('Done — go back to Teams', [
          para('The service account signed in with multi-factor authentication, and Partner Center accepted that sign-in: it returned your organization profile.'),
          ...(outcome.adminConsentUrl
            ? [
                para('One more step: admin consent for your app’s Microsoft Graph permissions. A Global Administrator of your partner tenant grants it (the service account is one). You can do it now, or later from the chat.'),
                `<p><a class="button primary" href="${escapeHtml(outcome.adminConsentUrl)}">Grant admin consent</a></p>`,
              ]
            : []),
          para(BACK_TO_TEAMS),
        ].join('\n')),
      };
    case 'admin-consented':
      return { status: 200, html: html('Done — go back to Teams', [para('Admin consent is granted for your app’s Microsoft Graph permissions.'), para(BACK_TO_TEAMS)].join('\n')) };
    case 'failed':
      return { status: failureStatus(outcome.stage, outcome.explanation), html: failureHtml(outcome.explanation, outcome.chatTold) };
  }
}

export function takeOverPage(outcome: TakeOverOutcome): Page {
  switch (outcome.kind) {
    case 'redirect':
      return { status: 302, location: outcome.location, html: '' };
    case 'taken-over':
      return {
        status: 200,
        html: html('Done — you own onboarding now', [
          para(`Your sign-in showed your active ${outcome.role} role, so onboarding for your organization is yours now. Its previous owner stays on as a member and has been told.`),
          para(BACK_TO_TEAMS),
        ].join('\n')),
      };
    case 'already-owner':
      return { status: 200, html: html('You already own onboarding', [para('Nothing changed: onboarding for your organization is already yours.'), para(BACK_TO_TEAMS)].join('\n')) };
    case 'failed':
      return { status: takeOverStatus(outcome.stage, outcome.explanation), html: failureHtml(outcome.explanation, outcome.chatTold) };
  }
}

export function setupPage(outcome: SetupSignInOutcome): Page {
  switch (outcome.kind) {
    case 'redirect':
      return { status: 302, location: outcome.location, html: '' };
    case 'started':
      if (outcome.intent === 'rotate') {
        return {
          status: 200,
          html: html('Done — your app’s client secret is being replaced', [
            para('Your sign-in showed an administrator of your partner tenant. The chat in Microsoft Teams shows each step as it ends; your connection keeps working meanwhile.'),
            para('Your sign-in is used for this only and is not kept.'),
            para(BACK_TO_TEAMS),
          ].join('\n')),
        };
      }
      return {
        status: 200,
        html: html('Done — the setup is running', [
          para('Your sign-in showed an administrator of your partner tenant. The setup of your Entra app runs now: the chat in Microsoft Teams shows each step as it ends.'),
          para('Your sign-in is used for this setup only and is not kept.'),
          para(BACK_TO_TEAMS),
        ].join('\n')),
      };
    case 'busy':
      return { status: 409, html: html('The setup is already running', [para('Nothing new was started: the chat in Microsoft Teams shows the running setup step by step.'), para(BACK_TO_TEAMS)].join('\n')) };
    case 'failed':
      return { status: outcome.status, html: failureHtml(outcome.explanation, outcome.chatTold) };
  }
}

/** The take-over's own refusals: what signed in isn't acceptable (403), Graph didn't answer (503); the rest as for any sign-in. */
function takeOverStatus(stage: FlowStage, e: SignInExplanation): number {
  if (e.code === 'takeover_roles_unavailable') return 503;
  if (e.code.startsWith('takeover_')) return 403;
  return failureStatus(stage, e);
}

const STATE_STATUS: Readonly<Record<string, number>> = {
  state_unknown: 400,
  state_expired: 410,
  state_replayed: 410,
  state_other_user: 403,
  state_other_partner: 403,
};

/**
 * A link we can't use: 400, 410 (expired, used) or 403 (someone else's). Entra ID refused the
 * sign-in, or what signed in isn't acceptable: 403. Our own call to Entra ID failed (the code or
 * the secret was refused): 502. Microsoft briefly unavailable: 503.
 */
export function failureStatus(stage: FlowStage, e: SignInExplanation): number {
  const state = STATE_STATUS[e.code];
  if (state !== undefined) return state;
  // Microsoft itself was briefly unavailable (no AADSTS code, or Partner Center busy).
  if (e.retry === 'wait' && /^(entra_|PC_HTTP_|admin_consent_unconfirmed$)/.test(e.code)) return 503;
  switch (stage) {
    case 'link': return e.code === 'bad_client_secret' ? 502 : 503;
    case 'authorize': return 403;
    case 'redeem': return 502;
    case 'verify': return 403;
  }
}

/** Our explanations use a little Teams markdown: **bold** and `code`. */
function inline(text: string): string {
  return escapeHtml(text).replace(/\*\*(.+?)\*\*/g, '<strong>$1</strong>').replace(/`([^`]+)`/g, '<code>$1</code>');
}

function failureHtml(e: SignInExplanation, chatTold: boolean): string {
  const link = e.link && /^https:\/\//.test(e.link) ? `<p>More: <a href="${escapeHtml(e.link)}" rel="noreferrer">${escapeHtml(e.link)}</a></p>` : '';
  return html(e.title, [
    `<p>${inline(e.what)}</p>`,
    `<p>${inline(e.why)}</p>`,
    `<p><strong>What to do:</strong> ${inline(e.fix)}</p>`,
    link,
    para(chatTold ? 'The chat in Microsoft Teams has the same advice. You can close this page.' : 'You can close this page.'),
  ].join('\n'));
}
