import { ConfidentialClientApplication, ManagedIdentityApplication, type AuthenticationResult } from '@azure/msal-node';
import type { AppConfig } from '../config';
import { AppError } from '../errors';
import type { TokenCredential } from '../microsoft/credential';

/**
 * The bot's own identity as an Azure SDK credential (for Key Vault): client credentials for
 * MultiTenant/SingleTenant bots, the user-assigned managed identity for UserAssignedMSI.
 * Built on msal-node, which caches tokens until shortly before they expire.
 */
export function createAppCredential(config: AppConfig): TokenCredential {
  const { bot, microsoft } = config;
  if (bot.type === 'UserAssignedMSI') return createManagedIdentityCredential(bot.id);
  if (!bot.id || !bot.password || !bot.tenantId) {
    throw new AppError('config_invalid', 'Key Vault needs the bot identity: BOT_ID, BOT_PASSWORD and BOT_TENANT_ID');
  }
  const authorityUrl = new URL(microsoft.authorityHost);
  const app = new ConfidentialClientApplication({
    auth: {
      clientId: bot.id,
      clientSecret: bot.password,
      authority: `${microsoft.authorityHost}/${bot.tenantId}`,
      // Without this msal asks Microsoft's discovery endpoint about a non-Microsoft authority host.
      knownAuthorities: [authorityUrl.host],
    },
  });
  return {
    async getToken(scopes) {
      const list = Array.isArray(scopes) ? scopes : [scopes];
      return toAccessToken(await app.acquireTokenByClientCredential({ scopes: list }));
    },
  };
}

/**
 * The user-assigned managed identity `clientId` of the App Service the bot runs on, as an Azure SDK
 * credential (Key Vault, and PostgreSQL with DATABASE_AUTH=entra). msal-node caches its tokens.
 */
export function createManagedIdentityCredential(clientId: string): TokenCredential {
  const app = new ManagedIdentityApplication({ managedIdentityIdParams: { userAssignedClientId: clientId } });
  return {
    async getToken(scopes) {
      const scope = Array.isArray(scopes) ? scopes[0] : scopes;
      const resource = (scope ?? '').replace(/\/\.default$/, '');
      return toAccessToken(await app.acquireToken({ resource }));
    },
  };
}

function toAccessToken(result: AuthenticationResult | null): { token: string; expiresOnTimestamp: number } {
  if (!result?.accessToken || !result.expiresOn) throw new AppError('internal', 'token request returned no access token');
  return { token: result.accessToken, expiresOnTimestamp: result.expiresOn.getTime() };
}
