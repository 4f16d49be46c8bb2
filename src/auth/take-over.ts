import type { AuthenticationResult, ConfidentialClientApplication } from '@azure/msal-node';
import { z } from 'zod';
import { decodeJwtPayload } from '../credentials/client-credentials';
import type { CredentialService } from '../credentials/credential-service';
import { GRAPH_RESOURCE } from '../credentials/scopes';
import { isOwner, type Partner, type Person } from '../domain/partner';
import type { Logger } from '../logger';
import { MicrosoftHttpClient } from '../microsoft/http';
import {
  entraErrorFromMsal, entraErrorFromQuery, explainSignInError, toChatText, type SignInExplanation,
} from '../microsoft/sign-in-errors';
import type { AuthState, ConnectionRepository } from '../store/connections';
import type { PartnerRepository } from '../store/partners';
import type { FlowStage } from './consent-flow';
import type { TellChat } from './consent-messages';
import { createPartnerClient, freshSignInUrl } from './partner-msal';
import { isWellFormedState, newState, pkceVerifier, stateMatches, type StateBinding } from './sign-in-state';
import { TakeOverMessages } from './take-over-messages';

/**
 * `take over`: a colleague who is an administrator of the tenant becomes the owner of its
 * onboarding, whoever typed `start` first.
 *
 *   link       a single-use state (10 min) bound to the tenant, the Teams user and conversation, and
 *              the app that verifies; the link is `/auth/takeover/start?s=<state>`.
 *   start      redirects to Entra ID at the tenant's own authority: authorization code + PKCE S256,
 *              prompt=login, delegated User.Read only.
 *   callback   (Entra comes back to `/auth/callback`, the redirect URI every app of ours registers;
 *              the server asks `owns` to route it here) Entra's `error` first; then takes the state,
 *              redeems the code and checks the token: `tid` is this tenant, `oid` is the Teams user
 *              the link was made for, and Graph lists an active Global Administrator or Privileged
 *              Role Administrator role for them. Only then does ownership move; the previous owner
 *              and the new one are told in their chats.
 *
 * Which app: the operator's multi-tenant setup app (SETUP_APP_ID) when configured, else the
 * partner's own app once its credentials are in and it lives in this tenant. The tokens of this
 * sign-in are read once and never cached past the callback: the client has no cache plugin and its
 * in-memory cache is cleared.
 */

/** Role template ids: https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/permissions-reference */
export const TAKE_OVER_ROLES: Readonly<Record<string, string>> = {
  '62e90394-69f5-4237-9190-012177145e10': 'Global Administrator',
  'e8611ab8-c189-46e8-94e1-60213ab1f814': 'Privileged Role Administrator',
};

/** The signed-in user's own memberships need only delegated User.Read (the permissions table of user-list-transitivememberof). */
const USER_READ = `${GRAPH_RESOURCE}/User.Read`;

export type TakeOverOutcome =
  | { kind: 'redirect'; location: string }
  | { kind: 'taken-over'; role: string }
  | { kind: 'already-owner' }
  /** `chatTold`: the same advice went to the chat. */
  | { kind: 'failed'; stage: FlowStage; explanation: SignInExplanation; chatTold: boolean };

export interface TakeOverOptions {
  authorityHost: string;
  /** Where browsers are sent instead of `authorityHost` (the sandbox's plain-HTTP sign-in pages); unset: the same. */
  browserAuthorityHost?: string;
  publicBaseUrl: string;
  graphBaseUrl: string;
  partners: PartnerRepository;
  connections: ConnectionRepository;
  credentials: Pick<CredentialService, 'secret'>;
  /** The operator's multi-tenant setup app; unset: the partner's own app, when it can serve. */
  setupApp?: { appId: string; secret: string };
  tellChat: TellChat;
  logger: Logger;
  /** The consent flow's shared key: binds states and derives PKCE verifiers. */
  key: Buffer;
  stateTtlMs?: number;
}

/** The links the `take over` command hands out. */
export interface TakeOverLinks {
  /** A sign-in link for `person`, or undefined when no app can verify administrators yet. */
  link(tenantId: string, person: Person, conversationId: string): Promise<string | undefined>;
}

interface VerifyingApp {
  clientId: string;
  secret: string;
}

const STATE_TTL_MS = 10 * 60_000;

/** `roleTemplateId` may come back null when the caller can't read the role object. */
const RoleItem = z.object({ roleTemplateId: z.string().nullish() }).transform((r) => r.roleTemplateId ?? undefined);

export class TakeOver implements TakeOverLinks {
  private readonly ttlMs: number;

  constructor(private readonly o: TakeOverOptions) {
    this.ttlMs = o.stateTtlMs ?? STATE_TTL_MS;
  }

  /** The consent flow's redirect URI: the partner's own app has no other registered. */
  get redirectUri(): string {
    return `${this.o.publicBaseUrl}/auth/callback`;
  }

