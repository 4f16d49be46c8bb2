import { parse as pgliteParse, PGlite, protocol as pgliteProtocol } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { chmodSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { parseIntoClientConfig } from 'pg-connection-string';
import { AppError } from '../errors';
import type { TokenCredential } from '../microsoft/credential';
import { NAMED_MAX, namedQueries } from './pglite-named';
import { PgliteWorkerDb } from './pglite-worker';
import type { Db, Queryable } from './db-seam';

export type { Db, Queryable } from './db-seam';

/** bytea comes back as Buffer from pg and Uint8Array from PGlite: callers get a Buffer either way. */
export function toBuffer(v: unknown): Buffer {
  if (Buffer.isBuffer(v)) return v;
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  throw new AppError('internal', `expected binary column, got ${typeof v}`);
}

class PgliteDb implements Db {
  readonly engine = 'pglite' as const;
  /** Texts with parameters as statements named once (pglite-named.ts). */
  private readonly named: ReturnType<typeof namedQueries>;
  /** `dir`: where its files are, for an on-disk database. */
  constructor(private readonly pgl: PGlite, private readonly dir?: string) {
    this.named = namedQueries(pgl, { protocol: pgliteProtocol, parse: pgliteParse }, NAMED_MAX);
  }

  async query<T extends object>(sql: string, params: unknown[] = []): Promise<T[]> {
    const done = await this.named(sql, params);
    return done ? done.rows as T[] : (await this.pgl.query<T>(sql, params)).rows;
  }

  async exec(sql: string): Promise<void> {
    await this.pgl.exec(sql);
  }

  async script(sql: string, params?: unknown[]): Promise<{ rows: Record<string, unknown>[] }> {
    if (params && params.length > 0) return { rows: (await this.pgl.query<Record<string, unknown>>(sql, params)).rows };
    const results = await this.pgl.exec(sql);
    return { rows: results.flatMap((r) => r.rows) as Record<string, unknown>[] };
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.pgl.transaction(async (tx) => fn({
      query: async <R extends object>(sql: string, params: unknown[] = []) => (await tx.query<R>(sql, params)).rows,
      exec: async (sql: string) => { await tx.exec(sql); },
    }));
  }

  async close(): Promise<void> {
    if (this.pgl.closed) return;
    await this.pgl.close();
    // Files made while it ran got PGlite's 0666 too.
    if (this.dir) removeGroupAndOtherBits(this.dir);
  }
}

/**
 * Names for the statements with parameters that `query` runs outside transactions, so each pooled
 * connection parses and plans a statement once and then only binds and executes it (node-postgres
 * keeps the names it has parsed per connection). In the card submit bench this took PostgreSQL's CPU down by about 45%:
 * the turn's statements are long, and were parsed and planned on every call.
 * - At most `NAMED_MAX` texts get a name; any further text runs unnamed, so SQL built at run time
 *   cannot grow every connection's prepared statements without bound.
 * - A table changed under a prepared `SELECT *` (another instance's migration in a rolling deploy)
 *   fails with 0A000, "cached plan must not change result type", on every connection that prepared
 *   it. The text then gets a new name, so each connection parses it again, and the call is retried
 *   once.
 * - Statements inside a transaction stay unnamed: such a failure aborts the transaction, so it
 *   could not be retried there.
 */
class StatementNames {
  private readonly names = new Map<string, string>();
  private issued = 0;

  nameOf(text: string): string | undefined {
    const known = this.names.get(text);
    if (known || this.names.size >= NAMED_MAX) return known;
    const name = `bot_${(this.issued++).toString(36)}`;
    this.names.set(text, name);
    return name;
  }

  /** A fresh name for `text`, after its plan went stale. */
  renew(text: string): void {
    if (this.names.has(text)) this.names.set(text, `bot_${(this.issued++).toString(36)}`);
  }
}

/** PostgreSQL's feature_not_supported: what a stale prepared plan fails with. */
const STALE_PLAN = '0A000';

class PostgresDb implements Db {
  readonly engine = 'postgres' as const;
  private readonly statements = new StatementNames();
  constructor(private readonly pool: pg.Pool) {}

  async query<T extends object>(sql: string, params: unknown[] = []): Promise<T[]> {
    // Without parameters node-postgres sends the simple query protocol, which takes several statements in one text: left so.
    const name = params.length > 0 ? this.statements.nameOf(sql) : undefined;
    if (!name) return (await this.pool.query(sql, params)).rows as T[];
    try {
      return (await this.pool.query({ name, text: sql, values: params })).rows as T[];
    } catch (err) {
      if ((err as { code?: unknown }).code !== STALE_PLAN) throw err;
      this.statements.renew(sql);
      return (await this.pool.query({ name: this.statements.nameOf(sql), text: sql, values: params })).rows as T[];
    }
  }

  async exec(sql: string): Promise<void> {
    await this.pool.query(sql);
  }

  async script(sql: string, params?: unknown[]): Promise<{ rows: Record<string, unknown>[] }> {
    const result = (await this.pool.query(sql, params)) as unknown as pg.QueryResult | pg.QueryResult[];
    const results = Array.isArray(result) ? result : [result];
    return { rows: results.flatMap((r) => r.rows ?? []) as Record<string, unknown>[] };
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await fn({
        query: async <R extends object>(sql: string, params: unknown[] = []) => (await client.query(sql, params)).rows as R[],
        exec: async (sql: string) => { await client.query(sql); },
      });
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/**
 * Makes `dir` (and any parent it has to create) a directory only this user can enter: 0700. An
 * existing directory that group or others could enter is tightened, so files written there
 * earlier, under a looser umask, are out of their reach too.
 */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const mode = statSync(dir).mode & 0o777;
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) chmodSync(dir, mode & 0o700);
}

/**
 * PGlite sets its files' modes itself (0666), whatever the process umask: strip group and other
 * bits from everything under `dir`. The 0700 directory already keeps others out; this keeps the
 * files private if they are copied or the directory is loosened.
 */
function removeGroupAndOtherBits(dir: string): void {
  if (process.platform === 'win32') return;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isSymbolicLink()) continue;
    const mode = statSync(path).mode & 0o777;
    if ((mode & 0o077) !== 0) chmodSync(path, mode & 0o700);
    if (entry.isDirectory()) removeGroupAndOtherBits(path);
  }
}

