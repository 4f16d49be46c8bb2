import { Router } from '../http';
import type { ServiceFactory } from '../server';

/** Key Vault simulator (in progress). */
export const keyVaultService: ServiceFactory = () => ({ name: 'keyvault', prefix: '/keyvault', router: new Router() });
