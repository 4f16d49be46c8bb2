import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';

export const ROOT = join(__dirname, '..', '..');

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface BotProcess {
  readonly url: string;
  readonly child: ChildProcess;
  /** Everything the process wrote so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or signal) once the process has ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface StartOptions {
  /** Extra environment; the process environment is inherited (so is NODE_EXTRA_CA_CERTS). */
  env?: Record<string, string>;
  /** `dist`: the compiled bot exactly as `npm start` runs it (build first); `src`: through tsx. */
  entry?: 'dist' | 'src';
  /** Wait for /readyz (default true). */
  waitReady?: boolean;
  timeoutMs?: number;
}

const running = new Set<ChildProcess>();
let reaping = false;
/**
 * A process this one started is killed when this one exits, even when a test or bench fails (or
 * mocha exits) before stopping it: such bots kept their ports and CPU after the run.
 */
export function endsWithThisProcess(child: ChildProcess): void {
  running.add(child);
  child.once('exit', () => running.delete(child));
  if (reaping) return;
  reaping = true;
  process.once('exit', () => { for (const c of running) c.kill('SIGKILL'); });
}

/** Runs the real bot as a child process on a free port and waits until it is ready. */
export async function startBot(options: StartOptions = {}): Promise<BotProcess> {
  const port = options.env?.PORT ? Number(options.env.PORT) : await freePort();
  // DEP0111: restify's spdy dependency (http-deceiver) touches process.binding at load; harmless noise.
  const args = ['--disable-warning=DEP0111', ...(options.entry === 'dist' ? [join(ROOT, 'dist', 'src', 'index.js')] : ['--import', 'tsx', join(ROOT, 'src', 'index.ts')])];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, TEAMSFX_ENV: 'local', LOG_LEVEL: 'info', ...options.env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  endsWithThisProcess(child);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const url = `http://127.0.0.1:${port}`;
  const proc: BotProcess = {
    url,
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
  if (options.waitReady === false) return proc;
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  let ended = false;
  void exited.then(() => { ended = true; });
  while (Date.now() < deadline && !ended) {
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.status === 200) return proc;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await proc.stop('SIGKILL');
  throw new Error(`bot did not become ready.\nstdout:\n${out}\nstderr:\n${err}`);
}

/**
 * The bot processes of one test, each as `npm start` runs it on `env()` (the harness' database,
 * secret store and simulator); `killAll` SIGKILLs whatever still runs.
 */
export function botFleet(env: () => Record<string, string>): { start(): Promise<BotProcess>; killAll(): Promise<void> } {
  const procs: BotProcess[] = [];
  return {
    async start() {
      const proc = await startBot({ entry: 'src', env: { ...env(), LOG_LEVEL: 'info' } });
      procs.push(proc);
      return proc;
    },
    async killAll() {
      for (const p of procs.splice(0)) await p.stop('SIGKILL');
    },
  };
}
