import { existsSync } from 'node:fs';
import { createApp } from './app';
import { loadConfig, readEnvironment } from './config';
import { routeConsoleTo } from './console';
import { isAppError } from './errors';
import { createLogger, Redactor } from './logger';
import { ensurePrivateDir } from './store/db';

async function main(): Promise<void> {
  // Everything this process writes (database files, key file, outbox) is for this user alone.
  process.umask(0o077);
  let config;
  try {
    config = loadConfig(readEnvironment());
  } catch (err) {
    if (isAppError(err, 'config_invalid')) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  // A DATA_DIR left looser by an older version is tightened; a missing one is made 0700 by whoever
  // first needs it (not at all with PostgreSQL and Key Vault, where the filesystem may be read-only).
  if (existsSync(config.dataDir)) ensurePrivateDir(config.dataDir);
  const { logger, redactor } = createLogger({ level: config.logLevel });
  routeConsoleTo(logger);
  const app = await createApp(config, logger, redactor);
  const url = await app.start();
  logger.info({ url, database: config.database.kind, keyStore: config.secrets.kind, authenticated: config.bot.authenticated }, 'bot listening');

  let stopping = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    app.stop().then(
      () => { logger.info('stopped'); logger.flush(); process.exitCode = 0; },
      (err: unknown) => { logger.error({ err }, 'shutdown failed'); logger.flush(); process.exitCode = 1; },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

main().catch((err: unknown) => {
  // Startup failures (database unreachable, bad key file…) end the process with a clear line.
  const message = isAppError(err) ? err.message : err instanceof Error ? err.message : String(err);
  process.stderr.write(`startup failed: ${new Redactor().text(message)}\n`);
  process.exit(1);
});