/**
 * `password`: asked for each new connection (node-postgres calls it whenever it opens one), so a
 * short-lived access token is fetched fresh, or from its cache, instead of being fixed in the URL.
 * `thread`: the embedded database on disk runs on a worker thread of its own (pglite-worker.ts)
 * unless `main` is asked for (PGLITE_THREAD=main); in memory it runs on the caller's thread.
 */
export type DatabaseTarget = { kind: 'postgres'; url: string; password?: () => Promise<string> } | { kind: 'pglite'; dir: string; thread?: 'worker' | 'main' } | { kind: 'pglite-memory' };

/** Azure Database for PostgreSQL's Entra audience: https://learn.microsoft.com/azure/postgresql/flexible-server/how-to-connect-with-managed-identity */
export const POSTGRES_ENTRA_SCOPE = 'https://ossrdbms-aad.database.windows.net/.default';

/** Each new connection's password: an access token of `credential` for Azure Database for PostgreSQL. */
export function entraTokenPassword(credential: TokenCredential): () => Promise<string> {
  return async () => {
    const token = await credential.getToken(POSTGRES_ENTRA_SCOPE);
    if (!token?.token) throw new AppError('storage_unavailable', 'no access token for PostgreSQL from the managed identity');
    return token.token;
  };
}

/** The contrib extensions the migrations create, as PostgreSQL ships them (pg_trgm: the customer search, migration 19). */
const PGLITE_OPTIONS = { extensions: { pg_trgm } };

/** Opens the database and proves it answers. */
export async function openDatabase(target: DatabaseTarget): Promise<Db> {
  try {
    if (target.kind === 'postgres') {
      // A password function must not sit beside connectionString: pg lets the URL's (absent) password override it.
      const where = target.password ? { ...parseIntoClientConfig(target.url), password: target.password } : { connectionString: target.url };
      const pool = new pg.Pool({ ...where, max: 10, connectionTimeoutMillis: 10_000, idleTimeoutMillis: 30_000, statement_timeout: 30_000 });
      // A pool error on an idle client must not crash the process; the next query reports it.
      pool.on('error', () => undefined);
      const db = new PostgresDb(pool);
      await db.query('SELECT 1');
      return db;
    }
    if (target.kind === 'pglite') {
      ensurePrivateDir(target.dir);
      if (target.thread === 'main') {
        const pgl = await PGlite.create(target.dir, PGLITE_OPTIONS);
        removeGroupAndOtherBits(target.dir);
        return new PgliteDb(pgl, target.dir);
      }
      // On its own thread: the WASM engine's work (half the bot thread's CPU in a card submit) runs beside the turns, not between them.
      const dir = target.dir;
      const db = await PgliteWorkerDb.open(dir, () => removeGroupAndOtherBits(dir));
      removeGroupAndOtherBits(dir);
      return db;
    }
    return new PgliteDb(await PGlite.create(PGLITE_OPTIONS));
  } catch (err) {
    const where = target.kind === 'postgres' ? 'PostgreSQL at DATABASE_URL' : target.kind === 'pglite' ? `the embedded database in ${target.dir}` : 'the in-memory database';
    throw new AppError('storage_unavailable', `cannot open ${where}: ${(err as Error).message}`, { cause: err });
  }
}
