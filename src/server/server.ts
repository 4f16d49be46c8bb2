import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Activity } from 'botbuilder';
import restify from 'restify';
import type { AuthenticateRequestResult, BotAdapter } from '../bot/adapter';
import type { PartnerBot } from '../bot/partner-bot';
import type { Logger } from '../logger';
import type { Db } from '../store/db';
import { isMigrated } from '../store/migrate';
import type { AuthPages } from './auth-pages';
import { homePage, type Readiness } from './home-page';
import { BodyError, readForm, readJsonObject } from './http-body';
import { checkActivity, isLoopbackUrl } from './incoming-activity';
import type { Page } from './page-html';

/** The email verification link's three doors: look (GET, changes nothing), confirm and deny (POST). */
export interface VerifyEmailPages {
  preview(token: string): Promise<Page>;
  confirm(token: string): Promise<Page>;
  deny(token: string): Promise<Page>;
}

export interface ServerDeps {
  adapter: BotAdapter;
  bot: PartnerBot;
  db: Db;
  logger: Logger;
  bodyLimitBytes: number;
  /** False only for a local unauthenticated bot: then replies may only go to a loopback serviceUrl. */
  authenticated: boolean;
  verifyEmail: VerifyEmailPages;
  /** PUBLIC_BASE_URL: the home page names the messaging endpoint on it. */
  publicBaseUrl: string;
  /** The service account's sign-in, the admin consent and `take over` (links from the chat's cards, Entra's redirects). */
  auth: AuthPages;
}

export interface HttpServer {
  readonly server: restify.Server;
  listen(port: number, host: string): Promise<string>;
  /** Stops accepting requests, waits for turns in flight (up to `timeoutMs`), then closes. */
  close(timeoutMs: number): Promise<void>;
}

const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  // No script at all; the only form posts back here; never framed.
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
};

/** A verification page's form is tiny: the token and a decision. */
const FORM_LIMIT_BYTES = 2048;

/** Error bodies never carry an exception's message: a code, a reason we wrote, a correlation id. */
function errorBody(error: string, correlationId: string, reason?: string): Record<string, string> {
  return reason ? { error, reason, correlationId } : { error, correlationId };
}

