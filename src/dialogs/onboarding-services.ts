import type { TurnContext } from 'botbuilder';
import type { Logger } from '../logger';
import type { EmailVerificationService } from '../onboarding/email-verification';
import type { PartnerRepository } from '../store/partners';
import type { TeamsIdentity } from '../teams/identity';

/** What the onboarding dialogs work with, passed in once by the app. */
export interface OnboardingServices {
  partners: PartnerRepository;
  verification: EmailVerificationService;
  logger: Logger;
  /** Looks up the chatting user in Teams (TeamsInfo.getMember); undefined when unknown. */
  teamsIdentity(context: TurnContext): Promise<TeamsIdentity | undefined>;
}
