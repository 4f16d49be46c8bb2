import type { AuthenticationResult } from '@azure/msal-node';
import { isUnknown } from '../checks/facts';
import { gatherFacts } from '../checks/gather/gather';
import { evaluate } from '../checks/run';
import { decodeJwtPayload, requestAppToken, stringList } from '../credentials/client-credentials';
import type { CredentialService } from '../credentials/credential-service';
import { GRAPH_CHECK_SCOPES, GRAPH_DEFAULT, PARTNER_CENTER_USER } from '../credentials/scopes';
import { ownerOf, type Connection, type Partner, type Person } from '../domain/partner';
import { AppError } from '../errors';
import type { Logger } from '../logger';
import { MicrosoftHttpClient } from '../microsoft/http';
import { readOrganizationProfile, type ProfileAnswer } from '../microsoft/partner-center-mfa';
import type { AuthState, ConnectionRepository } from '../store/connections';
import type { PartnerRepository } from '../store/partners';
import { ConsentMessages, type ChatMessage, type TellChat } from './consent-messages';
import { createPartnerClient, forBrowser, freshSignInUrl, type PartnerTokenCacheStore } from './partner-msal';
import {
  entraErrorFromMsal, entraErrorFromQuery, explainSignInError, type SignInErrorInput, type SignInExplanation, type StateProblem,
} from '../microsoft/sign-in-errors';
import type { SignInLinks } from './sign-in-links';
import { isWellFormedState, newState, pkceVerifier, stateMatches, type StatePurpose } from './sign-in-state';

/**
 * The service account's sign-in (Partner Center consent, MFA proven) and the Graph admin consent,
 * from the link on the chat's card to the proactive answer in the chat.
 *
 *   signIn / adminConsent   make a single-use state (10 min) bound to the partner, the Teams user
 *                           and the conversation; the link is `/auth/start?s=<state>`.
 *   start                   looks the state up (without taking it) and redirects to Entra ID:
 *                           authorization code + PKCE S256, prompt=login, login_hint.
 *   callback                Entra's `error` first; then takes the state, redeems the code, and
 *                           verifies tenant, account and MFA (the Partner Center access token's
 *                           `amr`), then calls Partner Center with that token (the organization
 *                           profile, App+User only). Only then is the token cache stored and the
 *                           consent recorded.
 *   adminConsent*           the same for the v2.0 `/adminconsent` (Graph's `/.default`); its callback
 *                           reads `error` before `admin_consent` (error redirects carry both), and
 *                           records nothing until the app's own token shows the Graph grants.
 *
 * Whose link is it? The browser has no Teams identity, so the Teams user a state is bound to can't
 * be compared with the person in the browser. What is checked instead:
 *   - the state's Teams user must still own the partner's onboarding (a link made before a
 *     handover is "another user's"; the consent step is the owner's, like the credentials);
 *   - the state carries an HMAC of the partner tenant, app and service account it was made for: a
 *     link made before those changed (or for another partner) is "another partner's";
 *   - the account that signs in must be the named service account, in the partner tenant.
 * Every refusal is told to the conversation the state is bound to, when there is one.
 */

export type FlowStage = 'link' | 'authorize' | 'redeem' | 'verify';

export type ConsentOutcome =
  | { kind: 'redirect'; location: string }
  | { kind: 'signed-in'; account: string; adminConsentUrl?: string }
  | { kind: 'admin-consented' }
  /** `chatTold`: the same advice went to the chat. */
  | { kind: 'failed'; stage: FlowStage; explanation: SignInExplanation; chatTold: boolean };

export interface ConsentFlowOptions {
  authorityHost: string;
  /** Where the browser is sent to sign in, when not `authorityHost` (the sandbox's loopback sign-in pages). */
  browserAuthorityHost?: string;
  publicBaseUrl: string;
  partnerCenterBaseUrl: string;
  /** Graph's base URL (its host; the gatherer picks the version): the admin consent is confirmed there. */
  graphBaseUrl: string;
  partners: PartnerRepository;
  connections: ConnectionRepository;
  credentials: Pick<CredentialService, 'secret'>;
  tokenCache: PartnerTokenCacheStore;
  tellChat: TellChat;
  logger: Logger;
  /** Shared by every instance: binds states and derives PKCE verifiers. */
  key: Buffer;
  stateTtlMs?: number;
  /** Partner Center's answer to the sign-in's token; the real call unless a test stands in for Partner Center. */
  readProfile?: (baseUrl: string, accessToken: string) => Promise<ProfileAnswer>;
}

