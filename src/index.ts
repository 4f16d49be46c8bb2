import { existsSync } from 'node:fs';
import { createApp } from './app';
import { loadConfig, readEnvironment, type AppConfig } from './config';
import { routeConsoleTo } from './console';
import { isAppError } from './errors';
import { createLogger, Redactor } from './logger';
import { BOT_NAME } from './server/home-page';
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
  // For the person at the terminal (the JSON above is for log collectors): what runs, where, what next.
  process.stdout.write(`${startLine(config, url)}\n`);

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

/** One plain line: `npm start` should leave a newcomer knowing where to go next. */
function startLine(config: AppConfig, url: string): string {
  const database = config.database.kind === 'postgres' ? 'PostgreSQL database' : 'embedded database';
  const auth = config.bot.authenticated ? `authenticated as Azure Bot ${config.bot.id}` : 'unauthenticated (this machine only)';
  return `${BOT_NAME} bot running at ${url} (${database}, ${auth}); Teams sends to ${config.server.publicBaseUrl}/api/messages; `
    + `open ${url} for more; to chat with it locally: npm run sandbox`;
}

main().catch((err: unknown) => {
  // Startup failures (database unreachable, bad key file…) end the process with a clear line.
  const message = isAppError(err) ? err.message : err instanceof Error ? err.message : String(err);
  process.stderr.write(`startup failed: ${new Redactor().text(message)}\n`);
  process.exit(1);
});
