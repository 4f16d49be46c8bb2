import type { AuthenticationResult, ConfidentialClientApplication } from '@azure/msal-node';
import { createPartnerClient, freshSignInUrl } from '../auth/partner-msal';
import { isWellFormedState, newState, pkceVerifier, stateMatches, type StateBinding } from '../auth/sign-in-state';
import { decodeJwtPayload } from '../credentials/client-credentials';
import type { Person } from '../domain/partner';
import type { Logger } from '../logger';
import {
  aadstsCodes, entraErrorFromMsal, entraErrorFromQuery, explainSignInError, toChatText, type SignInExplanation,
} from '../microsoft/sign-in-errors';
import type { AuthState, ConnectionRepository } from '../store/connections';
import type { ForMeCard, ForMeIntent, PartnerSetupRepository } from '../store/partner-setups';
import type { Notifier } from '../teams/notifier';
import { renderSetupProgress } from '../cards/render';
import { SETUP_DECLINED, SetupMessages, SetupRefusals } from './setup-messages';
import { SETUP_SCOPES, SetupGraph } from './setup-graph';
import type { SetupRunner } from './setup-run';

/**
 * The setup sign-in: a Global Administrator (or a Privileged Role Administrator who is also an
 * Application Administrator) of the partner tenant signs in to the operator's multi-tenant setup
 * app, with the consent flow's machinery (single-use state bound to tenant, app and Teams user;
 * PKCE S256 derived from the state; prompt=login), for the setup's delegated Graph permissions.
 *
 *   link       `/auth/setup/start?s=<state>` (10 min, single use).
 *   callback   on `/auth/callback` (the setup app's registered redirect URI; the server asks `owns`):
 *              Entra's error first, then the code is redeemed with no token cache (the client's
 *              in-memory cache is cleared at once), the token's `tid` must be this tenant and Graph
 *              must list an active qualifying role. The token then goes to the run, in memory.
 */

/** Role template ids: https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/permissions-reference */
const GLOBAL_ADMINISTRATOR = '62e90394-69f5-4237-9190-012177145e10';
const PRIVILEGED_ROLE_ADMINISTRATOR = 'e8611ab8-c189-46e8-94e1-60213ab1f814';
const APPLICATION_ADMINISTRATOR = '9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3';

/** Whether the active roles may run the setup: Global Administrator, or Privileged Role Administrator with Application Administrator. */
export function mayRunSetup(roleTemplateIds: readonly string[]): boolean {
  const roles = new Set(roleTemplateIds.map((r) => r.toLowerCase()));
  return roles.has(GLOBAL_ADMINISTRATOR) || (roles.has(PRIVILEGED_ROLE_ADMINISTRATOR) && roles.has(APPLICATION_ADMINISTRATOR));
}

/** What a setup sign-in is for: the setup run, or replacing the app's client secret. */
export type SetupIntent = 'setup' | 'rotate' | 'repair';

export type SetupSignInOutcome =
  | { kind: 'redirect'; location: string }
  | { kind: 'started'; intent?: SetupIntent }
  | { kind: 'busy' }
  | { kind: 'failed'; status: number; explanation: SignInExplanation; chatTold: boolean };

export interface SetupSignInOptions {
  authorityHost: string;
  browserAuthorityHost?: string;
  publicBaseUrl: string;
  graphBaseUrl: string;
  setupApp: { appId: string; secret: string };
  connections: ConnectionRepository;
  setups: PartnerSetupRepository;
  runner: SetupRunner;
  notifier: Notifier;
  logger: Logger;
  key: Buffer;
  stateTtlMs?: number;
}

const STATE_TTL_MS = 10 * 60_000;

export class SetupSignIn {
  constructor(private readonly o: SetupSignInOptions) {}

  private get redirectUri(): string {
    return `${this.o.publicBaseUrl}/auth/callback`;
  }

  /**
   * A single-use sign-in link for the setup of `tenantId` (or the rotation of its app's secret),
   * asked for by `person` in `conversationId`. The intent is bound into the state's signature.
   */
  async link(tenantId: string, person: Person, conversationId: string, intent: SetupIntent = 'setup'): Promise<string> {
    const state = newState(this.o.key, this.binding(tenantId, person.aadObjectId, intent));
    await this.o.connections.createState(state, { tenantId, purpose: 'setup', aadObjectId: person.aadObjectId, conversationId }, this.o.stateTtlMs ?? STATE_TTL_MS);
    return `${this.o.publicBaseUrl}/auth/setup/start?s=${state}`;
  }

