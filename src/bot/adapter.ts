import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { createHttpHeaders, createPipelineRequest, RestError, type PipelineRequest, type PipelineResponse as FullPipelineResponse } from '@azure/core-rest-pipeline';
import { ConfidentialClientApplication } from '@azure/msal-node';
import {
  ActivityTypes,
  CloudAdapter,
  type Activity,
  type InvokeResponse,
  ConfigurationBotFrameworkAuthentication,
  ConfigurationServiceClientCredentialFactory,
  type TurnContext,
} from 'botbuilder';
import type { AppConfig } from '../config';
import { isAppError } from '../errors';
import type { Logger } from '../logger';
import { connectorRetryWaitMs, parseRetryAfterMs } from '../teams/notifier';

/** The claims and connector of an authenticated request (botframework-connector's type, not re-exported by botbuilder). */
export type AuthenticateRequestResult = Awaited<ReturnType<ConfigurationBotFrameworkAuthentication['authenticateRequest']>>;

/**
 * CloudAdapter with its request handling opened up: the HTTP edge parses and validates the body
 * itself and shapes every error response (CloudAdapter.process would answer malformed activities
 * with 500, put raw error messages in 401/500 bodies and write them to the console).
 */
export class BotAdapter extends CloudAdapter {
  /** Validates the Authorization header for this activity (a no-op for the unauthenticated local bot). */
  authenticate(activity: Partial<Activity>, authHeader: string): Promise<AuthenticateRequestResult> {
    return this.botFrameworkAuthentication.authenticateRequest(activity as Activity, authHeader);
  }

  /** Runs the turn of an authenticated request. */
  handle(auth: AuthenticateRequestResult, activity: Activity, logic: (context: TurnContext) => Promise<void>): Promise<InvokeResponse | undefined> {
    return this.processActivity(auth, activity, logic);
  }
}

/**
 * The Bot Framework adapter. With an empty BOT_ID (local runs only; config refuses it in
 * production) incoming requests are not authenticated and replies carry no token.
 */
export function createAdapter(config: AppConfig, logger: Logger): BotAdapter {
  const custom = config.bot.loginUrl !== undefined || config.bot.openIdMetadataUrl !== undefined;
  const credentials = custom && config.bot.id && config.bot.password
    ? customAuthorityCredentials(config.bot.id, config.bot.password, botLoginUrl(config))
    : new ConfigurationServiceClientCredentialFactory({
      MicrosoftAppId: config.bot.id,
      MicrosoftAppPassword: config.bot.password,
      // botbuilder insists on an app id for SingleTenant; a local bot without one has no type.
      MicrosoftAppType: config.bot.id ? config.bot.type : undefined,
      MicrosoftAppTenantId: config.bot.tenantId,
    });
  const auth = new CappedConnectorAuthentication(
    { MicrosoftAppId: config.bot.id, MicrosoftAppTenantId: config.bot.tenantId, ...(custom ? customEndpoints(config) : {}) },
    credentials,
  );
  const adapter = new BotAdapter(auth);
  adapter.onTurnError = async (context: TurnContext, error: Error) => {
    const correlationId = randomUUID();
    const { activity } = context;
    logger.error(
      { err: error, correlationId, activityType: activity.type, activityId: activity.id, conversationId: activity.conversation?.id },
      'turn failed',
    );
    // Only a person who wrote something is waiting for an answer; events and invokes get none.
    if (activity.type !== ActivityTypes.Message) return;
    const text = isAppError(error) ? error.userMessage : 'Sorry, something went wrong on my side and I could not finish that.';
    try {
      await context.sendActivity(`${text} If it keeps happening, quote reference ${correlationId.slice(0, 8)} to support.`);
    } catch (sendError) {
      logger.error({ err: sendError, correlationId }, 'could not tell the user about the failed turn');
    }
  };
  return adapter;
}

// ---- Connector clients whose waits are bounded ----

