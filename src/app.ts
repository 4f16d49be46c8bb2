import { randomBytes } from 'node:crypto';
import { ConversationState, TeamsInfo, type Activity, type TurnContext } from 'botbuilder';
import { createAppCredential } from './auth/app-credential';
import { createAdapter } from './bot/adapter';
import { ConversationNotifier } from './bot/notifier';
import { PartnerBot } from './bot/partner-bot';
import { renderContinueCard } from './cards/render';
import type { AppConfig } from './config';
import type { OnboardingServices } from './dialogs/services';
import type { Logger, Redactor } from './logger';
import { GraphMailer, OutboxMailer, type Mailer } from './mail/mailer';
import { EmailVerificationService } from './onboarding/email-verification';
import { Messages } from './onboarding/messages';
import { createServer, type HttpServer } from './server/server';
import { verifyEmailPage } from './server/verify-email-page';
import { SqlStorage } from './store/bot-storage';
import { ConversationReferenceRepository } from './store/conversation-references';
import { openDatabase, type Db } from './store/db';
import { migrate } from './store/migrate';
import { PartnerRepository } from './store/partners';
import { KeyVaultSecretStore } from './store/secrets/key-vault-secret-store';
import { LocalSecretStore, loadOrCreateKeyFile } from './store/secrets/local-secret-store';
import type { SecretStore } from './store/secrets/secret-store';

export interface App {
  readonly config: AppConfig;
  readonly db: Db;
  readonly secrets: SecretStore;
  readonly references: ConversationReferenceRepository;
  readonly partners: PartnerRepository;
  readonly http: HttpServer;
  /** Listens on the configured port (or `port`); resolves to the base URL. */
  start(port?: number): Promise<string>;
  /** Graceful stop: no new requests, turns in flight finish, database closed. */
  stop(): Promise<void>;
}

const PEPPER_SECRET = 'email-verification-pepper';

export function createSecretStore(config: AppConfig, db: Db, redactor: Redactor): SecretStore {
  if (config.secrets.kind === 'keyvault') {
    return new KeyVaultSecretStore(config.secrets.url, createAppCredential(config), {
      disableChallengeResourceVerification: config.secrets.disableChallengeResourceVerification,
      redactor,
    });
  }
  const key = config.secrets.key ?? loadOrCreateKeyFile(config.secrets.keyFile);
  return new LocalSecretStore(db, key, redactor);
}

export function createMailer(config: AppConfig): Mailer {
  return config.mail.kind === 'graph'
    ? new GraphMailer(config.microsoft.graphBaseUrl, createAppCredential(config), config.mail.sender)
    : new OutboxMailer(config.mail.dir);
}

/** The key for hashing verification codes: made once, kept in the secret store. */
async function verificationPepper(secrets: SecretStore): Promise<Buffer> {
  const existing = await secrets.get(PEPPER_SECRET);
  if (existing) return Buffer.from(existing, 'base64');
  const fresh = randomBytes(32).toString('base64');
  await secrets.set(PEPPER_SECRET, fresh);
  return Buffer.from(fresh, 'base64');
}

async function teamsIdentity(context: TurnContext, logger: Logger): Promise<{ email?: string; userPrincipalName?: string } | undefined> {
  try {
    const member = await TeamsInfo.getMember(context, context.activity.from.id);
    return { email: member.email ?? undefined, userPrincipalName: member.userPrincipalName ?? undefined };
  } catch (err) {
    // Not knowing who they are is fine: the mail is the fallback.
    logger.warn({ err }, 'could not read the Teams member for email verification');
    return undefined;
  }
}

/** Builds everything from config, in one place: database → stores → bot → adapter → server. */
export async function createApp(config: AppConfig, logger: Logger, redactor: Redactor): Promise<App> {
  const db = await openDatabase(config.database);
  try {
    const applied = await migrate(db);
    if (applied.length > 0) logger.info({ applied }, 'database migrations applied');
  } catch (err) {
    await db.close();
    throw err;
  }
  const secrets = createSecretStore(config, db, redactor);
  const storage = new SqlStorage(db);
  const references = new ConversationReferenceRepository(db);
  const partners = new PartnerRepository(db);
  const verification = new EmailVerificationService(db, partners, createMailer(config), await verificationPepper(secrets), config.server.publicBaseUrl);
  const onboarding: OnboardingServices = { partners, verification, logger, teamsIdentity: (context) => teamsIdentity(context, logger) };
  const adapter = createAdapter(config, logger);
  const notifier = new ConversationNotifier(adapter, config.bot.id, references, logger);
  const bot = new PartnerBot({ conversationState: new ConversationState(storage), references, secrets, onboarding, notifier, logger });

  const useVerifyLink = async (token: string) => {
    const result = await verification.useLink(token);
    // The verification is saved either way; the chat learns it now, or on its next turn.
    if (result.ok && result.conversationId) await notifier.send(result.tenantId, result.conversationId, verifiedByLinkMessage());
    return verifyEmailPage(result);
  };
  const http = createServer({ adapter, bot, db, logger, bodyLimitBytes: config.server.bodyLimitBytes, verifyEmailLink: useVerifyLink });
  let stopped = false;
  return {
    config,
    db,
    secrets,
    references,
    partners,
    http,
    start: (port = config.server.port) => http.listen(port),
    async stop() {
      if (stopped) return;
      stopped = true;
      await http.close(config.server.shutdownTimeoutMs);
      await db.close();
    },
  };
}

/** The link in the mail was used: said in the chat where verification was asked for. */
function verifiedByLinkMessage(): Partial<Activity> {
  return {
    text: Messages.emailVerifiedByLink,
    attachments: [renderContinueCard()],
  };
}