const STATE_TTL_MS = 10 * 60_000;

type Verdict = { ok: true } | { ok: false; input: SignInErrorInput; detail?: Record<string, unknown> };

type Checked = { ok: true; state: AuthState; partner: Partner; connection: Connection } | { ok: false; outcome: ConsentOutcome };

export class ConsentFlow implements SignInLinks {
  private readonly ttlMs: number;
  private readonly readProfile: (baseUrl: string, accessToken: string) => Promise<ProfileAnswer>;

  constructor(private readonly o: ConsentFlowOptions) {
    this.ttlMs = o.stateTtlMs ?? STATE_TTL_MS;
    this.readProfile = o.readProfile ?? ((baseUrl, accessToken) => readOrganizationProfile({ baseUrl, accessToken }));
  }

  get redirectUri(): string {
    return `${this.o.publicBaseUrl}/auth/callback`;
  }

  get adminConsentRedirectUri(): string {
    return `${this.o.publicBaseUrl}/auth/adminconsent/callback`;
  }

  async signIn(tenantId: string, person: Person, conversationId: string): Promise<string> {
    return this.link(tenantId, await this.connectionOf(tenantId), person.aadObjectId, conversationId, 'signin');
  }

  async adminConsent(tenantId: string, person: Person, conversationId: string): Promise<string> {
    return this.link(tenantId, await this.connectionOf(tenantId), person.aadObjectId, conversationId, 'adminconsent');
  }

  /** `/auth/start`: the service account's sign-in at the partner tenant's authority. */
  async start(s: string): Promise<ConsentOutcome> {
    const checked = await this.check(s, 'signin', 'look');
    if (!checked.ok) return checked.outcome;
    const { state, connection } = checked;
    const secret = await this.o.credentials.secret(state.tenantId, 'appSecret');
    if (!secret) return this.fail('link', { source: 'local', kind: 'bad_client_secret' }, state);
    try {
      const client = createPartnerClient({
        authorityHost: this.o.authorityHost, partnerTenantId: connection.partnerTenantId, clientId: connection.appId, clientSecret: secret,
      });
      const location = await freshSignInUrl(client, {
        scopes: [PARTNER_CENTER_USER, 'offline_access'], extraScopesToConsent: [...GRAPH_CHECK_SCOPES], loginHint: connection.serviceAccountUpn,
        redirectUri: this.redirectUri, state: s, key: this.o.key, authorityHost: this.o.authorityHost, browserAuthorityHost: this.o.browserAuthorityHost,
      });
      return { kind: 'redirect', location };
    } catch (err) {
      // Building the URL reads the authority's metadata: Entra ID is unreachable. Nothing is spent.
      this.o.logger.warn({ err, tenantId: state.tenantId }, 'sign-in start: authority metadata unavailable');
      return this.fail('link', { source: 'entra', error: 'temporarily_unavailable' }, undefined);
    }
  }

