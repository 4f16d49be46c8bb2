import { createHash } from 'node:crypto';
import type { AccountInfo, ConfidentialClientApplication } from '@azure/msal-node';
import type { CredentialService } from '../credentials/credential-service';
import { GRAPH_DEFAULT, PARTNER_CENTER_DEFAULT, PARTNER_CENTER_USER } from '../credentials/scopes';
import type { Partner } from '../domain/partner';
import { AppError } from '../errors';
import type { Logger } from '../logger';
import type { AccessTokenFunction } from '../microsoft/http';
import type { ConnectionRepository } from '../store/connections';
import type { PartnerRepository } from '../store/partners';
import { createPartnerClient, type PartnerTokenCacheStore } from './partner-msal';
import { aadstsCodes, entraErrorFromMsal, explainSignInError, type SignInExplanation } from '../microsoft/sign-in-errors';

/**
 * Tokens for one partner's Microsoft calls.
 *
 * App+User (the service account): `acquireTokenSilent` with the account in the partner's stored
 * MSAL cache; MSAL redeems the refresh token when the access token is due, and the cache plugin
 * saves what it got. A silent call that finds a valid access token never touches the refresh
 * token, so the keep-alive passes `forceRefresh` to really redeem it (refresh tokens die after 90
 * days unused). When the refresh token is refused for good (invalid_grant: expired, revoked, MFA
 * or sign-in frequency, device gone, consent removed) the consent is marked broken and the
 * "re-consent needed" event is raised once.
 *
 * App-only Partner Center (the Partner Center web app id + its secret, client credentials) for
 * the calls that need no user, such as the customer list.
 */

export type PartnerTokenFailure =
  /** No service account sign-in is stored (never signed in, or the credentials changed since). */
  | 'not_connected'
  /** The stored sign-in was refused for good: a new sign-in is needed. */
  | 'consent_broken'
  /** The app's client secret was refused (wrong or expired): the credentials need updating. */
  | 'secret_rejected'
  /** Entra ID did not answer properly: try again later. */
  | 'unavailable';

export type PartnerTokenResult =
  | { ok: true; accessToken: string; expiresOn?: Date; /** True when a token was really redeemed (not served from the cache). */ redeemed: boolean }
  | { ok: false; reason: PartnerTokenFailure; explanation?: SignInExplanation };

export interface PartnerTokensOptions {
  authorityHost: string;
  partners: PartnerRepository;
  connections: ConnectionRepository;
  credentials: Pick<CredentialService, 'secret'>;
  tokenCache: PartnerTokenCacheStore;
  logger: Logger;
  /** The "re-consent needed" event, raised once per broken consent. */
  onConsentBroken: (tenantId: string, explanation: SignInExplanation) => Promise<void>;
}

/** Thrown by the access-token functions handed to the HTTP client. */
export class PartnerTokenError extends AppError {
  constructor(readonly reason: PartnerTokenFailure, readonly explanation?: SignInExplanation) {
    super(reason === 'unavailable' ? 'internal' : 'consent_needed', `no partner token: ${reason}${explanation ? ` (${explanation.code})` : ''}`, {
      userMessage: reason === 'unavailable' ? 'Microsoft did not answer properly just now. Please try again in a few minutes.' : 'The connection to your partner tenant needs attention: type **status**.',
    });
    this.name = 'PartnerTokenError';
  }
}

const MAX_CLIENTS = 200;
/** Redeeming the refresh token failed for reasons a new sign-in fixes. */
const GRANT_GONE = new Set(['invalid_grant', 'interaction_required', 'consent_required', 'login_required', 'no_tokens_found', 'refresh_token_expired', 'bad_token']);
const SECRET_REFUSED = new Set([7000215, 7000222, 7000218]);

export class PartnerTokens {
  /** Clients by partner, app and secret: msal keeps its authority metadata per client. */
  private readonly clients = new Map<string, ConfidentialClientApplication>();

  constructor(private readonly o: PartnerTokensOptions) {}