type ConnectorFactory = NonNullable<AuthenticateRequestResult['connectorFactory']>;
type ConnectorClient = Awaited<ReturnType<ConnectorFactory['create']>>;
type ClaimsIdentity = Parameters<ConfigurationBotFrameworkAuthentication['createConnectorFactory']>[0];

/** The part of core-rest-pipeline's pipeline touched here (botbuilder keeps its client private). */
interface PipelineResponse { status: number; headers: { get(name: string): string | undefined } }
interface PipelinePolicy { name: string; sendRequest(request: unknown, next: (request: unknown) => Promise<PipelineResponse>): Promise<PipelineResponse> }
interface Pipeline {
  addPolicy(policy: PipelinePolicy, options?: { phase?: 'Retry' }): void;
  removePolicy(options: { name: string }): PipelinePolicy[];
}

/** core-rest-pipeline's default retry policy, which botbuilder's ConnectorClient gets from @azure/core-client. */
const DEFAULT_RETRY_POLICY = 'defaultRetryPolicy';

/**
 * Bot Framework authentication whose connector clients do not wait out any Retry-After
 * themselves: core-rest-pipeline's default policy honoured `Retry-After: 3600` with no cap,
 * holding a proactive send (past its lease) or a turn for an hour. Proactive clients retry
 * nothing (the notifier's capped loop does); in-turn clients, those of an incoming request's
 * turn, get the same capped rule as a pipeline policy, so a turn's sends, updates and roster
 * reads are retried within the cap and then fail the turn.
 */
class CappedConnectorAuthentication extends ConfigurationBotFrameworkAuthentication {
  /**
   * Connector and user-token clients kept across turns (botbuilder's CloudAdapter builds both anew
   * for every turn, pipeline and credentials included, as its older BotFrameworkAdapter did not):
   * one per kind, service URL, audience and bot identity. Their token caches live in them, so the
   * reuse saves the build, never a token check. Bounded: the oldest goes past CLIENT_CACHE_SIZE.
   */
  private readonly clients = new Map<string, Promise<unknown>>();

  override async authenticateRequest(activity: Activity, authHeader: string): Promise<AuthenticateRequestResult> {
    const result = await super.authenticateRequest(activity, authHeader);
    return result.connectorFactory
      ? { ...result, connectorFactory: bounded(result.connectorFactory, true, this.cached(`turn|${result.audience ?? ''}|${identityOf(result.claimsIdentity)}`)) }
      : result;
  }

  override createConnectorFactory(claimsIdentity: ClaimsIdentity): ConnectorFactory {
    return bounded(super.createConnectorFactory(claimsIdentity), false, this.cached(`proactive|${identityOf(claimsIdentity)}`));
  }

  override createUserTokenClient(claimsIdentity: ClaimsIdentity): Promise<UserTokenClient> {
    return this.cached('token')(identityOf(claimsIdentity), () => super.createUserTokenClient(claimsIdentity));
  }

  /** A getter of clients under `prefix`: the kept one for a key, else `make`'s (a failed make is not kept). */
  private cached(prefix: string): ClientCache {
    return <T>(key: string, make: () => Promise<T>): Promise<T> => {
      const k = `${prefix}|${key}`;
      const kept = this.clients.get(k) as Promise<T> | undefined;
      if (kept) return kept;
      const made = make();
      this.clients.set(k, made);
      made.catch(() => { if (this.clients.get(k) === made) this.clients.delete(k); });
      if (this.clients.size > CLIENT_CACHE_SIZE) this.clients.delete(this.clients.keys().next().value!);
      return made;
    };
  }
}

type UserTokenClient = Awaited<ReturnType<ConfigurationBotFrameworkAuthentication['createUserTokenClient']>>;
type ClientCache = <T>(key: string, make: () => Promise<T>) => Promise<T>;

/** Service URLs are a handful of Teams regions; anything past this many is evicted, oldest first. */
const CLIENT_CACHE_SIZE = 64;

/** The bot identity a client acts for: the claims botbuilder takes its app id and audience from. */
function identityOf(claimsIdentity: ClaimsIdentity): string {
  const claims = claimsIdentity.claims ?? [];
  return ['aud', 'appid', 'azp', 'ver'].map((type) => claims.find((c) => c.type === type)?.value ?? '').join('|');
}

