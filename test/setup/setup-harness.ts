import assert from 'node:assert/strict';
import { completeEntraPage, pageText, textsOf, type BrowserAnswer } from '../auth/consent-harness';
import { BotUnderTest, cardText, COMPANY, PRIMARY, type Chat } from '../helpers/chat';
import {
  PARTNER_TENANT_ID, SERVICE_ACCOUNT_PASSWORD, SERVICE_ACCOUNT_UPN, SETUP_ADMIN_ID, SETUP_ADMIN_UPN, SIM_SETUP_APP_ID, SIM_SETUP_APP_SECRET,
} from '../simulator/scenarios/ids';
import type { TranscriptEntry } from '../simulator/services/connector';
import type { Simulator } from '../simulator/server';

/** The bot with the operator's setup app configured; replication waits are instant (the simulator's delays count refusals). */
export async function setupBot(sim?: Simulator): Promise<BotUnderTest> {
  return BotUnderTest.start({
    ...(sim ? { sim } : {}), teamsLimits: false, sleep: async () => undefined,
    env: { SETUP_APP_ID: SIM_SETUP_APP_ID, SETUP_APP_SECRET: SIM_SETUP_APP_SECRET },
  });
}

/** What a browser gets for a link of ours (absolute at PUBLIC_BASE_URL, or a path). */
export async function open(bot: { url: string }, link: string): Promise<BrowserAnswer> {
  const u = new URL(link, 'http://localhost:3978');
  const res = await fetch(`${bot.url}${u.pathname}${u.search}`, { redirect: 'manual' });
  return { status: res.status, location: res.headers.get('location') ?? undefined, text: await res.text() };
}

/** The scenario's Global Administrator in Teams, in the partner tenant; they are the primary contact too (no mail code). */
export function adminChat(bot: BotUnderTest): Chat {
  return bot.chat({ tenantId: PARTNER_TENANT_ID, user: { aadObjectId: SETUP_ADMIN_ID, name: 'Jordan Global Admin', userPrincipalName: PRIMARY.email } });
}

/** Part one of the journey, up to the preparation checklist. */
export async function toChecklist(chat: Chat): Promise<void> {
  await chat.say('start', 1);
  await chat.press('Save company details', COMPANY, { count: 1 });
  await chat.press('Save contact', PRIMARY, { count: 1 });
  await chat.press('Skip: no secondary contact', {}, { count: 1 });
  await chat.press('Confirm', {}, { count: 2 });
  assert.match(cardText(chat.lastCard().card), /Prepare your tenant/);
}

/** The URL of the newest card's OpenUrl button. */
export function openUrlOf(chat: Chat): string {
  const actions = (chat.lastCard().card.actions ?? []) as Array<{ type: string; url?: string }>;
  const url = actions.find((a) => a.type === 'Action.OpenUrl')?.url;
  assert.ok(url, `no sign-in button on: ${cardText(chat.lastCard().card).slice(0, 300)}`);
  return url;
}

/** The administrator's sign-in through Entra's page, back to our callback: our page's answer. */
export async function adminSignIn(bot: { url: string }, url: string, as: { upn: string; password: string } = { upn: SETUP_ADMIN_UPN, password: SERVICE_ACCOUNT_PASSWORD }, decision: 'accept' | 'cancel' = 'accept', orgConsent = false): Promise<BrowserAnswer> {
  const start = await open(bot, url);
  assert.equal(start.status, 302, pageText(start.text));
  const authorize = new URL(start.location!);
  assert.equal(authorize.searchParams.get('client_id'), SIM_SETUP_APP_ID);
  assert.equal(authorize.searchParams.get('prompt'), 'login');
  assert.equal(authorize.searchParams.get('code_challenge_method'), 'S256');
  const entra = await entraPage(start.location!, { ...as, decision, orgConsent });
  assert.equal(entra.status, 302, pageText(entra.text).slice(0, 400));
  return open(bot, entra.location!);
}

