import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { SETUP_STEPS } from '../../src/setup/setup-steps';
import { openDatabase, type Db } from '../../src/store/db';
import { ConsentHarness, textsOf } from '../auth/consent-harness';
import { BotClient } from '../harness/bot-client';
import { freePort, startBot, type BotProcess } from '../helpers/bot-process';
import { cardText, Chat, PRIMARY } from '../helpers/chat';
import { ownSchema, TEST_DATABASE_URL } from '../helpers/databases';
import {
  PARTNER_TENANT_ID, SERVICE_ACCOUNT_ID, SETUP_ADMIN_ID, SETUP_APP_TAG, SIM_SETUP_APP_ID, SIM_SETUP_APP_SECRET,
} from '../simulator/scenarios/ids';
import { startSimulator, type Simulator } from '../simulator/server';
import type { TranscriptEntry } from '../simulator/services/connector';
import { adminSignIn, chooseSetup, openUrlOf, waitForText } from './setup-harness';

if (!TEST_DATABASE_URL) console.log('    (setup SIGKILL test not run: it reads the killed bot\'s database, which needs PostgreSQL; TEST_DATABASE_URL is not set, .ci/run sets it)');

/**
 * "Set it up for me" resumes after a SIGKILL (issue 30 acceptance): a real bot process is killed
 * once per step of the setup run, as soon as the step before it is recorded, and started again.
 * The administrator's token died with the process, so the restarted bot tells the chat where the
 * run stopped and asks for a new sign-in; each new run goes on from there. At the end: exactly one
 * app, service principal, live secret, role assignment each, grant each and membership each.
 */
(TEST_DATABASE_URL ? describe : describe.skip)('Set it up for me: SIGKILL at each step (a real bot process, PostgreSQL)', function () {
  this.timeout(600_000);
  let sim: Simulator;
  let h: ConsentHarness | undefined;
  let schema: Awaited<ReturnType<typeof ownSchema>>;
  let db: Db;
  let bot: BotProcess | undefined;

  before(async () => {
    sim = await startSimulator({ scenario: 'setup-empty' });
    schema = await ownSchema(TEST_DATABASE_URL!, 'setupkill');
    // The harness migrates the schema and gives the bot's environment; only the bot process works.
    h = await ConsentHarness.start('setup-empty', { sim, env: { DATABASE_URL: schema.url, SETUP_APP_ID: SIM_SETUP_APP_ID, SETUP_APP_SECRET: SIM_SETUP_APP_SECRET } });
    await h.app.stop();
    db = await openDatabase({ kind: 'postgres', url: schema.url });
  });
  after(async () => {
    await bot?.stop('SIGKILL');
    await db?.close();
    await schema?.drop();
    if (h) await rm(h.dataDir, { recursive: true, force: true });
    await sim?.stop();
  });

  const boot = (port: number) => startBot({ entry: 'src', env: { ...h!.env, LOG_LEVEL: 'warn', PORT: String(port) }, timeoutMs: 120_000 });
  const recorded = async () => (await db.query<{ n: number; status: string }>(
    "SELECT (SELECT count(*) FROM jsonb_object_keys(steps))::int AS n, status FROM partner_setups WHERE tenant_id = $1", [PARTNER_TENANT_ID]))[0];

  it('is killed once per step and finishes with one of everything', async () => {
    const port = await freePort();
    bot = await boot(port);
    const client = new BotClient({
      endpoint: `${bot.url}/api/messages`, simulatorUrl: sim.baseUrl, quietMs: 150, timeoutMs: 60_000,
      conversation: { tenantId: PARTNER_TENANT_ID, user: { aadObjectId: SETUP_ADMIN_ID, name: 'Jordan Global Admin', userPrincipalName: PRIMARY.email } },
    });
    const chat = new Chat(client);
    let url = await chooseSetup(chat);

    const kills: number[] = [];
    for (let k = 1; k < SETUP_STEPS.length; k++) {
      const page = await adminSignIn(bot, url);
      assert.equal(page.status, 200);
      // As soon as k steps are recorded, the process dies, somewhere in step k + 1.
      let row = await recorded();
      while (row && row.status === 'running' && row.n < k) {
        await delay(5);
        row = await recorded();
      }
      await bot.stop('SIGKILL');
      row = await recorded();
      if (!row || row.status !== 'running') break; // it finished (or stopped) before the kill
      kills.push(row.n);
      // The run's lease would lapse after its 90 s: the test moves that clock instead of waiting.
      await db.query('UPDATE partner_setups SET lease_until = now() WHERE tenant_id = $1', [PARTNER_TENANT_ID]);
      bot = await boot(port);
      // Waits for this restart's message: the earlier restarts' are in the transcript already.
      const toldNow = (e: TranscriptEntry[]) => textsOf(e).filter((t) => t.includes('because the bot restarted')).length >= kills.length;
      await client.waitFor((e) => (toldNow(e) ? e : undefined), { timeoutMs: 60_000 });
      await delay(500);
      const told = textsOf(await client.transcript()).filter((t) => t.includes('because the bot restarted'));
      assert.equal(told.length, kills.length, 'the chat is told once per restart');
      await chat.refresh();
      await chat.press('Try again from here');
      assert.match(cardText(chat.lastCard().card), /A Global Administrator signs in for the setup/);
      url = openUrlOf(chat);
    }
    console.log(`    killed in ${kills.length} steps: ${kills.join(", ")}`);
    assert.ok(kills.length >= 5, `killed in ${kills.length} steps: ${kills.join(', ')}`);
    const last = await recorded();
    if (last?.status !== 'done') {
      // The last sign-in after the last kill: the run finishes.
      assert.equal((await adminSignIn(bot!, url)).status, 200);
    }
    await waitForText(chat, /Sign in as the service account/, 120_000);
    assert.equal((await recorded())?.status, 'done');

    const tenant = sim.scenario.tenants.find((t) => t.id === PARTNER_TENANT_ID)!;
    const apps = tenant.applications.filter((a) => a.tags.includes(SETUP_APP_TAG));
    assert.equal(apps.length, 1, 'one app');
    const app = apps[0]!;
    assert.equal(app.hasServicePrincipal, true);
    assert.equal(app.secrets.length, 1, 'one live secret');
    assert.equal(new Set(app.grantedAppRoles).size, app.grantedAppRoles.length);
    assert.equal(app.grantedAppRoles.length, 4);
    assert.deepEqual(app.grantedScopes.filter((s) => s === 'User.Read'), ['User.Read']);
    assert.equal(app.partnerCenterConsent, true);
    assert.deepEqual(app.servicePrincipalGroups.filter((g) => g === 'AdminAgents'), ['AdminAgents']);
    assert.deepEqual(tenant.users.find((u) => u.id === SERVICE_ACCOUNT_ID)!.groups.filter((g) => g === 'AdminAgents'), ['AdminAgents']);
  });
});
