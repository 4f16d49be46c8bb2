// The database seam every repository, the job engine and both engines (src/store/db.ts, the worker
// thread's src/store/pglite-worker.ts) meet at; types only, so the engines need not import each other.

/** What repositories need from a database: parameterised queries, returning plain rows. */
export interface Queryable {
  query<T extends object = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

/**
 * One SQL dialect (PostgreSQL) on two engines: PGlite embedded in the process (local runs, the
 * sandbox, tests) and a real PostgreSQL server (production, CI).
 */
export interface Db extends Queryable {
  readonly engine: 'pglite' | 'postgres';
  /** Runs `fn` in one transaction; rolls back if it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /**
   * node-postgres' contract, for a library that brings its own SQL (the job engine): one statement
   * with parameters, or a script of several without; the rows of every statement, in order
   * (what pg-boss makes of node-postgres' array of results: its BAM claim reads its lock's row).
   */
  script(sql: string, params?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
  close(): Promise<void>;
}