  async link(tenantId: string, person: Person, conversationId: string): Promise<string | undefined> {
    const partner = await this.o.partners.get(tenantId);
    const app = partner && (await this.appFor(partner));
    if (!app) return undefined;
    const state = newState(this.o.key, this.binding(tenantId, app, person.aadObjectId));
    await this.o.connections.createState(state, { tenantId, purpose: 'takeover', aadObjectId: person.aadObjectId, conversationId }, this.ttlMs);
    return `${this.o.publicBaseUrl}/auth/takeover/start?s=${state}`;
  }

  /** Whether Entra's answer on `/auth/callback` belongs to a take-over sign-in. */
  async owns(s: string): Promise<boolean> {
    return isWellFormedState(s) && (await this.o.connections.findState(s, 'takeover')) !== undefined;
  }

  /** `/auth/takeover/start`: the member's own sign-in at the tenant's authority. */
  async start(s: string): Promise<TakeOverOutcome> {
    if (!isWellFormedState(s)) return this.fail('link', { source: 'local', kind: 'state_unknown' }, undefined);
    const state = await this.o.connections.findState(s, 'takeover');
    if (!state) return this.fail('link', { source: 'local', kind: 'state_unknown' }, undefined);
    if (state.status !== 'valid') return this.fail('link', { source: 'local', kind: state.status }, state);
    const app = await this.boundApp(s, state);
    if (!app) return this.failWith('link', TakeOverMessages.stale, state);
    try {
      // A fresh sign-in (prompt=login): the person proves themselves, browser single sign-on picks nobody.
      const location = await freshSignInUrl(this.client(state.tenantId, app), {
        scopes: [USER_READ], redirectUri: this.redirectUri, state: s, key: this.o.key,
        authorityHost: this.o.authorityHost, browserAuthorityHost: this.o.browserAuthorityHost,
      });
      return { kind: 'redirect', location };
    } catch (err) {
      this.o.logger.warn({ err, tenantId: state.tenantId }, 'take-over start: authority metadata unavailable');
      return this.fail('link', { source: 'entra', error: 'temporarily_unavailable' }, undefined);
    }
  }

  /** Entra's answer to the take-over sign-in (routed here from `/auth/callback`). */
  async callback(query: URLSearchParams): Promise<TakeOverOutcome> {
    const s = query.get('state') ?? '';
    const refused = entraErrorFromQuery(query);
    if (refused) {
      const taken = isWellFormedState(s) ? await this.o.connections.consumeState(s, 'takeover') : undefined;
      return this.fail('authorize', refused, taken && !('refused' in taken) ? taken : undefined);
    }
    const code = query.get('code');
    if (!code || !isWellFormedState(s)) return this.fail('authorize', { source: 'local', kind: 'state_unknown' }, undefined);

    // Single use: a replayed callback finds the state spent and changes nothing (the chat already heard the first).
    const taken = await this.o.connections.consumeState(s, 'takeover');
    if ('refused' in taken) {
      return this.fail('link', { source: 'local', kind: taken.refused }, taken.refused === 'state_expired' ? await this.o.connections.findState(s, 'takeover') : undefined);
    }
    const state = taken;
    const partner = await this.o.partners.get(state.tenantId);
    if (!partner) return this.fail('link', { source: 'local', kind: 'state_unknown' }, undefined);
    const app = await this.boundApp(s, state, partner);
    if (!app) return this.failWith('link', TakeOverMessages.stale, state);
    if (isOwner(partner, { aadObjectId: state.aadObjectId, name: '' })) {
      await this.tell(state, TakeOverMessages.alreadyOwner);
      return { kind: 'already-owner' };
    }

    // No cache plugin: this sign-in's tokens are never stored; the in-memory cache is cleared below.
    const client = this.client(state.tenantId, app);
    let result: AuthenticationResult;
    try {
      result = await client.acquireTokenByCode({ code, scopes: [USER_READ], redirectUri: this.redirectUri, codeVerifier: pkceVerifier(this.o.key, s) });
    } catch (err) {
      const entra = entraErrorFromMsal(err);
      if (!entra) this.o.logger.warn({ err, tenantId: state.tenantId }, 'take-over callback: code redemption failed');
      return this.fail('redeem', entra ?? { source: 'entra', error: 'temporarily_unavailable' }, state);
    } finally {
      client.clearCache();
    }

    const claims = decodeJwtPayload(result.accessToken);
    const tid = typeof claims.tid === 'string' ? claims.tid : result.tenantId;
    if (!tid || tid.toLowerCase() !== state.tenantId.toLowerCase()) return this.failWith('verify', TakeOverMessages.wrongTenant, state);
    const oid = typeof claims.oid === 'string' ? claims.oid : undefined;
    if (!oid || oid.toLowerCase() !== state.aadObjectId.toLowerCase()) return this.failWith('verify', TakeOverMessages.notSamePerson, state);

    const roles = await this.activeRoles(result.accessToken, state.tenantId);
    if (!roles) return this.failWith('verify', TakeOverMessages.rolesUnavailable, state);
    const role = roles.map((id) => TAKE_OVER_ROLES[id.toLowerCase()]).find((name): name is string => name !== undefined);
    if (!role) return this.failWith('verify', TakeOverMessages.notAdmin, state, { roles: roles.length });

    const member = partner.members.find((m) => m.aadObjectId === state.aadObjectId);
    const name = member?.name ?? (typeof claims.name === 'string' && claims.name.trim() ? claims.name.trim().slice(0, 100) : 'A colleague');
    const { previousOwner } = await this.o.partners.transferOwnership(state.tenantId, { aadObjectId: state.aadObjectId, name }, state.aadObjectId, 'global-admin', state.conversationId);
    this.o.logger.info({ tenantId: state.tenantId, role }, 'onboarding taken over by an administrator');
    await this.tell(state, TakeOverMessages.tookOver(previousOwner?.name, role));
    if (previousOwner?.conversationId && previousOwner.conversationId !== state.conversationId) {
      await this.send(state.tenantId, previousOwner.conversationId, TakeOverMessages.lostOwnership(name));
    }
    return { kind: 'taken-over', role };
  }

