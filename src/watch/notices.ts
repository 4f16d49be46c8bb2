import type { Activity } from 'botbuilder';
import { inert } from '../cards/inert-text';
import { renderNoticeCard } from '../cards/render';
import { Verbs } from '../cards/verbs';
import { mapApplication, mapGdapRelationship } from '../checks/gather/map';
import { GRAPH_DEFAULT } from '../credentials/scopes';
import type { Partner } from '../domain/partner';
import { MicrosoftHttpClient, type AccessTokenFunction } from '../microsoft/http';
import { Messages } from '../onboarding/messages';
import type { Notice, NoticeItem } from '../store/notices';
import { daysLeft, type WatchedRelationship } from './expiry';
import type { Watched } from './expiry-watch';

const WHAT: Record<NoticeItem, string> = {
  'app-secret': 'Your Entra app\'s client secret',
  'pc-secret': 'Your Partner Center web app key',
  'refresh-token': 'The service account\'s sign-in (refresh token)',
  gdap: 'A GDAP relationship',
  consent: 'The service account\'s consent',
};

/** Why each item matters, and what to do: before the end, and once ended. */
const WHY: Record<NoticeItem, { before: string; after: string }> = {
  'app-secret': {
    before: 'Create a new one before then and enter it in the bot: the old one keeps working until you do.',
    after: 'The platform can no longer use it. Create a new one and enter it in the bot.',
  },
  'pc-secret': {
    before: 'Create a new one before then and enter it in the bot: the old one keeps working until you do.',
    after: 'The platform can no longer use it. Create a new one and enter it in the bot.',
  },
  'refresh-token': {
    before: 'Microsoft ends a sign-in unused for 90 days. Running the checks uses it (and keeps it alive).',
    after: 'Microsoft ends a sign-in unused for 90 days: the platform can no longer reach Partner Center for you. Sign in again as the service account, and afterwards leave its password and roles as they are: changing either breaks the connection again.',
  },
  gdap: {
    before: 'It will not extend itself (no auto-extend, or it holds Global Administrator). Ask the customer to approve a new relationship in Partner Center before then, or the platform loses access to this customer.',
    after: 'The platform can no longer manage this customer. Ask the customer to approve a new GDAP relationship in Partner Center.',
  },
  consent: {
    before: '',
    after: 'Microsoft refused the service account\'s sign-in: the consent was revoked, or its password was changed or reset (which ends every sign-in made with the old one). Sign in again as the service account to restore the connection, and afterwards leave its password and roles as they are.',
  },
};

/**
 * A notice as a chat card: what ends when, and (for the partner) the button that starts the fix.
 * A support message (claimed, resolved) is the line the partner has always been told, naming the engineer.
 */
export function noticeActivity(n: Notice, now: Date, options: NoticeOptions = {}): Partial<Activity> {
  const engineer = n.detail ?? 'Someone';
  if (n.item === 'support-claimed') return { text: Messages.supportClaimed(engineer) };
  if (n.item === 'support-resolved') return { text: Messages.supportResolved(engineer) };
  return expiryActivity({ ...n, item: n.item }, now, options);
}

export interface NoticeOptions {
  /** The bot created the partner's app and may replace its secret: the app secret's notice offers "Rotate it for me" first ("Update credentials" stays). */
  rotateForMe?: boolean;
}

/** The app secret's text when the bot can replace it. */
const ROTATE_TEXT = {
  before: 'Select **Rotate it for me**: a Global Administrator signs in once and I replace it, with no break in your connection. Or create a new one yourself and enter it with **Update credentials**.',
  after: 'The platform can no longer use it. Select **Rotate it for me**: a Global Administrator signs in once and I replace it. Or create a new one yourself and enter it with **Update credentials**.',
};

