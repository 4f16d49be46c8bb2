import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { openDatabase, type Db, type Queryable } from '../../src/store/db';
import { BotUnderTest, COMPANY } from '../helpers/chat';

/** The database seam, counting: every statement a turn sends, in order. */
function counting(db: Db, log: string[]): Db {
  const wrap = (q: Queryable): Queryable => ({
    query: (sql, params) => { log.push(sql); return q.query(sql, params); },
    exec: (sql) => { log.push(sql); return q.exec(sql); },
  });
  // The job engine's own polling (`script`) is not the turn's: passed through, not counted.
  return { engine: db.engine, ...wrap(db), transaction: (fn) => db.transaction((tx) => fn(wrap(tx))), script: (sql, params) => db.script(sql, params), close: () => db.close() } as Db;
}

/** A read of the partner record (PartnerRepository.get), as opposed to locks and writes. */
const isPartnerRead = (sql: string): boolean => /^\s*SELECT[\s\S]*\bFROM partners p\b/.test(sql) && !/FOR UPDATE/.test(sql);

describe('one turn, one context: what a card submit costs the database', function () {
  this.timeout(60_000);
  const log: string[] = [];
  let bot: BotUnderTest;
  before(async () => {
    bot = await BotUnderTest.start({ teamsLimits: false, db: counting(await openDatabase({ kind: 'pglite-memory' }), log) });
  });
  after(() => bot.stop());

  it('a company submit reads the partner once', async () => {
    const chat = bot.chat({ tenantId: randomUUID(), user: { name: 'Megan Bowen', aadObjectId: randomUUID() } });
    await chat.say('start', 1);
    log.length = 0;
    await chat.press('Save company details', COMPANY, { count: 1 });
    const reads = log.filter(isPartnerRead);
    console.log(`      company submit: ${log.length} SQL statements, ${reads.length} partner read(s)`);
    if (process.env.SHOW_SQL) console.log(log.map((l) => l.replace(/\s+/g, " ").slice(0, 140)).join("\n"));
    assert.equal(reads.length, 1, `partner reads:\n${reads.join('\n---\n')}`);
    assert.ok(log.length <= 12, `statements:\n${log.join('\n---\n')}`);
  });
});