  // ---- the app and the state ------------------------------------------------------------------

  /** The operator's setup app, else the partner's own app when its secret is in and it is registered in this tenant. */
  private async appFor(partner: Partner): Promise<VerifyingApp | undefined> {
    if (this.o.setupApp) return { clientId: this.o.setupApp.appId, secret: this.o.setupApp.secret };
    const connection = partner.connection;
    if (!connection || connection.partnerTenantId.toLowerCase() !== partner.tenantId.toLowerCase()) return undefined;
    const secret = await this.o.credentials.secret(partner.tenantId, 'appSecret');
    return secret ? { clientId: connection.appId, secret } : undefined;
  }

  /** The app the state was made for, when it is still the one that verifies. */
  private async boundApp(s: string, state: AuthState, partner?: Partner): Promise<VerifyingApp | undefined> {
    const p = partner ?? (await this.o.partners.get(state.tenantId));
    const app = p && (await this.appFor(p));
    return app && stateMatches(this.o.key, s, this.binding(state.tenantId, app, state.aadObjectId)) ? app : undefined;
  }

  /** The state's HMAC covers the tenant, the verifying app and the Teams user (in the service account's slot). */
  private binding(tenantId: string, app: VerifyingApp, aadObjectId: string): StateBinding {
    return { tenantId, purpose: 'takeover', connection: { partnerTenantId: tenantId, appId: app.clientId, serviceAccountUpn: aadObjectId } };
  }

  private client(tenantId: string, app: VerifyingApp): ConfidentialClientApplication {
    return createPartnerClient({ authorityHost: this.o.authorityHost, partnerTenantId: tenantId, clientId: app.clientId, clientSecret: app.secret });
  }

  /**
   * The role template ids the signed-in user holds *actively*, directly or through a role-assignable
   * group: a PIM-eligible role not activated is no membership. An OData cast is an advanced query
   * (ConsistencyLevel: eventual and $count=true). Undefined when Graph didn't answer.
   * https://learn.microsoft.com/en-us/graph/api/user-list-transitivememberof
   * https://learn.microsoft.com/en-us/graph/aad-advanced-queries
   */
  private async activeRoles(accessToken: string, tenantId: string): Promise<string[] | undefined> {
    const graph = new MicrosoftHttpClient({
      baseUrl: this.o.graphBaseUrl, tokenProvider: async () => accessToken, scopes: [USER_READ], requestIds: 'graph',
      maxRetries: 2, retryBudgetMs: 15_000, timeoutMs: 10_000,
    });
    try {
      const ids: string[] = [];
      const pages = graph.graphPages('/v1.0/me/transitiveMemberOf/microsoft.graph.directoryRole', {
        query: { $select: 'roleTemplateId', $count: 'true' }, headers: { ConsistencyLevel: 'eventual' }, item: RoleItem,
      });
      for await (const page of pages) for (const id of page.items) if (id) ids.push(id);
      return ids;
    } catch (err) {
      this.o.logger.warn({ err, tenantId }, 'take-over: the signed-in user\'s roles could not be read');
      return undefined;
    }
  }

  // ---- answers -------------------------------------------------------------------------------

  private async fail(stage: FlowStage, input: Parameters<typeof explainSignInError>[0], state: AuthState | undefined): Promise<TakeOverOutcome> {
    return this.failWith(stage, explainSignInError(input), state);
  }

  private async failWith(stage: FlowStage, explanation: SignInExplanation, state: AuthState | undefined, detail?: Record<string, unknown>): Promise<TakeOverOutcome> {
    this.o.logger.info({ tenantId: state?.tenantId, stage, code: explanation.code, ...detail }, 'take-over refused');
    const chatTold = state ? await this.tell(state, toChatText(explanation)) : false;
    return { kind: 'failed', stage, explanation, chatTold };
  }

  /** To the conversation the state is bound to. */
  private async tell(state: AuthState, text: string): Promise<boolean> {
    return state.conversationId ? this.send(state.tenantId, state.conversationId, text) : false;
  }

  private async send(tenantId: string, conversationId: string, text: string): Promise<boolean> {
    try {
      return await this.o.tellChat(tenantId, conversationId, { text, carryOn: false });
    } catch (err) {
      this.o.logger.warn({ err, tenantId }, 'could not tell the chat about the take-over');
      return false;
    }
  }
}
