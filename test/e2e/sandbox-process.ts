import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * `npm run sandbox` as a newcomer runs it: spawned in its own process group (a terminal's
 * foreground job), stopped with a SIGINT to that group (Ctrl-C). Knows every process underneath
 * it, so a test can prove none is left behind.
 */

import { freePort, ROOT } from '../helpers/bot-process';
import { PlaygroundSession, skipWithoutChromium, type OpenOptions } from './playground';

export interface SandboxRun {
  readonly child: ChildProcess;
  readonly playgroundUrl: string;
  readonly botUrl: string;
  readonly simulatorUrl: string;
  /** The simulator's sign-in pages for the browser (plain HTTP on loopback). */
  readonly signInUrl: string;
  /** Everything it printed so far (stdout and stderr, interleaved). */
  output(): string;
  /** npm and every process under it, as of now. */
  processTree(): number[];
  /** Every pid ever seen in that tree (it is sampled while waiting for start-up and on each call). */
  knownPids(): ReadonlySet<number>;
  /** Resolves once npm itself has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends `signal` to the whole process group, as a terminal does on Ctrl-C. */
  signalGroup(signal: NodeJS.Signals): void;
  /** SIGKILL to the group and every known descendant (cleanup after a failed test). */
  kill(): void;
}

/** Flags for a sandbox on free ports with its own data folder. */
export async function sandboxArgs(dataDir: string): Promise<string[]> {
  return ['--port', String(await freePort()), '--playground-port', String(await freePort()), '--sim-port', String(await freePort()), '--data-dir', dataDir];
}

/** `env`: added to this process' environment for npm and what it starts (the bot inherits it). */
export async function startSandboxProcess(args: string[], options: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<SandboxRun> {
  const child = spawn('npm', ['run', 'sandbox', '--', ...args], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    // npm's own update check would reach the registry: not part of what is under test.
    env: { ...process.env, ...options.env, npm_config_update_notifier: 'false', npm_config_fund: 'false' },
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const known = new Set<number>();
  const tree = (): number[] => {
    const pids = child.pid === undefined ? [] : descendantsOf(child.pid, true);
    for (const p of pids) known.add(p);
    return pids;
  };
  const signalGroup = (signal: NodeJS.Signals): void => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, signal);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  };
  const kill = (): void => {
    tree();
    signalGroup('SIGKILL');
    for (const pid of known) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };

  let ended = false;
  void exited.then(() => { ended = true; });
  const deadline = Date.now() + (options.timeoutMs ?? 90_000);
  while (!/Sandbox ready\./.test(out)) {
    if (ended || Date.now() > deadline) {
      kill();
      throw new Error(`npm run sandbox ${ended ? 'exited' : 'was not ready in time'}; it printed:\n${out}`);
    }
    tree();
    await new Promise((r) => setTimeout(r, 100));
  }
  tree();
  const field = (label: string): string => {
    const m = new RegExp(`^\\s*${label}:\\s+(\\S+)`, 'm').exec(out);
    if (!m?.[1]) throw new Error(`the sandbox banner has no "${label}:" line:\n${out}`);
    return m[1];
  };
  return {
    child,
    playgroundUrl: field('Open the Playground'),
    botUrl: field('Bot'),
    simulatorUrl: field('Simulator'),
    signInUrl: field('Sign-in pages'),
    output: () => out,
    processTree: tree,
    knownPids: () => known,
    exited,
    signalGroup,
    kill,
  };
}

/** `pid` (if `self`) and its descendants, from /proc. Zombies count as gone. */
export function descendantsOf(pid: number, self = false): number[] {
  const children = new Map<number, number[]>();
  for (const name of safeReaddir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const info = statOf(Number(name));
    if (!info || info.state === 'Z') continue;
    const list = children.get(info.ppid) ?? [];
    list.push(Number(name));
    children.set(info.ppid, list);
  }
  const result: number[] = [];
  const visit = (p: number): void => {
    for (const c of children.get(p) ?? []) {
      result.push(c);
      visit(c);
    }
  };
  visit(pid);
  return self && isRunning(pid) ? [pid, ...result] : result;
}

