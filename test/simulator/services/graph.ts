import { Router } from '../http';
import type { ServiceFactory } from '../server';

/** Microsoft Graph simulator (in progress). */
export const graphService: ServiceFactory = () => ({ name: 'graph', prefix: '/graph', router: new Router() });
