import { MicrosoftHttpClient } from './http';
import { isMicrosoftHttpError } from './http-errors';

/**
 * Partner Center's own verdict on a fresh App+User token: `GET /v1/profiles/organization` sent
 * with `ValidateMfa: true`. Partner Center enforces MFA on App+User calls (401, code 900421
 * without it) and answers the profile only for a partner tenant.
 *
 * Where `isMfaCompliant` comes back is not in the header reference
 * (https://learn.microsoft.com/en-us/partner-center/developer/headers); Microsoft's "How to
 * validate your solution" post and third-party clients read it as a response header, so both the
 * header and a body field are read, and an answer without either leaves the token's `amr` as the
 * only evidence.
 */

export type MfaProbe =
  | { ok: true; mfaCompliant?: boolean }
  | { ok: false; status?: number; code?: string | number; unavailable: boolean };

export interface MfaProbeOptions {
  baseUrl: string;
  accessToken: string;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Reads `isMfaCompliant` from a header or a body field: `true`/`false` as text or boolean. */
export function readMfaCompliant(headers: Headers, body: unknown): boolean | undefined {
  const parse = (v: unknown): boolean | undefined => {
    if (typeof v === 'boolean') return v;
    if (typeof v === 'string' && /^(true|false)$/i.test(v.trim())) return v.trim().toLowerCase() === 'true';
    return undefined;
  };
  const header = parse(headers.get('isMfaCompliant'));
  if (header !== undefined) return header;
  return body && typeof body === 'object' ? parse((body as Record<string, unknown>).isMfaCompliant) : undefined;
}

/** Needs a delegated `user_impersonation` token of a user with a Partner Center role. */
export async function probePartnerCenterMfa(options: MfaProbeOptions): Promise<MfaProbe> {
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
    const res = await client.request('GET', '/v1/profiles/organization', { headers: { ValidateMfa: 'true' }, signal: options.signal });
    return { ok: true, mfaCompliant: readMfaCompliant(res.headers, res.data) };
  } catch (err) {
    if (!isMicrosoftHttpError(err)) throw err;
    const answered = err.failure === 'status' && err.status !== undefined && err.status < 500 && err.status !== 429;
    return { ok: false, status: err.status, code: err.code, unavailable: !answered };
  }
}