  /** A delegated token as the service account (Partner Center `user_impersonation` by default; Graph scopes work too). */
  async userToken(tenantId: string, scopes: string[] = [PARTNER_CENTER_USER], options: { forceRefresh?: boolean } = {}): Promise<PartnerTokenResult> {
    const partner = await this.o.partners.get(tenantId);
    const connection = partner?.connection;
    if (!partner || !connection || !partner.consent.at) return { ok: false, reason: 'not_connected' };
    if (partner.consent.brokenAt) return { ok: false, reason: 'consent_broken', explanation: brokenExplanation(partner) };
    const secret = await this.o.credentials.secret(tenantId, 'appSecret');
    if (!secret) return { ok: false, reason: 'not_connected' };
    const client = this.client(tenantId, connection.partnerTenantId, connection.appId, secret, true);
    try {
      const account = pickAccount(await client.getTokenCache().getAllAccounts(), connection.serviceAccountUpn, connection.partnerTenantId);
      if (!account) return { ok: false, reason: 'not_connected' };
      const result = await client.acquireTokenSilent({ account, scopes, forceRefresh: options.forceRefresh ?? false });
      if (!result.fromCache) await this.o.connections.markConsentUsed(tenantId);
      return { ok: true, accessToken: result.accessToken, expiresOn: result.expiresOn ?? undefined, redeemed: !result.fromCache };
    } catch (err) {
      return this.userFailure(tenantId, err);
    }
  }

  /** An app-only Partner Center token (Partner Center web app + its secret). */
  async appOnlyPartnerCenterToken(tenantId: string): Promise<PartnerTokenResult> {
    return this.appOnly(tenantId, 'partnerCenter');
  }

  /** An app-only Graph token of the partner's Entra app (client credentials): what the pre-flight checks see. */
  async appOnlyGraphToken(tenantId: string): Promise<PartnerTokenResult> {
    return this.appOnly(tenantId, 'graph');
  }

  /** Client credentials with the Entra app (Graph) or the Partner Center web app (Partner Center). */
  private async appOnly(tenantId: string, resource: 'graph' | 'partnerCenter'): Promise<PartnerTokenResult> {
    const connection = (await this.o.partners.get(tenantId))?.connection;
    const appId = resource === 'graph' ? connection?.appId : connection?.pcAppId;
    const secret = appId ? await this.o.credentials.secret(tenantId, resource === 'graph' ? 'appSecret' : 'pcSecret') : undefined;
    if (!connection || !appId || !secret) return { ok: false, reason: 'not_connected' };
    const client = this.client(tenantId, connection.partnerTenantId, appId, secret, false);
    try {
      const result = await client.acquireTokenByClientCredential({ scopes: [resource === 'graph' ? GRAPH_DEFAULT : PARTNER_CENTER_DEFAULT] });
      if (!result?.accessToken) return { ok: false, reason: 'unavailable' };
      return { ok: true, accessToken: result.accessToken, expiresOn: result.expiresOn ?? undefined, redeemed: !result.fromCache };
    } catch (err) {
      const entra = entraErrorFromMsal(err);
      if (entra && aadstsCodes(entra).some((c) => SECRET_REFUSED.has(c))) return { ok: false, reason: 'secret_rejected', explanation: explainSignInError(entra) };
      this.o.logger.warn({ err, tenantId, resource }, 'app-only token failed');
      return { ok: false, reason: 'unavailable', explanation: entra ? explainSignInError(entra) : undefined };
    }
  }

  /**
   * For `MicrosoftHttpClient`: the service account's token, or a PartnerTokenError. The function
   * keeps its last token until shortly before it expires: the HTTP layer asks once per attempt,
   * and each MSAL call reads the cache from the secret store (Key Vault in production).
   */
  userTokenFunction(tenantId: string): AccessTokenFunction {
    return remembered((scopes, forceRefresh) => this.userToken(tenantId, scopes, { forceRefresh }));
  }

  /** For `MicrosoftHttpClient`: the app-only Partner Center token, or a PartnerTokenError. */
  appOnlyTokenFunction(tenantId: string): AccessTokenFunction {
    return remembered(() => this.appOnlyPartnerCenterToken(tenantId));
  }

