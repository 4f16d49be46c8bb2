import { ConversationState } from 'botbuilder';
import { createAppCredential } from './auth/app-credential';
import { createAdapter } from './bot/adapter';
import { PartnerBot } from './bot/partner-bot';
import type { AppConfig } from './config';
import type { Logger, Redactor } from './logger';
import { createServer, type HttpServer } from './server/server';
import { SqlStorage } from './store/bot-storage';
import { ConversationReferenceRepository } from './store/conversation-references';
import { openDatabase, type Db } from './store/db';
import { migrate } from './store/migrate';
import { KeyVaultSecretStore } from './store/secrets/key-vault-secret-store';
import { LocalSecretStore, loadOrCreateKeyFile } from './store/secrets/local-secret-store';
import type { SecretStore } from './store/secrets/secret-store';

export interface App {
  readonly config: AppConfig;
  readonly db: Db;
  readonly secrets: SecretStore;
  readonly references: ConversationReferenceRepository;
  readonly http: HttpServer;
  /** Listens on the configured port (or `port`); resolves to the base URL. */
  start(port?: number): Promise<string>;
  /** Graceful stop: no new requests, turns in flight finish, database closed. */
  stop(): Promise<void>;
}

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
  const bot = new PartnerBot({ conversationState: new ConversationState(storage), references, logger });
  const adapter = createAdapter(config, logger);
  const http = createServer({ adapter, bot, db, logger, bodyLimitBytes: config.server.bodyLimitBytes });
  let stopped = false;
  return {
    config,
    db,
    secrets,
    references,
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
