import assert from 'node:assert/strict';
import { Messages } from '../../src/onboarding/messages';
import { completeEntraPage } from '../auth/consent-harness';
import { BotUnderTest, cardText, type Chat } from '../helpers/chat';
import { toPreparation } from '../helpers/onboarding-path';
import { makeFollowUpDue } from '../jobs/follow-up-due';
import { APP_ID, APP_SECRET_VALUE, PARTNER_TENANT_ID, SERVICE_ACCOUNT_ID, SERVICE_ACCOUNT_PASSWORD, SERVICE_ACCOUNT_UPN } from '../simulator/scenarios/ids';

const ENTRA = { tenant: PARTNER_TENANT_ID, serviceAccount: SERVICE_ACCOUNT_UPN, appId: APP_ID, appSecret: APP_SECRET_VALUE };
const PC = { pcAppId: APP_ID, pcSecret: APP_SECRET_VALUE, pcSecretExpires: new Date(Date.now() + 365 * 86_400_000).toISOString().slice(0, 10) };

/** The URL of the card's OpenUrl button. */
function openUrlOf(card: Record<string, unknown> | undefined): string {
  const m = /"type":"Action\.OpenUrl"[^}]*"url":"([^"]+)"/.exec(JSON.stringify(card)) ?? /"url":"([^"]+)"[^}]*"type":"Action\.OpenUrl"/.exec(JSON.stringify(card));
  if (!m) throw new Error('no OpenUrl button on the card');
  return m[1]!;
}

type Entry = Awaited<ReturnType<Chat['client']['transcript']>>[number];
const cardTextOf = (e: Entry): string => cardText(e.activity.attachments?.[0]?.content as Record<string, unknown>);
/** The transcript's first card containing `text`. */
const cardWith = (entries: Entry[], text: string): Entry | undefined => entries.find((e) => cardTextOf(e).includes(text));
/** No message in the chat is a card that only waits for a "Continue" click. */
function assertNoContinueStop(entries: Entry[]): void {
  const stops = entries.filter((e) => /"title":"Continue"/.test(JSON.stringify(e.activity.attachments ?? [])));
  assert.deepEqual(stops.map((e) => cardTextOf(e)), [], 'no Continue-only card');
}

/**
 * Part one, both credential cards, then the service account's sign-in in a "browser" (the bot's
 * link, Entra's page, the bot's callback): the chat is told and the journey carries on by itself
 * there: the sign-in card becomes its summary and the full checks run (no Continue to press).
 */
async function throughConsent(bot: BotUnderTest): Promise<{ chat: Chat; tenant: string }> {
  const { chat, tenant } = await toPreparation(bot, { skipChecklist: true });
  await chat.press('Save and check', ENTRA, { count: 2 });
  await chat.press('Save', PC, { count: 3 });
  const link = new URL(openUrlOf(chat.lastCard().card));
  const start = await fetch(`${bot.url}${link.pathname}${link.search}`, { redirect: 'manual' });
  assert.equal(start.status, 302, 'the sign-in link sends the browser to Entra');
  const entra = await completeEntraPage(start.headers.get('location')!, { upn: SERVICE_ACCOUNT_UPN, password: SERVICE_ACCOUNT_PASSWORD, mfa: true });
  assert.equal(entra.status, 302, `Entra's page: ${entra.text.slice(0, 200)}`);
  const back = new URL(entra.location!);
  const callback = await fetch(`${bot.url}${back.pathname}${back.search}`);
  assert.equal(callback.status, 200);
  const entries = await chat.client.waitFor((all) => all.some((e) => /Checks: your connection is verified|fix these before customer sync/.test(cardTextOf(e))) && all);
  await chat.refresh();
  assert.ok(cardWith(entries, 'Signed in and consented'), 'the sign-in card became its summary');
  assertNoContinueStop(entries);
  return { chat, tenant };
}

