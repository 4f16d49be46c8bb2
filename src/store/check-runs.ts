import type { CheckResult, Verdict } from '../checks/run';
import type { Db } from './db';

export interface CheckRun {
  id: string;
  tenantId: string;
  kind: 'preflight' | 'full';
  actor: string;
  runAt: Date;
  verdict: Verdict;
  results: CheckResult[];
  /** Requests made (retries included) and, when measured, the waves they came in (see checks/gather). */
  roundTrips: { graph: number; partnerCenter: number; waves?: { graph: number; partnerCenter: number } };
}

interface Row {
  id: string;
  tenant_id: string;
  kind: CheckRun['kind'];
  actor: string;
  run_at: Date | string;
  verdict: Verdict;
  results: CheckResult[];
  round_trips: CheckRun['roundTrips'];
}

const toRun = (r: Row): CheckRun => ({
  id: String(r.id), tenantId: r.tenant_id, kind: r.kind, actor: r.actor, runAt: new Date(r.run_at), verdict: r.verdict, results: r.results, roundTrips: r.round_trips,
});

/** The history of check runs: each run kept (who, when, results); `status` and re-runs read the latest. */
export class CheckRunRepository {
  constructor(private readonly db: Db) {}

  /** Keeps the run; a full run also becomes the partner's current verdict (the journey's checks step), in the same transaction. */
  async record(run: Omit<CheckRun, 'id' | 'runAt'>): Promise<CheckRun> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx.query<Row>(
        `INSERT INTO check_runs (tenant_id, kind, actor, verdict, results, round_trips) VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb)
         RETURNING id, tenant_id, kind, actor, run_at, verdict, results, round_trips`,
        [run.tenantId, run.kind, run.actor, run.verdict, JSON.stringify(run.results), JSON.stringify(run.roundTrips)],
      );
      if (run.kind === 'full') {
        await tx.query('UPDATE partners SET checks_at = $2, checks_verdict = $3, updated_at = now() WHERE tenant_id = $1', [run.tenantId, row!.run_at, run.verdict]);
      }
      return toRun(row!);
    });
  }

  async get(tenantId: string, id: string): Promise<CheckRun | undefined> {
    const [row] = await this.db.query<Row>(
      'SELECT id, tenant_id, kind, actor, run_at, verdict, results, round_trips FROM check_runs WHERE tenant_id = $1 AND id = $2',
      [tenantId, id],
    );
    return row ? toRun(row) : undefined;
  }

  /** The latest run, or the latest of one kind. */
  async latest(tenantId: string, kind?: CheckRun['kind']): Promise<CheckRun | undefined> {
    const [row] = await this.db.query<Row>(
      `SELECT id, tenant_id, kind, actor, run_at, verdict, results, round_trips FROM check_runs WHERE tenant_id = $1 ${kind ? 'AND kind = $2' : ''} ORDER BY run_at DESC, id DESC LIMIT 1`,
      kind ? [tenantId, kind] : [tenantId],
    );
    return row ? toRun(row) : undefined;
  }

  async count(tenantId: string): Promise<number> {
    const [row] = await this.db.query<{ n: string }>('SELECT count(*) AS n FROM check_runs WHERE tenant_id = $1', [tenantId]);
    return Number(row?.n ?? 0);
  }
}