function bounded(factory: ConnectorFactory, inTurn: boolean, cache: ClientCache): ConnectorFactory {
  return {
    create(serviceUrl: string, audience?: string): Promise<ConnectorClient> {
      return cache(`${serviceUrl}|${audience ?? ''}`, async () => {
        const client = await factory.create(serviceUrl, audience);
        const pipeline = (client as unknown as { client?: { pipeline?: Pipeline } }).client?.pipeline;
        // A botbuilder upgrade that moves the pipeline must be noticed, not send with unbounded waits.
        if (!pipeline || pipeline.removePolicy({ name: DEFAULT_RETRY_POLICY }).length !== 1) {
          throw new Error('botbuilder\'s connector client has no default retry policy to replace: check bot/adapter.ts after the upgrade');
        }
        if (inTurn) pipeline.addPolicy(cappedRetryPolicy, { phase: 'Retry' });
        sendActivitiesAsJson(client);
        return client;
      });
    },
  };
}

/** botbuilder's ConnectorClient as seen here: its core-client ServiceClient (the pipeline: credentials, our retry, the HTTP client) and service URL. */
interface ConnectorInternals { client?: { sendRequest(request: PipelineRequest): Promise<FullPipelineResponse> }; baseUri?: string }
interface ResourceResponse { id?: string }

/**
 * The three calls every turn makes (send, reply, update an activity) as one JSON request through
 * the client's own pipeline, so credentials, the capped retry, tracing and the HTTP client are
 * botbuilder's, but not core-client's mapper-driven serializer and URL templating: those walked
 * the whole Activity model, cards included, on every call (about 6% of the bot's CPU per card
 * submit, which makes two such calls; issue 29). The request is the documented one:
 * POST /v3/conversations/{conversationId}/activities[/{activityId}] and
 * PUT /v3/conversations/{conversationId}/activities/{activityId} with the Activity as JSON, answered
 * with a ResourceResponse (https://learn.microsoft.com/azure/bot-service/rest-api/bot-framework-rest-connector-api-reference).
 * A refusal throws core-rest-pipeline's RestError, status, code and response (its Retry-After) as
 * core-client's did. A client whose internals are not where this expects keeps botbuilder's calls.
 */
function sendActivitiesAsJson(client: ConnectorClient): void {
  const { client: inner, baseUri } = client as unknown as ConnectorInternals;
  if (!inner || typeof inner.sendRequest !== 'function' || typeof baseUri !== 'string') return;
  const root = baseUri.replace(/\/+$/, '');
  // As core-client allows it for the client: a service URL on plain http (the Agents Playground's local connector).
  const allowInsecureConnection = root.toLowerCase().startsWith('http:');
  const call = async (method: 'POST' | 'PUT', path: string, activity: Partial<Activity>): Promise<ResourceResponse> => {
    const request = createPipelineRequest({
      url: `${root}/${path}`, method, body: JSON.stringify(activity), allowInsecureConnection,
      headers: createHttpHeaders({ 'content-type': 'application/json; charset=utf-8', accept: 'application/json' }),
    });
    const response = await inner.sendRequest(request);
    const body = jsonOf(response.bodyAsText);
    if (response.status >= 200 && response.status < 300) return (body ?? {}) as ResourceResponse;
    // As core-client words it: the body's `error` (or the body itself) gives the code and message.
    const said = (body as { error?: unknown } | undefined)?.error ?? body;
    const { code, message } = (said && typeof said === 'object' ? said : {}) as { code?: unknown; message?: unknown };
    throw new RestError(typeof message === 'string' && message ? message : response.bodyAsText || `Unexpected status code: ${response.status}`, {
      code: typeof code === 'string' ? code : undefined, statusCode: response.status, request, response,
    });
  };
  const at = (conversationId: string, activityId?: string) => `v3/conversations/${encodeURIComponent(conversationId)}/activities${activityId === undefined ? '' : `/${encodeURIComponent(activityId)}`}`;
  const conversations = client.conversations;
  conversations.sendToConversation = ((conversationId: string, activity: Partial<Activity>) => call('POST', at(conversationId), activity)) as typeof conversations.sendToConversation;
  conversations.replyToActivity = ((conversationId: string, activityId: string, activity: Partial<Activity>) => call('POST', at(conversationId, activityId), activity)) as typeof conversations.replyToActivity;
  conversations.updateActivity = ((conversationId: string, activityId: string, activity: Partial<Activity>) => call('PUT', at(conversationId, activityId), activity)) as typeof conversations.updateActivity;
}

