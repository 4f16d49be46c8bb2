import type { Activity } from 'botbuilder';
import { checksPassed } from '../domain/steps';
import type { Logger } from '../logger';
import { startPeriodic } from './periodic';
import type { CheckFollowUp, CheckFollowUpRepository } from '../store/check-followups';
import type { CheckRun } from '../store/check-runs';
import type { PartnerRepository } from '../store/partners';
import type { Notifier } from '../teams/notifier';
import type { CheckRunner } from '../verification/check-runner';

/**
 * "Re-check in 15 minutes", run: every instance looks for due follow-ups every `intervalMs`,
 * claims a few (a lease in the database, so two instances never run the same one and a worker that
 * died leaves it to the next), runs the checks and posts the result to the conversation that asked.
 * A restart loses nothing: the rows wait in the database. A run that throws is retried a few times,
 * then given up with a note in the chat. Never throws into the process.
 */

export interface CheckFollowUpsOptions {
  followUps: CheckFollowUpRepository;
  partners: PartnerRepository;
  checks: Pick<CheckRunner, 'run'>;
  notifier: Notifier;
  /** The result as chat activities (the checks card, the verdict line, Continue when the journey may go on). */
  present(run: CheckRun, passedJourney: boolean): Partial<Activity>[];
  /** The re-check passed the journey's checks: the journey goes on in that chat. */
  passed?(tenantId: string, conversationId: string): Promise<unknown>;
  logger: Logger;
  /** How often to look. Default 30 s; 0 turns the timer off (tests run it by hand). */
  intervalMs?: number;
  /** How long a claim holds. Default 5 minutes (a run takes seconds). */
  leaseMs?: number;
  /** Attempts before giving up. Default 3. */
  maxAttempts?: number;
  /** Wait before a failed attempt is tried again. Default 2 minutes. */
  retryDelayMs?: number;
}

export interface CheckFollowUps {
  /** Runs what is due now; resolves with how many were handled. */
  run(): Promise<number>;
  stop(): Promise<void>;
}

const BATCH = 5;

export function startCheckFollowUps(o: CheckFollowUpsOptions): CheckFollowUps {
  const intervalMs = o.intervalMs ?? 30_000;
  const leaseMs = o.leaseMs ?? 5 * 60_000;
  const maxAttempts = o.maxAttempts ?? 3;
  const retryDelayMs = o.retryDelayMs ?? 2 * 60_000;
  let stopped = false;

  const handle = async (f: CheckFollowUp): Promise<void> => {
    try {
      const partner = await o.partners.get(f.tenantId);
      if (!partner?.connection) {
        await o.followUps.complete(f.id, 'gave up: the partner or its connection is gone');
        return;
      }
      const run = await o.checks.run(partner, 'follow-up');
      const after = await o.partners.get(f.tenantId);
      const passedJourney = run.kind === 'full' && !!after && checksPassed(after);
      let told = true;
      for (const activity of o.present(run, passedJourney)) told = (await o.notifier.send(f.tenantId, f.conversationId, activity)) && told;
      await o.followUps.complete(f.id, told ? 'told' : 'not told: the conversation could not be reached', run.id);
      if (told && passedJourney) await o.passed?.(f.tenantId, f.conversationId);
    } catch (err) {
      o.logger.warn({ err, tenantId: f.tenantId, attempt: f.attempts }, 'check follow-up failed');
      if (f.attempts >= maxAttempts) {
        await o.followUps.complete(f.id, `gave up after ${f.attempts} attempts`).catch(() => undefined);
        await o.notifier.send(f.tenantId, f.conversationId, { text: 'I could not run the re-check you asked for (Microsoft or the bot had a problem). Type **recheck** to run the checks now.' }).catch(() => false);
      } else {
        await o.followUps.release(f.id, new Date(Date.now() + retryDelayMs)).catch(() => undefined);
      }
    }
  };

  return startPeriodic(intervalMs, async () => {
    let handled = 0;
    try {
      while (!stopped) {
        const due = await o.followUps.claimDue(BATCH, leaseMs);
        if (due.length === 0) break;
        await Promise.all(due.map(handle));
        handled += due.length;
      }
    } catch (err) {
      o.logger.error({ err }, 'check follow-ups: could not read the due ones');
    }
    return handled;
  }, () => { stopped = true; });
}
