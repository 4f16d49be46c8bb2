import { z } from 'zod';
import { entraFetch } from './entra-fetch';

/**
 * Resolves a tenant id or domain to the tenant id through the authority's OpenID metadata: the
 * `issuer` of `{authority}/{tenant}/v2.0/.well-known/openid-configuration` names the tenant
 * (https://learn.microsoft.com/en-us/entra/identity-platform/v2-protocols-oidc#find-your-apps-openid-configuration-document-uri).
 * No credential is needed, so it works before anything else is known.
 */
export type TenantLookup = { ok: true; tenantId: string } | { ok: false; reason: 'not_found' | 'unavailable' };

const Metadata = z.object({ issuer: z.string() });
const ISSUER_TENANT = /\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\/v2\.0\/?$/i;

export async function lookupTenant(authorityHost: string, tenantOrDomain: string, timeoutMs = 10_000): Promise<TenantLookup> {
  const url = `${authorityHost}/${encodeURIComponent(tenantOrDomain)}/v2.0/.well-known/openid-configuration`;
  const res = await entraFetch(url, { headers: { accept: 'application/json' } }, { timeoutMs });
  if (!res) return { ok: false, reason: 'unavailable' };
  // Entra answers 400 (AADSTS90002, "tenant not found") for a domain or id no tenant has.
  if (res.status === 400 || res.status === 404) {
    await res.body?.cancel();
    return { ok: false, reason: 'not_found' };
  }
  if (!res.ok) {
    await res.body?.cancel();
    return { ok: false, reason: 'unavailable' };
  }
  const parsed = Metadata.safeParse(await res.json().catch(() => undefined));
  const tenantId = parsed.success ? ISSUER_TENANT.exec(parsed.data.issuer)?.[1] : undefined;
  return tenantId ? { ok: true, tenantId: tenantId.toLowerCase() } : { ok: false, reason: 'unavailable' };
}
