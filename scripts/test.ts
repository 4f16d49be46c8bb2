// Runs mocha with the simulator's test CA trusted (see with-simulator-ca.ts).
//   npm test                          -> every test
//   npm test -- test/config.test.ts   -> just those files
//   npm test -- --grep 'double click' -> mocha flags pass through
import { join } from 'node:path';
import { runWithSimulatorCa } from './with-simulator-ca';

const args = process.argv.slice(2);
// Test files select the spec; everything else (--grep x, --bail…) goes to mocha as it is.
const isFile = (a: string) => /\.test\.ts$/.test(a) || (!a.startsWith('-') && a.startsWith('test/'));
const files = args.filter(isFile);
const flags = args.filter((a) => !isFile(a));
const mocha = join(__dirname, '..', 'node_modules', 'mocha', 'bin', 'mocha.js');

runWithSimulatorCa([mocha, ...flags], files.length > 0 ? { MOCHA_SPEC: files.join(',') } : {}).catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