function statusOf(err: unknown): number | undefined {
  const status = (err as { statusCode?: unknown } | undefined)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

/** Teams only; a local unauthenticated bot also takes the Bot Framework Emulator's and test channels. */
function servedChannel(channelId: string, authenticated: boolean): boolean {
  return channelId === 'msteams' || (!authenticated && (channelId === 'emulator' || channelId === 'test'));
}

/**
 * The HTTP edge: Bot Framework messages, the email verification link, the sign-in and admin
 * consent pages, health and readiness.
 * Bodies are read here (JSON only for messages, in memory, size-limited); turns in flight are
 * counted so a shutdown lets them finish.
 */
export function createServer(deps: ServerDeps): HttpServer {
  const { adapter, bot, db, logger } = deps;
  const server = restify.createServer({ name: 'partner-onboarding-bot', handleUncaughtExceptions: false });
  let inFlight = 0;
  let drained: (() => void) | undefined;
  let closing = false;

  server.pre(restify.plugins.pre.context());

  /** The token's claims for this activity, or undefined (logged, never echoed) when it does not pass. */
  const authenticate = async (activity: Record<string, unknown>, authHeader: string, correlationId: string): Promise<AuthenticateRequestResult | undefined> => {
    try {
      return await adapter.authenticate(activity, authHeader);
    } catch (err) {
      logger.warn({ correlationId, status: statusOf(err), reason: err instanceof Error ? err.message : 'unknown' }, 'request refused: authentication failed');
      return undefined;
    }
  };

  server.post('/api/messages', async (req, res) => {
    const correlationId = randomUUID();
    if (closing) {
      res.header('Retry-After', '5');
      res.send(503, errorBody('shutting_down', correlationId));
      return;
    }
    // Counted from here: a shutdown waits for requests still authenticating too.
    inFlight++;
    try {
      await handleMessage(req, res, correlationId);
    } finally {
      inFlight--;
      if (inFlight === 0) drained?.();
    }
  });

  const handleMessage = async (req: restify.Request, res: restify.Response, correlationId: string): Promise<void> => {
    const authHeader = req.headers.authorization ?? '';
    // Refused before the body is read or the adapter runs: no token, no work.
    if (deps.authenticated && !/^Bearer [A-Za-z0-9._~+/=-]+$/.test(authHeader)) {
      req.resume();
      res.send(401, errorBody('unauthorized', correlationId));
      return;
    }
    let body: Record<string, unknown>;
    try {
      body = await readJsonObject(req, deps.bodyLimitBytes);
    } catch (err) {
      if (!(err instanceof BodyError)) throw err;
      res.send(err.status, errorBody(err.status === 415 ? 'unsupported_media_type' : err.status === 413 ? 'payload_too_large' : 'bad_request', correlationId, err.reason));
      return;
    }
    // Who is asking comes before what they sent: an unauthenticated caller learns nothing about the body.
    let auth = deps.authenticated ? await authenticate(body, authHeader, correlationId) : undefined;
    if (deps.authenticated && !auth) {
      res.send(401, errorBody('unauthorized', correlationId));
      return;
    }
    const check = checkActivity(body);
    if (!check.ok) {
      res.send(400, errorBody('bad_activity', correlationId, check.reason));
      return;
    }
    if (!servedChannel(check.activity.channelId, deps.authenticated)) {
      // Identity (tenant, Entra object id) is read the Teams way: an activity from another channel would be trusted for fields it does not vouch for.
      res.send(400, errorBody('bad_activity', correlationId, `channelId: this bot serves Microsoft Teams (msteams) only${deps.authenticated ? '' : ', or the emulator locally'}`));
      return;
    }
    if (!deps.authenticated && !isLoopbackUrl(check.activity.serviceUrl)) {
      // Without authentication anyone could name any serviceUrl and have the bot post there.
      res.send(400, errorBody('bad_activity', correlationId, 'serviceUrl must be a loopback address while the bot runs without authentication'));
      return;
    }
    auth ??= await authenticate(check.activity, authHeader, correlationId);
    if (!auth) {
      res.send(401, errorBody('unauthorized', correlationId));
      return;
    }
    try {
      const invoke = await adapter.handle(auth, check.activity as unknown as Activity, (context) => bot.run(context));
      res.send(invoke?.status ?? 200, invoke?.body);
    } catch (err) {
      logger.error({ err, correlationId, activityType: check.activity.type }, 'request failed');
      res.send(500, errorBody('internal', correlationId));
    }
  };

  const page = (res: restify.Response, { status, html, location }: Page, head = false): void => {
    res.writeHead(status, location ? { ...PAGE_HEADERS, location } : PAGE_HEADERS);
    res.end(head ? undefined : html);
  };
  const tokenOf = (req: restify.Request): string => new URL(req.url ?? '/', 'http://localhost').searchParams.get('token') ?? '';
  // GET and HEAD only show the page (mail scanners open every link); the person's button POSTs.
  server.get('/verify-email', async (req, res) => page(res, await deps.verifyEmail.preview(tokenOf(req))));
  server.head('/verify-email', async (req, res) => page(res, await deps.verifyEmail.preview(tokenOf(req)), true));
  server.post('/verify-email', async (req, res) => {
    let form: URLSearchParams;
    try {
      form = await readForm(req, FORM_LIMIT_BYTES);
    } catch (err) {
      if (!(err instanceof BodyError)) throw err;
      page(res, { status: err.status, html: 'Bad request' });
      return;
    }
    const token = form.get('token') ?? '';
    const decision = form.get('decision');
    if (decision === 'confirm') page(res, await deps.verifyEmail.confirm(token));
    else if (decision === 'deny') page(res, await deps.verifyEmail.deny(token));
    else page(res, { status: 400, html: 'Bad request' });
  });

  // Sign-in links and Entra's redirects are GETs (query response mode). Only the callbacks change
  // state, and only with a state that this server issued.
  // A shutdown waits for them like for turns: a callback in flight finishes its database work.
  const authRoute = (answer: (query: URLSearchParams) => Promise<Page>) => async (req: restify.Request, res: restify.Response) => {
    if (closing) {
      page(res, { status: 503, html: 'Shutting down, try again in a moment' });
      return;
    }
    inFlight++;
    try {
      page(res, await answer(new URL(req.url ?? '/', 'http://localhost').searchParams));
    } catch (err) {
      const correlationId = randomUUID();
      logger.error({ err, correlationId, path: req.path() }, 'sign-in page failed');
      page(res, { status: 500, html: `Something went wrong on our side. Please try again in a moment. (${correlationId})` });
    } finally {
      inFlight--;
      if (inFlight === 0) drained?.();
    }
  };
  server.get('/auth/start', authRoute((q) => deps.auth.start(q.get('s') ?? '')));
  server.get('/auth/callback', authRoute((q) => deps.auth.callback(q)));
  server.get('/auth/adminconsent/start', authRoute((q) => deps.auth.adminConsentStart(q.get('s') ?? '')));
  server.get('/auth/adminconsent/callback', authRoute((q) => deps.auth.adminConsentCallback(q)));
  server.get('/auth/takeover/start', authRoute((q) => deps.auth.takeOverStart(q.get('s') ?? '')));
  server.get('/auth/setup/start', authRoute((q) => deps.auth.setupStart(q.get('s') ?? '')));

  server.get('/healthz', async (_req, res) => {
    res.send(200, { status: 'ok' });
  });

  const readiness = async (): Promise<Readiness> => {
    if (closing) return 'shutting_down';
    try {
      return (await isMigrated(db)) ? 'ready' : 'migrations_pending';
    } catch (err) {
      logger.warn({ err }, 'readiness check: database unreachable');
      return 'database_unreachable';
    }
  };

  server.get('/readyz', async (_req, res) => {
    const status = await readiness();
    res.send(status === 'ready' ? 200 : 503, { status });
  });

  // Whoever opens the bot's address in a browser: what it is, its health, how to reach it in Teams.
  server.get('/', async (_req, res) => page(res, homePage(await readiness(), deps.publicBaseUrl)));
  server.head('/', async (_req, res) => page(res, homePage(await readiness(), deps.publicBaseUrl), true));

  // Whatever restify answers on its own (404, 405, a handler's exception) gets a generic body: an
  // exception's message (a database URL, say) never reaches the client.
  server.on('restifyError', (req: restify.Request, _res: restify.Response, err: Error & { statusCode?: number; toJSON?: () => unknown }, callback: () => void) => {
    const status = err.statusCode ?? 500;
    const correlationId = randomUUID();
    if (status >= 500) logger.error({ err, correlationId, path: req.path() }, 'request failed');
    const code = status >= 500 ? 'internal' : status === 404 ? 'not_found' : status === 405 ? 'method_not_allowed' : 'bad_request';
    err.toJSON = () => errorBody(code, correlationId);
    // Without a status restify would answer `new InternalError(String(err))`, message and all.
    err.statusCode = status;
    callback();
  });

  return {
    server,
    listen: (port, host) => new Promise((resolve, reject) => {
      server.server.once('error', reject);
      server.listen(port, host, () => {
        const { port: bound } = server.server.address() as AddressInfo;
        resolve(`http://${host === '0.0.0.0' ? 'localhost' : host}:${bound}`);
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
