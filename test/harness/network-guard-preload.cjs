'use strict';
// Network guard: every outgoing TCP connection of this process must go to loopback. It wraps
// net.Socket.prototype.connect, which node:http, node:https, node:tls, net.connect and fetch
// (undici) all end in, so it sees every client connection before DNS or any packet.
//
// Two ways in:
//  - the test process: test/harness/network-guard.ts calls install() (mocha root hook);
//  - child processes (the bot spawned by tests): `NODE_OPTIONS=--require <this file>` with
//    NETWORK_GUARD_LOG=<file>; violations are appended there as JSON lines for the parent.
// NETWORK_GUARD_MODE=record only records; the default blocks (the socket fails with
// ENETWORKGUARD, naming the host), so nothing leaves the machine even while a test is failing.
// Plain CommonJS on purpose: it must load in any node child, with or without tsx.

const net = require('node:net');
const fs = require('node:fs');

const STATE = Symbol.for('partner-onboarding-bot.network-guard');

/** @param {unknown} host */
function isLoopbackHost(host) {
  if (host === undefined || host === null || host === '') return true; // net defaults to localhost
  let h = String(host).toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)) return true;
  if (h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  return /^::ffff:127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** Where a Socket#connect call goes: {path} for IPC, else {host, port}. */
function targetOf(args) {
  // net.connect() hands Socket#connect its normalized [options, callback] array.
  const a = Array.isArray(args[0]) ? args[0] : args;
  const first = a[0];
  if (first && typeof first === 'object') {
    if (typeof first.path === 'string') return { path: first.path };
    return { host: first.host === undefined ? 'localhost' : String(first.host), port: first.port === undefined ? undefined : Number(first.port) };
  }
  if (typeof first === 'string' && !/^\d+$/.test(first)) return { path: first };
  return { host: typeof a[1] === 'string' ? a[1] : 'localhost', port: first === undefined ? undefined : Number(first) };
}

function describeProcess() {
  const args = process.argv.length > 1 ? process.argv.slice(1) : process.execArgv;
  return args.map((x) => x.replace(/^.*[\\/]node_modules[\\/]/, '')).join(' ').slice(0, 200);
}

/**
 * Installs the guard once per process (idempotent; later calls return the same state).
 * @param {{mode?: 'block'|'record', logFile?: string}} [options]
 */
function install(options = {}) {
  if (globalThis[STATE]) return globalThis[STATE];
  const original = net.Socket.prototype.connect;
  const state = {
    mode: options.mode || process.env.NETWORK_GUARD_MODE || 'block',
    logFile: options.logFile || process.env.NETWORK_GUARD_LOG || undefined,
    /** Every client connection attempt, oldest first. */
    connections: [],
    /** The non-loopback ones. */
    violations: [],
    /** Set by the mocha hooks so a violation names its test. */
    currentTest: undefined,
    uninstall() {
      net.Socket.prototype.connect = original;
      delete globalThis[STATE];
    },
  };
  net.Socket.prototype.connect = function guardedConnect(...args) {
    const target = targetOf(args);
    if (target.path !== undefined) return original.apply(this, args);
    const record = {
      host: target.host,
      port: target.port,
      loopback: isLoopbackHost(target.host),
      pid: process.pid,
      process: describeProcess(),
      at: new Date().toISOString(),
      // A child learns the parent's running test from the env it inherited.
      test: state.currentTest ?? process.env.NETWORK_GUARD_TEST,
    };
    state.connections.push(record);
    if (record.loopback) return original.apply(this, args);
    state.violations.push(record);
    if (state.logFile) {
      try {
        fs.appendFileSync(state.logFile, JSON.stringify(record) + '\n');
      } catch (err) {
        process.stderr.write(`[network-guard] cannot write ${state.logFile}: ${err.message}\n`);
      }
    }
    if (state.mode === 'record') return original.apply(this, args);
    const err = new Error(`network-guard: blocked connection to ${record.host}:${record.port} — tests may only connect to loopback`);
    err.code = 'ENETWORKGUARD';
    process.nextTick(() => this.destroy(err));
    return this;
  };
  globalThis[STATE] = state;
  return state;
}

/** Reads violations that child processes appended to a log file. */
function readLog(logFile) {
  let text;
  try {
    text = fs.readFileSync(logFile, 'utf8');
  } catch {
    return [];
  }
  return text.split('\n').filter(Boolean).map((line) => JSON.parse(line));
}

module.exports = { install, isLoopbackHost, targetOf, readLog, STATE };

// Preloaded into a child through NODE_OPTIONS: guard it right away.
if (process.env.NETWORK_GUARD_LOG && process.env.NETWORK_GUARD !== 'off' && require.main !== module) {
  install();
}
