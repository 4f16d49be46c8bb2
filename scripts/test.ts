// Runs mocha with the simulator's test CA trusted. Node reads NODE_EXTRA_CA_CERTS only at start-up,
// so the CA must exist before the test process starts: this wrapper makes it, then starts mocha.
//   npm test                       -> every test
//   npm test -- test/config.test.ts -> just those files
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ensureTlsMaterial } from '../test/simulator/ca';
import { DEFAULT_TLS_DIR } from '../test/simulator/server';

async function main(): Promise<void> {
  const tls = await ensureTlsMaterial(DEFAULT_TLS_DIR);
  const args = process.argv.slice(2);
  const files = args.filter((a) => !a.startsWith('-'));
  const flags = args.filter((a) => a.startsWith('-'));
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_EXTRA_CA_CERTS: tls.caCertPath };
  if (files.length > 0) env.MOCHA_SPEC = files.join(',');
  const mocha = join(__dirname, '..', 'node_modules', 'mocha', 'bin', 'mocha.js');
  const child = spawn(process.execPath, [mocha, ...flags], { stdio: 'inherit', env });
  const forward = (sig: NodeJS.Signals) => child.kill(sig);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
