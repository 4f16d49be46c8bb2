// Runs mocha with the simulator's test CA trusted. Node reads NODE_EXTRA_CA_CERTS only at start-up,
// so the CA must exist before the test process starts: this wrapper makes it, then starts mocha.
//   npm test                       -> every test
//   npm test -- test/config.test.ts -> just those files
//   npm test -- --grep 'double click' -> mocha flags pass through
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ensureTlsMaterial } from '../test/simulator/ca';
import { DEFAULT_TLS_DIR } from '../test/simulator/server';

async function main(): Promise<void> {
  const tls = await ensureTlsMaterial(DEFAULT_TLS_DIR);
  const args = process.argv.slice(2);
  // Test files select the spec; everything else (--grep x, --bail…) goes to mocha as it is.
  const isFile = (a: string) => /\.test\.ts$/.test(a) || (!a.startsWith('-') && a.startsWith('test/'));
  const files = args.filter(isFile);
  const flags = args.filter((a) => !isFile(a));
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_EXTRA_CA_CERTS: tls.caCertPath };
  if (files.length > 0) env.MOCHA_SPEC = files.join(',');
  const mocha = join(__dirname, '..', 'node_modules', 'mocha', 'bin', 'mocha.js');
  // DEP0111 is restify's spdy dependency touching process.binding at load: noise, not a finding.
  const child = spawn(process.execPath, ['--disable-warning=DEP0111', mocha, ...flags], { stdio: 'inherit', env });
  const forward = (sig: NodeJS.Signals) => child.kill(sig);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
