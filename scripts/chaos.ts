// `npm run chaos`: the chaos run (test/chaos/cli.ts), with the simulator's test CA trusted (see with-simulator-ca.ts).
//   npm run chaos                                   -> 20 partners, at least 50 SIGKILLs
//   npm run chaos -- --partners 4 --kills 6         -> a smaller run
// Needs PostgreSQL: TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test).
import { join } from 'node:path';
import { runWithSimulatorCa } from './with-simulator-ca';

runWithSimulatorCa(['--import', 'tsx', '--require', 'reflect-metadata', join(__dirname, '..', 'test', 'chaos', 'cli.ts'), ...process.argv.slice(2)]).catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
