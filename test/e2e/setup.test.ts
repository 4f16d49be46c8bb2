import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { COMPANY } from '../helpers/chat';
import { SERVICE_ACCOUNT_PASSWORD, SERVICE_ACCOUNT_UPN, SETUP_ADMIN_UPN, SIM_SETUP_APP_ID, SIM_SETUP_APP_SECRET } from '../simulator/scenarios/ids';
import { PlaygroundSession, RESULTS_DIR, skipWithoutChromium } from './playground';
import { sandboxArgs, startSandboxProcess, stopSandboxProcess, type SandboxRun } from './sandbox-process';

/** Each new card of the setup path, as the partner sees it: test-results/setup-*.png (SETUP_SHOTS overrides the folder). */
const SHOTS_DIR = process.env.SETUP_SHOTS ?? RESULTS_DIR;

/** Saves `card` alone as <SHOTS_DIR>/<name>.png, the window grown to hold it. */
async function shot(name: string, card: Locator): Promise<void> {
  await mkdir(SHOTS_DIR, { recursive: true });
  const page = card.page();
  const before = page.viewportSize() ?? { width: 1280, height: 900 };
  try {
    const box = await card.boundingBox();
    await page.setViewportSize({ width: before.width, height: Math.max(before.height, Math.ceil((box?.height ?? 0) + 300)) });
    await card.scrollIntoViewIfNeeded();
    await card.screenshot({ path: join(SHOTS_DIR, `setup-${name}.png`), animations: 'disabled' });
  } finally {
    await page.setViewportSize(before);
  }
}

/**
 * "Set it up for me" (issue 30) in the Agents Playground, as a partner admin walks it on a tenant
 * with no app yet (scenario setup-empty): the preparation card's choice, the service account card,
 * a Global Administrator's sign-in on the sign-in page (declined once: the chat says so and offers
 * "Try again from here"; then accepted), the progress card ticking over in place to its end, then the
 * service account's sign-in on the app the bot made, the full checks and the sync, to "Onboarding is
 * complete". The sandbox runs with the simulator's setup app as the operator's (SETUP_APP_ID).
 */