  /** `/auth/callback`: Entra's answer to the sign-in. */
  async callback(query: URLSearchParams): Promise<ConsentOutcome> {
    const s = query.get('state') ?? '';
    const refused = entraErrorFromQuery(query);
    if (refused) return this.refusedByEntra(s, 'signin', refused);
    const code = query.get('code');
    if (!code) return this.fail('authorize', { source: 'local', kind: 'state_unknown' }, undefined);

    const checked = await this.check(s, 'signin', 'take');
    if (!checked.ok) return checked.outcome;
    const { state, partner, connection } = checked;
    const secret = await this.o.credentials.secret(state.tenantId, 'appSecret');
    if (!secret) return this.fail('redeem', { source: 'local', kind: 'bad_client_secret' }, state);

    // No cache plugin here: nothing is stored until the sign-in has passed every check.
    const client = createPartnerClient({ authorityHost: this.o.authorityHost, partnerTenantId: connection.partnerTenantId, clientId: connection.appId, clientSecret: secret });
    let result: AuthenticationResult;
    try {
      result = await client.acquireTokenByCode({ code, scopes: [PARTNER_CENTER_USER], redirectUri: this.redirectUri, codeVerifier: pkceVerifier(this.o.key, s) });
    } catch (err) {
      const entra = entraErrorFromMsal(err);
      if (!entra) this.o.logger.warn({ err, tenantId: state.tenantId }, 'sign-in callback: code redemption failed');
      return this.fail('redeem', entra ?? { source: 'entra', error: 'temporarily_unavailable' }, state);
    }

    const verdict = await this.verify(result, connection);
    if (!verdict.ok) return this.fail('verify', verdict.input, state, verdict.detail);

    const account = connection.serviceAccountUpn;
    await this.o.tokenCache.write(state.tenantId, client.getTokenCache().serialize());
    const record = await this.o.connections.recordConsent(state.tenantId, account, state.aadObjectId, { mfa: 'amr', partnerCenter: 'GET /v1/profiles/organization answered' });
    const adminConsentNeeded = !(record ?? partner).consent.adminConsentAt;
    const adminConsentUrl = adminConsentNeeded && state.conversationId
      ? await this.link(state.tenantId, connection, state.aadObjectId, state.conversationId, 'adminconsent')
      : undefined;
    this.o.logger.info({ tenantId: state.tenantId }, 'service account signed in with MFA; consent recorded');
    await this.tell(state, partner, ConsentMessages.signedIn(account, adminConsentNeeded));
    return { kind: 'signed-in', account, adminConsentUrl };
  }

  /**
   * `/auth/adminconsent/start`: Graph admin consent for the partner's app, on the v2.0 endpoint.
   * Graph's `/.default` grants the permissions the registration lists (as the v1 endpoint did).
   * https://learn.microsoft.com/en-us/entra/identity-platform/v2-admin-consent
   */
  async adminConsentStart(s: string): Promise<ConsentOutcome> {
    const checked = await this.check(s, 'adminconsent', 'look');
    if (!checked.ok) return checked.outcome;
    const url = new URL(`${this.o.authorityHost}/${encodeURIComponent(checked.connection.partnerTenantId)}/v2.0/adminconsent`);
    url.searchParams.set('client_id', checked.connection.appId);
    url.searchParams.set('scope', GRAPH_DEFAULT);
    url.searchParams.set('redirect_uri', this.adminConsentRedirectUri);
    url.searchParams.set('state', s);
    return { kind: 'redirect', location: forBrowser(url.toString(), this.o.authorityHost, this.o.browserAuthorityHost) };
  }

  /**
   * `/auth/adminconsent/callback`: `error` is read before `admin_consent`, which error redirects
   * carry too. The query string alone proves nothing (anyone can type it): the consent is recorded
   * only once the app's own token shows the Graph grants. The state binds the tenant, so a missing
   * `tenant` parameter doesn't matter then.
   */
  async adminConsentCallback(query: URLSearchParams): Promise<ConsentOutcome> {
    const s = query.get('state') ?? '';
    const refused = entraErrorFromQuery(query);
    if (refused) return this.refusedByEntra(s, 'adminconsent', refused);
    const checked = await this.check(s, 'adminconsent', 'take');
    if (!checked.ok) return checked.outcome;
    const { state, partner, connection } = checked;
    if ((query.get('admin_consent') ?? '').toLowerCase() !== 'true') return this.fail('authorize', { source: 'local', kind: 'consent_declined' }, state);
    const tenant = query.get('tenant');
    if (tenant !== null && tenant.toLowerCase() !== connection.partnerTenantId.toLowerCase()) {
      return this.fail('verify', { source: 'local', kind: 'wrong_tenant' }, state);
    }
    const grants = await this.confirmGrants(state.tenantId, connection);
    if (!grants.ok) return this.fail('verify', grants.input, state, grants.detail);
    await this.o.connections.recordAdminConsent(state.tenantId, state.aadObjectId, 'admin-consent');
    this.o.logger.info({ tenantId: state.tenantId }, 'admin consent granted');
    await this.tell(state, partner, ConsentMessages.adminConsented());
    return { kind: 'admin-consented' };
  }