/** Entra's sign-in and consent page as a person answers it; `orgConsent` ticks "Consent on behalf of your organization". */
async function entraPage(location: string, f: { upn: string; password: string; decision: 'accept' | 'cancel'; orgConsent: boolean }): Promise<BrowserAnswer> {
  const body = new URLSearchParams({ upn: f.upn, password: f.password, decision: f.decision, mfa: 'on' });
  if (f.orgConsent) body.set('consent_for_org', 'on');
  const res = await fetch(location, { method: 'POST', body, redirect: 'manual' });
  return { status: res.status, location: res.headers.get('location') ?? undefined, text: await res.text() };
}

/** Waits until the chat's transcript has a message matching `re`; returns every text so far. */
export async function waitForText(chat: Chat, re: RegExp, timeoutMs = 60_000): Promise<string[]> {
  const matches = (e: TranscriptEntry[]) => textsOf(e).some((t) => re.test(t)) || e.some((x) => re.test(cardText(x.activity.attachments?.[0]?.content as Record<string, unknown> | undefined)));
  const entries = await chat.client.waitFor((e) => (matches(e) ? e : undefined), { timeoutMs });
  await chat.refresh();
  return textsOf(entries);
}

/** From the checklist to the administrator's sign-in link, choosing the setup and `serviceAccount`. */
export async function chooseSetup(chat: Chat, serviceAccount: string = SERVICE_ACCOUNT_UPN): Promise<string> {
  await toChecklist(chat);
  assert.match(JSON.stringify(chat.lastCard().card), /"id":"setupChoice"/, 'the checklist offers the choice');
  await chat.press("I've done this", { setupChoice: 'setup' });
  assert.match(cardText(chat.lastCard().card), /Set up the Entra app for me/);
  await chat.press('Continue', { serviceAccount });
  assert.match(cardText(chat.lastCard().card), /A Global Administrator signs in for the setup/);
  return openUrlOf(chat);
}

/**
 * Cards of the chat (their latest versions) that still offer a button other than `allowed`: a card
 * whose moment has passed keeps no button that would do nothing now.
 */
export async function liveButtons(chat: Chat, allowed: readonly string[] = ["Let's start", 'Show commands', 'Re-run checks']): Promise<Array<{ card: string; actions: string[] }>> {
  const out: Array<{ card: string; actions: string[] }> = [];
  for (const e of await chat.client.transcript()) {
    const card = e.activity.attachments?.find((a) => a.contentType === 'application/vnd.microsoft.card.adaptive')?.content as Record<string, unknown> | undefined;
    if (!card) continue;
    const titles = actionTitles(card);
    if (titles.some((t) => !allowed.includes(t))) out.push({ card: cardText(card).replace(/\s+/g, ' ').slice(0, 80), actions: titles });
  }
  return out;
}

/** The titles of a card's buttons (show/hide toggles aside). */
export function actionTitles(card: unknown): string[] {
  const titles: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) { node.forEach(walk); return; }
    if (!node || typeof node !== 'object') return;
    const n = node as Record<string, unknown>;
    if (typeof n.type === 'string' && n.type.startsWith('Action.') && n.type !== 'Action.ToggleVisibility' && typeof n.title === 'string') titles.push(n.title);
    for (const v of Object.values(n)) walk(v);
  };
  walk(card);
  return titles;
}

/** The whole journey on the setup path: the setup run, the service account's sign-in, checks and sync, to "Onboarding is complete". */
export async function onboardWithSetup(bot: { url: string }, chat: Chat): Promise<void> {
  assert.equal((await adminSignIn(bot, await chooseSetup(chat))).status, 200);
  await waitForText(chat, /Sign in as the service account/, 120_000);
  const signIn = await open(bot, openUrlOf(chat));
  const entra = await completeEntraPage(signIn.location!, { upn: SERVICE_ACCOUNT_UPN, password: SERVICE_ACCOUNT_PASSWORD, mfa: true });
  assert.equal((await open(bot, entra.location!)).status, 200);
  await waitForText(chat, /Onboarding is complete/, 180_000);
}
