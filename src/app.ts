import { ConversationState, type Activity } from 'botbuilder';
import { createAppCredential, createManagedIdentityCredential } from './auth/app-credential';
import { ConsentFlow } from './auth/consent-flow';
import { TakeOver } from './auth/take-over';
import { SetupRunner } from './setup/setup-run';
import { SetupSignIn } from './setup/setup-sign-in';
import { PartnerSetupRepository } from './store/partner-setups';
import type { TokenCredential } from './microsoft/credential';
import { PartnerTokenCacheStore } from './auth/partner-msal';
import { PartnerTokens } from './auth/partner-tokens';
import { BotAdapter, createAdapter } from './bot/adapter';
import { PartnerBot } from './bot/partner-bot';
import { checksOutcome } from './dialogs/checks-dialog';
import type { AppConfig } from './config';
import { CredentialService } from './credentials/credential-service';
import { ownerOf } from './domain/partner';
import { startCheckFollowUps, type CheckFollowUps } from './jobs/check-followups';
import { presentSyncInChat, startCustomerSyncJobs, type CustomerSyncJobs } from './jobs/customer-sync-jobs';
import { JourneyCarryOn, type CarryOnTurn } from './bot/journey-carry-on';
import { startExpiryJobs } from './jobs/expiry-jobs';
import { startJobEngine, type JobEngine } from './store/job-engine';
import { startTokenKeepAlive, type TokenKeepAlive } from './jobs/token-keep-alive';
import type { Logger, Redactor } from './logger';
import { GraphMailer, OutboxMailer, type Mailer } from './microsoft/mailer';
import { EmailVerificationService } from './onboarding/email-verification';
import { Messages } from './onboarding/messages';
import { authPages } from './server/auth-pages';
import { createServer, type HttpServer, type VerifyEmailPages } from './server/server';
import { verifyEmailPreviewPage, verifyEmailResultPage } from './server/verify-email-page';
import { SqlStorage } from './store/bot-storage';
import { CheckFollowUpRepository } from './store/check-followups';
import { CheckRunRepository } from './store/check-runs';
import { CustomerSyncRepository } from './store/customer-syncs';
import { NoticeRepository, type Notice } from './store/notices';
import { ConnectionRepository } from './store/connections';
import { ConversationReferenceRepository } from './store/conversation-references';
import { entraTokenPassword, openDatabase, type DatabaseTarget, type Db } from './store/db';
import { EmailVerificationRepository } from './store/email-verifications';
import { migrate } from './store/migrate';
import { PartnerRepository } from './store/partners';
import { KeyVaultSecretStore } from './store/secrets/key-vault-secret-store';
import { LocalSecretStore, loadOrCreateKeyFile } from './store/secrets/local-secret-store';
import type { SecretStore } from './store/secrets/secret-store';
import { sharedSecret } from './store/secrets/shared-secret';
import { teamsIdentity } from './teams/identity';
import { CheckRunner } from './verification/check-runner';
import { CustomerSyncRunner } from './sync/customer-sync';
import { CustomerSyncService } from './sync/sync-service';
import { CustomerRepository } from './store/customers';
import { CustomerRecheck } from './sync/customer-recheck';
import { ExpiryWatch } from './watch/expiry-watch';
import { NoticeDispatcher } from './watch/dispatcher';
import { SupportDesk } from './support/support-desk';
import { SupportRepository } from './store/support';
import { TurnReads } from './store/turn-reads';
import { CooldownRepository } from './store/cooldowns';
import { toChatText } from './microsoft/sign-in-errors';
import { noticeActivity, watchedFromGraph } from './watch/notices';
import { ConversationNotifier, type Notifier } from './teams/notifier';

