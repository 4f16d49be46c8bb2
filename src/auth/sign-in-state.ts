import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Connection } from '../domain/partner';

/**
 * The `state` of a sign-in link and the PKCE verifier derived from it.
 *
 * A state is `<random>.<binding>`: 24 random bytes, then an HMAC (under a key every instance
 * shares) of the partner, the purpose and the connection it was made for. The database keeps only
 * a hash of the whole state, so neither half can be changed without the state becoming unknown;
 * the binding lets the callback see that the partner tenant, app or service account changed since
 * the link was made ("another partner's state") without storing anything more.
 *
 * The PKCE verifier is an HMAC of the state under the same key: the callback re-derives it, so no
 * verifier is stored anywhere, and only this server can compute it.
 */

/**
 * `takeover`: a member proves an administrator role to own the partner (src/auth/take-over.ts).
 * `setup`: an administrator signs in to the operator's setup app for one setup run (src/setup/setup-sign-in.ts).
 */
export type StatePurpose = 'signin' | 'adminconsent' | 'takeover' | 'setup';

/** What a state is bound to, besides the Teams user and conversation kept in its database row. */
export interface StateBinding {
  tenantId: string;
  purpose: StatePurpose;
  connection: Pick<Connection, 'partnerTenantId' | 'appId' | 'serviceAccountUpn'>;
}

/** A state as it travels: base64url characters and one dot, nothing else. */
const STATE_SHAPE = /^[A-Za-z0-9_-]{32}\.[A-Za-z0-9_-]{22}$/;

function binding(key: Buffer, b: StateBinding): string {
  const text = ['state-binding/v1', b.tenantId.toLowerCase(), b.purpose, b.connection.partnerTenantId.toLowerCase(),
    b.connection.appId.toLowerCase(), b.connection.serviceAccountUpn.trim().toLowerCase()].join('\n');
  return createHmac('sha256', key).update(text).digest('base64url').slice(0, 22);
}

export function newState(key: Buffer, b: StateBinding): string {
  return `${randomBytes(24).toString('base64url')}.${binding(key, b)}`;
}

/** Whether `state` looks like one of ours at all (checked before any database read). */
export function isWellFormedState(state: string): boolean {
  return STATE_SHAPE.test(state);
}

/** Whether the state was made for this partner, purpose and connection as they are now. */
export function stateMatches(key: Buffer, state: string, b: StateBinding): boolean {
  const given = Buffer.from(state.slice(state.indexOf('.') + 1));
  const expected = Buffer.from(binding(key, b));
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** RFC 7636 verifier: 43 characters of base64url, derived from the state. */
export function pkceVerifier(key: Buffer, state: string): string {
  return createHmac('sha256', key).update(`pkce/v1\n${state}`).digest('base64url');
}

/** The S256 challenge of a verifier. */
export function pkceChallenge(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url');
}
