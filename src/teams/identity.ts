import { TeamsInfo, type TurnContext } from 'botbuilder';
import type { Logger } from '../logger';

/** Who the chatting user is, as Teams' roster says. */
export interface TeamsIdentity {
  userPrincipalName?: string;
  /** `user`, `guest` (B2B guest in this tenant) or `anonymous`. */
  userRole?: string;
}

/**
 * The chatting user's roster entry (TeamsInfo.getMember). `email` (the directory's mail
 * attribute) is deliberately not read: an admin can set it to any address.
 */
export async function teamsIdentity(context: TurnContext, logger: Logger): Promise<TeamsIdentity | undefined> {
  try {
    const member = await TeamsInfo.getMember(context, context.activity.from.id);
    return { userPrincipalName: member.userPrincipalName ?? undefined, userRole: member.userRole ?? undefined };
  } catch (err) {
    // Not knowing who they are is fine: the mail is the fallback, and guests are refused by role only when known.
    logger.warn({ err }, 'could not read the Teams member');
    return undefined;
  }
}
