import assert from 'node:assert/strict';
import { TEST_DATABASE_URL } from '../helpers/databases';
import { formatReport, runChaos } from './chaos-run';

const PARTNERS = 3;
const CUSTOMERS = 2_000;
const KILLS = 6;

if (!TEST_DATABASE_URL) console.log('    (chaos run not run: it needs PostgreSQL for two bot processes; TEST_DATABASE_URL is not set, .ci/run sets it)');

/**
 * The chaos run, CI-sized (`npm run chaos` is the full one): two real bot processes on one
 * PostgreSQL behind a round-robin front, partners walking the whole journey through it while a
 * random instance is SIGKILLed and restarted. Every effect once: nothing lost, nothing twice
 * outside a send in flight at a kill (listed in the table).
 */
(TEST_DATABASE_URL ? describe : describe.skip)('chaos run, CI-sized (PostgreSQL, two real bot processes, SIGKILL)', function () {
  this.timeout(900_000);

  it(`${PARTNERS} partners, ${CUSTOMERS.toLocaleString('en')} customers each, at least ${KILLS} SIGKILLs: every partner through, customers exact, notices sent, cases claimed once, no job stuck, no error line`, async () => {
    const report = await runChaos({ databaseUrl: TEST_DATABASE_URL!, partners: PARTNERS, customers: CUSTOMERS, minKills: KILLS, killGapMs: [4_000, 12_000] });
    console.log(formatReport(report).split('\n').map((l) => `      ${l}`).join('\n'));
    assert.ok(report.kills >= KILLS, `${report.kills} kills`);
    assert.deepEqual(report.rows.filter((r) => !r.ok).map((r) => `${r.check}: ${r.result}; ${r.detail.join('; ')}`), []);
    assert.equal(report.rows.length, 6);
  });
});
