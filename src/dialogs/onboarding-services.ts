import type { TurnContext } from 'botbuilder';
import type { SignInLinks } from '../auth/sign-in-links';
import type { CredentialService } from '../credentials/credential-service';
import type { Logger } from '../logger';
import type { EmailVerificationService } from '../onboarding/email-verification';
import type { CheckFollowUpRepository } from '../store/check-followups';
import type { CheckRunRepository } from '../store/check-runs';
import type { CustomerSyncRepository } from '../store/customer-syncs';
import type { CustomerSyncService } from '../sync/sync-service';
import type { ConnectionRepository } from '../store/connections';
import type { PartnerRepository } from '../store/partners';
import type { PartnerSetupRepository } from '../store/partner-setups';
import type { SetupSignIn } from '../setup/setup-sign-in';
import type { TeamsIdentity } from '../teams/identity';
import type { CheckRunner } from '../verification/check-runner';

/** The setup's record (the choice, the run's steps) and its administrator sign-in links. */
export interface SetupServices {
  setups: PartnerSetupRepository;
  signIn: Pick<SetupSignIn, 'link' | 'rememberCards'>;
}

/** What the onboarding dialogs work with, passed in once by the app. */
export interface OnboardingServices {
  partners: PartnerRepository;
  connections: ConnectionRepository;
  credentials: CredentialService;
  /** Sign-in and admin consent links (src/auth/consent-flow.ts). */
  signIn: SignInLinks;
  /** The checks: the app-only pre-flight once the credentials are in, the full run after the consent. */
  checks: CheckRunner;
  checkRuns: CheckRunRepository;
  /** "Re-check in 15 minutes" rows. */
  followUps: CheckFollowUpRepository;
  /** Customer syncs: start (or attach), cancel; their rows. */
  sync: CustomerSyncService;
  syncs: CustomerSyncRepository;
  verification: EmailVerificationService;
  logger: Logger;
  /** Where browsers reach this bot (redirect URIs the partner registers name it). */
  publicBaseUrl: string;
  /** "Set it up for me" (issue 30): only when the operator's setup app is configured. */
  setup?: SetupServices;
  /** Looks up the chatting user in Teams (TeamsInfo.getMember); undefined when unknown. */
  teamsIdentity(context: TurnContext): Promise<TeamsIdentity | undefined>;
  /**
   * Whether the conversation's dialog as stored (read afresh, not this turn's copy) still waits on
   * `cardId`; given by the runner that holds the dialog state (step-claims.ts).
   */
  storedDialogWaitsOn?(context: TurnContext, cardId: string): Promise<boolean>;
}
