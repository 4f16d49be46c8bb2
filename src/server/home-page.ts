import { escapeHtml, html, para, type Page } from './page-html';

/** What `/readyz` answers: ready, or why not. */
export type Readiness = 'ready' | 'shutting_down' | 'migrations_pending' | 'database_unreachable';

/** The name people see in Teams (manifest/manifest.json, `name.short`). */
export const BOT_NAME = 'Partner Onboarding';

const HEALTH: Record<Readiness, string> = {
  ready: 'Ready: the bot is up and its database answers.',
  shutting_down: 'Not ready: the bot is shutting down.',
  migrations_pending: 'Not ready: the database is not set up yet (run npm run migrate, then start the bot again).',
  database_unreachable: 'Not ready: the bot cannot reach its database. Its log says more.',
};

/**
 * `GET /`: whoever opens the bot's address in a browser (someone who just ran `npm start`, an
 * operator checking a deployment) learns what answers there, whether it is healthy, and where to
 * talk to it. Nothing here is secret: the messaging endpoint is what the Azure Bot points at anyway.
 */
export function homePage(readiness: Readiness, publicBaseUrl: string): Page {
  const endpoint = `${publicBaseUrl}/api/messages`;
  const body = [
    para(`The ${BOT_NAME} bot for Microsoft Teams walks a CSP partner's admin through connecting their Microsoft tenant, in a chat.`),
    `<p><strong>${escapeHtml(HEALTH[readiness])}</strong></p>`,
    '<h2>Reach it in Teams</h2>',
    '<ol>',
    `<li>Point your Azure Bot's messaging endpoint at <code>${escapeHtml(endpoint)}</code>.</li>`,
    `<li>Install the Teams app package made from the project's <code>manifest/</code> folder in Teams, then open a chat with ${escapeHtml(BOT_NAME)}.</li>`,
    '</ol>',
    '<p>To chat with it on this machine without Teams: <code>npm run sandbox</code> (the Agents Playground and a local Microsoft cloud simulator).</p>',
  ].join('\n');
  return { status: readiness === 'ready' ? 200 : 503, html: html(BOT_NAME, body) };
}
