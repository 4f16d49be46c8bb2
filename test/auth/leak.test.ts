import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { loadScenario } from '../simulator/scenario';
import { APP_ID, APP_SECRET_KEY_ID, PARTNER_TENANT_ID, SERVICE_ACCOUNT_PASSWORD, SERVICE_ACCOUNT_UPN } from '../simulator/scenarios/ids';
import { BotUnderTest, type Chat } from '../helpers/chat';
import { toPreparation } from '../helpers/onboarding-path';
import { completeEntraPage } from './consent-harness';
import { randomUUID } from 'node:crypto';
import { filesUnder, JWT } from '../helpers/leak-scan';

/**
 * The whole connection with recognisable secret values, failures included, then a scan of
 * everything the bot wrote anywhere: log lines (most verbose level), every activity in the chat
 * (updates included), every page it served, every database table (audit log included) and the raw
 * files of its data directory. None may hold a secret, a token, or the service account's password.
 */
const APP_CANARY = 'AppCanary~secret.value.0123456789abcdef';
const PC_CANARY = 'PcCanary~partner.center.key.987654321zyx';
const WRONG_CANARY = 'WrongCanary~not.the.secret.5555555555xx';
const CANARIES = [APP_CANARY, PC_CANARY, WRONG_CANARY, SERVICE_ACCOUNT_PASSWORD];
/** A canary's tail: a prefix of 3 characters (Graph's hint) may show, nothing more. */
const needles = CANARIES.map((c) => c.slice(3));

function findLeaks(where: string, text: string): string[] {
  const found = needles.filter((n) => text.includes(n)).map((n) => `${where}: …${n.slice(0, 12)}`);
  if (JWT.test(text)) found.push(`${where}: a JWT`);
  return found;
}

