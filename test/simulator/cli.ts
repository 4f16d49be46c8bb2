// The simulator on its own: `npm run simulator -- --scenario no-mfa --port 3979`.
// Prints its base URL and the CA file to trust (NODE_EXTRA_CA_CERTS); Ctrl-C stops it.
import { parseArgs } from 'node:util';
import { listScenarios } from './scenario';
import { startSimulator } from './server';

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({ options: { scenario: { type: 'string', default: 'healthy' }, port: { type: 'string', default: '3979' }, help: { type: 'boolean', short: 'h' } } }));
  } catch (err) {
    console.error(`${(err as Error).message}\nUsage: npm run simulator -- [--scenario NAME] [--port N]`);
    process.exit(2);
  }
  if (values.help) {
    console.log(`Usage: npm run simulator -- [--scenario NAME] [--port N]\nScenarios: ${(await listScenarios()).join(', ')}`);
    return;
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`--port: expected a port number 0-65535; got ${JSON.stringify(values.port)}`);
    process.exit(2);
  }
  let sim;
  try {
    sim = await startSimulator({ scenario: values.scenario, port });
  } catch (err) {
    console.error((err as Error).message);
    process.exit(2);
  }
  console.log(`Microsoft cloud simulator on ${sim.baseUrl} (scenario ${sim.scenario.name})`);
  console.log(`Trust its CA with NODE_EXTRA_CA_CERTS=${sim.caCertPath}`);
  console.log(`Entra ID ${sim.baseUrl}/<tenant>  Graph ${sim.baseUrl}/graph  Partner Center ${sim.baseUrl}/partnercenter  Key Vault ${sim.baseUrl}  Bot Connector ${sim.baseUrl}/connector/`);
  const stop = () => { void sim.stop().then(() => process.exit(0)); };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

void main();
