import type { AddressInfo } from 'node:net';
import type { CloudAdapter } from 'botbuilder';
import restify from 'restify';
import type { PartnerBot } from '../bot/partner-bot';
import type { Logger } from '../logger';
import type { Db } from '../store/db';
import { isMigrated } from '../store/migrate';

export interface ServerDeps {
  adapter: CloudAdapter;
  bot: PartnerBot;
  db: Db;
  logger: Logger;
  bodyLimitBytes: number;
  /** The email verification link: uses the token, answers with a small page. */
  verifyEmailLink(token: string): Promise<{ status: number; html: string }>;
}

export interface HttpServer {
  readonly server: restify.Server;
  listen(port: number, host?: string): Promise<string>;
  /** Stops accepting requests, waits for turns in flight (up to `timeoutMs`), then closes. */
  close(timeoutMs: number): Promise<void>;
}

/**
 * The HTTP edge: Bot Framework messages, health and readiness. Turns in flight are counted so a
 * shutdown lets them finish.
 */
export function createServer(deps: ServerDeps): HttpServer {
  const { adapter, bot, db, logger } = deps;
  const server = restify.createServer({ name: 'partner-onboarding-bot', handleUncaughtExceptions: false });
  let inFlight = 0;
  let drained: (() => void) | undefined;
  let closing = false;

  server.pre(restify.plugins.pre.context());
  server.use(restify.plugins.bodyParser({ maxBodySize: deps.bodyLimitBytes, mapParams: false, rejectUnknown: true }));

  server.post('/api/messages', async (req, res) => {
    if (closing) {
      res.header('Retry-After', '5');
      res.send(503, { error: 'shutting_down' });
      return;
    }
    inFlight++;
    try {
      await adapter.process(req, res, (context) => bot.run(context));
    } finally {
      inFlight--;
      if (inFlight === 0) drained?.();
    }
  });

  server.get('/verify-email', async (req, res) => {
    const token = new URL(req.url ?? '/', 'http://localhost').searchParams.get('token') ?? '';
    const { status, html } = await deps.verifyEmailLink(token);
    res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' });
    res.end(html);
  });

  server.get('/healthz', async (_req, res) => {
    res.send(200, { status: 'ok' });
  });

  server.get('/readyz', async (_req, res) => {
    if (closing) {
      res.send(503, { status: 'shutting_down' });
      return;
    }
    try {
      if (!(await isMigrated(db))) {
        res.send(503, { status: 'migrations_pending' });
        return;
      }
      res.send(200, { status: 'ready' });
    } catch (err) {
      logger.warn({ err }, 'readiness check: database unreachable');
      res.send(503, { status: 'database_unreachable' });
    }
  });

  server.on('restifyError', (req: restify.Request, res: restify.Response, err: Error & { statusCode?: number }, callback: () => void) => {
    if ((err.statusCode ?? 500) >= 500) logger.error({ err, path: req.path() }, 'request failed');
    callback();
  });

  return {
    server,
    listen: (port, host) => new Promise((resolve, reject) => {
      server.server.once('error', reject);
      server.listen(port, host ?? '0.0.0.0', () => {
        const { port: bound } = server.server.address() as AddressInfo;
        resolve(`http://localhost:${bound}`);
      });
    }),
    async close(timeoutMs) {
      closing = true;
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      // Idle keep-alive sockets would hold close() open; requests in progress keep theirs.
      server.server.closeIdleConnections();
      if (inFlight > 0) {
        await Promise.race([
          new Promise<void>((resolve) => { drained = resolve; }),
          new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref()),
        ]);
      }
      server.server.closeAllConnections();
      await stopped;
    },
  };
}