export interface App {
  readonly config: AppConfig;
  readonly db: Db;
  readonly secrets: SecretStore;
  readonly references: ConversationReferenceRepository;
  readonly partners: PartnerRepository;
  readonly connections: ConnectionRepository;
  readonly checkRuns: CheckRunRepository;
  readonly credentials: CredentialService;
  readonly verification: EmailVerificationService;
  /** The service account's sign-in and admin consent (also the onboarding's `signIn` links). */
  readonly consent: ConsentFlow;
  /** Per-partner tokens from the stored sign-in, and app-only Partner Center tokens. */
  readonly tokens: PartnerTokens;
  readonly keepAlive: TokenKeepAlive;
  /** Runs the checks (pre-flight, full) and keeps each run. */
  readonly checks: CheckRunner;
  readonly followUps: CheckFollowUpRepository;
  /** "Re-check in 15 minutes": the job that runs due follow-ups. */
  readonly checkFollowUps: CheckFollowUps;
  readonly syncs: CustomerSyncRepository;
  /** The customer sync on the job engine (slices, nightly schedule) and its start/cancel service. */
  readonly syncJobs: CustomerSyncJobs;
  readonly engine: JobEngine;
  readonly notices: NoticeRepository;
  /** Expiry warnings: the scan that records them in the notices outbox. */
  readonly watch: ExpiryWatch;
  /** Sends the notices outbox. */
  readonly dispatcher: NoticeDispatcher;
  /** The support channel and the partners' cases. */
  readonly support: SupportDesk;
  readonly bot: PartnerBot;
  readonly adapter: BotAdapter;
  /** Proactive messages (the sync's cards, the consent's answers, follow-ups). */
  readonly notifier: Notifier;
  readonly http: HttpServer;
  /** Listens on the configured port (or `port`); resolves to the base URL. */
  start(port?: number): Promise<string>;
  /** Graceful stop: no new requests, turns in flight finish, database closed. */
  stop(): Promise<void>;
}

export interface AppOptions {
  /** An opened database to use instead of the configured one (tests count its statements); it is migrated and closed by the app. */
  db?: Db;
  /** DATABASE_AUTH=entra: each new connection's password (tests supply a stand-in); default the managed identity's access token. */
  databaseToken?: () => Promise<string>;
  /** Wait before retrying a client secret Microsoft doesn't know yet (tests shorten it). */
  secretRetryWaitMs?: number;
  /** How the app waits before such a retry (tests move the simulator's clock instead). */
  sleep?: (ms: number) => Promise<void>;
  /** "Set it up for me": the waits while Microsoft replicates new objects (tests shorten them). */
  setupWaitsMs?: readonly number[];
  /** 0: this instance neither schedules nor works the token keep-alive (tests call `keepAlive.run()`); otherwise it runs hourly on the job engine. */
  keepAliveIntervalMs?: number;
  /** How often this instance polls for due check follow-ups; 0: never (tests call `checkFollowUps.run()`). Default the job engine's polling. */
  followUpIntervalMs?: number;
}

/** The bot's own credential, built at most once per app (msal-node caches its tokens). */
function lazyCredential(config: AppConfig): () => TokenCredential {
  let credential: TokenCredential | undefined;
  return () => (credential ??= createAppCredential(config));
}

/** Where the database is; with DATABASE_AUTH=entra each new connection signs in with an access token of the managed identity AZURE_CLIENT_ID. */
export function databaseTarget(config: AppConfig, token?: () => Promise<string>): DatabaseTarget {
  const { database } = config;
  if (database.kind !== 'postgres' || !database.entra) return database;
  return { kind: 'postgres', url: database.url, password: token ?? entraTokenPassword(createManagedIdentityCredential(database.entra.clientId)) };
}

export function createSecretStore(config: AppConfig, db: Db, redactor: Redactor, credential: () => TokenCredential = lazyCredential(config)): SecretStore {
  if (config.secrets.kind === 'keyvault') {
    return new KeyVaultSecretStore(config.secrets.url, credential(), {
      disableChallengeResourceVerification: config.secrets.disableChallengeResourceVerification,
      redactor,
    });
  }
  const key = config.secrets.key ?? loadOrCreateKeyFile(config.secrets.keyFile);
  return new LocalSecretStore(db, key, redactor);
}

export function createMailer(config: AppConfig, credential: () => TokenCredential = lazyCredential(config)): Mailer {
  return config.mail.kind === 'graph'
    ? new GraphMailer(config.microsoft.graphBaseUrl, credential(), config.mail.sender)
    : new OutboxMailer(config.mail.dir);
}

/**
 * Builds everything from config, in one place: database → stores → services → bot → adapter →
 * server. The process, the tests, the sandbox and the benchmarks all build the app through here.
 */
