import { randomUUID } from 'node:crypto';
import { json, readJson, Router, type SimReply, type SimRequest } from '../http';
import type { ServiceFactory, SimContext, SimService } from '../server';
import { AUDIENCE, checkBearer } from '../tokens';

/**
 * Azure Key Vault secrets (REST API as `@azure/keyvault-secrets` 4.11 calls it, api-version 2025-07-01).
 *
 * Mounted at the simulator's root, so the vault URL is the simulator's baseUrl and secret ids are
 * `${baseUrl}/secrets/{name}/{version}`: the SDK parses every id it receives as
 * `https://host/secrets/{name}[/{version}]` and throws on any extra path segment, so a vault cannot
 * live under a path prefix. Key Vault paths (`/secrets…`, `/deletedsecrets…`) do not collide with
 * Entra ID's (`/{tenant}/oauth2…`), which is also mounted at the root and routed first — except a
 * secret literally named `adminconsent`, which Entra ID's `/{tenant}/adminconsent` would catch.
 *
 * Auth is Key Vault's challenge: a request without a valid token gets 401 with
 * `WWW-Authenticate: Bearer authorization="${baseUrl}/{tenant}", resource="https://vault.azure.net"`,
 * naming the first tenant of the scenario. The SDK then checks that the resource's domain matches the
 * vault host, which fails for 127.0.0.1: clients pass `disableChallengeResourceVerification: true`.
 *
 * Soft delete is always on (like every vault since 2020): DELETE keeps the secret as a deleted secret
 * for 90 days; it must be purged or recovered before its name can be used again.
 */

const NAME = /^[0-9a-zA-Z-]{1,127}$/;
const RECOVERABLE_DAYS = 90;
const MAX_PAGE = 25;

interface SecretAttributes {
  enabled: boolean;
  nbf?: number;
  exp?: number;
  created: number;
  updated: number;
}

interface SecretVersion {
  version: string;
  value: string;
  contentType?: string;
  tags?: Record<string, string>;
  attributes: SecretAttributes;
}

interface StoredSecret {
  name: string;
  /** Oldest first; the last is the current version. */
  versions: SecretVersion[];
  deleted?: { deletedDate: number; scheduledPurgeDate: number };
}

interface SetSecretBody {
  value?: unknown;
  contentType?: unknown;
  tags?: unknown;
  attributes?: { enabled?: unknown; nbf?: unknown; exp?: unknown };
}

function kvError(status: number, code: string, message: string, headers: Record<string, string> = {}): SimReply {
  return json(status, { error: { code, message } }, headers);
}

function secretNotFound(name: string): SimReply {
  return kvError(404, 'SecretNotFound', `A secret with (name/id) ${name} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182`);
}

function deletedSecretNotFound(name: string): SimReply {
  return kvError(404, 'SecretNotFound', `Deleted Secret not found: ${name}`);
}

function isStringRecord(v: unknown): v is Record<string, string> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string');
}

class KeyVaultService implements SimService {
  readonly name = 'keyvault';
  readonly prefix = '';
  readonly router = new Router();
  private secrets = new Map<string, StoredSecret>();

  constructor(private readonly ctx: SimContext) {
    const r = this.router;
    r.get('/secrets', (req) => this.guard(req, () => this.list(req, false)));
    r.get('/secrets/:name/versions', (req) => this.guard(req, () => this.listVersions(req)));
    r.put('/secrets/:name', (req) => this.guard(req, () => this.set(req)));
    r.get('/secrets/:name', (req) => this.guard(req, () => this.get(req)));
    r.get('/secrets/:name/:version', (req) => this.guard(req, () => this.get(req)));
    r.patch('/secrets/:name', (req) => this.guard(req, () => this.update(req)));
    r.patch('/secrets/:name/:version', (req) => this.guard(req, () => this.update(req)));
    r.delete('/secrets/:name', (req) => this.guard(req, () => this.remove(req)));
    r.get('/deletedsecrets', (req) => this.guard(req, () => this.list(req, true)));
    r.get('/deletedsecrets/:name', (req) => this.guard(req, () => this.getDeleted(req)));
    r.delete('/deletedsecrets/:name', (req) => this.guard(req, () => this.purge(req)));
    r.post('/deletedsecrets/:name/recover', (req) => this.guard(req, () => this.recover(req)));
  }

  reset(): void {
    this.secrets.clear();
  }

