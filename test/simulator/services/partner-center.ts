import { Router } from '../http';
import type { ServiceFactory } from '../server';

/** Partner Center simulator (in progress). */
export const partnerCenterService: ServiceFactory = () => ({ name: 'partnercenter', prefix: '/partnercenter', router: new Router() });
