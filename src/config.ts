import { existsSync, readFileSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import { join, resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { z } from 'zod';
import { AppError } from './errors';

/**
 * The one place that reads the environment. `loadConfig(env)` validates every key at once and
 * returns a frozen, typed object; everything else receives what it needs from it.
 */

export const BOT_TYPES = ['MultiTenant', 'SingleTenant', 'UserAssignedMSI'] as const;
export type BotType = (typeof BOT_TYPES)[number];
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Keys whose values are never repeated in an error message. */
const SECRET_KEYS = new Set(['BOT_PASSWORD', 'SECRET_BOT_PASSWORD', 'SETUP_APP_SECRET', 'SECRET_SETUP_APP_SECRET', 'SECRET_STORE_KEY', 'DATABASE_URL']);

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const emptyToUndefined = (v: unknown): unknown => (typeof v === 'string' && v.trim() === '' ? undefined : v);

const bool = (def: boolean) =>
  z.preprocess(
    emptyToUndefined,
    z.enum(['true', 'false', '1', '0'], { error: 'expected true or false' }).optional(),
  ).transform((v) => (v === undefined ? def : v === 'true' || v === '1'));

const httpUrl = (what: string) =>
  z.string().trim().refine((v) => {
    try {
      const u = new URL(v);
      return u.protocol === 'https:' || u.protocol === 'http:';
    } catch {
      return false;
    }
  }, `expected an http(s) URL (${what})`).transform((v) => v.replace(/\/+$/, ''));

const httpsUrl = (what: string) =>
  z.string().trim().refine((v) => {
    try {
      return new URL(v).protocol === 'https:';
    } catch {
      return false;
    }
  }, `expected an https URL (${what})`).transform((v) => v.replace(/\/+$/, ''));

/** A per-partner cooldown in whole seconds, 0 (no limit) to a day. */
const cooldownSeconds = (def: number) =>
  z.preprocess(emptyToUndefined, z.string().regex(/^\d+$/, 'expected whole seconds (0: no limit)').transform(Number).refine((n) => n <= 86_400, 'expected 0 to 86400 seconds').default(def));

const EnvSchema = z.object({
  NODE_ENV: z.preprocess(emptyToUndefined, z.enum(['development', 'production', 'test'], { error: 'expected development, production or test' }).default('development')),
  BOT_ID: z.preprocess((v) => (v === undefined ? '' : v), z.string().trim().refine((v) => v === '' || GUID.test(v), 'expected the bot\'s Microsoft app id (a GUID), or empty for an unauthenticated local bot')),
  BOT_PASSWORD: z.preprocess(emptyToUndefined, z.string().optional()),
  BOT_TENANT_ID: z.preprocess(emptyToUndefined, z.string().trim().regex(GUID, 'expected a tenant id (GUID)').optional()),
  // Azure no longer creates multi-tenant bots (since 31 July 2025): SingleTenant is the default.
  BOT_TYPE: z.preprocess(emptyToUndefined, z.enum(BOT_TYPES, { error: `expected one of ${BOT_TYPES.join(', ')}` }).default('SingleTenant')),
  BOT_LOGIN_URL: z.preprocess(emptyToUndefined, httpsUrl('the Entra ID authority the bot gets Bot Framework tokens from, e.g. https://login.microsoftonline.com/<tenant>').optional()),
  BOT_OPENID_METADATA_URL: z.preprocess(emptyToUndefined, httpsUrl('OpenID metadata of the keys that sign activities sent to the bot').optional()),
  PORT: z.preprocess(emptyToUndefined, z.string().trim().regex(/^\d{1,5}$/, 'expected a port number 0-65535').transform(Number).refine((n) => n <= 65535, 'expected a port number 0-65535').default(3978)),
  // IPv4 only: the server builds its own URL as http://HOST:PORT.
  HOST: z.preprocess(emptyToUndefined, z.string().trim().refine((v) => isIPv4(v), 'expected an IPv4 address to listen on: 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)').optional()),
  PUBLIC_BASE_URL: z.preprocess(emptyToUndefined, httpUrl('the address Teams and browsers reach this bot at').optional()),
  DATA_DIR: z.preprocess(emptyToUndefined, z.string().default('.data')),
  DATABASE_URL: z.preprocess(emptyToUndefined, z.string().trim().refine((v) => {
    try {
      const u = new URL(v);
      return (u.protocol === 'postgres:' || u.protocol === 'postgresql:') && u.hostname !== '';
    } catch {
      return false;
    }
  }, 'expected a PostgreSQL URL like postgres://user@host:5432/db (leave it unset for the embedded database)').optional()),
  // entra: the password is an access token of the managed identity AZURE_CLIENT_ID (Azure Database for PostgreSQL).
  DATABASE_AUTH: z.preprocess(emptyToUndefined, z.enum(['password', 'entra'], { error: 'expected password or entra' }).default('password')),
  // The embedded database (no DATABASE_URL): on a worker thread of its own, or on the bot's thread (main).
  PGLITE_THREAD: z.preprocess(emptyToUndefined, z.enum(['worker', 'main'], { error: 'expected worker or main' }).default('worker')),
  AZURE_CLIENT_ID: z.preprocess(emptyToUndefined, z.string().trim().regex(GUID, 'expected the client id of a user-assigned managed identity (a GUID)').optional()),
  KEY_VAULT_URL: z.preprocess(emptyToUndefined, httpsUrl('e.g. https://<vault>.vault.azure.net; leave it unset for the local secret store').optional()),
  KEY_VAULT_DISABLE_CHALLENGE_RESOURCE_VERIFICATION: bool(false),
  ALLOW_UNAUTHENTICATED: bool(false),
  SECRET_STORE_KEY: z.preprocess(emptyToUndefined, z.string().trim().refine((v) => /^[A-Za-z0-9+/]{43}=$/.test(v) && Buffer.from(v, 'base64').length === 32, 'expected 32 random bytes in base64 (openssl rand -base64 32)').optional()),
  ALLOW_EMBEDDED_STORES: bool(false),
  AUTHORITY_HOST: z.preprocess(emptyToUndefined, httpsUrl('Entra ID authority host').default('https://login.microsoftonline.com')),
  // Ours, for the sandbox only: the simulator's sign-in pages over plain HTTP on loopback (see the check below).
  SANDBOX_BROWSER_AUTHORITY_HOST: z.preprocess(emptyToUndefined, httpUrl('where browsers open the sign-in pages of AUTHORITY_HOST; sandbox only').optional()),
  GRAPH_BASE_URL: z.preprocess(emptyToUndefined, httpsUrl('Microsoft Graph').default('https://graph.microsoft.com')),
  PARTNER_CENTER_BASE_URL: z.preprocess(emptyToUndefined, httpsUrl('Partner Center API').default('https://api.partnercenter.microsoft.com')),
  MAIL_SENDER: z.preprocess(emptyToUndefined, z.string().trim().email('expected the mailbox verification mails are sent from, like onboarding@contoso.com').optional()),
  LOG_LEVEL: z.preprocess(emptyToUndefined, z.enum(LOG_LEVELS, { error: `expected one of ${LOG_LEVELS.join(', ')}` }).default('info')),
  REQUEST_BODY_LIMIT_BYTES: z.preprocess(emptyToUndefined, z.string().regex(/^\d+$/, 'expected a number of bytes').transform(Number).refine((n) => n >= 1024 && n <= 10_485_760, 'expected 1024 to 10485760 bytes').default(262_144)),
  SHUTDOWN_TIMEOUT_MS: z.preprocess(emptyToUndefined, z.string().regex(/^\d+$/, 'expected milliseconds').transform(Number).default(10_000)),
  CHECK_APP_IN_ADMINAGENTS: z.preprocess(emptyToUndefined, z.enum(['blocking', 'advisory'], { error: 'expected blocking or advisory' }).default('blocking')),
  SYNC_PAGE_SIZE: z.preprocess(emptyToUndefined, z.string().regex(/^\d+$/, 'expected a number of customers').transform(Number).refine((n) => n >= 1 && n <= 5000, 'expected 1 to 5000').default(500)),
  SYNC_SLICE_SECONDS: z.preprocess(emptyToUndefined, z.string().regex(/^\d+$/, 'expected seconds').transform(Number).refine((n) => n >= 1 && n <= 600, 'expected 1 to 600 seconds').default(20)),
  SYNC_NIGHTLY_AT: z.preprocess(emptyToUndefined, z.string().trim().regex(/^(off|([01]?\d|2[0-3]):[0-5]\d)$/, 'expected HH:MM (UTC) or off').default('02:00')),
  SYNC_SPREAD_MINUTES: z.preprocess(emptyToUndefined, z.string().regex(/^\d+$/, 'expected minutes').transform(Number).refine((n) => n <= 720, 'expected 0 to 720 minutes').default(120)),
  WATCH_DAILY_AT: z.preprocess(emptyToUndefined, z.string().trim().regex(/^(off|([01]?\d|2[0-3]):[0-5]\d)$/, 'expected HH:MM (UTC) or off').default('06:00')),
  WATCH_SLICE_SECONDS: z.preprocess(emptyToUndefined, z.string().regex(/^\d+$/, 'expected seconds').transform(Number).refine((n) => n >= 1 && n <= 120, 'expected 1 to 120 seconds').default(5)),
  JOB_POLL_SECONDS: z.preprocess(emptyToUndefined, z.string().regex(/^\d+(\.\d+)?$/, 'expected seconds').transform(Number).refine((n) => n >= 0.5 && n <= 60, 'expected 0.5 to 60 seconds').default(2)),
  JOB_MAINTENANCE_SECONDS: z.preprocess(emptyToUndefined, z.string().regex(/^\d+$/, 'expected seconds').transform(Number).refine((n) => n >= 1 && n <= 3600, 'expected 1 to 3600 seconds').default(30)),
  SUPPORT_ENGINEERS: z.preprocess(emptyToUndefined, z.string().default('').transform((v) => v.split(',').map((x) => x.trim().toLowerCase()).filter(Boolean))
    .refine((ids) => ids.every((id) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id)), 'expected Entra object ids (GUIDs), comma-separated')),
  RECHECK_COOLDOWN_SECONDS: cooldownSeconds(30),
  EXPIRY_COOLDOWN_SECONDS: cooldownSeconds(60),
  SUPPORT_COOLDOWN_SECONDS: cooldownSeconds(600),
  SETUP_APP_ID: z.preprocess(emptyToUndefined, z.string().trim().regex(GUID, "expected the application (client) id of the operator's multi-tenant setup app (a GUID)").optional()),
  SETUP_APP_SECRET: z.preprocess(emptyToUndefined, z.string().optional()),
  RECHECK_DELAY_MINUTES: z.preprocess(emptyToUndefined, z.string().regex(/^\d+$/, 'expected whole minutes').transform(Number).refine((n) => n >= 1 && n <= 1440, 'expected 1 to 1440 minutes').default(15)),
});

type Env = z.infer<typeof EnvSchema>;

export interface AppConfig {
  readonly env: Env['NODE_ENV'];
  readonly bot: {
    /** Empty: an unauthenticated local bot (Agents Playground, tests), only with ALLOW_UNAUTHENTICATED. */
    readonly id: string;
    /** False for the local unauthenticated bot: it listens on loopback and replies only to loopback. */
    readonly authenticated: boolean;
    readonly password?: string;
    readonly tenantId?: string;
    readonly type: BotType;
    /** botbuilder's ToChannelFromBotLoginUrl; unset: its default for the bot type. */
    readonly loginUrl?: string;
    /** botbuilder's ToBotFromChannelOpenIdMetadataUrl; unset: login.botframework.com's. */
    readonly openIdMetadataUrl?: string;
  };
  readonly server: {
    readonly port: number;
    /** HOST; unset: 127.0.0.1 for the unauthenticated bot, every interface (0.0.0.0) otherwise. */
    readonly host: string;
    readonly publicBaseUrl: string;
    readonly bodyLimitBytes: number;
    readonly shutdownTimeoutMs: number;
  };
  readonly dataDir: string;
  /** `entra`: the password of each new connection is an access token of this user-assigned managed identity. */
  readonly database: { readonly kind: 'postgres'; readonly url: string; readonly entra?: { readonly clientId: string } } | { readonly kind: 'pglite'; readonly dir: string; readonly thread: 'worker' | 'main' };
  readonly secrets:
    | { readonly kind: 'keyvault'; readonly url: string; readonly disableChallengeResourceVerification: boolean }
    | { readonly kind: 'local'; readonly key?: Buffer; readonly keyFile: string };
  readonly microsoft: {
    readonly authorityHost: string;
    /**
     * Where a browser is sent to sign in: AUTHORITY_HOST, except in the sandbox, where
     * SANDBOX_BROWSER_AUTHORITY_HOST serves the simulator's sign-in pages on a host the browser
     * trusts (the bot's own calls still go to AUTHORITY_HOST over HTTPS).
     */
    readonly browserAuthorityHost: string;
    readonly graphBaseUrl: string;
    readonly partnerCenterBaseUrl: string;
  };
  /** Graph sendMail from this mailbox; unset (local runs only): mails are written to DATA_DIR/outbox. */
  readonly mail: { readonly kind: 'graph'; readonly sender: string } | { readonly kind: 'outbox'; readonly dir: string };
  readonly logLevel: LogLevel;
  readonly checks: {
    /** How much "the app's service principal in AdminAgents" weighs (the seeds require it: blocking). */
    readonly appInAdminAgentsSeverity: 'blocking' | 'advisory';
    /** "Re-check in 15 minutes": the wait. */
    readonly recheckDelayMs: number;
  };
  readonly sync: {
    readonly pageSize: number;
    readonly sliceSeconds: number;
    /** UTC "HH:MM", or undefined: no nightly sync. */
    readonly nightlyAt?: string;
    readonly spreadMinutes: number;
  };
  readonly jobs: { readonly pollSeconds: number; readonly maintenanceSeconds: number };
  /** The daily expiry scan, UTC "HH:MM", or undefined: off; its work per slice job (a slice job whose worker died is taken over after 4×). */
  readonly watch: { readonly dailyAt?: string; readonly sliceSeconds: number };
  /** Entra object ids of the support engineers: only they set the support channel and act on its cards. */
  readonly support: { readonly engineers: readonly string[] };
  /**
   * The operator's own multi-tenant app (SETUP_APP_ID + SETUP_APP_SECRET): a partner's member signs
   * in to it to prove an administrator role (`take over`; delegated User.Read only). Unset: the
   * partner's own app is used once its credentials are in.
   */
  readonly setupApp?: { readonly appId: string; readonly secret: string };
  /** Per partner, how often `recheck` and `expiry` run and a repeat `support` is passed on (0: no limit). */
  readonly cooldowns: { readonly recheckSeconds: number; readonly expirySeconds: number; readonly supportSeconds: number };
}

/** DATABASE_AUTH=entra: the URL names the user only, and a token leaves this machine only over TLS. */
function entraDatabaseProblems(rawUrl: string | undefined, hasClientId: boolean): string[] {
  const problems: string[] = [];
  const url = (rawUrl ?? '').trim();
  if (url === '') problems.push('DATABASE_URL: required with DATABASE_AUTH=entra');
  else if (URL.canParse(url)) {
    const u = new URL(url);
    if (u.password !== '') problems.push('DATABASE_URL: no password with DATABASE_AUTH=entra (the password is an access token of the managed identity); name only the user, like postgres://<identity name>@<server>:5432/<database>');
    const loopback = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/.test(u.hostname);
    if (!loopback && !['require', 'verify-ca', 'verify-full'].includes(u.searchParams.get('sslmode') ?? '')) {
      problems.push('DATABASE_URL: add ?sslmode=verify-full with DATABASE_AUTH=entra (an access token must not cross the network in clear)');
    }
  }
  if (!hasClientId) problems.push('AZURE_CLIENT_ID: required with DATABASE_AUTH=entra (the client id of the user-assigned managed identity that signs in to PostgreSQL)');
  return problems;
}

function describeValue(key: string, env: Record<string, string | undefined>): string {
  const v = env[key];
  if (v === undefined) return 'missing';
  if (SECRET_KEYS.has(key) || key.startsWith('SECRET_')) return 'got a value (not shown)';
  return `got ${JSON.stringify(v.length > 80 ? `${v.slice(0, 77)}...` : v)}`;
}

/**
 * Validates the environment and builds the config. Throws an AppError('config_invalid') whose
 * message lists every problem, one per line, never repeating a secret value.
 */
export function loadConfig(env: Record<string, string | undefined>): AppConfig {
  const normalized: Record<string, string | undefined> = {
    ...env, BOT_PASSWORD: env.BOT_PASSWORD ?? env.SECRET_BOT_PASSWORD, SETUP_APP_SECRET: env.SETUP_APP_SECRET ?? env.SECRET_SETUP_APP_SECRET,
  };
  const parsed = EnvSchema.safeParse(normalized);
  const problems: string[] = [];
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const key = String(issue.path[0] ?? '?');
      problems.push(`${key}: ${issue.message}; ${describeValue(key, normalized)}`);
    }
  }
  // Cross-key rules read the raw values, so they are reported together with any per-key problem.
  const has = (key: string): boolean => (normalized[key] ?? '').trim() !== '';
  const flag = (key: string): boolean => ['true', '1'].includes((normalized[key] ?? '').trim());
  const production = normalized.NODE_ENV === 'production';
  const botType = (normalized.BOT_TYPE ?? '').trim() || 'SingleTenant';
  const embeddedAllowed = flag('ALLOW_EMBEDDED_STORES');
  const unauthenticated = flag('ALLOW_UNAUTHENTICATED');
  if (production && !has('BOT_ID')) problems.push('BOT_ID: required in production (an empty BOT_ID runs the bot without authentication)');
  else if (!has('BOT_ID') && !unauthenticated) problems.push('BOT_ID: required (for a local run without authentication set ALLOW_UNAUTHENTICATED=true, as env/.env.local does)');
  if (unauthenticated && production) problems.push('ALLOW_UNAUTHENTICATED: refused when NODE_ENV=production');
  // Anyone who reached an unauthenticated bot could post activities as any user of any tenant.
  const host = (normalized.HOST ?? '').trim();
  if (!has('BOT_ID') && isIPv4(host) && !host.startsWith('127.')) problems.push('HOST: an unauthenticated bot listens on this machine only (127.0.0.1): anyone who reached it could talk to it as anyone');
  if (unauthenticated && has('WEBSITE_SITE_NAME')) problems.push('ALLOW_UNAUTHENTICATED: refused on Azure App Service (WEBSITE_SITE_NAME is set)');
  if (production && !has('PUBLIC_BASE_URL')) problems.push('PUBLIC_BASE_URL: required in production (the https address Teams and browsers reach the bot at)');
  // botbuilder refuses to start an MSI bot that has a password.
  if (botType === 'UserAssignedMSI' && has('BOT_PASSWORD')) problems.push(`BOT_PASSWORD: not used when BOT_TYPE is UserAssignedMSI (the managed identity holds no secret): remove it, or SECRET_BOT_PASSWORD from env/.env.<name>.user; ${describeValue('BOT_PASSWORD', normalized)}`);
  if (has('BOT_ID') && botType !== 'UserAssignedMSI' && !has('BOT_PASSWORD')) problems.push(`BOT_PASSWORD: required when BOT_ID is set and BOT_TYPE is ${botType} (or set SECRET_BOT_PASSWORD in env/.env.<name>.user)`);
  if ((botType === 'UserAssignedMSI' || (botType === 'SingleTenant' && has('BOT_ID'))) && !has('BOT_TENANT_ID')) problems.push(`BOT_TENANT_ID: required when BOT_TYPE is ${botType}`);
  if (has('KEY_VAULT_URL') && botType !== 'UserAssignedMSI' && !has('BOT_TENANT_ID')) problems.push('BOT_TENANT_ID: required with KEY_VAULT_URL (the bot signs in to Key Vault in this tenant)');
  if (has('KEY_VAULT_URL') && !has('BOT_ID')) problems.push('BOT_ID: required with KEY_VAULT_URL (Key Vault is reached with the bot\'s identity)');
  if ((normalized.DATABASE_AUTH ?? '').trim() === 'entra') problems.push(...entraDatabaseProblems(normalized.DATABASE_URL, has('AZURE_CLIENT_ID')));
  if (production && !has('DATABASE_URL') && !embeddedAllowed) problems.push('DATABASE_URL: required in production (the embedded database is for local runs; set ALLOW_EMBEDDED_STORES=true to use it anyway)');
  if (production && !has('KEY_VAULT_URL') && !embeddedAllowed) problems.push('KEY_VAULT_URL: required in production (the local secret store is for local runs; set ALLOW_EMBEDDED_STORES=true to use it anyway)');
  if (production && !has('KEY_VAULT_URL') && embeddedAllowed && !has('SECRET_STORE_KEY')) problems.push('SECRET_STORE_KEY: required in production when the local secret store is used (a generated key file is for local runs only)');
  if (production && has('PUBLIC_BASE_URL') && !(normalized.PUBLIC_BASE_URL ?? '').trim().startsWith('https://')) problems.push('PUBLIC_BASE_URL: must be https in production');
  if (production && !has('MAIL_SENDER')) problems.push('MAIL_SENDER: required in production (the mailbox verification mails are sent from, through Graph)');
  if (has('MAIL_SENDER') && (!has('BOT_ID') || !has('BOT_TENANT_ID'))) problems.push('MAIL_SENDER: needs BOT_ID and BOT_TENANT_ID (mail is sent through Graph with the bot\'s identity)');
  if (production && flag('KEY_VAULT_DISABLE_CHALLENGE_RESOURCE_VERIFICATION')) problems.push('KEY_VAULT_DISABLE_CHALLENGE_RESOURCE_VERIFICATION: only for the local simulator, not in production');
  if (has('SETUP_APP_ID') && !has('SETUP_APP_SECRET')) problems.push('SETUP_APP_SECRET: required when SETUP_APP_ID is set (the setup app\'s client secret; or SECRET_SETUP_APP_SECRET in env/.env.<name>.user)');
  const browserAuthority = (normalized.SANDBOX_BROWSER_AUTHORITY_HOST ?? '').trim();
  if (browserAuthority !== '' && production) problems.push('SANDBOX_BROWSER_AUTHORITY_HOST: only for the local sandbox, not in production (browsers sign in at AUTHORITY_HOST)');
  else if (browserAuthority !== '' && URL.canParse(browserAuthority) && !/^(localhost|127\.\d+\.\d+\.\d+)$/.test(new URL(browserAuthority).hostname)) {
    problems.push('SANDBOX_BROWSER_AUTHORITY_HOST: expected a loopback address (http://127.0.0.1:<port>): sign-in pages are served over plain HTTP only on this machine');
  }
  if (has('SETUP_APP_SECRET') && !has('SETUP_APP_ID')) problems.push('SETUP_APP_ID: required when SETUP_APP_SECRET is set (the setup app\'s application id)');
  const e = parsed.success ? parsed.data : undefined;
  if (problems.length > 0 || !e) {
    throw new AppError('config_invalid', `Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
  const dataDir = resolve(e.DATA_DIR);
  const config: AppConfig = {
    env: e.NODE_ENV,
    bot: {
      id: e.BOT_ID, authenticated: e.BOT_ID !== '', password: e.BOT_PASSWORD, tenantId: e.BOT_TENANT_ID, type: e.BOT_TYPE,
      loginUrl: e.BOT_LOGIN_URL, openIdMetadataUrl: e.BOT_OPENID_METADATA_URL,
    },
    server: {
      port: e.PORT,
      host: e.HOST ?? (e.BOT_ID === '' ? '127.0.0.1' : '0.0.0.0'),
      publicBaseUrl: e.PUBLIC_BASE_URL ?? `http://localhost:${e.PORT}`,
      bodyLimitBytes: e.REQUEST_BODY_LIMIT_BYTES,
      shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    },
    dataDir,
    database: e.DATABASE_URL
      ? { kind: 'postgres', url: e.DATABASE_URL, ...(e.DATABASE_AUTH === 'entra' && e.AZURE_CLIENT_ID ? { entra: { clientId: e.AZURE_CLIENT_ID } } : {}) }
      : { kind: 'pglite', dir: join(dataDir, 'pglite'), thread: e.PGLITE_THREAD },
    secrets: e.KEY_VAULT_URL
      ? { kind: 'keyvault', url: e.KEY_VAULT_URL, disableChallengeResourceVerification: e.KEY_VAULT_DISABLE_CHALLENGE_RESOURCE_VERIFICATION }
      : { kind: 'local', key: e.SECRET_STORE_KEY ? Buffer.from(e.SECRET_STORE_KEY, 'base64') : undefined, keyFile: join(dataDir, 'secret-store.key') },
    microsoft: { authorityHost: e.AUTHORITY_HOST, browserAuthorityHost: e.SANDBOX_BROWSER_AUTHORITY_HOST ?? e.AUTHORITY_HOST, graphBaseUrl: e.GRAPH_BASE_URL, partnerCenterBaseUrl: e.PARTNER_CENTER_BASE_URL },
    mail: e.MAIL_SENDER ? { kind: 'graph', sender: e.MAIL_SENDER } : { kind: 'outbox', dir: join(dataDir, 'outbox') },
    logLevel: e.LOG_LEVEL,
    checks: { appInAdminAgentsSeverity: e.CHECK_APP_IN_ADMINAGENTS, recheckDelayMs: e.RECHECK_DELAY_MINUTES * 60_000 },
    sync: {
      pageSize: e.SYNC_PAGE_SIZE, sliceSeconds: e.SYNC_SLICE_SECONDS, spreadMinutes: e.SYNC_SPREAD_MINUTES,
      ...(e.SYNC_NIGHTLY_AT === 'off' ? {} : { nightlyAt: e.SYNC_NIGHTLY_AT }),
    },
    jobs: { pollSeconds: e.JOB_POLL_SECONDS, maintenanceSeconds: e.JOB_MAINTENANCE_SECONDS },
    watch: { sliceSeconds: e.WATCH_SLICE_SECONDS, ...(e.WATCH_DAILY_AT === 'off' ? {} : { dailyAt: e.WATCH_DAILY_AT }) },
    support: { engineers: e.SUPPORT_ENGINEERS },
    ...(e.SETUP_APP_ID && e.SETUP_APP_SECRET ? { setupApp: { appId: e.SETUP_APP_ID, secret: e.SETUP_APP_SECRET } } : {}),
    cooldowns: { recheckSeconds: e.RECHECK_COOLDOWN_SECONDS, expirySeconds: e.EXPIRY_COOLDOWN_SECONDS, supportSeconds: e.SUPPORT_COOLDOWN_SECONDS },
  };
  return deepFreeze(config);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Buffer.isBuffer(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/**
 * Merges `env/.env.<name>` and `env/.env.<name>.user` (Teams Toolkit layout: plain values, then
 * git-ignored SECRET_* values) under the process environment, which wins. `name` comes from
 * TEAMSFX_ENV, defaulting to `local`.
 */
export function readEnvironment(processEnv: NodeJS.ProcessEnv = process.env, envDir = resolve('env')): Record<string, string | undefined> {
  const name = processEnv.TEAMSFX_ENV ?? 'local';
  if (!/^[a-z0-9-]+$/.test(name)) throw new AppError('config_invalid', `Invalid configuration:\n  - TEAMSFX_ENV: expected a lowercase environment name; got ${JSON.stringify(name)}`);
  const merged: Record<string, string | undefined> = {};
  for (const file of [`.env.${name}`, `.env.${name}.user`]) {
    const path = join(envDir, file);
    if (existsSync(path)) Object.assign(merged, parseEnv(readFileSync(path, 'utf8')));
  }
  for (const [k, v] of Object.entries(processEnv)) if (v !== undefined) merged[k] = v;
  return merged;
}
