import { toChatText, type SignInExplanation } from '../microsoft/sign-in-errors';

/** What the consent flow tells the chat (proactively) and the browser. Chat text is Teams markdown. */

/** A proactive chat message; `carryOn`: the journey's consent step goes on by itself in that chat. */
export interface ChatMessage {
  text: string;
  carryOn: boolean;
}

/** Sends a message to a conversation of the partner; false when it could not be delivered. */
export type TellChat = (tenantId: string, conversationId: string, message: ChatMessage) => Promise<boolean>;

// A code span shows its content as it is (a backslash escape would show): no backtick and no line break may end it early.
const code = (upn: string): string => `\`${upn.replace(/`/g, '').replace(/\s+/g, ' ')}\``;

/** Said only after Partner Center answered a call made with the sign-in's token: the organization profile. */
const PC_ACCEPTED = 'Partner Center accepted that sign-in: it returned your organization profile.';

export const ConsentMessages = {
  signedIn: (account: string, adminConsentNeeded: boolean): ChatMessage => ({
    text: adminConsentNeeded
      ? `**Partner Center is connected.** ${code(account)} signed in with multi-factor authentication, and ${PC_ACCEPTED}\n\n` +
        'One step left: admin consent for your app’s Microsoft Graph permissions, on the card above.'
      : `**Partner Center is connected.** ${code(account)} signed in with multi-factor authentication, and ${PC_ACCEPTED}`,
    carryOn: true,
  }),
  adminConsented: (): ChatMessage => ({
    text: '**Admin consent is granted.** Your app’s Microsoft Graph permissions are granted in your partner tenant.',
    carryOn: true,
  }),
  /** A failed sign-in or consent: the explanation, and (unless retrying can't help) the card gets a fresh link. */
  failed: (e: SignInExplanation): ChatMessage => ({ text: toChatText(e), carryOn: e.retry !== 'never' }),
};
