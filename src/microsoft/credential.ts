import type { SecretClient } from '@azure/keyvault-secrets';

/** The Azure SDK's credential shape (`getToken(scopes)`), without depending on @azure/core-auth directly. */
export type TokenCredential = ConstructorParameters<typeof SecretClient>[1];