  // ---- states --------------------------------------------------------------------------------

  private async connectionOf(tenantId: string): Promise<Connection> {
    const connection = (await this.o.partners.get(tenantId))?.connection;
    if (!connection) {
      throw new AppError('bad_request', 'a sign-in link was asked for before the credentials were saved', { userMessage: 'Enter your partner tenant and app first (type **start**).' });
    }
    return connection;
  }

  private async link(tenantId: string, connection: Connection, aadObjectId: string, conversationId: string, purpose: StatePurpose): Promise<string> {
    const state = newState(this.o.key, { tenantId, purpose, connection });
    await this.o.connections.createState(state, { tenantId, purpose, aadObjectId, conversationId }, this.ttlMs);
    return `${this.o.publicBaseUrl}/auth/${purpose === 'signin' ? 'start' : 'adminconsent/start'}?s=${state}`;
  }

  /**
   * The state, still usable (`look`) or taken now (`take`, single use), whose Teams user still owns
   * the partner's onboarding and whose binding matches the partner's connection as it is now.
   */
  private async check(s: string, purpose: StatePurpose, mode: 'look' | 'take'): Promise<Checked> {
    const refuse = async (kind: StateProblem, state?: AuthState): Promise<Checked> => ({ ok: false, outcome: await this.fail('link', { source: 'local', kind }, state) });
    if (!isWellFormedState(s)) return refuse('state_unknown');
    let state: AuthState;
    if (mode === 'look') {
      const found = await this.o.connections.findState(s, purpose);
      if (!found) return refuse('state_unknown');
      if (found.status !== 'valid') return refuse(found.status, found);
      state = found;
    } else {
      const taken = await this.o.connections.consumeState(s, purpose);
      // A callback seen twice is a reload of the answer page, or a replay: the page says so; the chat
      // already heard the outcome of the first one and is not told again.
      if ('refused' in taken) return refuse(taken.refused, taken.refused === 'state_expired' ? await this.o.connections.findState(s, purpose) : undefined);
      state = taken;
    }
    const partner = await this.o.partners.get(state.tenantId);
    if (!partner) return refuse('state_unknown');
    if (ownerOf(partner)?.aadObjectId !== state.aadObjectId) return refuse('state_other_user', state);
    const connection = partner.connection;
    if (!connection || !stateMatches(this.o.key, s, { tenantId: state.tenantId, purpose, connection })) return refuse('state_other_partner', state);
    return { ok: true, state, partner, connection };
  }

  // ---- verification --------------------------------------------------------------------------

  /**
   * The tenant, the account and MFA, from the Partner Center access token (a v1.0 token: `tid`,
   * `upn`, `amr`; the v2.0 ID token has no `amr`), then Partner Center's own verdict.
   */
  private async verify(result: AuthenticationResult, connection: Connection): Promise<Verdict> {
    const claims = decodeJwtPayload(result.accessToken);
    const tid = typeof claims.tid === 'string' ? claims.tid : result.tenantId;
    if (!tid || tid.toLowerCase() !== connection.partnerTenantId.toLowerCase()) return { ok: false, input: { source: 'local', kind: 'wrong_tenant' } };
    const account = [claims.upn, claims.unique_name, result.account?.username].find((v): v is string => typeof v === 'string' && v !== '');
    if (!account || account.toLowerCase() !== connection.serviceAccountUpn.trim().toLowerCase()) {
      return { ok: false, input: { source: 'local', kind: 'wrong_account', expectedAccount: connection.serviceAccountUpn, signedInAccount: account } };
    }
    if (!stringList(claims.amr).includes('mfa')) return { ok: false, input: { source: 'local', kind: 'mfa_missing' }, detail: { amr: stringList(claims.amr) } };

    // Partner Center's own answer to this token; a 2032 or a bare 403 is "access denied" (roles),
    // not proof of a customer tenant, and sign-in-errors says so.
    const answer = await this.readProfile(this.o.partnerCenterBaseUrl, result.accessToken);
    if (answer.ok) return { ok: true };
    if (answer.unavailable) return { ok: false, input: { source: 'partner-center', status: answer.status ?? 503 } };
    const code = answer.code === undefined ? undefined : String(answer.code);
    return { ok: false, input: { source: 'partner-center', status: answer.status ?? 400, body: code === undefined ? undefined : { code } }, detail: { partnerCenter: code ?? answer.status } };
  }

