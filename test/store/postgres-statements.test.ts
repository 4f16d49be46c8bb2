import assert from 'node:assert/strict';
import { openDatabase, type Db } from '../../src/store/db';
import { ownSchema, TEST_DATABASE_URL } from '../helpers/databases';

/**
 * On PostgreSQL, `query` with parameters runs as a named statement, so a connection parses and plans
 * each text once (issue 29: the turn's statements are long). What that must not break: a table
 * changed by another instance's migration, SQL built at run time, several statements in one text.
 * Sequential queries reuse the pool's one idle connection, so pg_prepared_statements (which is per
 * connection) shows what the bot's connection holds.
 */
describe('PostgreSQL: named statements for the turn queries', function () {
  this.timeout(60_000);
  if (!TEST_DATABASE_URL) {
    it('(not run: TEST_DATABASE_URL is not set)', () => undefined);
    return;
  }
  const url = TEST_DATABASE_URL;
  let schema: Awaited<ReturnType<typeof ownSchema>>;
  let db: Db;
  let other: Db;
  beforeEach(async () => {
    schema = await ownSchema(url, 'stmts');
    db = await openDatabase({ kind: 'postgres', url: schema.url });
    other = await openDatabase({ kind: 'postgres', url: schema.url });
    await db.exec('CREATE TABLE t (a int NOT NULL)');
    await db.exec('INSERT INTO t VALUES (1), (2)');
  });
  afterEach(async () => {
    await db.close();
    await other.close();
    await schema.drop();
  });

  const prepared = async (text: string) => (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_prepared_statements WHERE statement = $1', [text]))[0]!.n;

  it('a text with parameters is parsed once on a connection and then only executed', async () => {
    const text = 'SELECT a FROM t WHERE a = $1';
    assert.deepEqual(await db.query(text, [1]), [{ a: 1 }]);
    assert.deepEqual(await db.query(text, [2]), [{ a: 2 }]);
    assert.equal(await prepared(text), 1, 'one prepared statement for the text on this connection');
    assert.equal(await prepared('SELECT a FROM t'), 0);
  });

  it('a table changed under a prepared SELECT * (another instance migrating) answers with the new columns instead of "cached plan must not change result type"', async () => {
    const text = 'SELECT * FROM t WHERE a = $1';
    assert.deepEqual(await db.query(text, [1]), [{ a: 1 }]);
    await other.exec('ALTER TABLE t ADD COLUMN b int NOT NULL DEFAULT 7');
    assert.deepEqual(await db.query(text, [1]), [{ a: 1, b: 7 }]);
    assert.deepEqual(await db.query(text, [2]), [{ a: 2, b: 7 }]);
  });

  it('SQL built at run time: at most 512 texts are named on a connection, the rest still run', async () => {
    for (let i = 0; i < 520; i++) assert.deepEqual(await db.query(`SELECT a + ${i} AS v FROM t WHERE a = $1`, [1]), [{ v: 1 + i }]);
    const [held] = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_prepared_statements WHERE statement LIKE 'SELECT a + % AS v FROM t WHERE a = $1'", [] as unknown[]);
    assert.ok(held!.n <= 512 && held!.n >= 500, `prepared: ${held!.n}`);
  });

  it('a text without parameters may still hold several statements; errors still reach the caller', async () => {
    await db.query('INSERT INTO t VALUES (3); INSERT INTO t VALUES (4)');
    assert.deepEqual(await db.query('SELECT count(*)::int AS n FROM t WHERE a > $1', [0]), [{ n: 4 }]);
    await assert.rejects(db.query('SELECT nope FROM t WHERE a = $1', [1]), /column "nope" does not exist/);
    await assert.rejects(db.query('SELECT nope FROM t WHERE a = $1', [1]), /column "nope" does not exist/);
  });
});
