'use strict';
// Preloaded (NODE_OPTIONS=--require) into the Microsoft 365 Agents Playground by `npm run sandbox`.
// Its CLI has no host option and its server calls listen(port), which binds every interface (::):
// anyone on the network could chat as the scenario's Global Administrator. Here a listen() that
// names no host binds 127.0.0.1; one that names a host, a pipe or a handle is left as it is.
// Plain CommonJS: it loads into any node process, before the Playground's own code.

const net = require('node:net');

const LOOPBACK = '127.0.0.1';

/** listen()'s arguments, with 127.0.0.1 as the host when none is named. */
function withLoopbackHost(args) {
  const [first, second] = args;
  if (first === undefined || typeof first === 'function') return [0, LOOPBACK, ...args.slice(first === undefined ? 1 : 0)];
  if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
    if (typeof second === 'string') return args; // listen(port, host, …)
    // listen(port), listen(port, undefined, …), listen(port, backlog, …), listen(port, callback)
    return [first, LOOPBACK, ...args.slice(second === undefined || second === null ? 2 : 1)];
  }
  if (first !== null && typeof first === 'object') {
    // listen(options, …); a handle, fd or pipe path is not a TCP port on an interface.
    if (first.host !== undefined || first.path !== undefined || first.fd !== undefined || first.handle !== undefined || '_handle' in first) return args;
    return [{ ...first, host: LOOPBACK }, ...args.slice(1)];
  }
  return args; // listen(path, …): a pipe
}

const original = net.Server.prototype.listen;
net.Server.prototype.listen = function loopbackListen(...args) {
  return original.apply(this, withLoopbackHost(args));
};

module.exports = { withLoopbackHost };
