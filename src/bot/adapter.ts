import { randomUUID } from 'node:crypto';
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
  const credentials = new ConfigurationServiceClientCredentialFactory({
    MicrosoftAppId: config.bot.id,
    MicrosoftAppPassword: config.bot.password,
    MicrosoftAppType: config.bot.type,
    MicrosoftAppTenantId: config.bot.tenantId,
  });
  const auth = new ConfigurationBotFrameworkAuthentication(
    { MicrosoftAppId: config.bot.id, MicrosoftAppTenantId: config.bot.tenantId },
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
