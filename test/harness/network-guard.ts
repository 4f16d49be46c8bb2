import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as core from './network-guard-preload.cjs';
import type { ConnectionRecord, GuardState } from './network-guard-preload.cjs';

/**
 * Proves the suite talks only to localhost. Wire it into `.mocharc.cjs` as a root hook plugin:
 *   require: ['tsx/cjs', 'reflect-metadata', './test/harness/network-guard.ts']
 * Every outgoing connection of the test process is recorded; a non-loopback one is blocked at once
 * (its socket errors with ENETWORKGUARD, naming the host) and fails the run in the root `afterAll`.
 * Child processes inherit the guard: `NODE_OPTIONS` gets `--require network-guard-preload.cjs` and
 * `NETWORK_GUARD_LOG` points at a file where they append their violations, read back here.
 * `NETWORK_GUARD=off` disables it; `NETWORK_GUARD_MODE=record` records without blocking.
 */

export type { ConnectionRecord } from './network-guard-preload.cjs';

export const PRELOAD_PATH = join(__dirname, 'network-guard-preload.cjs');

let state: GuardState | undefined;

export function guardEnabled(): boolean {
  return process.env.NETWORK_GUARD !== 'off';
}

/** Installs the guard in this process and arms every child started from now on. Idempotent. */
export function installNetworkGuard(options: { mode?: 'block' | 'record' } = {}): GuardState | undefined {
  if (!guardEnabled()) return undefined;
  if (state) return state;
  // Our own violations stay in memory; the log file is for children (unless we are a child ourselves).
  state = core.install({ mode: options.mode });
  if (!process.env.NETWORK_GUARD_LOG) {
    const dir = mkdtempSync(join(tmpdir(), 'network-guard-'));
    const logFile = join(dir, 'violations.jsonl');
    writeFileSync(logFile, '');
    process.env.NETWORK_GUARD_LOG = logFile;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  process.env.NODE_OPTIONS = withPreload(process.env.NODE_OPTIONS);
  return state;
}

/** An env for a child spawned with an explicit `env`: the guard preloaded, violations to `logFile`. */
export function guardedEnv(env: NodeJS.ProcessEnv = process.env, logFile = process.env.NETWORK_GUARD_LOG): NodeJS.ProcessEnv {
  if (!logFile) throw new Error('network guard: no log file; call installNetworkGuard() first or pass one');
  return { ...env, NETWORK_GUARD_LOG: logFile, NODE_OPTIONS: withPreload(env.NODE_OPTIONS) };
}

/** Every connection attempt of this process since the guard was installed. */
export function connections(): readonly ConnectionRecord[] {
  return state?.connections ?? [];
}

/** Non-loopback attempts: this process's and those its children logged. */
export function violations(): ConnectionRecord[] {
  const own = state?.violations ?? [];
  const logFile = process.env.NETWORK_GUARD_LOG;
  const children = logFile ? core.readLog(logFile).filter((v) => v.pid !== process.pid) : [];
  return [...own, ...children];
}

/** Drops recorded violations matching `predicate` (the guard's own self-test provokes some on purpose). */
export function forgetViolations(predicate: (v: ConnectionRecord) => boolean): void {
  if (state) {
    const keep = state.violations.filter((v) => !predicate(v));
    state.violations.splice(0, state.violations.length, ...keep);
    const connections = state.connections.filter((c) => c.loopback || !predicate(c));
    state.connections.splice(0, state.connections.length, ...connections);
  }
  const logFile = process.env.NETWORK_GUARD_LOG;
  if (logFile) {
    const keep = core.readLog(logFile).filter((v) => !predicate(v));
    writeFileSync(logFile, keep.map((v) => JSON.stringify(v) + '\n').join(''));
  }
}

export function formatViolations(list: readonly ConnectionRecord[]): string {
  const lines = list.map((v) => `  - ${v.host}:${v.port ?? '?'} (pid ${v.pid}${v.pid === process.pid ? ', test process' : `, ${v.process}`})${v.test ? ` during "${v.test}"` : ''}`);
  return `network guard: the tests tried to reach ${list.length === 1 ? 'a host' : `${list.length} hosts`} other than loopback:\n${lines.join('\n')}\n` +
    'Tests may only talk to 127.0.0.1 / ::1 / localhost (the simulator, the bot). Point the client at the simulator.';
}

/** Throws naming every non-loopback host contacted so far. */
export function assertOnlyLoopback(): void {
  const v = violations();
  if (v.length > 0) throw new Error(formatViolations(v));
}

function withPreload(nodeOptions: string | undefined): string {
  const current = nodeOptions ?? '';
  if (current.includes(PRELOAD_PATH)) return current;
  const arg = /\s/.test(PRELOAD_PATH) ? `--require ${JSON.stringify(PRELOAD_PATH)}` : `--require=${PRELOAD_PATH}`;
  return `${current} ${arg}`.trim();
}

/** Names the running test in violations (the root hooks do this for every test). */
export function setCurrentTest(title: string | undefined): void {
  if (!state) return;
  state.currentTest = title;
  // Children spawned during the test inherit it, so their violations name it too.
  if (title === undefined) delete process.env.NETWORK_GUARD_TEST;
  else process.env.NETWORK_GUARD_TEST = title;
}

/** Mocha root hook plugin (`--require ./test/harness/network-guard.ts`). */
export const mochaHooks: Mocha.RootHookObject = {
  beforeAll(): void {
    installNetworkGuard();
  },
  beforeEach(this: Mocha.Context): void {
    setCurrentTest(this.currentTest?.fullTitle());
  },
  afterEach(): void {
    setCurrentTest(undefined);
  },
  afterAll(): void {
    if (!guardEnabled()) return;
    const v = violations();
    if (v.length > 0) throw new Error(formatViolations(v));
  },
};