describe('no secret leaks anywhere: the whole connection path, failures included', function () {
  this.timeout(180_000);
  const logLines: string[] = [];
  const pages: Array<{ url: string; text: string }> = [];
  const invokes: string[] = [];
  let threadId = '';
  let bot: BotUnderTest;
  let chat: Chat;
  let engineer: Chat;
  const ENGINEER = randomUUID();

  before(async () => {
    const scenario = await loadScenario('healthy');
    const app = scenario.tenants.find((t) => t.id === PARTNER_TENANT_ID)!.applications.find((a) => a.appId === APP_ID)!;
    app.secrets = [
      { ...app.secrets[0]!, value: APP_CANARY },
      { ...app.secrets[0]!, keyId: '0d0d0d0d-5555-4555-8555-000000000001', displayName: 'pc', value: PC_CANARY },
    ];
    bot = await BotUnderTest.start({ teamsLimits: false, logLines, env: { SUPPORT_ENGINEERS: ENGINEER } });
    await bot.loadScenario(scenario);
  });
  after(() => bot.stop());

  /** What a browser gets from the bot for one of its links (PUBLIC_BASE_URL is not where it listens in tests). */
  async function open(link: string): Promise<{ status: number; location?: string; text: string }> {
    const u = new URL(link);
    const res = await fetch(`${bot.url}${u.pathname}${u.search}`, { redirect: 'manual' });
    const answer = { status: res.status, location: res.headers.get('location') ?? undefined, text: await res.text() };
    pages.push({ url: u.pathname, text: answer.text });
    return answer;
  }

  function signInUrlOnCard(): string {
    const m = /"url":"(http:\/\/localhost:3978\/auth\/start\?s=[^"]+)"/.exec(JSON.stringify(chat.lastCard().card));
    assert.ok(m, 'the sign-in card carries the link');
    return m[1]!;
  }

  it('runs intake, failures, sign-in, a replay and a declined consent, and rotation', async () => {
    ({ chat } = await toPreparation(bot, { skipChecklist: true }));
    const entra = { tenant: PARTNER_TENANT_ID, serviceAccount: SERVICE_ACCOUNT_UPN, appId: APP_ID };
    await chat.press('Save and check', { ...entra, appSecret: WRONG_CANARY }, { count: 2 }); // refused after one retry
    await chat.press('Save and check', { ...entra, appSecret: APP_SECRET_KEY_ID }, { count: 1 }); // the secret's ID
    await chat.press('Save and check', { ...entra, appSecret: ` ${APP_CANARY} ` }, { count: 3 });
    await chat.press('Save', { pcAppId: APP_ID, pcSecret: PC_CANARY, pcSecretExpires: '2099-01-01' }, { count: 1 }); // too far away
    await chat.press('Save', { pcAppId: APP_ID, pcSecret: PC_CANARY, pcSecretExpires: new Date(Date.now() + 200 * 86_400_000).toISOString().slice(0, 10) }, { count: 3 });
    await chat.say('status', 1);

    // A declined consent first, through a fresh link.
    await chat.press('Get a new link', {}, { count: 0 });
    const declined = await open(signInUrlOnCard());
    assert.equal(declined.status, 302);
    const cancel = await completeEntraPage(declined.location!, { upn: SERVICE_ACCOUNT_UPN, password: SERVICE_ACCOUNT_PASSWORD, mfa: true, decision: 'cancel' });
    const refused = await open(cancel.location!);
    assert.ok(refused.status >= 400, `declined consent page status ${refused.status}`);
    await chat.client.waitFor((entries) => entries.some((e) => /declined/i.test(e.activity.text ?? '')));

    // Then the real sign-in, and its callback replayed.
    await chat.press('Get a new link', {}, { count: 0 });
    const start = await open(signInUrlOnCard());
    const entraAnswer = await completeEntraPage(start.location!, { upn: SERVICE_ACCOUNT_UPN, password: SERVICE_ACCOUNT_PASSWORD, mfa: true });
    const done = await open(entraAnswer.location!);
    assert.equal(done.status, 200, done.text.slice(0, 300));
    const replay = await open(entraAnswer.location!);
    assert.ok(replay.status >= 400);
    await chat.client.waitFor((entries) => entries.some((e) => /Partner Center is connected/.test(e.activity.text ?? '')));
    assert.ok((await bot.app.partners.get(chat.client.conversation.tenantId))?.consent.at);

    // A token really used from the stored cache, then rotation through the cards.
    const token = await bot.app.tokens.userToken(chat.client.conversation.tenantId);
    assert.ok(token.ok, 'a Partner Center token from the stored consent');

    // The full checks and the first customer sync (journey steps 10 and 11: delegated and app-only
    // tokens, the Partner Center web app's secret for the customer list), a re-run, a typed sync.
    // The sign-in carries the journey on by itself: checks, then the sync, then the end.
    await chat.client.waitFor((entries) => entries.some((e) => /Onboarding is complete/.test(e.activity.text ?? '')), { timeoutMs: 60_000 });
    await chat.refresh();
    await chat.say('recheck', 2);
    await chat.say('sync', 1);
    await chat.client.waitFor((entries) => entries.filter((e) => JSON.stringify(e.activity.attachments ?? []).includes('Customer sync done')).length >= 2);
    await chat.say('update credentials', 1);
    await chat.press('Save and check', { ...entra, appSecret: APP_CANARY }, { count: 2 });
    await chat.press('Save', { pcAppId: APP_ID, pcSecret: '', pcSecretExpires: new Date(Date.now() + 100 * 86_400_000).toISOString().slice(0, 10) }, { count: 3 });

    // Support: the channel set, a case with its status card, claim, re-run and resolve from it;
    // then an expired key and a revoked consent, noticed to the partner and copied to the thread.
    engineer = bot.chat({ tenantId: randomUUID(), scope: 'channel', user: { aadObjectId: ENGINEER, name: 'Sam Support' } });
    await engineer.say('set support channel', 1);
    await chat.say('support', 1);
    const tenant = chat.client.conversation.tenantId;
    const supportCase = (await bot.app.db.query<{ thread_id: string; card_activity_id: string }>('SELECT thread_id, card_activity_id FROM support_cases WHERE tenant_id = $1', [tenant]))[0]!;
    for (const verb of ['support.claim', 'support.rerun', 'support.resolve']) {
      const turn = await engineer.client.execute({ verb, data: { tenantId: tenant } }, { replyToId: supportCase.card_activity_id });
      invokes.push(JSON.stringify(turn.body));
    }
    await bot.app.db.query("UPDATE partners SET credentials = jsonb_set(credentials, '{pcSecret,expiresAt}', to_jsonb((now() - interval '2 days')::text)) WHERE tenant_id = $1", [tenant]);
    await bot.app.watch.scanPartner((await bot.app.partners.get(tenant))!);
    await bot.app.db.query("UPDATE partners SET consent_broken_at = now(), consent_broken_reason = 'AADSTS50173' WHERE tenant_id = $1", [tenant]);
    await bot.app.watch.consentRevoked((await bot.app.partners.get(tenant))!, 'Access was revoked.');
    assert.ok((await bot.app.dispatcher.drain()) >= 4, 'the notices and their copies were sent');
    threadId = supportCase.thread_id;
  });

  it('finds no secret, password or token in logs, chat, pages, database tables or raw files', async () => {
    const leaks: string[] = [];
    assert.ok(logLines.length > 0, 'the bot logged');
    logLines.forEach((l, i) => leaks.push(...findLeaks(`log line ${i}`, l)));
    const transcript = await chat.client.transcript();
    assert.ok(transcript.length > 10);
    transcript.forEach((e, i) => leaks.push(...findLeaks(`activity ${i}`, JSON.stringify(e.activity))));
    assert.ok(pages.length >= 5);
    pages.forEach((p) => leaks.push(...findLeaks(`page ${p.url}`, p.text)));
    // The support channel: the status card as posted and updated, the invoke answers, the notice copies.
    const thread = await engineer.client.transcript(threadId);
    assert.ok(thread.length >= 3, 'the case card and the notice copies');
    thread.forEach((e, i) => leaks.push(...findLeaks(`support thread activity ${i}`, JSON.stringify([e.original, e.updates, e.activity]))));
    assert.equal(invokes.length, 3);
    invokes.forEach((b, i) => leaks.push(...findLeaks(`support invoke ${i}`, b)));

    // Ours and the job engine's (its jobs carry ids only).
    const tables = await bot.app.db.query<{ table_schema: string; table_name: string }>(
      "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema IN ('public', 'pgboss') AND table_type = 'BASE TABLE'");
    assert.ok(tables.some((t) => t.table_name === 'audit_log') && tables.some((t) => t.table_name === 'secrets'));
    assert.ok(tables.some((t) => t.table_name === 'customers') && tables.some((t) => t.table_schema === 'pgboss' && t.table_name === 'job'));
    assert.ok(tables.some((t) => t.table_name === 'support_cases') && tables.some((t) => t.table_name === 'notices'));
    for (const { table_schema, table_name } of tables) {
      const rows = await bot.app.db.query(`SELECT * FROM "${table_schema}"."${table_name}"`);
      leaks.push(...findLeaks(`table ${table_schema}.${table_name}`, JSON.stringify(rows, (_k, v: unknown) => (Buffer.isBuffer(v) ? v.toString('latin1') : v))));
    }
    // The embedded database's files and everything else under the data dir, byte for byte.
    await bot.app.db.query('CHECKPOINT');
    const files = await filesUnder(bot.dataDir);
    assert.ok(files.length > 5);
    for (const file of files) {
      if ((await stat(file)).size > 64 * 1024 * 1024) continue;
      leaks.push(...findLeaks(`file ${file.slice(bot.dataDir.length)}`, (await readFile(file)).toString('latin1')));
    }
    assert.deepEqual(leaks, []);
    // The values really are kept, in the secret store only.
    const tenant = chat.client.conversation.tenantId;
    const names = await bot.app.secrets.list(`partner-${tenant}-`);
    assert.deepEqual(names.map((n) => n.slice(`partner-${tenant}-`.length)).sort(), ['app-secret', 'msal-cache', 'pc-secret']);
    assert.equal(await bot.app.secrets.get(`partner-${tenant}-app-secret`), APP_CANARY, 'the scan looked for the values really used');
    assert.equal(await bot.app.secrets.get(`partner-${tenant}-pc-secret`), PC_CANARY);
    assert.equal(findLeaks('control', `x${APP_CANARY}x`).length, 1, 'the scanner finds a canary');
  });
});