export async function createApp(config: AppConfig, logger: Logger, redactor: Redactor, options: AppOptions = {}): Promise<App> {
  const db = options.db ?? (await openDatabase(databaseTarget(config, options.databaseToken)));
  let engine: JobEngine;
  try {
    engine = await startJobEngine(db, { logger, pollingSeconds: config.jobs.pollSeconds, maintenanceSeconds: config.jobs.maintenanceSeconds });
  } catch (err) {
    await db.close();
    throw err;
  }
  const followUps = new CheckFollowUpRepository(db, engine, logger);
  try {
    // Before the migrations: follow-ups an earlier version left in its table (dropped by migration 14) become jobs first.
    await followUps.carryOverFromTable();
    const applied = await migrate(db);
    if (applied.length > 0) logger.info({ applied }, 'database migrations applied');
  } catch (err) {
    await engine.stop();
    await db.close();
    throw err;
  }
  const credential = lazyCredential(config);
  const secrets = createSecretStore(config, db, redactor, credential);
  const references = new ConversationReferenceRepository(db);
  const partners = new PartnerRepository(db);
  const connections = new ConnectionRepository(db);
  const credentials = new CredentialService({
    authorityHost: config.microsoft.authorityHost, graphBaseUrl: config.microsoft.graphBaseUrl, secrets, connections,
    ...(options.secretRetryWaitMs !== undefined ? { secretRetryWaitMs: options.secretRetryWaitMs } : {}),
    ...(options.sleep ? { sleep: options.sleep } : {}),
  });
  // Every instance must hash codes with the same key: the database decides which one is kept.
  const pepper = await sharedSecret(db, secrets, 'email-verification-pepper', 'email-verification-pepper');
  const verification = new EmailVerificationService(new EmailVerificationRepository(db, partners), createMailer(config, credential), pepper, config.server.publicBaseUrl);
  const adapter = createAdapter(config, logger);
  const notifier = new ConversationNotifier(adapter, config.bot.id, references, logger);
  // A step finished outside a turn carries the journey on in its chat (a proactive turn of the bot).
  const journey = new JourneyCarryOn({ notifier, bot: (): CarryOnTurn => bot, logger, engine });
  const tellChat = journey.tellChat;
  const tokenCache = new PartnerTokenCacheStore(secrets);
  // Binds sign-in states and derives PKCE verifiers: every instance needs the same key.
  const authStateKey = await sharedSecret(db, secrets, 'auth-state-key');
  const consent = new ConsentFlow({
    authorityHost: config.microsoft.authorityHost,
    browserAuthorityHost: config.microsoft.browserAuthorityHost,
    publicBaseUrl: config.server.publicBaseUrl,
    partnerCenterBaseUrl: config.microsoft.partnerCenterBaseUrl,
    graphBaseUrl: config.microsoft.graphBaseUrl,
    partners, connections, credentials, tokenCache, tellChat, logger,
    key: authStateKey,
  });
  const takeOver = new TakeOver({
    authorityHost: config.microsoft.authorityHost, browserAuthorityHost: config.microsoft.browserAuthorityHost,
    publicBaseUrl: config.server.publicBaseUrl, graphBaseUrl: config.microsoft.graphBaseUrl,
    partners, connections, credentials, setupApp: config.setupApp, tellChat, logger, key: authStateKey,
  });
  const tokens = new PartnerTokens({
    authorityHost: config.microsoft.authorityHost, partners, connections, credentials, tokenCache, logger,
    // The "re-consent needed" event: recorded in the notices outbox (once per revocation, to the
    // owner, the primary contact and the support thread) and sent at once.
    onConsentBroken: async (tenantId, explanation) => {
      const partner = await partners.get(tenantId);
      if (!partner) return;
      await watch.consentRevoked(partner, toChatText(explanation));
      sendNoticesNow();
    },
  });
  const checkRuns = new CheckRunRepository(db);
  const checks = new CheckRunner({
    graphBaseUrl: config.microsoft.graphBaseUrl, partnerCenterBaseUrl: config.microsoft.partnerCenterBaseUrl, tokens, runs: checkRuns, logger,
    appInAdminAgentsSeverity: config.checks.appInAdminAgentsSeverity,
  });
  // "Set it up for me" exists only with the operator's multi-tenant setup app.
  const setups = new PartnerSetupRepository(db);
  const setupRunner = new SetupRunner({
    setups, partners, connections, secrets, checks, notifier, logger,
    graphBaseUrl: config.microsoft.graphBaseUrl, authorityHost: config.microsoft.authorityHost, publicBaseUrl: config.server.publicBaseUrl,
    carryOn: (tenantId, conversationId) => journey.stepDone(tenantId, conversationId, 'entraApp'),
    ...(options.setupWaitsMs ? { waitsMs: options.setupWaitsMs } : {}),
    ...(options.sleep ? { sleep: options.sleep } : {}),
  });
  const setupSignIn = config.setupApp ? new SetupSignIn({
    authorityHost: config.microsoft.authorityHost, browserAuthorityHost: config.microsoft.browserAuthorityHost,
    publicBaseUrl: config.server.publicBaseUrl, graphBaseUrl: config.microsoft.graphBaseUrl, setupApp: config.setupApp,
    connections, setups, runner: setupRunner, notifier, logger, key: authStateKey,
  }) : undefined;
  const syncs = new CustomerSyncRepository(db);
  const customers = new CustomerRepository(db);
  const runner = new CustomerSyncRunner({
    syncs, partners, tokens, logger, graphBaseUrl: config.microsoft.graphBaseUrl, partnerCenterBaseUrl: config.microsoft.partnerCenterBaseUrl,
    pageSize: config.sync.pageSize,
    present: presentSyncInChat({ syncs, partners, notifier, carryOn: (tenantId, conversationId) => journey.stepDone(tenantId, conversationId, 'sync') }),
  });
  const syncJobs = await startCustomerSyncJobs({
    engine, runner, syncs, logger, sliceSeconds: config.sync.sliceSeconds, nightlyAt: config.sync.nightlyAt, spreadMinutes: config.sync.spreadMinutes,
    service: (enqueue) => new CustomerSyncService(syncs, enqueue), onboarded: () => syncs.onboarded(),
  });
  const notices = new NoticeRepository(db);
  const watch = new ExpiryWatch({
    partners, notices, logger,
    watched: (partner) => watchedFromGraph(partner, config.microsoft.graphBaseUrl, { app: tokens.appOnlyGraphTokenFunction(partner.tenantId), user: tokens.userTokenFunction(partner.tenantId) }),
    supportThread: (tenantId) => support.threadOf(tenantId),
  });
  // "Rotate it for me" on an app secret's notice: with the setup app configured, for an app the bot created.
  const rotatable = async (n: Notice): Promise<boolean> => {
    if (!config.setupApp || n.item !== 'app-secret' || n.recipientTenantId !== undefined) return false;
    const c = (await partners.get(n.tenantId).catch(() => undefined))?.connection;
    return !!c?.botCreatedAppId && c.botCreatedAppId.toLowerCase() === c.appId.toLowerCase();
  };
  const dispatcher = new NoticeDispatcher({ notices, notifier, logger, render: async (n, now) => noticeActivity(n, now, { rotateForMe: await rotatable(n) }) });
  // Notices recorded in a turn (a revoked consent, "expiry") go now, without the turn waiting for
  // the outbox: drains in one instance run one after the other, and a crash leaves the rows to the
  // minute drain.
  const sendNoticesNow = () => {
    dispatcher.drain().catch((err: unknown) => logger.warn({ err }, 'sending notices failed; the minute drain tries again'));
  };
  const cooldowns = new CooldownRepository(db, { recheck: config.cooldowns.recheckSeconds, expiry: config.cooldowns.expirySeconds, support: config.cooldowns.supportSeconds });
  const support = new SupportDesk({
    support: new SupportRepository(db), partners, checkRuns, syncs, customers, checks, cooldowns, notifier, logger, engineers: config.support.engineers,
    checklistCard: (run, status) => checksOutcome(run, status).card, sendNotices: sendNoticesNow,
    messages: { rerun: Messages.supportRerun },
  });
  const botState = new SqlStorage(db);
  const bot = new PartnerBot({
    conversationState: new ConversationState(botState),
    turnReads: new TurnReads(db, botState),
    references,
    secrets,
    onboarding: {
      partners, connections, credentials, signIn: consent, checks, checkRuns, followUps, sync: syncJobs.service, syncs, verification, logger, publicBaseUrl: config.server.publicBaseUrl,
      ...(setupSignIn ? { setup: { setups, signIn: setupSignIn } } : {}),
      teamsIdentity: (context) => teamsIdentity(context, logger),
    },
    notifier,
    support,
    expiry: { look: (partner) => watch.look(partner), send: async () => sendNoticesNow() },
    cooldowns,
    logger,
    recheckDelayMs: config.checks.recheckDelayMs,
    takeOver,
    customers: { customers, recheck: new CustomerRecheck({ customers, tokens, graphBaseUrl: config.microsoft.graphBaseUrl, logger }) },
  });

  const verifyEmail: VerifyEmailPages = {
    preview: async (token) => verifyEmailPreviewPage(await verification.previewLink(token), token),
    confirm: async (token) => {
      const result = await verification.confirmLink(token);
      // The verification is saved either way; the chat learns it now (and goes on), or on its next turn.
      if (result.ok && result.conversationId) await journey.stepDone(result.tenantId, result.conversationId, 'verifyEmail', Messages.emailVerifiedByLink);
      return verifyEmailResultPage(result, 'confirm');
    },
    deny: async (token) => {
      const result = await verification.denyLink(token);
      if (result.ok) await tellPartner(partners, notifier, result.tenantId, result.conversationId, { text: Messages.emailDenied(result.maskedEmail) });
      return verifyEmailResultPage(result, 'deny');
    },
  };
  const http = createServer({
    adapter, bot, db, logger, bodyLimitBytes: config.server.bodyLimitBytes, authenticated: config.bot.authenticated, verifyEmail, publicBaseUrl: config.server.publicBaseUrl, auth: authPages(consent, takeOver, setupSignIn),
  });
  const expiryJobs = await startExpiryJobs({ engine, watch, dispatcher, logger, dailyAt: config.watch.dailyAt, sliceSeconds: config.watch.sliceSeconds });
  // A setup run its instance no longer drives (a crash, a restart): its chat is told to sign in again, now and once its lease has lapsed.
  const sweepSetups = () => setupRunner.sweepInterrupted().catch((err: unknown) => logger.warn({ err }, 'looking for interrupted setup runs failed'));
  void sweepSetups();
  const setupSweep = setTimeout(() => void sweepSetups(), setupRunner.leaseMs + 1_000);
  setupSweep.unref();
  // The bot exists now: a carry-on recorded before a crash may run at once.
  await journey.start();
  const keepAlive = await startTokenKeepAlive({ engine, tokens, connections, partners, logger, intervalMs: options.keepAliveIntervalMs });
  const checkFollowUps = await startCheckFollowUps({
    engine, partners, checks, notifier, logger, intervalMs: options.followUpIntervalMs,
    present: (run) => {
      const { card, message } = checksOutcome(run, 'Re-checked as you asked.');
      return [{ attachments: [card] }, { text: Messages.followUpResult(message) }];
    },
    passed: (tenantId, conversationId) => journey.stepDone(tenantId, conversationId, 'checks'),
  });
  let stopped = false;
  return {
    config,
    db,
    secrets,
    references,
    partners,
    connections,
    checkRuns,
    credentials,
    verification,
    consent,
    tokens,
    keepAlive,
    checks,
    followUps,
    checkFollowUps,
    syncs,
    syncJobs,
    engine,
    notices,
    watch,
    dispatcher,
    support,
    bot,
    adapter,
    notifier,
    http,
    start: (port = config.server.port) => http.listen(port, config.server.host),
    async stop() {
      if (stopped) return;
      stopped = true;
      await keepAlive.stop();
      await checkFollowUps.stop();
      await syncJobs.stop();
      clearTimeout(setupSweep);
      await setupRunner.drain();
      await journey.drain();
      await expiryJobs.stop();
      await engine.stop();
      await http.close(config.server.shutdownTimeoutMs);
      // After the last turn: a click in flight at the stop may still have a posted card to update.
      await support.settled();
      await db.close();
    },
  };
}

/** Tells the chat where something was asked, and the owner's chat when that is another one. */
async function tellPartner(partners: PartnerRepository, notifier: Notifier, tenantId: string, conversationId: string | undefined, activity: Partial<Activity>): Promise<void> {
  const partner = await partners.get(tenantId);
  const owner = partner ? ownerOf(partner) : undefined;
  const targets = new Set([conversationId, owner?.conversationId].filter((c): c is string => !!c));
  for (const target of targets) await notifier.send(tenantId, target, activity);
}
