import { explainSignInError, toChatText, type EntraErrorInput } from '../microsoft/sign-in-errors';
import { GRAPH_APP_PERMISSIONS } from '../checks/microsoft';
import { secretHint, type EntraAppInput, type PartnerCenterAppInput } from '../domain/credentials';
import type { Connection, CredentialKind, CredentialMeta } from '../domain/partner';
import { MicrosoftHttpClient } from '../microsoft/http';
import type { ConnectionRepository } from '../store/connections';
import type { PartnerRecord } from '../store/partners';
import type { SecretStore } from '../store/secrets/secret-store';
import { requestAppToken, stringList, type AppTokenResult } from './client-credentials';
import { GRAPH_DEFAULT, PARTNER_CENTER_DEFAULT } from './scopes';
import { lookupTenant } from './tenant-lookup';

/** Secret names of a partner all start with this, so deleting the partner can find every one. */
export function partnerSecretPrefix(tenantId: string): string {
  return `partner-${tenantId.toLowerCase().replace(/[^0-9a-z-]/g, '')}-`;
}

const SECRET_SUFFIX: Record<CredentialKind, string> = { appSecret: 'app-secret', pcSecret: 'pc-secret' };

export function secretName(tenantId: string, kind: CredentialKind): string {
  return `${partnerSecretPrefix(tenantId)}${SECRET_SUFFIX[kind]}`;
}

/** What the pre-flight learned from the app-only Graph token. */
export interface Preflight {
  /** Graph application permissions in the token's `roles`. */
  roles: string[];
  /** The four permissions the platform needs that are not granted yet. */
  missingRoles: string[];
  tenantName?: string;
  /** The app secret's end date from Graph (matched by hint), when the app could read it. */
  secretExpiresAt?: string;
}

export type FieldProblem = { ok: false; field: string; message: string };
export type SaveOutcome<T> = { ok: true; record: PartnerRecord } & T | FieldProblem | { ok: false; alreadySaved: true };