  /**
   * The cards that asked for a rotation or a repair (the one pressed, the sign-in card sent): the
   * run that does it turns them into what was done, whichever instance it runs on.
   */
  async rememberCards(tenantId: string, intent: ForMeIntent, cards: readonly ForMeCard[]): Promise<void> {
    for (const card of cards) await this.o.setups.addForMeCard(tenantId, intent, card);
  }

  async owns(s: string): Promise<boolean> {
    return isWellFormedState(s) && (await this.o.connections.findState(s, 'setup')) !== undefined;
  }

  /** `/auth/setup/start`: to Entra ID at the tenant's own authority. */
  async start(s: string): Promise<SetupSignInOutcome> {
    const state = isWellFormedState(s) ? await this.o.connections.findState(s, 'setup') : undefined;
    if (!state) return this.fail(400, explainSignInError({ source: 'local', kind: 'state_unknown' }), undefined);
    if (state.status !== 'valid') return this.fail(410, explainSignInError({ source: 'local', kind: state.status }), state);
    if (!this.intentOf(s, state)) {
      return this.fail(403, explainSignInError({ source: 'local', kind: 'state_other_partner' }), state);
    }
    try {
      const location = await freshSignInUrl(this.client(state.tenantId), {
        scopes: [...SETUP_SCOPES], redirectUri: this.redirectUri, state: s, key: this.o.key,
        authorityHost: this.o.authorityHost, browserAuthorityHost: this.o.browserAuthorityHost,
      });
      return { kind: 'redirect', location };
    } catch (err) {
      this.o.logger.warn({ err, tenantId: state.tenantId }, 'setup start: authority metadata unavailable');
      return this.fail(503, explainSignInError({ source: 'entra', error: 'temporarily_unavailable' }), undefined);
    }
  }

  /** Entra's answer (routed here from `/auth/callback`): checks the administrator, then starts the run with the token. */
  async callback(query: URLSearchParams): Promise<SetupSignInOutcome> {
    const s = query.get('state') ?? '';
    const refused = entraErrorFromQuery(query);
    if (refused) {
      const taken = isWellFormedState(s) ? await this.o.connections.consumeState(s, 'setup') : undefined;
      const state = taken && !('refused' in taken) ? taken : undefined;
      const intent = state ? this.intentOf(s, state) : undefined;
      const codes = aadstsCodes(refused);
      // 90094: the account may not consent to admin-only permissions, so it is no administrator who can run the setup.
      if (codes.includes(90094)) return this.fail(403, SetupRefusals.notAdmin, state, undefined, intent);
      const declined = codes.includes(65004) || (refused.error === 'access_denied' && codes.length === 0);
      return this.fail(403, declined ? SETUP_DECLINED : explainSignInError(refused), state, undefined, intent);
    }
    const code = query.get('code');
    if (!code || !isWellFormedState(s)) return this.fail(400, explainSignInError({ source: 'local', kind: 'state_unknown' }), undefined);
    const taken = await this.o.connections.consumeState(s, 'setup');
    if ('refused' in taken) return this.fail(taken.refused === 'state_unknown' ? 400 : 410, explainSignInError({ source: 'local', kind: taken.refused }), undefined);
    const state = taken;
    const intent = this.intentOf(s, state);
    if (!intent) return this.fail(403, explainSignInError({ source: 'local', kind: 'state_other_partner' }), state);

    // No cache plugin, and the in-memory cache is cleared: the token exists only in this call and the run.
    const client = this.client(state.tenantId);
    let result: AuthenticationResult;
    try {
      result = await client.acquireTokenByCode({ code, scopes: [...SETUP_SCOPES], redirectUri: this.redirectUri, codeVerifier: pkceVerifier(this.o.key, s) });
    } catch (err) {
      const entra = entraErrorFromMsal(err);
      if (!entra) this.o.logger.warn({ err, tenantId: state.tenantId }, 'setup callback: code redemption failed');
      return this.fail(502, explainSignInError(entra ?? { source: 'entra', error: 'temporarily_unavailable' }), state);
    } finally {
      client.clearCache();
    }
    const claims = decodeJwtPayload(result.accessToken);
    const tid = typeof claims.tid === 'string' ? claims.tid : result.tenantId;
    if (!tid || tid.toLowerCase() !== state.tenantId.toLowerCase()) return this.fail(403, SetupRefusals.wrongTenant, state, undefined, intent);

    let roles: string[];
    try {
      roles = await new SetupGraph(this.o.graphBaseUrl, () => result.accessToken, { maxRetries: 2 }).myDirectoryRoles();
    } catch (err) {
      this.o.logger.warn({ err, tenantId: state.tenantId }, 'setup: the signed-in user\'s roles could not be read');
      return this.fail(503, SetupRefusals.rolesUnavailable, state, undefined, intent);
    }
    if (!mayRunSetup(roles)) return this.fail(403, SetupRefusals.notAdmin, state, { roles: roles.length }, intent);
    const actor = typeof claims.oid === 'string' ? claims.oid : state.aadObjectId;
    const started = intent === 'rotate'
      ? await this.o.runner.rotate(state.tenantId, state.conversationId ?? '', result.accessToken, actor)
      : await this.o.runner.start(state.tenantId, state.conversationId ?? '', result.accessToken, actor, intent === 'repair' ? 'repair' : 'setup');
    if (started === 'busy') {
      await this.tell(state, intent === 'rotate' ? SetupMessages.rotateBusy : SetupMessages.alreadyRunning);
      return { kind: 'busy' };
    }
    return { kind: 'started', intent };
  }

