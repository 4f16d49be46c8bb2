import type { Partner } from './partner';

/**
 * The journey's steps, declared once: the onboarding waterfall, the "Step n of N" labels and
 * `status` all read this table. `done` is a pure rule over the partner.
 */
export const STEPS = [
  { id: 'company', name: 'Company details', done: (p: Partner) => !!p.company },
  { id: 'primaryContact', name: 'Primary contact', done: (p: Partner) => !!p.primaryContact },
  { id: 'secondaryContact', name: 'Secondary contact', done: (p: Partner) => !!p.secondaryContact || p.secondarySkipped },
  { id: 'review', name: 'Review', done: (p: Partner) => !!p.confirmedAt },
  { id: 'verifyEmail', name: 'Email verification', done: (p: Partner) => !!p.emailVerifiedAt },
  { id: 'prepare', name: 'Preparation checklist', done: (p: Partner) => !!p.preparation.confirmedAt },
  { id: 'entraApp', name: 'Tenant and Entra app', done: (p: Partner) => !!p.connection && !!p.credentials.appSecret },
  // Optional for an app the bot set up: the sync then reads customers with the service account's sign-in.
  { id: 'partnerCenterApp', name: 'Partner Center web app', done: (p: Partner) => (!!p.connection?.pcAppId && !!p.credentials.pcSecret) || (!!p.connection?.botCreatedAppId && p.connection.botCreatedAppId === p.connection.appId) },
  { id: 'consent', name: 'Sign-in and consent', done: (p: Partner) => consentComplete(p) },
  { id: 'checks', name: 'Checks', done: (p: Partner) => checksPassed(p) },
  { id: 'sync', name: 'Customer sync', done: (p: Partner) => !!p.syncedAt },
] as const;

/**
 * The latest full run of the checks, made after the latest consent, stopped nothing: no blocking
 * check failed and none stayed unseen. Advisories never stop the journey.
 */
export function checksPassed(p: Partner): boolean {
  const c = p.checks;
  if (!c || !consentComplete(p)) return false;
  if (c.at < p.consent.at! || (p.consent.adminConsentAt && c.at < p.consent.adminConsentAt)) return false;
  return c.verdict === 'passed' || c.verdict === 'passed-with-advisories';
}

/** The service account's consent is alive and the app has admin consent. */
export function consentComplete(p: Partner): boolean {
  return !!p.consent.at && !p.consent.brokenAt && !!p.consent.adminConsentAt;
}

export type Step = (typeof STEPS)[number];
export type StepId = Step['id'];

export function stepOf(id: StepId): Step {
  return STEPS.find((s) => s.id === id)!;
}

/** "Step 2 of 9". */
export function stepLabel(id: StepId): string {
  return `Step ${STEPS.findIndex((s) => s.id === id) + 1} of ${STEPS.length}`;
}

/** The first step not done yet, or undefined when all are. */
export function currentStep(partner: Partner | undefined): Step | undefined {
  return partner ? STEPS.find((s) => !s.done(partner)) : STEPS[0];
}
