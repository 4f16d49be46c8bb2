import { AppError } from '../../errors';

/**
 * Where partner secrets live (client secrets, Partner Center secrets, token caches). Values are
 * never logged; implementations register them with the log redactor so they are scrubbed even if
 * some other path tried.
 */
export interface SecretStore {
  readonly kind: 'local' | 'keyvault';
  set(name: string, value: string): Promise<void>;
  /** The value, or undefined when there is no such secret. */
  get(name: string): Promise<string | undefined>;
  /** Removes the secret; removing a missing one is not an error. */
  delete(name: string): Promise<void>;
  /** Names (not values) starting with `prefix`, sorted. */
  list(prefix: string): Promise<string[]>;
}

/** Key Vault's rule for secret names, applied to both stores so a name that works locally works in production. */
const SECRET_NAME = /^[0-9A-Za-z-]{1,127}$/;

export function assertSecretName(name: string): void {
  if (!SECRET_NAME.test(name)) {
    throw new AppError('secret_name_invalid', `secret name must be 1-127 letters, digits or dashes; got ${JSON.stringify(name.slice(0, 40))}`);
  }
}

export function assertSecretPrefix(prefix: string): void {
  if (!/^[0-9A-Za-z-]{0,127}$/.test(prefix)) {
    throw new AppError('secret_name_invalid', `secret name prefix must be letters, digits or dashes; got ${JSON.stringify(prefix.slice(0, 40))}`);
  }
}
