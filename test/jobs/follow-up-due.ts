import type { App } from '../../src/app';
import { FOLLOWUP_QUEUE } from '../../src/store/check-followups';

/** The 15 minutes pass for the partner's waiting follow-up: its job becomes due now (pg-boss 10's job table). */
export async function makeFollowUpDue(app: Pick<App, 'db' | 'engine'>, tenantId: string): Promise<void> {
  await app.db.query(
    `UPDATE "${app.engine.schema}".job SET start_after = now() - interval '1 second' WHERE name = $1 AND singleton_key = $2 AND state < 'active'`,
    [FOLLOWUP_QUEUE, tenantId],
  );
}

/** Every follow-up job the engine holds or archived for the partner: state and output. */
export async function followUpJobs(app: Pick<App, 'db' | 'engine'>, tenantId: string): Promise<{ id: string; state: string; output: { outcome?: string; runId?: string } | null }[]> {
  const s = app.engine.schema;
  return app.db.query(
    `SELECT id, state, output FROM "${s}".job WHERE name = $1 AND singleton_key = $2
     UNION ALL SELECT id, state, output FROM "${s}".archive WHERE name = $1 AND singleton_key = $2`,
    [FOLLOWUP_QUEUE, tenantId],
  );
}