function expiryActivity(n: Notice & { item: NoticeItem }, now: Date, options: NoticeOptions): Partial<Activity> {
  const left = daysLeft(n.expiresAt, now);
  const expired = left <= 0;
  const when = n.expiresAt.toISOString().slice(0, 10);
  // The customer's and the partner's names are Microsoft's and the partner's words: inert in markdown (the facts are made so when rendered).
  const what = n.item === 'gdap' && n.detail ? `The GDAP relationship with ${n.detail}` : WHAT[n.item];
  const shownWhat = n.item === 'gdap' && n.detail ? `The GDAP relationship with ${inert(n.detail)}` : WHAT[n.item];
  const copy = n.recipientTenantId !== undefined;
  const base = n.item === 'consent'
    ? `${shownWhat} was revoked`
    : expired ? `${shownWhat} has expired` : `${shownWhat} expires in ${left} day${left === 1 ? '' : 's'}`;
  // A copy to the support thread names the partner and has no button: the fix is the partner's.
  const title = copy ? `${inert(n.subject ?? n.tenantId)}: ${base.replace(/^Your /, 'their ').replace(/^The /, 'the ')}` : base;
  const rotate = !copy && n.item === 'app-secret' && options.rotateForMe === true;
  const text = rotate ? (expired ? ROTATE_TEXT.after : ROTATE_TEXT.before) : expired ? WHY[n.item].after : WHY[n.item].before;
  const button = copy ? {}
    : rotate ? { buttonTitle: 'Rotate it for me', buttonVerb: Verbs.setupRotate, secondTitle: 'Update credentials', secondVerb: Verbs.credentialsUpdate }
    : n.item === 'refresh-token' && !expired ? { buttonTitle: 'Run the checks now', buttonVerb: Verbs.checksRerun }
    : n.item === 'refresh-token' || n.item === 'consent' ? { buttonTitle: 'Sign in again', buttonVerb: Verbs.start }
    : n.item === 'gdap' ? { buttonTitle: 'Run the checks', buttonVerb: Verbs.checksRerun }
    : { buttonTitle: 'Update credentials', buttonVerb: Verbs.credentialsUpdate };
  const facts = [{ label: 'What', value: what }, { label: n.item === 'consent' ? 'Since' : expired ? 'Ended' : 'Ends', value: when }];
  if (copy) facts.unshift({ label: 'Partner', value: `${n.subject ?? ''} (${n.tenantId})`.trim() });
  if (n.item === 'consent') {
    // The sign-in's own explanation (what Microsoft said, and what to do) goes with it.
    const why = n.detail ? `\n\n${n.detail}` : '';
    return {
      text: copy ? `**${title}.**${why}` : `**Re-consent needed.** I can no longer sign in to Partner Center as your service account, so I can’t keep your connection up to date.${why}`,
      attachments: [renderNoticeCard({ title, text, facts, severity: 'expired', ...button })],
    };
  }
  return {
    text: expired ? `**${title}.**` : `**${title}** (${when}).`,
    attachments: [renderNoticeCard({ title, text, facts, severity: expired ? 'expired' : 'warning', ...button })],
  };
}

/**
 * What ends, read fresh from Graph: the app secret in use's end date (`passwordCredentials`,
 * matched by its 3-character hint) with the app's own token, and the GDAP relationships with the
 * service account's consented token (GDAP is among the consented scopes, not the app's
 * permissions), in parallel. What could not be read is left out (the scan then uses what is
 * stored, and notices no GDAP relationship it did not see).
 */
export async function watchedFromGraph(partner: Partner, graphBaseUrl: string, tokens: { app: AccessTokenFunction; user: AccessTokenFunction }): Promise<Watched> {
  const hint = partner.credentials.appSecret?.hint;
  const appId = partner.connection?.appId;
  if (!appId) return {};
  const client = (token: AccessTokenFunction) => new MicrosoftHttpClient({ baseUrl: graphBaseUrl, tokenProvider: token, scopes: [GRAPH_DEFAULT], requestIds: 'graph', maxRetries: 3, timeoutMs: 15_000 });
  const appSecretEnd = hint ? client(tokens.app).request('GET', '/v1.0/applications', {
    query: { $filter: `appId eq '${appId.replace(/'/g, "''")}'`, $select: 'appId,displayName,requiredResourceAccess,passwordCredentials' },
    parse: (body) => mapApplication(body),
  }).then((res) => {
    const end = res.data?.passwordCredentials.find((c) => c.hint === hint)?.endDateTime;
    return end ? new Date(end) : undefined;
  }) : Promise.resolve(undefined);
  const signedIn = !!partner.consent.at && !partner.consent.brokenAt;
  const gdap = signedIn ? (async () => {
    const all: WatchedRelationship[] = [];
    for await (const page of client(tokens.user).graphPages('/v1.0/tenantRelationships/delegatedAdminRelationships', { query: { $top: 300 }, item: mapGdapRelationship })) all.push(...page.items);
    return all;
  })() : Promise.reject(new Error('not signed in'));
  const [secret, relationships] = await Promise.allSettled([appSecretEnd, gdap]);
  return {
    ...(secret.status === 'fulfilled' && secret.value ? { appSecretEnd: secret.value } : {}),
    ...(relationships.status === 'fulfilled' ? { gdap: relationships.value } : {}),
  };
}
