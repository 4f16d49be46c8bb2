/**
 * The setup run's steps, in order: the progress card shows a line per step and the run records
 * each one's outcome (src/store/partner-setups.ts), so a new run resumes at the first one missing.
 */
export const SETUP_STEPS = [
  { id: 'account', label: 'Check the service account' },
  { id: 'app', label: 'Create or repair the app registration' },
  { id: 'servicePrincipal', label: 'Create the app’s enterprise application' },
  { id: 'resources', label: 'Find Microsoft Graph and Partner Center in your tenant' },
  { id: 'secret', label: 'Create a client secret (into the vault, never shown)' },
  { id: 'consent', label: 'Grant admin consent' },
  { id: 'adminAgents', label: 'Add the app and the service account to AdminAgents' },
  { id: 'prove', label: 'Prove the new secret with Microsoft' },
  { id: 'preflight', label: 'Run the pre-flight checks' },
] as const;

export type SetupStepId = (typeof SETUP_STEPS)[number]['id'];

export function setupStepLabel(id: string): string {
  return SETUP_STEPS.find((s) => s.id === id)?.label ?? id;
}

/** The first step without a recorded outcome: where a run starts (or resumes). */
export function firstOpenStep(done: Record<string, unknown>): SetupStepId | undefined {
  return SETUP_STEPS.find((s) => !(s.id in done))?.id;
}

/** The tag on the app the bot makes: the platform and the partner tenant, so a re-run finds it. */
export function setupTag(partnerTenantId: string): string {
  return `PartnerOnboardingBot:${partnerTenantId.toLowerCase()}`;
}

/** The app's `uniqueName` (Graph's client-chosen alternate key): the upsert that creates it can't make a second. */
export function setupUniqueName(partnerTenantId: string): string {
  return `partner-onboarding-${partnerTenantId.toLowerCase()}`;
}

/** What the run asks of addPassword, longest first: two years, then shorter when the tenant's policy refuses. */
export const SECRET_LIFETIMES_DAYS = [730, 365, 180, 90, 30] as const;
