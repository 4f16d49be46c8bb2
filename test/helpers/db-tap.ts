import type { Db, Queryable } from '../../src/store/db';

/** What a tap is told: each statement as sent (`params` undefined for `exec`), and each transaction opened. */
export interface Tap {
  statement(sql: string, params: unknown[] | undefined, inTransaction: boolean): void;
  transaction?(): void;
}

/**
 * The database seam, observed: every statement a caller sends (`query` and `exec`, in a transaction
 * or not) and every transaction, each run as sent. The job engine's own polling (`script`) is not a
 * caller's: it passes through untold.
 */
export function tapped(db: Db, tap: Tap): Db {
  const wrap = (q: Queryable, inTransaction: boolean): Queryable => ({
    query: (sql, params) => { tap.statement(sql, params, inTransaction); return q.query(sql, params); },
    exec: (sql) => { tap.statement(sql, undefined, inTransaction); return q.exec(sql); },
  });
  return {
    engine: db.engine,
    ...wrap(db, false),
    transaction: (fn) => { tap.transaction?.(); return db.transaction((tx) => fn(wrap(tx, true))); },
    script: (sql, params) => db.script(sql, params),
    close: () => db.close(),
  } as Db;
}