describe('journey step 10: the full checks after the consent', function () {
  this.timeout(120_000);
  let bot: BotUnderTest;
  before(async () => { bot = await BotUnderTest.start({ teamsLimits: false }); });
  after(() => bot.stop());

  it('healthy: the sign-in carries on by itself: the full checks card and the journey says the connection is verified', async () => {
    await bot.loadScenario('healthy');
    const { chat, tenant } = await throughConsent(bot);
    const entries = await chat.client.waitFor((all) => all.some((e) => /the connection is done and verified/.test(e.activity.text ?? '')) && all);
    const turn = { texts: entries.map((e) => e.activity.text ?? '').filter(Boolean) };
    const checks = cardWith(entries, 'Checks: your connection is verified');
    assert.ok(checks, `a checks card: ${turn.texts.join(' | ')}`);
    const text = cardText(checks.activity.attachments![0]!.content as Record<string, unknown>);
    assert.match(text, /✅ Passed · \*\*MFA proven at sign-in\*\*: token amr: .*mfa/);
    assert.match(text, /✅ Passed · \*\*GDAP roles assigned to the service account\*\*/);
    assert.doesNotMatch(text, /❌/);
    assert.doesNotMatch(text, /Re-check in 15 minutes|Ask support/, 'nothing to wait for, nothing to escalate');
    assert.match(turn.texts.join('\n'), /✓ Every blocking check passes/);
    assert.match(turn.texts.join('\n'), /the connection is done and verified/);
    const run = await bot.app.checkRuns.latest(tenant);
    assert.equal(run?.kind, 'full');
    const status = (await chat.say('status', 1)).texts[0]!;
    assert.match(status, /\*\*Last checks\*\* \(full, /);
  });

  it('a blocking failure stops the journey before sync; "Re-check in 15 minutes" is kept in the database, runs when due and posts the result; a pass carries the journey on by itself', async () => {
    await bot.loadScenario('app-not-in-adminagents');
    const { chat, tenant } = await throughConsent(bot);
    const entries = await chat.client.waitFor((all) => all.some((e) => /Customer sync waits until this passes/.test(e.activity.text ?? '')) && all);
    const turn = { texts: entries.map((e) => e.activity.text ?? '').filter(Boolean) };
    const card = cardWith(entries, 'fix these before customer sync');
    assert.ok(card, turn.texts.join(' | '));
    const text = cardText(card.activity.attachments![0]!.content as Record<string, unknown>);
    assert.match(text, /❌ Failed · \*\*App in AdminAgents\*\*: the app's service principal is not a member/);
    assert.match(text, /Fix: .*AdminAgents.*\[Open ↗\]/);
    assert.match(turn.texts.join('\n'), /Customer sync waits until this passes:\*\* App in AdminAgents/);
    assert.doesNotMatch(turn.texts.join('\n'), /connection is done/);

    // Anything typed while it waits says what to do.
    assert.deepEqual((await chat.say('what now?', 1)).texts, [Messages.checksWaiting]);

    const later = await chat.press('Re-check in 15 minutes', {}, { id: card.id, count: 1 });
    assert.equal(later.updated.length, 1, 'the card says when, in place');
    assert.match(cardText(chat.card(card.id)), /Re-check scheduled for \d\d:\d\d UTC/);
    assert.match(later.texts[0]!, /I'll run the checks again at \d\d:\d\d UTC/);
    const again = await chat.press('Re-check in 15 minutes', {}, { id: card.id, count: 1 });
    assert.match(again.texts[0]!, /already scheduled/, 'one follow-up at a time');
    const pending = await bot.app.followUps.pending(tenant);
    assert.ok(pending && pending.dueAt.getTime() > Date.now() + 14 * 60_000, 'due in 15 minutes');
    assert.equal(await bot.app.checkFollowUps.run(), 0, 'not due yet: nothing runs');

    // The partner fixes it in the tenant; the 15 minutes pass.
    const sp = bot.sim.scenario.tenants.find((t) => t.id === PARTNER_TENANT_ID)!.applications.find((a) => a.appId === APP_ID)!;
    sp.servicePrincipalGroups.push('AdminAgents');
    await makeFollowUpDue(bot.app, tenant);
    assert.equal(await bot.app.checkFollowUps.run(), 1);
    assert.equal(await bot.app.followUps.pending(tenant), undefined, 'done');
    // The pass carries the journey on by itself: step 11, the customer sync, starts.
    const transcript = await chat.client.waitFor((all) => all.some((e) => /the connection is done and verified/.test(e.activity.text ?? '')) && all);
    assertNoContinueStop(transcript);
    const said = transcript.map((e) => e.activity.text ?? '').join('\n');
    assert.match(said, /\*\*Re-check done\*\* .*Every blocking check passes/);
    assert.ok(transcript.some((e) => cardText(e.activity.attachments?.[0]?.content as Record<string, unknown>).includes('Re-checked as you asked')), 'the checks card was posted');
  });

  it('"Re-run checks" after the fix updates the card in place and carries the journey on in the same turn', async () => {
    await bot.loadScenario('not-in-adminagents');
    const { chat } = await throughConsent(bot);
    const entries = await chat.client.waitFor((all) => all.some((e) => /Customer sync waits until this passes/.test(e.activity.text ?? '')) && all);
    const card = cardWith(entries, 'fix these before customer sync');
    assert.ok(card, entries.map((e) => e.activity.text ?? '').join(' | '));
    assert.match(cardText(card.activity.attachments![0]!.content as Record<string, unknown>), /Ask support/);
    assert.deepEqual((await chat.press('Ask support', {}, { id: card.id, count: 1 })).texts, [Messages.supportNoChannel]);
    const user = bot.sim.scenario.tenants.find((t) => t.id === PARTNER_TENANT_ID)!.users.find((u) => u.id === SERVICE_ACCOUNT_ID)!;
    user.groups.push('AdminAgents');
    const rerun = await chat.press('Re-run checks', {}, { id: card.id, count: 3 });
    assert.equal(rerun.updated.length, 1, 'updated in place');
    assert.match(cardText(chat.card(card.id)), /Checks: your connection is verified/);
    assert.match(rerun.texts.join('\n'), /the connection is done and verified/);
  });
});