  /** What the state was made for (its signature says), or undefined when it is not this partner's and person's. */
  private intentOf(s: string, state: Pick<AuthState, 'tenantId' | 'aadObjectId'>): SetupIntent | undefined {
    return (['setup', 'rotate', 'repair'] as const).find((intent) => stateMatches(this.o.key, s, this.binding(state.tenantId, state.aadObjectId, intent)));
  }

  private binding(tenantId: string, aadObjectId: string, intent: SetupIntent): StateBinding {
    // The setup's binding is as it always was (links already out stay valid); a rotation's differs.
    const who = intent === 'setup' ? aadObjectId : `${intent}:${aadObjectId}`;
    return { tenantId, purpose: 'setup', connection: { partnerTenantId: tenantId, appId: this.o.setupApp.appId, serviceAccountUpn: who } };
  }

  private client(tenantId: string): ConfidentialClientApplication {
    return createPartnerClient({ authorityHost: this.o.authorityHost, partnerTenantId: tenantId, clientId: this.o.setupApp.appId, clientSecret: this.o.setupApp.secret });
  }

  /** The refusal on the page and, when the state says where, in the chat with "Try again from here". */
  private async fail(status: number, explanation: SignInExplanation, state: AuthState | undefined, detail?: Record<string, unknown>, intent: SetupIntent = 'setup'): Promise<SetupSignInOutcome> {
    this.o.logger.info({ tenantId: state?.tenantId, code: explanation.code, intent, ...detail }, 'setup sign-in refused');
    let chatTold = false;
    if (state?.conversationId && explanation.retry !== 'never') {
      if (intent !== 'setup') {
        // The setup's wording ("choose I'll do it myself") is not a rotation's or a repair's: their own way back.
        chatTold = await this.tell(state, `**${explanation.title}**\n\n${explanation.what}\n\n${intent === 'rotate' ? SetupMessages.rotateFailedKeptOld : SetupMessages.repairFailed}`);
        return { kind: 'failed', status, explanation, chatTold };
      }
      chatTold = await this.tell(state, toChatText(explanation));
      await this.o.notifier.send(state.tenantId, state.conversationId, {
        attachments: [renderSetupProgress({ title: 'The setup hasn’t started', lines: [], note: 'Nothing was changed in your tenant.', retry: true })],
      }).catch(() => false);
    }
    return { kind: 'failed', status, explanation, chatTold };
  }

  private async tell(state: AuthState, text: string): Promise<boolean> {
    if (!state.conversationId) return false;
    return this.o.notifier.send(state.tenantId, state.conversationId, { text }).catch(() => false);
  }
}
