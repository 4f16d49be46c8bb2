import type { App } from '../../src/app';
import { FOLLOWUP_QUEUE } from '../../src/store/check-followups';

/** The 15 minutes pass for the partner's waiting follow-up: its job becomes due now (pg-boss' job table). */
export async function makeFollowUpDue(app: Pick<App, 'db' | 'engine'>, tenantId: string): Promise<void> {
  await app.db.query(
    `UPDATE "${app.engine.schema}".job SET start_after = now() - interval '1 second' WHERE name = $1 AND singleton_key = $2 AND state < 'active'`,
    [FOLLOWUP_QUEUE, tenantId],
  );
}

/** Every follow-up job the engine holds for the partner (finished ones are kept for a week): state and output. */
export async function followUpJobs(app: Pick<App, 'engine'>, tenantId: string): Promise<{ id: string; state: string; output: { outcome?: string; runId?: string } | null }[]> {
  const jobs = await app.engine.boss.findJobs(FOLLOWUP_QUEUE, { key: tenantId });
  return jobs.map((j) => ({ id: j.id, state: j.state, output: (j.output ?? null) as { outcome?: string; runId?: string } | null }));
}
