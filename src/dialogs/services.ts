import type { TurnContext } from 'botbuilder';
import type { Logger } from '../logger';
import type { EmailVerificationService } from '../onboarding/email-verification';
import type { PartnerRepository, Person } from '../store/partners';

/** What the onboarding dialogs work with, passed in once by the app. */
export interface OnboardingServices {
  partners: PartnerRepository;
  verification: EmailVerificationService;
  logger: Logger;
  /** Looks up the chatting user in Teams (TeamsInfo.getMember); undefined when unknown. */
  teamsIdentity(context: TurnContext): Promise<TeamsIdentity | undefined>;
}

/** Who the chatting user is, as Teams' roster says. */
export interface TeamsIdentity {
  userPrincipalName?: string;
  /** `user`, `guest` (B2B guest in this tenant) or `anonymous`. */
  userRole?: string;
}

/** The Teams user of this turn. */
export function personOf(context: TurnContext): Person {
  const from = context.activity.from;
  return { aadObjectId: from?.aadObjectId || from?.id || 'unknown', name: from?.name || 'someone' };
}

/** The Teams tenant of this turn: Teams puts it in channelData and on the conversation. */
export function tenantOf(context: TurnContext): string | undefined {
  const channelData: unknown = context.activity.channelData;
  const fromChannelData = (channelData as { tenant?: { id?: unknown } } | undefined)?.tenant?.id;
  if (typeof fromChannelData === 'string' && fromChannelData) return fromChannelData;
  return context.activity.conversation?.tenantId || undefined;
}

/** The tenant of a turn that reached a dialog: the bot only starts dialogs where it knows it. */
export function requireTenant(context: TurnContext): string {
  const tenantId = tenantOf(context);
  if (!tenantId) throw new Error('onboarding dialog reached without a tenant');
  return tenantId;
}

export const STEPS = ['Company details', 'Primary contact', 'Secondary contact', 'Review', 'Email verification'] as const;
export type StepName = (typeof STEPS)[number];

export function stepLabel(step: StepName): string {
  return `Step ${STEPS.indexOf(step) + 1} of ${STEPS.length}`;
}