describe('"Set it up for me" in the Agents Playground (headless Chromium): from the choice to "Onboarding is complete"', function () {
  this.timeout(420_000);
  let dataDir = '';
  let run: SandboxRun | undefined;
  let s: PlaygroundSession;

  before(async function () {
    skipWithoutChromium(this);
    dataDir = await mkdtemp(join(tmpdir(), 'setup-e2e-'));
    run = await startSandboxProcess([...(await sandboxArgs(dataDir)), '--scenario', 'setup-empty'], {
      env: { SETUP_APP_ID: SIM_SETUP_APP_ID, SETUP_APP_SECRET: SIM_SETUP_APP_SECRET },
    });
    s = await PlaygroundSession.open(run.playgroundUrl, { name: 'setup', timeoutMs: 20_000 });
  });
  after(async () => {
    await s?.close();
    await stopSandboxProcess(run);
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  /** The newest card containing `text`. */
  const reach = async (text: string, timeoutMs = 30_000): Promise<Locator> => {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const i = (await s.cardTexts()).findLastIndex((t) => t.includes(text));
      if (i >= 0) return s.page.locator('.ac-adaptiveCard').nth(i);
      await s.page.waitForTimeout(150);
    }
    throw new Error(`no card containing "${text}"; last cards: ${(await s.cardTexts(3)).map((t) => t.slice(0, 160)).join(' | ')}`);
  };
  const reachLine = async (text: string, timeoutMs = 60_000): Promise<void> => {
    await s.page.getByRole('paragraph').filter({ hasText: text }).first().waitFor({ timeout: timeoutMs });
  };
  /** The simulator's sign-in page: account, password, MFA, then the permissions page's answer. */
  const signInOnPage = async (page: Page, upn: string, decision: 'Accept' | 'Cancel'): Promise<string> => {
    await page.waitForLoadState('load');
    assert.doesNotMatch(page.url(), /^chrome-error:/, `a browser warning instead of the sign-in page (title ${JSON.stringify(await page.title())})`);
    await page.getByLabel('Account').waitFor().catch(async (err: unknown) => {
      throw new Error(`no sign-in form at ${page.url()}: ${(await page.locator('body').innerText().catch(() => '')).slice(0, 300)} (${String(err).slice(0, 100)})`);
    });
    await page.getByLabel('Account').fill(upn);
    await page.getByLabel('Password').fill(SERVICE_ACCOUNT_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByLabel('Sign-in approved').check();
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByRole('button', { name: decision, exact: true }).click();
    await page.waitForURL(/\/auth\/callback/);
    const text = await page.locator('body').innerText();
    await page.close();
    return text;
  };

  it('chooses the setup, signs in as Global Administrator (declined once, then accepted), watches it tick over, signs in as the service account, and finishes', async () => {
    // Counted as test/e2e/journey.test.ts counts the manual path: clicks (in the chat and on the
    // sign-in pages) and fields typed; the declined sign-in and its retry are counted apart.
    const tally = { clicks: 0, fields: 0 };
    const detour = { clicks: 0, fields: 0 };
    let count = tally;
    const click = async (title: string, card?: Locator) => { count.clicks++; await s.clickCardButton(title, card); };
    const fill = async (label: string, value: string, card: Locator) => { count.fields++; await s.fillInput(label, value, card); };
    await s.openChat('Personal Chat');
    await s.waitForCard({ containing: 'Welcome' });
    await click("Let's start");

    const company = await reach('Step 1 of 11 · Company details');
    await s.fillCompanyCard(company, COMPANY, 'Germany');
    tally.fields += 7;
    await click('Save company details', company);
    // The Playground's user is the scenario's first Global Administrator (admin@, the future
    // service account): as primary contact their address is verified from Teams, no mail needed.
    const primary = await reach('Step 2 of 11 · Primary contact');
    await fill('First name', 'Partner', primary);
    await fill('Last name', 'Admin', primary);
    await fill('Email', SERVICE_ACCOUNT_UPN, primary);
    await fill('Phone', '030 1234567', primary);
    await click('Save contact', primary);
    await click('Skip: no secondary contact', await reach('Step 3 of 11 · Secondary contact'));
    await click('Confirm', await reach('Step 4 of 11 · Review'));

    // The preparation card offers the choice, "Set it up for me" first and chosen.
    const checklist = await reach('Step 6 of 11 · Prepare your tenant');
    const setupRadio = checklist.getByRole('radio', { name: /^Set it up for me \(recommended\)/ });
    const manualRadio = checklist.getByRole('radio', { name: /^I.ll do it myself/ });
    assert.equal(await setupRadio.isChecked(), true, 'recommended, so chosen already');
    assert.equal(await manualRadio.isChecked(), false);
    await shot('1-prepare-checklist-choice', checklist);
    await setupRadio.check();
    await click("I've done this", checklist);

    const account = await reach('Set up the Entra app for me');
    await shot('2-setup-account', account);
    await fill('Service account (the user the platform works as)', SERVICE_ACCOUNT_UPN, account);
    await click('Continue', account);

    // The administrator's sign-in, declined on Microsoft's permissions page first.
    const signInCard = await reach('A Global Administrator signs in for the setup');
    await shot('3-setup-sign-in', signInCard);
    count = detour;
    count.clicks += 1 + 4; // the card's button, then Sign in, approve, Verify, Cancel on the pages (account and password typed)
    count.fields += 2;
    const declinedPage = await signInOnPage(await s.clickCardButtonOpeningPage('Sign in as an administrator', signInCard), SETUP_ADMIN_UPN, 'Cancel');
    assert.match(declinedPage, /declined/i, `the page says what happened: ${declinedPage.slice(0, 300)}`);
    const failed = await reach('The setup hasn’t started');
    await reachLine('The permissions were declined');
    await shot('4-setup-declined-try-again', failed);
    assert.deepEqual((await s.cardsWithActions()).find((c) => c.text.includes('The setup hasn’t started'))?.actions, ['Try again from here']);

    await s.recordCardRenders();
    const cardsBefore = await s.cardCount();
    await click('Try again from here', failed);
    count = tally;
    const again = await s.waitForCard({ containing: 'A Global Administrator signs in for the setup', after: cardsBefore });
    tally.clicks += 1 + 4; // the card's button, then Sign in, approve, Verify, Accept
    tally.fields += 2; // account, password
    const acceptedPage = await signInOnPage(await s.clickCardButtonOpeningPage('Sign in as an administrator', again), SETUP_ADMIN_UPN, 'Accept');
    assert.match(acceptedPage, /setup is running/i, acceptedPage.slice(0, 300));

    // The progress card: caught while it runs if the run is slower than this poll, and at its end.
    let midRun = false;
    const deadline = Date.now() + 180_000;
    let progress: Locator | undefined;
    while (Date.now() < deadline) {
      const texts = await s.cardTexts();
      const i = texts.findLastIndex((t) => t.includes('Setting up your Entra app') || t.includes('Your Entra app is set up') || t.includes('The setup stopped at'));
      if (i >= 0) {
        const text = texts[i]!;
        if (!midRun && text.includes('Setting up your Entra app')) {
          midRun = true;
          await shot('5-setup-progress-running', s.page.locator('.ac-adaptiveCard').nth(i)).catch(() => { midRun = false; });
        }
        if (text.includes('Your Entra app is set up') || text.includes('The setup stopped at')) {
          progress = s.page.locator('.ac-adaptiveCard').nth(i);
          break;
        }
      }
      await s.page.waitForTimeout(50);
    }
    assert.ok(progress, 'the progress card reached its end');
    await shot('6-setup-progress-finished', progress);
    const finished = (await progress.innerText()).replace(/\s+/g, ' ');
    if (/The setup stopped at/.test(finished)) {
      await reachLine('Try again from here').catch(() => undefined);
      await shot('6b-setup-failed-try-again', progress);
      const chatText = (await s.page.locator('body').innerText()).slice(-1500);
      const log = run!.output().split('\n').filter((l) => /setup|graph|error|warn/i.test(l)).slice(-15).join('\n');
      assert.fail(`the setup stopped: ${finished}\n--- the chat says:\n${chatText}\n--- the sandbox logged:\n${log}`);
    }
    assert.equal((finished.match(/✅/gu) ?? []).length, 9, finished);
    const rendered = await s.renderedCardTexts();
    const running = rendered.filter((t) => t.includes('Setting up your Entra app'));
    assert.ok(running.some((t) => /✅/u.test(t) && /▫️|⏳/u.test(t)), `the card ticked over in place, step by step: ${running.join(' | ')}`);
    console.log(`      progress card: ${running.length} running versions rendered; mid-run screenshot ${midRun ? 'taken' : 'missed (the run was quicker than the poll)'}`);
    await reachLine('Your Entra app is set up');
    await reachLine('A Partner Center web app key is optional');

    // The journey carries on at the service account's sign-in, on the app the bot made.
    const saSignIn = await reach('Sign in as the service account', 60_000);
    await shot('7-service-account-sign-in', saSignIn);
    tally.clicks += 1 + 4; // the card's button, then Sign in, approve, Verify, Accept
    tally.fields += 1; // the password (the account is filled in)
    const saPage = await s.clickCardButtonOpeningPage('Sign in', saSignIn);
    await saPage.waitForLoadState('load');
    assert.equal(await saPage.getByLabel('Account').inputValue(), SERVICE_ACCOUNT_UPN);
    const saDone = await signInOnPage(saPage, SERVICE_ACCOUNT_UPN, 'Accept');
    assert.match(saDone, /Teams/i, saDone.slice(0, 300));

    await reachLine('Partner Center is connected');
    await reachLine('Onboarding is complete', 180_000);
    await s.screenshot('onboarding-complete');
    console.log(`      setup path: ${tally.clicks} clicks, ${tally.fields} fields typed (the declined sign-in and its retry: ${detour.clicks} clicks, ${detour.fields} fields more)`);
    const cards = await s.cardsWithActions();
    const all = cards.map((c) => c.text).join('\n');
    assert.ok(!/eyJ[A-Za-z0-9_-]{10,}\.eyJ/.test(all + (await s.page.locator('body').innerText())), 'no token in the chat');
    assert.ok(cards.some((c) => c.text.includes('Checks: your connection is verified')), 'the full checks passed');
    // No earlier card keeps a button that would do nothing now.
    const choices = new Set(["Let's start", 'Show commands', 'Re-run checks']);
    const live = cards.filter((c) => c.actions.some((a) => !choices.has(a))).map((c) => ({ card: c.text.slice(0, 80), actions: c.actions }));
    assert.deepEqual(live, [], 'no earlier card keeps a live button');
    assert.deepEqual(s.nonLoopbackRequests().filter((r) => r.finished), [], 'the browser reached nothing but this machine');
  });
});
