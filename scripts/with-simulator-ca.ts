import { spawn } from 'node:child_process';
import { ensureTlsMaterial } from '../test/simulator/ca';
import { DEFAULT_TLS_DIR } from '../test/simulator/server';

/**
 * Runs `node <args>` with the simulator's test CA trusted. Node reads NODE_EXTRA_CA_CERTS only at
 * start-up, so the CA must exist before the process starts: this makes it, then starts the child,
 * forwards Ctrl-C / SIGTERM, and exits with the child's code.
 */
export async function runWithSimulatorCa(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<never> {
  const tls = await ensureTlsMaterial(DEFAULT_TLS_DIR);
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_EXTRA_CA_CERTS: tls.caCertPath, ...extraEnv };
  // DEP0111 is restify's spdy dependency touching process.binding at load: noise, not a finding.
  const child = spawn(process.execPath, ['--disable-warning=DEP0111', ...args], { stdio: 'inherit', env });
  const forward = (sig: NodeJS.Signals) => child.kill(sig);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  return new Promise<never>(() => {
    child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
  });
}
