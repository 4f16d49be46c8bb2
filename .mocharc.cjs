// Tests are TypeScript, loaded through tsx. `npm test` goes through scripts/test.ts, which makes the
// simulator's test CA exist and trusted (NODE_EXTRA_CA_CERTS) before mocha starts.
module.exports = {
  // The network guard fails the run on any connection that is not to a loopback address (children too).
  require: ['tsx/cjs', 'reflect-metadata', './test/harness/network-guard.ts'],
  extension: ['ts'],
  spec: process.env.MOCHA_SPEC ? process.env.MOCHA_SPEC.split(',') : ['test/**/*.test.ts'],
  timeout: 30000,
  reporter: 'spec',
  exit: true,
};
