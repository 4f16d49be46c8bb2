import { gunzipSync, gzipSync } from 'node:zlib';
import { ConfidentialClientApplication, type ICachePlugin, type TokenCacheContext } from '@azure/msal-node';
import { partnerSecretPrefix } from '../credentials/credential-service';
import type { SecretStore } from '../store/secrets/secret-store';
import { pkceChallenge, pkceVerifier } from './sign-in-state';

/**
 * msal-node for one partner: a confidential client with the partner's own app registration, and
 * its token cache kept in the secret store.
 *
 * MSAL Node does not hand out refresh tokens; it keeps them in its token cache. The cache is the
 * connection, so it is persisted through an ICachePlugin: one secret per partner
 * (`partner-<tenant>-msal-cache`, under the partner's prefix so `delete my data` removes it), read
 * before every cache access and written after every change. The secret store encrypts it (AES-GCM
 * locally, Key Vault in production); it is gzipped first because a Key Vault secret holds 25 KB.
 */

const FORMAT = 'gz1:';

export function msalCacheSecretName(tenantId: string): string {
  return `${partnerSecretPrefix(tenantId)}msal-cache`;
}

export class PartnerTokenCacheStore {
  constructor(private readonly secrets: SecretStore) {}

  /** The serialized MSAL cache of a partner, or undefined when the service account never signed in. */
  async read(tenantId: string): Promise<string | undefined> {
    const stored = await this.secrets.get(msalCacheSecretName(tenantId));
    if (stored === undefined) return undefined;
    return stored.startsWith(FORMAT) ? gunzipSync(Buffer.from(stored.slice(FORMAT.length), 'base64')).toString('utf8') : stored;
  }

  async write(tenantId: string, serialized: string): Promise<void> {
    await this.secrets.set(msalCacheSecretName(tenantId), `${FORMAT}${gzipSync(Buffer.from(serialized, 'utf8')).toString('base64')}`);
  }

  async delete(tenantId: string): Promise<void> {
    await this.secrets.delete(msalCacheSecretName(tenantId));
  }

  /** The plugin for a client that works from (and saves back to) the partner's stored cache. */
  plugin(tenantId: string): ICachePlugin {
    return {
      beforeCacheAccess: async (context: TokenCacheContext) => {
        const stored = await this.read(tenantId);
        // Nothing stored (never signed in, or the partner's data deleted): start from an empty cache.
        context.tokenCache.deserialize(stored ?? '{}');
      },
      afterCacheAccess: async (context: TokenCacheContext) => {
        if (context.cacheHasChanged) await this.write(tenantId, context.tokenCache.serialize());
      },
    };
  }
}

export interface PartnerClientOptions {
  authorityHost: string;
  partnerTenantId: string;
  clientId: string;
  clientSecret: string;
  cachePlugin?: ICachePlugin;
}

/** A confidential client signing in to the partner tenant (never `common`: the tenant is known). */
export function createPartnerClient(options: PartnerClientOptions): ConfidentialClientApplication {
  return new ConfidentialClientApplication({
    auth: {
      clientId: options.clientId,
      clientSecret: options.clientSecret,
      authority: `${options.authorityHost}/${options.partnerTenantId}`,
      // Without this msal asks Microsoft's discovery endpoint about a non-Microsoft authority host.
      knownAuthorities: [new URL(options.authorityHost).host],
    },
    ...(options.cachePlugin ? { cache: { cachePlugin: options.cachePlugin } } : {}),
    // MSAL's own log would carry account names and endpoints: it stays silent.
    system: { loggerOptions: { loggerCallback: () => undefined, piiLoggingEnabled: false } },
  });
}

/**
 * `url` (built on `authorityHost`, msal's metadata included) for the browser: on
 * `browserAuthorityHost` instead when one is set, path and query unchanged. Other hosts stay as they are.
 */
export function forBrowser(url: string, authorityHost: string, browserAuthorityHost: string | undefined): string {
  if (!browserAuthorityHost || browserAuthorityHost === authorityHost) return url;
  const u = new URL(url);
  if (u.origin !== new URL(authorityHost).origin) return url;
  const browser = new URL(browserAuthorityHost);
  return `${browser.origin}${u.pathname}${u.search}`;
}

/**
 * The authorize URL of a fresh interactive sign-in, for the browser: authorization code with PKCE
 * S256 (the verifier derived from the state, so none is stored), query response mode, and
 * `prompt=login` (browser single sign-on must not pick whoever is signed in already).
 */
export function freshSignInUrl(client: ConfidentialClientApplication, o: {
  scopes: string[]; extraScopesToConsent?: string[]; loginHint?: string; redirectUri: string; state: string; key: Buffer;
  authorityHost: string; browserAuthorityHost: string | undefined;
}): Promise<string> {
  return client.getAuthCodeUrl({
    scopes: o.scopes,
    ...(o.extraScopesToConsent ? { extraScopesToConsent: o.extraScopesToConsent } : {}),
    ...(o.loginHint ? { loginHint: o.loginHint } : {}),
    redirectUri: o.redirectUri,
    responseMode: 'query',
    state: o.state,
    prompt: 'login',
    codeChallenge: pkceChallenge(pkceVerifier(o.key, o.state)),
    codeChallengeMethod: 'S256',
  }).then((url) => forBrowser(url, o.authorityHost, o.browserAuthorityHost));
}
