import { z } from 'zod';
import { entraErrorFromBody, type EntraErrorInput } from '../microsoft/sign-in-errors';
import { entraFetch } from './entra-fetch';

/**
 * One app-only token request (client credentials) with the partner's own app, made directly so
 * its Entra error body can be read: the pre-flight that says at once whether a secret works.
 */
export type AppTokenResult =
  | { ok: true; accessToken: string; claims: Record<string, unknown> }
  | { ok: false; error: EntraErrorInput }
  | { ok: false; unavailable: true };

const TokenBody = z.object({ access_token: z.string() });

export async function requestAppToken(authorityHost: string, tenantId: string, appId: string, secret: string, scope: string, timeoutMs = 15_000): Promise<AppTokenResult> {
  const res = await entraFetch(`${authorityHost}/${encodeURIComponent(tenantId)}/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: appId, client_secret: secret, scope }),
  }, { timeoutMs });
  if (!res) return { ok: false, unavailable: true };
  const body: unknown = await res.json().catch(() => undefined);
  if (res.ok) {
    const parsed = TokenBody.safeParse(body);
    if (!parsed.success) return { ok: false, unavailable: true };
    return { ok: true, accessToken: parsed.data.access_token, claims: decodeJwtPayload(parsed.data.access_token) };
  }
  const error = entraErrorFromBody(body);
  return error && res.status < 500 ? { ok: false, error } : { ok: false, unavailable: true };
}

/**
 * The claims of a token this bot received from the token endpoint itself. A client does not
 * validate a resource's token (only the resource can); it reads it to learn what was granted.
 */
export function decodeJwtPayload(token: string): Record<string, unknown> {
  const part = token.split('.')[1];
  if (!part) return {};
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

export function stringList(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  if (typeof value === 'string') return value.split(' ').filter(Boolean);
  return [];
}
