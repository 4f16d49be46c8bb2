// `npm run bench`: the benchmarks, with the simulator's test CA trusted (see with-simulator-ca.ts).
import { join } from 'node:path';
import { runWithSimulatorCa } from './with-simulator-ca';

runWithSimulatorCa(['--import', 'tsx', join(__dirname, '..', 'bench', 'run.ts'), ...process.argv.slice(2)]).catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
