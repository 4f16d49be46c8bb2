import { MicrosoftHttpClient } from './http';
import { isMicrosoftHttpError } from './http-errors';

/**
 * Partner Center's answer to a fresh App+User token: `GET /v1/profiles/organization` (App+User
 * only). The proof of MFA is the token's `amr` (read before this call); Partner Center enforces it
 * on App+User calls with 401 and code 900421
 * (https://learn.microsoft.com/en-us/partner-center/security/partner-security-requirements-mandating-mfa).
 * No `ValidateMfa` header is sent and no `isMfaCompliant` read: neither is in the header reference
 * (https://learn.microsoft.com/en-us/partner-center/developer/headers).
 * https://learn.microsoft.com/en-us/partner-center/developer/get-an-organization-profile
 */

export type ProfileAnswer =
  | { ok: true }
  | { ok: false; status?: number; code?: string | number; unavailable: boolean };

export interface ProfileOptions {
  baseUrl: string;
  accessToken: string;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Needs a delegated `user_impersonation` token of a user with a Partner Center role. */
export async function readOrganizationProfile(options: ProfileOptions): Promise<ProfileAnswer> {
  const client = new MicrosoftHttpClient({
    baseUrl: options.baseUrl,
    tokenProvider: async () => options.accessToken,
    scopes: [],
    requestIds: 'partner-center',
    timeoutMs: options.timeoutMs ?? 15_000,
    maxRetries: 2,
    retryBudgetMs: 30_000,
  });
  try {
    await client.request('GET', '/v1/profiles/organization', { signal: options.signal });
    return { ok: true };
  } catch (err) {
    if (!isMicrosoftHttpError(err)) throw err;
    const answered = err.failure === 'status' && err.status !== undefined && err.status < 500 && err.status !== 429;
    return { ok: false, status: err.status, code: err.code, unavailable: !answered };
  }
}