  private get vaultUrl(): string {
    return this.ctx.baseUrl;
  }

  /** Bearer check first (as Key Vault does, before looking at parameters), then api-version and name. */
  private guard(req: SimRequest, handler: () => SimReply): SimReply {
    const auth = checkBearer(this.ctx, req, AUDIENCE.keyVault);
    if (!auth.ok) {
      const tenantId = this.ctx.scenario.tenants[0]?.id ?? 'common';
      const challenge = `Bearer authorization="${this.ctx.baseUrl}/${tenantId}", resource="${AUDIENCE.keyVault}"`;
      const message = auth.problem === 'missing' ? 'AKV10000: Request is missing a Bearer or PoP token.'
        : auth.problem === 'audience' ? `AKV10022: Invalid audience. Expected ${AUDIENCE.keyVault}.`
          : auth.problem === 'expired' ? 'AKV10032: Token expired.'
            : `AKV10001: ${auth.message}`;
      return kvError(401, 'Unauthorized', message, { 'www-authenticate': challenge });
    }
    if (!req.url.searchParams.get('api-version')) return kvError(400, 'BadParameter', 'The api-version query parameter is required.');
    const name = req.params.name;
    if (name !== undefined && !NAME.test(name)) return kvError(400, 'BadParameter', `The request URI contains an invalid name: ${name}`);
    return handler();
  }

  private find(name: string): StoredSecret | undefined {
    return this.secrets.get(name.toLowerCase());
  }

  private now(): number {
    return Math.floor(this.ctx.now() / 1000);
  }

  private bundle(s: StoredSecret, v: SecretVersion, withValue = true): Record<string, unknown> {
    return {
      ...(withValue ? { value: v.value } : {}),
      id: `${this.vaultUrl}/secrets/${s.name}/${v.version}`,
      ...(v.contentType !== undefined ? { contentType: v.contentType } : {}),
      attributes: { ...v.attributes, recoverableDays: RECOVERABLE_DAYS, recoveryLevel: 'Recoverable+Purgeable' },
      tags: v.tags ?? {},
    };
  }

  private deletedBundle(s: StoredSecret): Record<string, unknown> {
    const current = s.versions.at(-1)!;
    return {
      recoveryId: `${this.vaultUrl}/deletedsecrets/${s.name}`,
      deletedDate: s.deleted?.deletedDate,
      scheduledPurgeDate: s.deleted?.scheduledPurgeDate,
      ...this.bundle(s, current, false),
    };
  }

  private set(req: SimRequest): SimReply {
    const name = req.params.name!;
    const body = readJson<SetSecretBody>(req);
    if (!body || typeof body.value !== 'string') return kvError(400, 'BadParameter', "Property 'value' is required and must be a string.");
    const existing = this.find(name);
    if (existing?.deleted) {
      return kvError(409, 'Conflict', `Secret ${existing.name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.`);
    }
    const now = this.now();
    const attrs = body.attributes ?? {};
    const version: SecretVersion = {
      version: randomUUID().replace(/-/g, ''),
      value: body.value,
      ...(typeof body.contentType === 'string' ? { contentType: body.contentType } : {}),
      ...(isStringRecord(body.tags) ? { tags: body.tags } : {}),
      attributes: {
        enabled: typeof attrs.enabled === 'boolean' ? attrs.enabled : true,
        ...(typeof attrs.nbf === 'number' ? { nbf: attrs.nbf } : {}),
        ...(typeof attrs.exp === 'number' ? { exp: attrs.exp } : {}),
        created: now,
        updated: now,
      },
    };
    const secret = existing ?? { name, versions: [] };
    secret.versions.push(version);
    this.secrets.set(name.toLowerCase(), secret);
    return json(200, this.bundle(secret, version));
  }

  private version(secret: StoredSecret, version: string | undefined): SecretVersion | undefined {
    return version ? secret.versions.find((v) => v.version === version.toLowerCase()) : secret.versions.at(-1);
  }

  private get(req: SimRequest): SimReply {
    const name = req.params.name!;
    const secret = this.find(name);
    if (!secret || secret.deleted) return secretNotFound(name);
    const v = this.version(secret, req.params.version);
    if (!v) return secretNotFound(`${name}/${req.params.version ?? ''}`);
    if (!v.attributes.enabled) {
      return json(403, { error: { code: 'Forbidden', message: 'Operation get is not allowed on a disabled secret.', innererror: { code: 'SecretDisabled' } } });
    }
    return json(200, this.bundle(secret, v));
  }

