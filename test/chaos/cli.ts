import { parseArgs } from 'node:util';
import { formatReport, runChaos } from './chaos-run';

/** The chaos run from the command line: prints progress, then the table; exits 1 when a check fails. */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      partners: { type: 'string', default: '20' },
      customers: { type: 'string', default: '2000' },
      kills: { type: 'string', default: '50' },
      'kill-gap': { type: 'string', default: '1000-5000' },
    },
  });
  const [lo, hi] = values['kill-gap'].split('-').map(Number) as [number, number];
  const databaseUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const report = await runChaos({
    databaseUrl, partners: Number(values.partners), customers: Number(values.customers), minKills: Number(values.kills), killGapMs: [lo, hi],
    progress: (line) => console.log(`  ${line}`),
  });
  console.log(`\n${formatReport(report)}`);
  process.exit(report.ok ? 0 : 1);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
