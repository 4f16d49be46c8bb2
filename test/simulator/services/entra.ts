import { Router } from '../http';
import type { ServiceFactory } from '../server';

/** Entra ID simulator (in progress). */
export const entraService: ServiceFactory = () => ({ name: 'entra', prefix: '', router: new Router() });