  private update(req: SimRequest): SimReply {
    const name = req.params.name!;
    const secret = this.find(name);
    if (!secret || secret.deleted) return secretNotFound(name);
    const v = this.version(secret, req.params.version);
    if (!v) return secretNotFound(`${name}/${req.params.version ?? ''}`);
    const body = readJson<SetSecretBody>(req) ?? {};
    if (typeof body.contentType === 'string') v.contentType = body.contentType;
    if (isStringRecord(body.tags)) v.tags = body.tags;
    const attrs = body.attributes ?? {};
    if (typeof attrs.enabled === 'boolean') v.attributes.enabled = attrs.enabled;
    if (typeof attrs.nbf === 'number') v.attributes.nbf = attrs.nbf;
    if (typeof attrs.exp === 'number') v.attributes.exp = attrs.exp;
    v.attributes.updated = this.now();
    return json(200, this.bundle(secret, v, false));
  }

  private remove(req: SimRequest): SimReply {
    const name = req.params.name!;
    const secret = this.find(name);
    if (!secret || secret.deleted) return secretNotFound(name);
    const now = this.now();
    secret.deleted = { deletedDate: now, scheduledPurgeDate: now + RECOVERABLE_DAYS * 86_400 };
    return json(200, this.deletedBundle(secret));
  }

  private getDeleted(req: SimRequest): SimReply {
    const name = req.params.name!;
    const secret = this.find(name);
    if (!secret?.deleted) return deletedSecretNotFound(name);
    return json(200, this.deletedBundle(secret));
  }

  private purge(req: SimRequest): SimReply {
    const name = req.params.name!;
    const secret = this.find(name);
    if (!secret?.deleted) return deletedSecretNotFound(name);
    this.secrets.delete(name.toLowerCase());
    return { status: 204 };
  }

  private recover(req: SimRequest): SimReply {
    const name = req.params.name!;
    const secret = this.find(name);
    if (!secret?.deleted) return deletedSecretNotFound(name);
    delete secret.deleted;
    return json(200, this.bundle(secret, secret.versions.at(-1)!, false));
  }

  /** `GET /secrets` and `GET /deletedsecrets`: items without values, `maxresults` per page, `nextLink`. */
  private list(req: SimRequest, deleted: boolean): SimReply {
    const items = [...this.secrets.values()]
      .filter((s) => Boolean(s.deleted) === deleted)
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((s) => ({
        ...(deleted ? this.deletedBundle(s) : this.bundle(s, s.versions.at(-1)!, false)),
        // List items name the secret, not a version.
        id: `${this.vaultUrl}/secrets/${s.name}`,
      }));
    return this.page(req, items, deleted ? '/deletedsecrets' : '/secrets');
  }

  private listVersions(req: SimRequest): SimReply {
    const name = req.params.name!;
    const secret = this.find(name);
    if (!secret || secret.deleted) return secretNotFound(name);
    return this.page(req, secret.versions.map((v) => this.bundle(secret, v, false)), `/secrets/${secret.name}/versions`);
  }

  private page(req: SimRequest, items: unknown[], path: string): SimReply {
    const q = req.url.searchParams;
    const requested = Number(q.get('maxresults') ?? MAX_PAGE);
    if (!Number.isInteger(requested) || requested < 1 || requested > MAX_PAGE) {
      return kvError(400, 'BadParameter', `maxresults must be an integer between 1 and ${MAX_PAGE}.`);
    }
    const skip = Number(q.get('$skiptoken') ? Buffer.from(q.get('$skiptoken')!, 'base64url').toString('utf8') : '0');
    const start = Number.isInteger(skip) && skip > 0 ? skip : 0;
    const value = items.slice(start, start + requested);
    let nextLink: string | null = null;
    if (start + requested < items.length) {
      const next = new URLSearchParams({ 'api-version': q.get('api-version') ?? '', $skiptoken: Buffer.from(String(start + requested)).toString('base64url'), maxresults: String(requested) });
      nextLink = `${this.vaultUrl}${path}?${next.toString()}`;
    }
    return json(200, { value, nextLink });
  }
}

export const keyVaultService: ServiceFactory = (ctx) => new KeyVaultService(ctx);