export interface ListeningSocket {
  pid: number;
  /** As bound: `127.0.0.1`, `0.0.0.0`, `::`, `::1`, `::ffff:127.0.0.1`… */
  address: string;
  port: number;
}

/**
 * The TCP sockets `pids` listen on, from /proc/net/tcp{,6} (state 0A) matched by inode to each
 * process's /proc/<pid>/fd: what `ss -ltnp` shows, without needing ss.
 */
export function listeningSockets(pids: number[]): ListeningSocket[] {
  const byInode = new Map<string, { address: string; port: number }>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue; // no IPv6 here
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10 || cols[3] !== '0A') continue;
      const [hexAddr = '', hexPort = ''] = (cols[1] ?? '').split(':');
      byInode.set(cols[9]!, { address: procAddress(hexAddr), port: parseInt(hexPort, 16) });
    }
  }
  const found: ListeningSocket[] = [];
  for (const pid of pids) {
    for (const fd of safeReaddir(`/proc/${pid}/fd`)) {
      let target = '';
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue; // closed meanwhile
      }
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      const socket = inode === undefined ? undefined : byInode.get(inode);
      if (socket) found.push({ pid, ...socket });
    }
  }
  return found;
}

/** /proc/net's hex address (32-bit words in host order, little-endian here) as text. */
function procAddress(hex: string): string {
  const words = (hex.match(/.{8}/g) ?? []).map((w) => Buffer.from(w, 'hex').reverse());
  if (words.length === 1) return [...words[0]!].join('.');
  const bytes = Buffer.concat(words);
  if (bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) return `::ffff:${[...bytes.subarray(12)].join('.')}`;
  const groups = Array.from({ length: 8 }, (_, i) => bytes.readUInt16BE(i * 2).toString(16));
  // The URL parser writes IPv6 in its shortest form.
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
}

/** Alive and not a zombie. */
export function isRunning(pid: number): boolean {
  const info = statOf(pid);
  return info !== undefined && info.state !== 'Z';
}

/** The command line of `pid`, for messages. */
export function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim().slice(0, 160);
  } catch {
    return '?';
  }
}

function statOf(pid: number): { state: string; ppid: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const [state = '', ppid = '0'] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state, ppid: Number(ppid) };
  } catch {
    return undefined;
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Ctrl-C to the whole sandbox, as a person stops it; killed after 15 s if it is still there. */
export async function stopSandboxProcess(run: SandboxRun | undefined): Promise<void> {
  if (!run) return;
  run.signalGroup('SIGINT');
  await Promise.race([run.exited, new Promise((r) => setTimeout(r, 15_000))]);
  run.kill();
}

/**
 * `npm run sandbox` on a fresh data dir and a Playground session on it, for one describe block:
 * started in `before` (skipped, saying why, without Chromium; `open` gives the session's options
 * once the sandbox runs), stopped and removed in `after`.
 */
export function sandboxInPlayground(name: string, open: () => Promise<Omit<OpenOptions, 'name'>> = async () => ({})): { session(): PlaygroundSession; run(): SandboxRun; dataDir(): string } {
  let dataDir = '';
  let run: SandboxRun | undefined;
  let session: PlaygroundSession | undefined;
  before(async function () {
    skipWithoutChromium(this);
    dataDir = await mkdtemp(join(tmpdir(), `${name}-e2e-`));
    run = await startSandboxProcess(await sandboxArgs(dataDir));
    session = await PlaygroundSession.open(run.playgroundUrl, { name, ...(await open()) });
  });
  after(async () => {
    await session?.close();
    await stopSandboxProcess(run);
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });
  return { session: () => session!, run: () => run!, dataDir: () => dataDir };
}
