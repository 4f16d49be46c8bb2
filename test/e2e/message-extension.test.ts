import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { playgroundConfig } from '../../scripts/sandbox';
import { openDatabase } from '../../src/store/db';
import { migrate } from '../../src/store/migrate';
import { PartnerRepository } from '../../src/store/partners';
import type { RelationshipEvidence } from '../../src/store/customers';
import { loadScenario } from '../simulator/scenario';
import { PlaygroundSession, skipWithoutChromium } from './playground';
import { sandboxArgs, startSandboxProcess, stopSandboxProcess, type SandboxRun } from './sandbox-process';

/** The manifest's search command (manifest/manifest.json, composeExtensions[0].commands[0]). */
const COMMAND_ID = 'findCustomer';
const PARAMETER = 'customer';

const day = 86_400_000;
const relationship = (name: string, status: string, endsInDays: number, reaches: boolean): RelationshipEvidence => ({
  id: randomUUID(), name, status, endDateTime: new Date(Date.now() + endsInDays * day).toISOString(), autoExtendDuration: 'P180D',
  roles: ['Directory Readers', 'User Administrator'], verdict: status === 'active' && reaches ? 'manageable' : status === 'expired' ? 'expired' : 'no-access',
  assignments: [{ id: randomUUID(), status: 'active', groupId: randomUUID(), groupName: reaches ? 'AdminAgents' : null, reachesAccount: reaches, roles: ['Directory Readers', 'User Administrator'] }],
});

/** The partner's customers as a finished sync leaves them: two Maples (one manageable, one not) and one other. */
const CUSTOMERS = [
  { name: 'Maple Dental GmbH', domain: 'mapledental.onmicrosoft.com', verdict: 'manageable', evidence: [relationship('Maple Dental admin', 'active', 400, true)] },
  { name: 'Maple Logistics AG', domain: 'maplelogistics.onmicrosoft.com', verdict: 'expired', evidence: [relationship('Maple Logistics admin', 'expired', -3, true)] },
  { name: 'Birch Foods Ltd', domain: 'birchfoods.onmicrosoft.com', verdict: 'none', evidence: [] },
] as const;

/**
 * "Find a customer" in the Microsoft 365 Agents Playground, as a partner admin uses it: the
 * compose box's message extension button, Search Command, the customer typed in its search box,
 * the matching customers listed with their verdicts, one picked, its card inserted in the compose
 * box and sent into the chat, where the bot leaves it be.
 *
 * The Playground does not read the app manifest (its README, "Limitations": "Application manifest
 * is not being processed"), so the person gives the command id and parameter name in the search
 * dialog's "Specify Command ID or Parameter" section, which it then sends as Teams does
 * (composeExtension/query with commandId, parameters [{name, value}], queryOptions {skip, count}).
 *
 * The bot's database is made before the sandbox starts, as a finished sync leaves it (the partner,
 * with the Playground's user as its owner, and three synced customers): reaching that through the
 * chat means the whole journey and a sync, which test/e2e/journey.test.ts and the sync tests walk.
 */
describe('Find a customer (message extension) in the Agents Playground (headless Chromium)', function () {
  this.timeout(180_000);
  let dataDir = '';
  let run: SandboxRun | undefined;
  let s: PlaygroundSession | undefined;

  before(async function () {
    skipWithoutChromium(this);
    dataDir = await mkdtemp(join(tmpdir(), 'message-extension-e2e-'));
    const teams = playgroundConfig(await loadScenario('healthy'));
    const { tenantId, currentUser } = teams.config as { tenantId: string; currentUser: { aadObjectId: string; name: string } };
    const db = await openDatabase({ kind: 'pglite', dir: join(dataDir, 'pglite') });
    try {
      await migrate(db);
      await new PartnerRepository(db).createIfMissing(tenantId, { aadObjectId: currentUser.aadObjectId, name: currentUser.name });
      for (const c of CUSTOMERS) {
        await db.query(
          `INSERT INTO customers (tenant_id, customer_tenant_id, pc_customer_id, company_name, domain, manageable, not_manageable_reason,
             gdap_relationship_ids, gdap_evidence, last_seen_sync)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8::text[], $9::jsonb, 0)`,
          [tenantId, randomUUID(), randomUUID(), c.name, c.domain, c.verdict === 'manageable', c.verdict === 'manageable' ? null : c.verdict,
            c.evidence.map((r) => r.id), JSON.stringify(c.evidence)]);
      }
    } finally {
      await db.close();
    }
    run = await startSandboxProcess(await sandboxArgs(dataDir));
    s = await PlaygroundSession.open(run.playgroundUrl, { name: 'message-extension', timeoutMs: 20_000 });
  });
  after(async () => {
    await s?.close();
    await stopSandboxProcess(run);
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('typing a customer lists the matches with their verdicts; picking one inserts its card, which is sent into the chat and not answered', async () => {
    const page = s!.page;
    await s!.openChat('Personal Chat');
    await page.getByRole('button', { name: 'Trigger Message Extension App' }).click();
    await page.getByRole('menuitem', { name: 'Search Command' }).click();
    // Fluent UI v9's popover surface, holding the dialog's title.
    const dialog = page.locator('.fui-PopoverSurface').filter({ hasText: 'Search-Based Message Extension' });
    await page.getByText('Specify Command ID or Parameter', { exact: true }).click();
    await page.getByPlaceholder('Command ID', { exact: true }).fill(COMMAND_ID);
    await page.getByPlaceholder('Parameter name', { exact: true }).fill(PARAMETER);
    await page.getByPlaceholder('Enter a search term').fill('maple');
    const results = page.getByRole('heading', { level: 1 }).filter({ hasText: /^Maple / });
    await results.nth(1).waitFor();
    const listed = await dialog.innerText();
    await s!.screenshot('1-results');
    assert.match(listed, /Maple Dental GmbH\s+✅ manageable · mapledental\.onmicrosoft\.com/);
    assert.match(listed, /Maple Logistics AG\s+❌ relationship ended · maplelogistics\.onmicrosoft\.com/);
    assert.doesNotMatch(listed, /Birch/);

    const before = await s!.cardCount();
    await results.filter({ hasText: 'Maple Logistics AG' }).click();
    await s!.screenshot('2-inserted');
    await page.getByRole('button', { name: 'Send Message' }).click();
    const card = await s!.waitForCard({ after: before, containing: 'Maple Logistics AG' });
    await s!.screenshot('3-sent');
    const text = await card.innerText();
    assert.match(text, /Not manageable: the GDAP relationship has ended/);
    assert.match(text, /create a new one in Partner Center/);
    // The sent card is shared, not a command: the next thing the bot says is the answer to the next command.
    const sentAt = await s!.cardCount();
    await s!.send('customers');
    await s!.waitForCard({ after: sentAt, containing: 'Birch Foods Ltd' });
    const chat = await page.locator('body').innerText();
    assert.doesNotMatch(chat, /I didn't catch that|I'm waiting for/, 'no answer to the shared card');
    assert.deepEqual(s!.nonLoopbackRequests().filter((r) => r.finished), [], 'the browser reached nothing but this machine');
  });
});
