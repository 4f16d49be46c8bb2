// The simulator on its own: `npm run simulator -- --scenario no-mfa --port 3979`.
// Prints its base URL and the CA file to trust (NODE_EXTRA_CA_CERTS); Ctrl-C stops it.
// `--sign-in-port N` also serves the sign-in and consent pages over plain HTTP on loopback, for a
// browser that does not trust the test CA.
import { parseArgs } from 'node:util';
import { listScenarios } from './scenario';
import { startSimulator } from './server';

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({ options: { scenario: { type: 'string', default: 'healthy' }, port: { type: 'string', default: '3979' }, 'sign-in-port': { type: 'string' }, help: { type: 'boolean', short: 'h' } } }));
  } catch (err) {
    console.error(`${(err as Error).message}\nUsage: npm run simulator -- [--scenario NAME] [--port N] [--sign-in-port N]`);
    process.exit(2);
  }
  if (values.help) {
    console.log(`Usage: npm run simulator -- [--scenario NAME] [--port N] [--sign-in-port N]\nScenarios: ${(await listScenarios()).join(', ')}`);
    return;
  }
  const portOf = (flag: string, value: string): number => {
    const n = Number(value);
    if (!/^\d{1,5}$/.test(value) || n > 65535) {
      console.error(`--${flag}: expected a port number 0-65535; got ${JSON.stringify(value)}`);
      process.exit(2);
    }
    return n;
  };
  const port = portOf('port', values.port);
  const signInPort = values['sign-in-port'] === undefined ? undefined : portOf('sign-in-port', values['sign-in-port']);
  let sim;
  try {
    sim = await startSimulator({ scenario: values.scenario, port, signInPort });
  } catch (err) {
    console.error((err as Error).message);
    process.exit(2);
  }
  console.log(`Microsoft cloud simulator on ${sim.baseUrl} (scenario ${sim.scenario.name})`);
  console.log(`Trust its CA with NODE_EXTRA_CA_CERTS=${sim.caCertPath}`);
  if (sim.signInUrl) console.log(`Sign-in and consent pages for browsers (plain HTTP, this machine only): ${sim.signInUrl}/<tenant>/oauth2/v2.0/authorize`);
  console.log(`Entra ID ${sim.baseUrl}/<tenant>  Graph ${sim.baseUrl}/graph  Partner Center ${sim.baseUrl}/partnercenter  Key Vault ${sim.baseUrl}  Bot Connector ${sim.baseUrl}/connector/`);
  const stop = () => { void sim.stop().then(() => process.exit(0)); };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

void main();
