import type { Person } from '../domain/partner';

/**
 * The links a sign-in card opens. Each is single use, expires after 10 minutes and is bound to the
 * partner and the Teams user it was made for; the result is told to `conversationId` proactively.
 */
export interface SignInLinks {
  /** The service account's sign-in: Partner Center consent (+ the checks' delegated Graph scopes). */
  signIn(tenantId: string, person: Person, conversationId: string): Promise<string>;
  /** Graph admin consent for the partner's app registration. */
  adminConsent(tenantId: string, person: Person, conversationId: string): Promise<string>;
}