export interface CredentialServiceOptions {
  authorityHost: string;
  graphBaseUrl: string;
  secrets: SecretStore;
  connections: ConnectionRepository;
  /** Wait before the one retry of a secret Microsoft doesn't know yet (just created). Default 5 s. */
  secretRetryWaitMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

const UNAVAILABLE = "I couldn't reach Microsoft to check this just now, so nothing was saved. Please send the card again in a minute.";

/**
 * Takes the credential cards' values: resolves the tenant, checks the service account belongs to
 * it, proves the app secret with an app-only token before anything is kept, then writes the
 * secret to the secret store and only its metadata to the database.
 */
export class CredentialService {
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: CredentialServiceOptions) {
    this.sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  async secret(tenantId: string, kind: CredentialKind): Promise<string | undefined> {
    return this.options.secrets.get(secretName(tenantId, kind));
  }

  /**
   * The Entra card: tenant, service account, app id and secret. `onRetry` is called (to tell the
   * chat) before the one retry of a secret Microsoft doesn't know yet.
   */
  async saveEntraApp(
    tenantId: string, partner: PartnerRecord, input: EntraAppInput, actor: string, cardId: string, onRetry: () => Promise<void>,
  ): Promise<SaveOutcome<{ preflight: Preflight; connection: Connection }>> {
    const { authorityHost } = this.options;
    const tenant = await lookupTenant(authorityHost, input.tenant.kind === 'id' ? input.tenant.tenantId : input.tenant.domain);
    if (!tenant.ok) {
      return tenant.reason === 'unavailable'
        ? { ok: false, field: 'tenant', message: UNAVAILABLE }
        : { ok: false, field: 'tenant', message: input.tenant.kind === 'id' ? 'No Microsoft tenant has that ID. Copy it from Partner Center → Settings → Account settings → Organization profile (Microsoft ID).' : `No Microsoft tenant uses the domain ${input.tenant.domain}. Use your tenant ID, or a domain verified in it.` };
    }
    const partnerTenantId = tenant.tenantId;
    const upnTenant = await lookupTenant(authorityHost, input.serviceAccountDomain);
    if (!upnTenant.ok && upnTenant.reason === 'unavailable') return { ok: false, field: 'serviceAccount', message: UNAVAILABLE };
    if (!upnTenant.ok || upnTenant.tenantId !== partnerTenantId) {
      return { ok: false, field: 'serviceAccount', message: `The domain ${input.serviceAccountDomain} isn't one of your partner tenant's domains. The service account must be a user of that tenant (not a guest, not a customer's account).` };
    }

    const stored = partner.credentials.appSecret ? await this.secret(tenantId, 'appSecret') : undefined;
    const secret = input.appSecret ?? stored;
    if (!secret) return { ok: false, field: 'appSecret', message: 'Paste the secret value' };

    let token = await requestAppToken(authorityHost, partnerTenantId, input.appId, secret, GRAPH_DEFAULT);
    if (!token.ok && 'error' in token && codeOf(token.error) === 7000215 && input.appSecret) {
      // A secret created seconds ago may not have replicated yet: one retry after a short wait.
      await onRetry();
      await this.sleep(this.options.secretRetryWaitMs ?? 5_000);
      token = await requestAppToken(authorityHost, partnerTenantId, input.appId, secret, GRAPH_DEFAULT);
    }
    if (!token.ok) return { ok: false, ...tokenProblem(token, 'appSecret', 'appId') };

    const preflight = await this.readPreflight(token.accessToken, token.claims, input.appId, secretHint(secret));
    const connection: Connection = {
      ...partner.connection,
      partnerTenantId,
      partnerTenantName: preflight.tenantName ?? (partner.connection?.partnerTenantId === partnerTenantId ? partner.connection.partnerTenantName : undefined),
      serviceAccountUpn: input.serviceAccount,
      appId: input.appId,
    };
    const metas: Partial<Record<CredentialKind, CredentialMeta>> = {};
    if (input.appSecret) {
      await this.options.secrets.set(secretName(tenantId, 'appSecret'), input.appSecret);
      metas.appSecret = { storeName: secretName(tenantId, 'appSecret'), hint: secretHint(input.appSecret), expiresAt: preflight.secretExpiresAt, setBy: actor, setAt: new Date().toISOString() };
    } else if (partner.credentials.appSecret && preflight.secretExpiresAt) {
      metas.appSecret = { ...partner.credentials.appSecret, expiresAt: preflight.secretExpiresAt };
    }
    const record = await this.options.connections.saveCredentials(tenantId, connection, metas, actor, cardId, { adminConsentDetected: preflight.missingRoles.length === 0 });
    if (!record) return { ok: false, alreadySaved: true };
    return { ok: true, record, preflight, connection };
  }

  /** The Partner Center card: web app id, key and its expiry; the key is proven with an app-only Partner Center token. */
  async savePartnerCenterApp(tenantId: string, partner: PartnerRecord, input: PartnerCenterAppInput, actor: string, cardId: string): Promise<SaveOutcome<{ preflight?: undefined }>> {
    const connection = partner.connection;
    if (!connection) return { ok: false, field: 'pcAppId', message: 'Enter your tenant and Entra app first (type **start**).' };
    const stored = partner.credentials.pcSecret ? await this.secret(tenantId, 'pcSecret') : undefined;
    const secret = input.pcSecret ?? stored;
    if (!secret) return { ok: false, field: 'pcSecret', message: 'Paste the key value' };
    const token = await requestAppToken(this.options.authorityHost, connection.partnerTenantId, input.pcAppId, secret, PARTNER_CENTER_DEFAULT);
    if (!token.ok) return { ok: false, ...tokenProblem(token, 'pcSecret', 'pcAppId') };
    const metas: Partial<Record<CredentialKind, CredentialMeta>> = {};
    const expiresAt = `${input.pcSecretExpires}T00:00:00.000Z`;
    if (input.pcSecret) {
      await this.options.secrets.set(secretName(tenantId, 'pcSecret'), input.pcSecret);
      metas.pcSecret = { storeName: secretName(tenantId, 'pcSecret'), hint: secretHint(input.pcSecret), expiresAt, setBy: actor, setAt: new Date().toISOString() };
    } else if (partner.credentials.pcSecret) {
      metas.pcSecret = { ...partner.credentials.pcSecret, expiresAt };
    }
    const record = await this.options.connections.saveCredentials(tenantId, { ...connection, pcAppId: input.pcAppId }, metas, actor, cardId);
    if (!record) return { ok: false, alreadySaved: true };
    return { ok: true, record };
  }

  /** Roles from the token; with them, the tenant's name and the secret's expiry from Graph. */
  private async readPreflight(accessToken: string, claims: Record<string, unknown>, appId: string, hint: string): Promise<Preflight> {
    const roles = stringList(claims.roles);
    const missingRoles = GRAPH_APP_PERMISSIONS.map((p) => p.name).filter((n) => !roles.includes(n));
    if (roles.length === 0) return { roles, missingRoles };
    // Through the one HTTP layer (timeouts, retries, Retry-After); a failure only leaves the name or expiry unknown.
    const graph = new MicrosoftHttpClient({
      baseUrl: this.options.graphBaseUrl, tokenProvider: async () => accessToken, scopes: [GRAPH_DEFAULT], requestIds: 'graph',
      maxRetries: 2, retryBudgetMs: 15_000, timeoutMs: 10_000,
    });
    const get = (path: string): Promise<unknown> => graph.request('GET', path, { query: { $select: path.startsWith('/v1.0/organization') ? 'displayName' : 'passwordCredentials' } })
      .then((r) => r.data, () => undefined);
    const [org, app] = await Promise.all([
      get('/v1.0/organization'),
      get(`/v1.0/applications(appId='${encodeURIComponent(appId)}')`),
    ]);
    const tenantName = (org as { value?: Array<{ displayName?: unknown }> } | undefined)?.value?.[0]?.displayName;
    const creds = (app as { passwordCredentials?: Array<{ hint?: unknown; endDateTime?: unknown }> } | undefined)?.passwordCredentials ?? [];
    const match = creds.filter((c) => c.hint === hint && typeof c.endDateTime === 'string');
    // Two secrets with the same first 3 characters can't be told apart: take none rather than guess.
    const secretExpiresAt = match.length === 1 ? String(match[0]!.endDateTime) : undefined;
    return { roles, missingRoles, tenantName: typeof tenantName === 'string' ? tenantName : undefined, secretExpiresAt };
  }
}

function codeOf(error: EntraErrorInput): number | undefined {
  const m = /AADSTS(\d+)/.exec(error.error_description ?? '');
  return m ? Number(m[1]) : undefined;
}

function tokenProblem(token: Exclude<AppTokenResult, { ok: true }>, secretField: string, idField: string): { field: string; message: string } {
  if ('unavailable' in token) return { field: secretField, message: UNAVAILABLE };
  const code = codeOf(token.error);
  const explanation = explainSignInError(token.error);
  // An unknown app id is about the id field; everything else about the secret.
  const field = code === 700016 ? idField : code === 90002 ? 'tenant' : secretField;
  return { field, message: toChatText(explanation) };
}
