import type { ServiceFactory } from '../server';
import { botFrameworkService } from './bot-framework';
import { connectorService } from './connector';
import { entraService } from './entra';
import { graphService } from './graph';
import { keyVaultService } from './key-vault';
import { partnerCenterService } from './partner-center';

/** Every simulated Microsoft service, mounted on one HTTPS port by path prefix. */
export const allServices: ServiceFactory[] = [entraService, graphService, partnerCenterService, keyVaultService, connectorService, botFrameworkService];
