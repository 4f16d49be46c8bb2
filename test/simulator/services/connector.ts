import { Router } from '../http';
import type { ServiceFactory } from '../server';

/** Bot Connector simulator (in progress). */
export const connectorService: ServiceFactory = () => ({ name: 'connector', prefix: '/connector', router: new Router() });
