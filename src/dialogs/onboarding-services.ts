import type { TurnContext } from 'botbuilder';
import type { SignInLinks } from '../auth/sign-in-links';
import type { CredentialService } from '../credentials/credential-service';
import type { Logger } from '../logger';
import type { EmailVerificationService } from '../onboarding/email-verification';
import type { CheckRunRepository } from '../store/check-runs';
import type { ConnectionRepository } from '../store/connections';
import type { PreflightChecks } from '../verification/preflight';
import type { PartnerRepository } from '../store/partners';
import type { TeamsIdentity } from '../teams/identity';

/** What the onboarding dialogs work with, passed in once by the app. */
export interface OnboardingServices {
  partners: PartnerRepository;
  connections: ConnectionRepository;
  credentials: CredentialService;
  /** Sign-in and admin consent links (src/auth/consent-flow.ts). */
  signIn: SignInLinks;
  /** The app-only checks, run when the credentials are in and on "Re-run checks". */
  preflight: PreflightChecks;
  checkRuns: CheckRunRepository;
  verification: EmailVerificationService;
  logger: Logger;
  /** Where browsers reach this bot (redirect URIs the partner registers name it). */
  publicBaseUrl: string;
  /** Looks up the chatting user in Teams (TeamsInfo.getMember); undefined when unknown. */
  teamsIdentity(context: TurnContext): Promise<TeamsIdentity | undefined>;
}
