import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { secretName } from '../../src/credentials/credential-service';
import { BotUnderTest } from '../helpers/chat';
import { PARTNER_TENANT_ID, SETUP_APP_TAG, SIM_SETUP_APP_ID, SIM_SETUP_APP_SECRET } from '../simulator/scenarios/ids';
import { startSimulator, type Simulator } from '../simulator/server';
import { adminChat, adminSignIn, chooseSetup, waitForText } from './setup-harness';
import { filesUnder, JWT } from '../helpers/leak-scan';


/**
 * The secret the setup run creates, and the administrator's token it works with, appear nowhere but
 * where they belong (issue 30 acceptance): not in a log line (most verbose level), the chat (updates
 * included), a page, a database table or a raw file of the data directory; the secret is in the
 * secret store, the token in no cache.
 */
describe('Set it up for me: no secret or token leaks', function () {
  this.timeout(180_000);
  let sim: Simulator;
  let bot: BotUnderTest;
  const logLines: string[] = [];

  before(async () => {
    sim = await startSimulator({ scenario: 'setup-empty' });
    bot = await BotUnderTest.start({
      sim, teamsLimits: false, logLines, sleep: async () => undefined,
      env: { SETUP_APP_ID: SIM_SETUP_APP_ID, SETUP_APP_SECRET: SIM_SETUP_APP_SECRET },
    });
  });
  after(async () => {
    await bot.stop();
  });

  it('finds the created secret only in the secret store, and no token anywhere', async () => {
    const chat = adminChat(bot);
    const page = await adminSignIn(bot, await chooseSetup(chat));
    assert.equal(page.status, 200);
    await waitForText(chat, /Sign in as the service account/, 120_000);
    const app = sim.scenario.tenants.find((t) => t.id === PARTNER_TENANT_ID)!.applications.find((a) => a.tags.includes(SETUP_APP_TAG))!;
    const secret = app.secrets[0]!.value;
    assert.equal(await bot.app.secrets.get(secretName(PARTNER_TENANT_ID, 'appSecret')), secret, 'the scan looks for the value really made');
    const needle = secret.slice(3);
    const leaks: string[] = [];
    const scan = (where: string, text: string) => {
      if (text.includes(needle)) leaks.push(`${where}: the secret`);
      if (JWT.test(text)) leaks.push(`${where}: a JWT`);
    };

    assert.ok(logLines.some((l) => l.includes('setup step done')), 'the run logged');
    logLines.forEach((l, i) => scan(`log line ${i}`, l));
    const transcript = await chat.client.transcript();
    transcript.forEach((e, i) => scan(`activity ${i}`, JSON.stringify([e.original, e.updates, e.activity])));
    scan('the sign-in page', page.text);
    const tables = await bot.app.db.query<{ table_schema: string; table_name: string }>(
      "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema IN ('public', 'pgboss') AND table_type = 'BASE TABLE'");
    assert.ok(tables.some((t) => t.table_name === 'partner_setups'));
    for (const { table_schema, table_name } of tables) {
      const rows = await bot.app.db.query(`SELECT * FROM "${table_schema}"."${table_name}"`);
      scan(`table ${table_schema}.${table_name}`, JSON.stringify(rows, (_k, v: unknown) => (Buffer.isBuffer(v) ? v.toString('latin1') : v)));
    }
    await bot.app.db.query('CHECKPOINT');
    for (const file of await filesUnder(bot.dataDir)) {
      if ((await stat(file)).size > 64 * 1024 * 1024) continue;
      scan(`file ${file.slice(bot.dataDir.length)}`, (await readFile(file)).toString('latin1'));
    }
    assert.deepEqual(leaks, []);
    // Only the app secret is kept for the partner: no token cache from the setup sign-in.
    assert.deepEqual(await bot.app.secrets.list(`partner-${PARTNER_TENANT_ID}-`), [secretName(PARTNER_TENANT_ID, 'appSecret')]);
  });
});