function jsonOf(text: string | null | undefined): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** The notifier's rule for one call: 412, 429, 502, 503, 504 after Retry-After (else backoff), 4 tries, no wait over the cap. */
const cappedRetryPolicy: PipelinePolicy = {
  name: 'cappedConnectorRetry',
  async sendRequest(request, next) {
    for (let attempt = 1; ; attempt++) {
      const response = await next(request);
      const wait = connectorRetryWaitMs(response.status, parseRetryAfterMs(response.headers.get('retry-after')), attempt);
      if (wait === undefined) return response;
      await delay(wait);
    }
  },
};

// ---- Bot Framework endpoints elsewhere than Microsoft's public cloud (the local simulator) ----

type CredentialsFactory = NonNullable<ConstructorParameters<typeof ConfigurationBotFrameworkAuthentication>[1]>;
type ServiceCredentials = Awaited<ReturnType<CredentialsFactory['createCredentials']>>;

const BOT_FRAMEWORK = 'https://api.botframework.com';

/** botbuilder's own default login URL for the bot type, unless BOT_LOGIN_URL says otherwise. */
function botLoginUrl(config: AppConfig): string {
  const tenant = config.bot.type === 'MultiTenant' ? 'botframework.com' : config.bot.tenantId ?? 'botframework.com';
  return config.bot.loginUrl ?? `https://login.microsoftonline.com/${tenant}`;
}

/** Once one endpoint is set botbuilder takes all of them from the options: the public-cloud values for the rest. */
function customEndpoints(config: AppConfig): Record<string, string | boolean> {
  const openId = config.bot.openIdMetadataUrl ?? 'https://login.botframework.com/v1/.well-known/openidconfiguration';
  return {
    ToChannelFromBotLoginUrl: botLoginUrl(config),
    ToChannelFromBotOAuthScope: BOT_FRAMEWORK,
    ToBotFromChannelTokenIssuer: BOT_FRAMEWORK,
    ToBotFromChannelOpenIdMetadataUrl: openId,
    ToBotFromEmulatorOpenIdMetadataUrl: openId,
    OAuthUrl: BOT_FRAMEWORK,
    CallerId: 'urn:botframework:azure',
    ValidateAuthority: false,
  };
}

/**
 * Bot Framework tokens from a non-Microsoft authority. botbuilder's own credentials build an msal
 * client without `knownAuthorities`, whose instance discovery would ask login.microsoftonline.com
 * about the host; this one names the host.
 */
function customAuthorityCredentials(appId: string, secret: string, authority: string): CredentialsFactory {
  const msal = new ConfidentialClientApplication({ auth: { clientId: appId, clientSecret: secret, authority, knownAuthorities: [new URL(authority).host] } });
  const credentials = (audience: string | undefined): ServiceCredentials => ({
    async signRequest(webResource) {
      const scope = `${(audience ?? BOT_FRAMEWORK).replace(/\/+$/, '')}/.default`;
      const result = await msal.acquireTokenByClientCredential({ scopes: [scope] });
      if (!result) throw new Error('no Bot Framework token from the authority');
      webResource.headers.set('authorization', `Bearer ${result.accessToken}`);
      return webResource;
    },
  });
  return {
    isValidAppId: async (id: string) => id === appId,
    isAuthenticationDisabled: async () => false,
    createCredentials: async (id: string, audience: string | undefined) => {
      if (id !== appId) throw new Error('Invalid appId.');
      return credentials(audience);
    },
  };
}
