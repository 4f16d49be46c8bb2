import assert from 'node:assert/strict';
import { Messages } from '../../src/onboarding/messages';
import { APP_ID, APP_SECRET_VALUE, PARTNER_TENANT_ID, SERVICE_ACCOUNT_ID, SERVICE_ACCOUNT_UPN } from '../simulator/scenarios/ids';
import { BotUnderTest, cardText, type Chat } from '../helpers/chat';
import { toPreparation } from '../helpers/onboarding-path';

const ENTRA = { tenant: PARTNER_TENANT_ID, serviceAccount: SERVICE_ACCOUNT_UPN, appId: APP_ID, appSecret: APP_SECRET_VALUE };
const PC = { pcAppId: APP_ID, pcSecret: APP_SECRET_VALUE, pcSecretExpires: new Date(Date.now() + 365 * 86_400_000).toISOString().slice(0, 10) };

/** The text of every TextBlock a person sees before opening anything folded (no `isVisible: false` on it or above it). */
function visibleLines(node: unknown): string[] {
  if (Array.isArray(node)) return node.flatMap(visibleLines);
  if (!node || typeof node !== 'object') return [];
  const n = node as Record<string, unknown>;
  if (n.isVisible === false) return [];
  const own = n.type === 'TextBlock' && typeof n.text === 'string' ? [n.text] : [];
  return [...own, ...Object.entries(n).filter(([k]) => k !== 'actions' && k !== 'selectAction').flatMap(([, v]) => visibleLines(v))];
}

/** Part one, then both credential cards: the pre-flight card is the one before the sign-in card. */
async function throughCredentials(bot: BotUnderTest): Promise<{ chat: Chat; tenant: string; checksCardId: string }> {
  const { chat, tenant } = await toPreparation(bot, { skipChecklist: true });
  await chat.press('Save and check', ENTRA, { count: 2 });
  const turn = await chat.press('Save', PC, { count: 3 });
  const checks = turn.activities.find((e) => cardText(e.activity.attachments?.[0]?.content as Record<string, unknown>).includes('Before you sign in'));
  assert.ok(checks, 'a pre-flight checks card was posted');
  return { chat, tenant, checksCardId: checks.id };
}

describe('pre-flight checks (app-only, before the sign-in)', function () {
  this.timeout(90_000);
  let bot: BotUnderTest;
  before(async () => { bot = await BotUnderTest.start({ teamsLimits: false }); });
  after(() => bot.stop());

  it('healthy: run as soon as both apps are in; passes what the app can see, one folded line for the checks that run after the sign-in (never a pass), passes folded per group; kept in the history', async () => {
    await bot.loadScenario('healthy');
    const { chat, tenant, checksCardId } = await throughCredentials(bot);
    const card = chat.card(checksCardId);
    const text = cardText(card);
    assert.match(text, /✅ 1\d passed/);
    assert.doesNotMatch(text, /❌/);
    assert.match(text, /✅ Passed · \*\*Service account in AdminAgents\*\*/);
    // What only the sign-in can read is one line with the real count, not eleven rows of refusals.
    assert.match(text, /🔑 11 checks run after you sign in/);
    assert.match(text, /🔑 Needs sign-in · \*\*MFA proven at sign-in\*\*/, 'listed under that line, never as a pass');
    assert.doesNotMatch(text, /Graph answered|AuditLog\.Read\.All|Policy\.Read\.All|DelegatedAdminRelationship\.Read\.All|needs the application permission/, 'no raw refusal, no permission the checklist never asked for');
    assert.doesNotMatch(text, /Give the bot|tell the bot/, 'every fix is something the partner can do');
    assert.doesNotMatch(text, /\w…$/m, 'no line cut mid-word');
    // Open: the warning and what the partner must check; folded: each group's passes (one line per group).
    const visible = visibleLines(card);
    assert.ok(visible.some((l) => /⚠️ Warning · \*\*Country recorded\*\*/.test(l)), visible.join('\n'));
    assert.ok(visible.includes('✅ **Service account**: 5 passed — show'), visible.join('\n'));
    assert.ok(!visible.some((l) => /✅ Passed ·/.test(l)), `passed checks are folded: ${visible.join('\n')}`);
    assert.ok(visible.length <= 16, `${visible.length} visible lines:\n${visible.join('\n')}`);
    assert.match(JSON.stringify(card), /"type":"Action\.ToggleVisibility"/);
    assert.match(cardText(chat.lastCard().card), /Step 9 of 11 · Sign in as the service account/, 'the journey carries on to the sign-in');
    const run = await bot.app.checkRuns.latest(tenant);
    // The test company is German, the scenario's tenant American: Partner Center's country differs.
    assert.deepEqual(run?.results.filter((r) => r.status === 'warn').map((r) => `${r.id}: ${r.evidence}`), ["partner-center.country: tenant country US differs from the company's DE"]);
    assert.equal(run?.kind, 'preflight');
    assert.equal(run?.verdict, 'incomplete');
    assert.ok(run!.roundTrips.graph <= 3 && run!.roundTrips.partnerCenter <= 2, JSON.stringify(run!.roundTrips));
    const status = (await chat.say('status', 1)).texts[0]!;
    assert.match(status, /\*\*Last checks\*\* \(before sign-in, .*\): 0 failed, 1 warning, 1 not visible, 1\d passed, 11 run after you sign in/);
  });

  it('a service account outside AdminAgents fails with evidence and the fix; fixed in the tenant, "Re-run checks" updates the card in place', async () => {
    await bot.loadScenario('not-in-adminagents');
    const { chat, tenant, checksCardId } = await throughCredentials(bot);
    const failing = cardText(chat.card(checksCardId));
    assert.match(failing, /❌ Failed · \*\*Service account in AdminAgents\*\*: not a member/);
    assert.match(failing, /Fix: .*AdminAgents.*\[Open ↗\]\(https:\/\/entra\.microsoft\.com\//);

    // The partner adds the account to AdminAgents in their tenant.
    const user = bot.sim.scenario.tenants.find((t) => t.id === PARTNER_TENANT_ID)!.users.find((u) => u.id === SERVICE_ACCOUNT_ID)!;
    user.groups.push('AdminAgents');
    const rerun = await chat.press('Re-run checks', {}, { id: checksCardId, count: 1 });
    assert.equal(rerun.updated.length, 1, 'the card is updated in place');
    assert.deepEqual(rerun.texts, [Messages.rechecked(0, 1)]);
    assert.match(cardText(chat.card(checksCardId)), /✅ Passed · \*\*Service account in AdminAgents\*\*/);
    assert.equal(await bot.app.checkRuns.count(tenant), 2, 'both runs are in the history');
  });

  it('typed "recheck" before any credentials says what is missing', async () => {
    const { chat } = await toPreparation(bot);
    const turn = await chat.say('recheck', 1);
    assert.deepEqual(turn.texts, [Messages.checksNeedCredentials]);
  });
});