  /** For `MicrosoftHttpClient`: the app-only Graph token of the partner's app, or a PartnerTokenError. */
  appOnlyGraphTokenFunction(tenantId: string): AccessTokenFunction {
    return remembered(() => this.appOnlyGraphToken(tenantId));
  }

  private client(tenantId: string, partnerTenantId: string, clientId: string, secret: string, persistent: boolean): ConfidentialClientApplication {
    const key = [tenantId, partnerTenantId, clientId, persistent, createHash('sha256').update(secret).digest('base64url')].join('|');
    let client = this.clients.get(key);
    if (!client) {
      client = createPartnerClient({
        authorityHost: this.o.authorityHost, partnerTenantId, clientId, clientSecret: secret,
        ...(persistent ? { cachePlugin: this.o.tokenCache.plugin(tenantId) } : {}),
      });
      if (this.clients.size >= MAX_CLIENTS) this.clients.delete(this.clients.keys().next().value!);
      this.clients.set(key, client);
    }
    return client;
  }

  private async userFailure(tenantId: string, err: unknown): Promise<PartnerTokenResult> {
    const entra = entraErrorFromMsal(err);
    if (!entra) {
      this.o.logger.warn({ err, tenantId }, 'partner token: msal failed');
      return { ok: false, reason: 'unavailable' };
    }
    const explanation = explainSignInError(entra);
    const codes = aadstsCodes(entra);
    if (codes.some((c) => SECRET_REFUSED.has(c)) || entra.error === 'invalid_client') return { ok: false, reason: 'secret_rejected', explanation };
    if (GRANT_GONE.has(entra.error ?? '') || GRANT_GONE.has(entra.suberror ?? '')) {
      if (await this.o.connections.markConsentBroken(tenantId, explanation.code)) {
        this.o.logger.warn({ tenantId, code: explanation.code }, 'partner consent broken: re-consent needed');
        try {
          await this.o.onConsentBroken(tenantId, explanation);
        } catch (e) {
          this.o.logger.warn({ err: e, tenantId }, 'could not raise the re-consent event');
        }
      }
      return { ok: false, reason: 'consent_broken', explanation };
    }
    this.o.logger.warn({ tenantId, code: explanation.code }, 'partner token: refresh failed');
    return { ok: false, reason: 'unavailable', explanation };
  }
}

/** The service account's entry in the cache (by UPN and tenant; the cache holds one partner's). */
function pickAccount(accounts: AccountInfo[], upn: string, partnerTenantId: string): AccountInfo | undefined {
  const name = upn.trim().toLowerCase();
  return accounts.find((a) => a.username.toLowerCase() === name && a.tenantId.toLowerCase() === partnerTenantId.toLowerCase());
}

/** What the stored reason (an AADSTS code or our own kind) says, for a consent already known broken. */
function brokenExplanation(partner: Partner): SignInExplanation {
  const reason = partner.consent.brokenReason ?? '';
  const n = /^AADSTS(\d+)$/.exec(reason)?.[1];
  return explainSignInError(n ? { source: 'entra', error: 'invalid_grant', error_codes: [Number(n)] } : { source: 'entra', error: 'invalid_grant' });
}

/** Tokens are used until this long before they expire. */
const EXPIRY_MARGIN_MS = 5 * 60_000;

/** An access-token function that reuses its token per scope set; a forced refresh always asks again. */
function remembered(get: (scopes: string[], forceRefresh: boolean) => Promise<PartnerTokenResult>): AccessTokenFunction {
  const kept = new Map<string, { token: string; until: number }>();
  return async (scopes, { forceRefresh }) => {
    const key = [...scopes].sort().join(' ');
    const hit = kept.get(key);
    if (hit && !forceRefresh && hit.until > Date.now()) return hit.token;
    const result = await get(scopes, forceRefresh);
    if (!result.ok) {
      kept.delete(key);
      throw new PartnerTokenError(result.reason, result.explanation);
    }
    if (result.expiresOn) kept.set(key, { token: result.accessToken, until: result.expiresOn.getTime() - EXPIRY_MARGIN_MS });
    return result.accessToken;
  };
}
