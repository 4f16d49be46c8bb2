import { json, readJson, Router, type SimReply } from '../http';
import { TokenSigner, type Claims } from '../jwt';
import { SIM_BOT_APP_ID, SIM_BOT_SECRET, SIM_BOT_TENANT_ID } from '../scenarios/ids';
import type { ServiceFactory, SimContext } from '../server';

/**
 * The Bot Framework's own token service (login.botframework.com), mounted at `/botframework`: the
 * OpenID metadata and signing keys a bot uses to check the activities the channel posts to it.
 * https://learn.microsoft.com/en-us/azure/bot-service/rest-api/bot-framework-rest-connector-authentication#authenticate-requests-from-the-bot-connector-service-to-your-bot
 *
 *   GET  /botframework/v1/.well-known/openidconfiguration   issuer https://api.botframework.com, jwks_uri
 *   GET  /botframework/v1/.well-known/keys                   RS256 keys with their channel `endorsements`
 *   POST /_sim/botframework/token                            a channel token for the harness to send
 *
 * A channel token is signed with a key of its own (not Entra ID's), and says `iss`
 * https://api.botframework.com, `aud` the bot's app id, `serviceUrl` the activity's serviceUrl; it
 * has no `ver` or `appid` (those would make botbuilder take it for a skill or emulator token).
 * The other direction (bot → connector) uses Entra ID client-credentials tokens for
 * `https://api.botframework.com/.default`; the connector checks those.
 */

export const CHANNEL_TOKEN_ISSUER = 'https://api.botframework.com';
/** Channels the signing key is endorsed for; botbuilder refuses a key not endorsed for the activity's channel. */
const ENDORSEMENTS = ['msteams', 'webchat', 'directline', 'emulator'];

export interface ChannelTokenOptions {
  /** The bot's app id (`aud`). */
  audience: string;
  /** Must equal the activity's serviceUrl. */
  serviceUrl: string;
  /** Default 3600; negative for a token that has already expired. */
  lifetimeSeconds?: number;
}

const signers = new WeakMap<SimContext, TokenSigner>();

/**
 * Signs a channel → bot token. Times are real time, not the simulator clock: the bot checks them
 * against its own clock (botbuilder allows five minutes of skew).
 */
export function channelToken(ctx: SimContext, options: ChannelTokenOptions): string {
  const signer = signers.get(ctx);
  if (!signer) throw new Error('the bot-framework service is not running in this simulator');
  const now = Math.floor(Date.now() / 1000);
  const lifetime = options.lifetimeSeconds ?? 3600;
  const claims: Claims = {
    serviceurl: options.serviceUrl,
    nbf: Math.min(now, now + lifetime) - 300,
    exp: now + lifetime,
    iss: CHANNEL_TOKEN_ISSUER,
    aud: options.audience,
  };
  return signer.sign(claims);
}

export const botFrameworkService: ServiceFactory = (ctx) => {
  const signer = new TokenSigner();
  signers.set(ctx, signer);
  const router = new Router();
  const root = `${ctx.baseUrl}/botframework`;

  router.get('/v1/.well-known/openidconfiguration', () => json(200, {
    issuer: CHANNEL_TOKEN_ISSUER,
    authorization_endpoint: 'https://invalid.botframework.com/v1/authorize',
    jwks_uri: `${root}/v1/.well-known/keys`,
    id_token_signing_alg_values_supported: ['RS256'],
    token_endpoint_auth_methods_supported: ['private_key_jwt'],
  }));
  router.get('/v1/.well-known/keys', () => json(200, {
    keys: signer.jwks().keys.map((k) => ({ ...k, endorsements: ENDORSEMENTS })),
  }));
  router.post('/_sim/botframework/token', (req): SimReply => {
    const b = readJson<Partial<ChannelTokenOptions>>(req);
    if (typeof b?.audience !== 'string' || typeof b.serviceUrl !== 'string') {
      return json(400, { error: 'body must be {"audience": "<bot app id>", "serviceUrl": "<activity serviceUrl>", "lifetimeSeconds"?: n}' });
    }
    return json(200, { token: channelToken(ctx, { audience: b.audience, serviceUrl: b.serviceUrl, lifetimeSeconds: b.lifetimeSeconds }) });
  });

  return { name: 'botframework', prefix: '/botframework', router };
};

/**
 * The environment of a bot authenticated against the simulator: the simulator's bot registration
 * (SingleTenant, in the operator tenant every scenario gets) and botbuilder's login and OpenID
 * metadata URLs on the simulator (config keys BOT_LOGIN_URL, BOT_OPENID_METADATA_URL).
 */
export function botIdentityEnv(simulatorUrl: string): Record<string, string> {
  return {
    BOT_ID: SIM_BOT_APP_ID,
    BOT_PASSWORD: SIM_BOT_SECRET,
    BOT_TENANT_ID: SIM_BOT_TENANT_ID,
    BOT_TYPE: 'SingleTenant',
    BOT_LOGIN_URL: `${simulatorUrl}/${SIM_BOT_TENANT_ID}`,
    BOT_OPENID_METADATA_URL: `${simulatorUrl}/botframework/v1/.well-known/openidconfiguration`,
    ALLOW_UNAUTHENTICATED: 'false',
  };
}
