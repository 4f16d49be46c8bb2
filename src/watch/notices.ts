import type { Activity } from 'botbuilder';
import { renderNoticeCard } from '../cards/render';
import { Verbs } from '../cards/verbs';
import { mapApplication } from '../checks/gather/map';
import { GRAPH_DEFAULT } from '../credentials/scopes';
import type { Partner } from '../domain/partner';
import { MicrosoftHttpClient, type AccessTokenFunction } from '../microsoft/http';
import type { Notice } from '../store/notices';
import { daysLeft } from './expiry';

const WHAT: Record<Notice['item'], string> = {
  'app-secret': 'Your Entra app\'s client secret',
  'pc-secret': 'Your Partner Center web app key',
  'refresh-token': 'The service account\'s sign-in (refresh token)',
};

/** A notice as a chat card: what ends when, and the button that starts the fix. */
export function noticeActivity(n: Notice, now: Date): Partial<Activity> {
  const left = daysLeft(n.expiresAt, now);
  const expired = left <= 0;
  const when = n.expiresAt.toISOString().slice(0, 10);
  const what = WHAT[n.item];
  const title = expired ? `${what} has expired` : `${what} expires in ${left} day${left === 1 ? '' : 's'}`;
  const text = n.item === 'refresh-token'
    ? (expired
      ? 'Microsoft ends a sign-in unused for 90 days: the platform can no longer reach Partner Center for you. Sign in again as the service account.'
      : 'Microsoft ends a sign-in unused for 90 days. Running the checks uses it (and keeps it alive).')
    : (expired
      ? 'The platform can no longer use it. Create a new one and enter it in the bot.'
      : 'Create a new one before then and enter it in the bot: the old one keeps working until you do.');
  const button = n.item === 'refresh-token'
    ? (expired ? { buttonTitle: 'Sign in again', buttonVerb: Verbs.start } : { buttonTitle: 'Run the checks now', buttonVerb: Verbs.checksRerun })
    : { buttonTitle: 'Update credentials', buttonVerb: Verbs.credentialsUpdate };
  return {
    text: expired ? `**${title}.**` : `**${title}** (${when}).`,
    attachments: [renderNoticeCard({ title, text, facts: [{ label: 'What', value: what }, { label: expired ? 'Ended' : 'Ends', value: when }], severity: expired ? 'expired' : 'warning', ...button })],
  };
}

/** The app secret in use's end date from Graph (`passwordCredentials`, matched by its 3-character hint), with the app's own token. */
export async function appSecretEndFromGraph(partner: Partner, graphBaseUrl: string, token: AccessTokenFunction): Promise<Date | undefined> {
  const hint = partner.credentials.appSecret?.hint;
  const appId = partner.connection?.appId;
  if (!hint || !appId) return undefined;
  const graph = new MicrosoftHttpClient({ baseUrl: graphBaseUrl, tokenProvider: token, scopes: [GRAPH_DEFAULT], requestIds: 'graph', maxRetries: 3, timeoutMs: 15_000 });
  const res = await graph.request('GET', '/v1.0/applications', {
    query: { $filter: `appId eq '${appId.replace(/'/g, "''")}'`, $select: 'appId,displayName,requiredResourceAccess,passwordCredentials' },
    parse: (body) => mapApplication(body),
  });
  const end = res.data?.passwordCredentials.find((c) => c.hint === hint)?.endDateTime;
  return end ? new Date(end) : undefined;
}
