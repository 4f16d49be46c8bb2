import type { Activity } from 'botbuilder';
import type { JobWithMetadata } from 'pg-boss';
import { checksPassed } from '../domain/steps';
import type { Logger } from '../logger';
import { FOLLOWUP_QUEUE, prepareFollowUpQueue, type CheckFollowUpData, type CheckFollowUpOutcome } from '../store/check-followups';
import type { CheckRun } from '../store/check-runs';
import type { PartnerRepository } from '../store/partners';
import type { Notifier } from '../teams/notifier';
import type { CheckRunner } from '../verification/check-runner';
import type { JobEngine } from '../store/job-engine';

/**
 * "Re-check in 15 minutes", run: each follow-up is a job on the job engine, due at its time (see
 * src/store/check-followups.ts). Whichever instance polls first claims it (once), runs the checks
 * and posts the result to the conversation that asked. A restart loses nothing: the job waits in
 * the database. A run that throws is retried by the engine (3 attempts, 2 minutes apart), the last
 * gives up with a note in the chat; a worker that died leaves its job to expire and be retried.
 */

export interface CheckFollowUpsOptions {
  engine: JobEngine;
  partners: PartnerRepository;
  checks: Pick<CheckRunner, 'run'>;
  notifier: Notifier;
  /** The result as chat activities (the checks card, the verdict line). */
  present(run: CheckRun, passedJourney: boolean): Partial<Activity>[];
  /** The re-check passed the journey's checks: the journey goes on in that chat. */
  passed?(tenantId: string, conversationId: string): Promise<unknown>;
  logger: Logger;
  /** How often this instance polls for due follow-ups. Default the engine's polling (at least 5 s); 0: no worker here (tests call `run()`). */
  intervalMs?: number;
}

export interface CheckFollowUps {
  /** Runs what is due now, here; resolves with how many were handled. */
  run(): Promise<number>;
  stop(): Promise<void>;
}

const BATCH = 5;

export async function startCheckFollowUps(o: CheckFollowUpsOptions): Promise<CheckFollowUps> {
  const { boss, pollingSeconds } = o.engine;
  await prepareFollowUpQueue(boss);
  let stopped = false;

  /** One attempt; resolves with the job's outcome, throws for the engine to retry (not on the last attempt). */
  const handle = async (job: JobWithMetadata<CheckFollowUpData>): Promise<CheckFollowUpOutcome> => {
    const f = job.data;
    const attempt = job.retryCount + 1;
    try {
      const partner = await o.partners.get(f.tenantId);
      if (!partner?.connection) return { outcome: 'gave up: the partner or its connection is gone' };
      const run = await o.checks.run(partner, 'follow-up');
      const after = await o.partners.get(f.tenantId);
      const passedJourney = run.kind === 'full' && !!after && checksPassed(after);
      let told = true;
      for (const activity of o.present(run, passedJourney)) told = (await o.notifier.send(f.tenantId, f.conversationId, activity)) && told;
      if (told && passedJourney) await o.passed?.(f.tenantId, f.conversationId);
      return { outcome: told ? 'told' : 'not told: the conversation could not be reached', runId: run.id };
    } catch (err) {
      o.logger.warn({ err, tenantId: f.tenantId, attempt }, 'check follow-up failed');
      if (job.retryCount < job.retryLimit) throw err;
      await o.notifier.send(f.tenantId, f.conversationId, { text: 'I could not run the re-check you asked for (Microsoft or the bot had a problem). Type **recheck** to run the checks now.' }).catch(() => false);
      return { outcome: `gave up after ${attempt} attempts` };
    }
  };

  if (o.intervalMs !== 0) {
    const pollingIntervalSeconds = o.intervalMs ? Math.max(o.intervalMs / 1000, 0.5) : Math.max(pollingSeconds, 5);
    await boss.work(FOLLOWUP_QUEUE, { pollingIntervalSeconds, includeMetadata: true, batchSize: 1 }, async ([job]: JobWithMetadata<CheckFollowUpData>[]) => (job ? handle(job) : undefined));
  }

  return {
    async run() {
      let handled = 0;
      try {
        while (!stopped) {
          const due = await boss.fetch<CheckFollowUpData>(FOLLOWUP_QUEUE, { batchSize: BATCH, includeMetadata: true });
          if (due.length === 0) break;
          await Promise.all(due.map(async (job) => {
            try {
              await boss.complete(FOLLOWUP_QUEUE, job.id, await handle(job));
            } catch (err) {
              await boss.fail(FOLLOWUP_QUEUE, job.id, { message: (err as Error).message }).catch(() => undefined);
            }
          }));
          handled += due.length;
        }
      } catch (err) {
        o.logger.error({ err }, 'check follow-ups: could not read the due ones');
      }
      return handled;
    },
    async stop() {
      stopped = true;
    },
  };
}
