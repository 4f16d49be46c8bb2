import { SecretClient } from '@azure/keyvault-secrets';
import { AppError } from '../../errors';
import type { TokenCredential } from '../../microsoft/credential';
import type { Redactor } from '../../logger';
import { assertSecretName, assertSecretPrefix, type SecretStore } from './secret-store';


export interface KeyVaultSecretStoreOptions {
  /** Only for the local simulator: the SDK checks that the auth challenge names the vault's domain. */
  disableChallengeResourceVerification?: boolean;
  redactor?: Redactor;
}

function statusOf(err: unknown): number | undefined {
  const s = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof s === 'number' ? s : undefined;
}

/**
 * Secrets in Azure Key Vault. Needs the `Key Vault Secrets Officer` role (get, set, list, delete,
 * purge) for the bot's identity on the vault.
 */
export class KeyVaultSecretStore implements SecretStore {
  readonly kind = 'keyvault' as const;
  private readonly client: SecretClient;
  private readonly redactor?: Redactor;

  constructor(vaultUrl: string, credential: TokenCredential, options: KeyVaultSecretStoreOptions = {}) {
    this.client = new SecretClient(vaultUrl, credential, {
      disableChallengeResourceVerification: options.disableChallengeResourceVerification ?? false,
      retryOptions: { maxRetries: 3 },
    });
    this.redactor = options.redactor;
  }

  async set(name: string, value: string): Promise<void> {
    assertSecretName(name);
    this.redactor?.addSecret(value);
    await this.wrap(`set "${name}"`, () => this.client.setSecret(name, value));
  }

  async get(name: string): Promise<string | undefined> {
    assertSecretName(name);
    try {
      const secret = await this.client.getSecret(name);
      if (secret.value !== undefined) this.redactor?.addSecret(secret.value);
      return secret.value;
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw this.unavailable(`get "${name}"`, err);
    }
  }

  async delete(name: string): Promise<void> {
    assertSecretName(name);
    try {
      const poller = await this.client.beginDeleteSecret(name);
      await poller.pollUntilDone();
    } catch (err) {
      if (statusOf(err) === 404) return;
      throw this.unavailable(`delete "${name}"`, err);
    }
    // A soft-deleted name cannot be set again until purged. A vault with purge protection refuses
    // the purge (403); the secret is still deleted, so that is not a failure.
    try {
      await this.client.purgeDeletedSecret(name);
    } catch (err) {
      const status = statusOf(err);
      if (status !== 403 && status !== 404) throw this.unavailable(`purge "${name}"`, err);
    }
  }

  async list(prefix: string): Promise<string[]> {
    assertSecretPrefix(prefix);
    const names: string[] = [];
    await this.wrap('list', async () => {
      for await (const props of this.client.listPropertiesOfSecrets()) {
        if (props.name.startsWith(prefix)) names.push(props.name);
      }
    });
    return names.sort();
  }

  private async wrap<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw this.unavailable(what, err);
    }
  }

  private unavailable(what: string, err: unknown): AppError {
    const status = statusOf(err);
    return new AppError('secret_store_unavailable', `Key Vault ${what} failed${status ? ` (HTTP ${status})` : ''}`, { cause: err });
  }
}