  /**
   * Whether the app really holds its Graph grants, read with a fresh app-only token of the
   * partner's app: the pre-flight's own gathering and its "Permissions granted (admin consent)"
   * rule. An app that may not even read its own grants has none of the four.
   */
  private async confirmGrants(tenantId: string, connection: Connection): Promise<Verdict> {
    const secret = await this.o.credentials.secret(tenantId, 'appSecret');
    if (!secret) return { ok: false, input: { source: 'local', kind: 'bad_client_secret' } };
    const token = await requestAppToken(this.o.authorityHost, connection.partnerTenantId, connection.appId, secret, GRAPH_DEFAULT);
    if (!token.ok) return 'error' in token ? { ok: false, input: token.error } : { ok: false, input: { source: 'local', kind: 'admin_consent_unconfirmed' } };
    const graph = new MicrosoftHttpClient({
      baseUrl: this.o.graphBaseUrl, tokenProvider: async () => token.accessToken, scopes: [GRAPH_DEFAULT], requestIds: 'graph',
      maxRetries: 2, retryBudgetMs: 15_000, timeoutMs: 10_000,
    });
    const { facts } = await gatherFacts({ graph, serviceAccountUpn: connection.serviceAccountUpn, appId: connection.appId, now: new Date() });
    const [granted] = evaluate(facts, { now: new Date(), appId: connection.appId, only: ['app.permissions-granted'] });
    if (granted?.status === 'pass') return { ok: true };
    const detail = { check: granted?.status ?? 'not evaluated', evidence: granted?.evidence };
    if (granted?.status === 'fail') return { ok: false, input: { source: 'local', kind: 'admin_consent_not_found' }, detail };
    // Refused (401/403): the app can't read its own grants, which any of the four would allow.
    const roles = facts.appRoleAssignments;
    const refused = isUnknown(roles) && roles.refused === true;
    return { ok: false, input: { source: 'local', kind: refused ? 'admin_consent_not_found' : 'admin_consent_unconfirmed' }, detail };
  }

  // ---- answers -------------------------------------------------------------------------------

  /** Entra refused before any code was issued: the state is taken (it's spent) to learn whose chat to tell. */
  private async refusedByEntra(s: string, purpose: StatePurpose, input: SignInErrorInput): Promise<ConsentOutcome> {
    let state: AuthState | undefined;
    if (isWellFormedState(s)) {
      const taken = await this.o.connections.consumeState(s, purpose);
      if (!('refused' in taken)) state = taken;
    }
    return this.fail('authorize', input, state);
  }

  private async fail(stage: FlowStage, input: SignInErrorInput, state: AuthState | undefined, detail?: Record<string, unknown>): Promise<ConsentOutcome> {
    const explanation = explainSignInError(input);
    this.o.logger.info({ tenantId: state?.tenantId, stage, code: explanation.code, ...detail }, 'sign-in refused');
    let chatTold = false;
    if (state) chatTold = await this.tell(state, await this.o.partners.get(state.tenantId), ConsentMessages.failed(explanation));
    return { kind: 'failed', stage, explanation, chatTold };
  }

  /** To the conversation the state is bound to, else the owner's chat. */
  private async tell(state: AuthState, partner: Partner | undefined, message: ChatMessage): Promise<boolean> {
    const conversationId = state.conversationId ?? (partner ? ownerOf(partner)?.conversationId : undefined);
    if (!conversationId) return false;
    try {
      return await this.o.tellChat(state.tenantId, conversationId, message);
    } catch (err) {
      this.o.logger.warn({ err, tenantId: state.tenantId }, 'could not tell the chat about the sign-in');
      return false;
    }
  }
}

