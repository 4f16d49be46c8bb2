import assert from 'node:assert/strict';
import type { Db } from '../../src/store/db';
import { SupportRepository } from '../../src/store/support';
import { announcePostgresSkip, databasesUnderTest } from '../helpers/databases';
import { tapped } from '../helpers/db-tap';
import { genericPlan } from '../helpers/generic-plan';

/** A statement as the repository sent it. */
interface Sent { sql: string; params: readonly unknown[] }

/** The database seam, keeping each statement with parameters a repository call sends (and running it). */
function recording(db: Db, sent: Sent[]): Db {
  return tapped(db, { statement: (sql, params) => { if (params) sent.push({ sql, params }); } });
}

/**
 * Every statement with parameters runs as a named (prepared) statement (issue 29), so it may run
 * with a plan made without its values (see genericPlan): a lookup whose index use depends on a
 * value (an OR over two ways to find a row) then reads the whole table on every call. These
 * lookups are on the turn's path and their tables grow without bound: one support channel holds
 * every partner's case.
 */
describe('generic plans: the hot lookups keep their index when planned without values', function () {
  this.timeout(120_000);
  announcePostgresSkip();
  for (const engine of databasesUnderTest()) {
    describe(engine.name, () => {
      let db: Db;
      const CASES = 3_000;
      const channel = { tenant: 'op-tenant', id: '19:escalations@thread.tacv2' };
      before(async () => {
        db = await engine.open();
        await db.query('INSERT INTO partners (tenant_id) SELECT $1 || i FROM generate_series(1, $2::int) i', ['t-', CASES]);
        await db.query(
          `INSERT INTO support_cases (tenant_id, status, channel_tenant_id, channel_id, thread_id, card_activity_id, opened_by, opened_by_name)
           SELECT $1 || i, 'open', $2, $3, $3 || ';messageid=' || (1700000000000 + i), (1700000000000 + i)::text, 'a', 'Megan Bowen' FROM generate_series(1, $4::int) i`,
          ['t-', channel.tenant, channel.id, CASES]);
        await db.exec('ANALYZE support_cases');
      });
      after(() => engine.cleanup());

      for (const [how, conversationId, activityId] of [
        ['a click in the case\'s thread', `${channel.id};messageid=1700000001500`, '1700000001500'],
        ['a click on the card in the bare channel', channel.id, '1700000001500'],
      ] as const) {
        it(`support: the case ${how} (${CASES} cases in one channel): found through an index, never a scan of the table`, async () => {
          const sent: Sent[] = [];
          const found = await new SupportRepository(recording(db, sent)).byThread(channel.tenant, channel.id, conversationId, activityId);
          assert.equal(found?.tenantId, 't-1500');
          assert.ok(sent.length >= 1);
          for (const s of sent) {
            const plan = await genericPlan(db, s.sql, s.params);
            assert.doesNotMatch(plan, /Seq Scan on support_cases/, `${s.sql}\n${plan}`);
          }
        });
      }
    });
  }
});
