import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Locator } from 'playwright-core';
import { COMPANY, PRIMARY } from '../helpers/chat';
import { APP_ID, APP_SECRET_VALUE, PARTNER_CUSTOM_DOMAIN, SERVICE_ACCOUNT_PASSWORD, SERVICE_ACCOUNT_UPN } from '../simulator/scenarios/ids';
import { sandboxInPlayground } from './sandbox-process';

/** A card whose only action is "Continue": a stop that waits for nothing but a click. */
const continueOnly = (c: { actions: string[] }): boolean => c.actions.length === 1 && c.actions[0] === 'Continue';

/**
 * The whole journey in the Agents Playground as a partner admin walks it, from "Let's start" to
 * "Onboarding is complete", with the primary contact's address verified by the link in the mail.
 * Every click and every field typed is counted; a card that offers only "Continue" is pressed (so
 * the walk also runs where such stops exist) and counted as a stop. At the end, no earlier card in
 * the chat may still offer a button, except where the partner still has a real choice.
 */
describe('the whole journey in the Agents Playground (headless Chromium): no Continue-only stop, no live button on a finished step', function () {
  this.timeout(300_000);
  // No certificate is pinned: what the browser opens (the sign-in page) must come from a host it trusts.
  const sandbox = sandboxInPlayground('journey', async () => ({ timeoutMs: 20_000 }));

  it('from "Let\'s start" to "Onboarding is complete" the chat carries on by itself and leaves no stale button', async () => {
    const s = sandbox.session();
    const tally = { clicks: 0, fields: 0, continueStops: 0 };
    const pressed = new Set<number>();
    const click = async (title: string, card?: Locator) => { tally.clicks++; await s.clickCardButton(title, card); };
    const fill = async (label: string, value: string, card: Locator) => { tally.fields++; await s.fillInput(label, value, card); };

    /** Presses any new Continue-only card (counting it); true when one was pressed. */
    const pressContinueStops = async (): Promise<boolean> => {
      const cards = await s.cardsWithActions();
      const i = cards.findIndex((c, idx) => !pressed.has(idx) && continueOnly(c));
      if (i < 0) return false;
      pressed.add(i);
      tally.continueStops++;
      tally.clicks++;
      await s.clickCardButton('Continue', s.page.locator('.ac-adaptiveCard').nth(i));
      return true;
    };
    /** Waits for the newest card containing `text`, pressing Continue-only stops on the way. */
    const reach = async (text: string, timeoutMs = 30_000): Promise<Locator> => {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const texts = await s.cardTexts();
        const i = texts.findLastIndex((t) => t.includes(text));
        if (i >= 0) return s.page.locator('.ac-adaptiveCard').nth(i);
        if (!(await pressContinueStops())) await s.page.waitForTimeout(200);
      }
      throw new Error(`no card containing "${text}"; last cards: ${(await s.cardTexts(3)).map((t) => t.slice(0, 100)).join(' | ')}`);
    };
    /** Waits for a chat line (not a card), pressing Continue-only stops on the way. */
    const reachLine = async (text: string, timeoutMs = 90_000): Promise<void> => {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if ((await s.page.getByRole('paragraph').filter({ hasText: text }).count()) > 0) return;
        if (!(await pressContinueStops())) await s.page.waitForTimeout(250);
      }
      throw new Error(`the chat never said "${text}"`);
    };

    await s.openChat('Personal Chat');
    await s.waitForCard({ containing: 'Welcome' });
    await click("Let's start");

    const company = await reach('Step 1 of 11 · Company details');
    await s.fillCompanyCard(company, COMPANY, 'Germany');
    tally.fields += 7;
    await click('Save company details', company);

    // A primary contact who is not the person chatting: the address is verified by the mail's link.
    const primary = await reach('Step 2 of 11 · Primary contact');
    await fill('First name', PRIMARY.firstName, primary);
    await fill('Last name', PRIMARY.lastName, primary);
    await fill('Email', PRIMARY.email, primary);
    await fill('Phone', PRIMARY.phone, primary);
    await click('Save contact', primary);
    await click('Skip: no secondary contact', await reach('Step 3 of 11 · Secondary contact'));
    await click('Confirm', await reach('Step 4 of 11 · Review'));

    await reach('Step 5 of 11');
    const link = await mailedLink(join(sandbox.dataDir(), 'outbox'), PRIMARY.email);
    tally.clicks++; // the link in the mail
    const mailPage = await s.openPage(link);
    tally.clicks++;
    await mailPage.getByRole('button', { name: 'Yes, confirm' }).click();
    await mailPage.getByText(/verified/i).first().waitFor();
    await mailPage.close();

    const checklist = await reach('Step 6 of 11 · Prepare your tenant');
    const verifyCard = (await s.cardsWithActions()).find((c) => c.text.includes('Step 5 of 11') || c.text.includes('Contact email verified'));
    // Checked at the end, so the walk still counts the whole journey where this fails.
    const verifyCardActions = verifyCard?.actions;
    await click("I've done this", checklist);

    const entra = await reach('Step 7 of 11 · Your tenant and Entra app');
    await fill('Partner tenant', PARTNER_CUSTOM_DOMAIN, entra);
    await fill('Service account', SERVICE_ACCOUNT_UPN, entra);
    await fill('Application (client) ID', APP_ID, entra);
    await fill('Client secret value', APP_SECRET_VALUE, entra);
    await click('Save and check', entra);

    const pc = await reach('Step 8 of 11 · Partner Center web app');
    await fill('Web app ID', APP_ID, pc);
    await fill('Web app key (secret)', APP_SECRET_VALUE, pc);
    await fill('Key expires (YYYY-MM-DD)', new Date(Date.now() + 300 * 86_400_000).toISOString().slice(0, 10), pc);
    await click('Save', pc);

    const signInCard = await reach('Step 9 of 11 · Sign in as the service account');
    tally.clicks++;
    const signIn = await s.clickCardButtonOpeningPage('Sign in', signInCard);
    await signIn.waitForLoadState();
    assert.doesNotMatch(signIn.url(), /^chrome-error:/, `a certificate warning instead of the sign-in page (title ${JSON.stringify(await signIn.title())})`);
    assert.equal(await signIn.title(), 'Sign in to your account', `at ${signIn.url()}`);
    await signIn.getByLabel('Account').waitFor();
    tally.fields++;
    await signIn.getByLabel('Password').fill(SERVICE_ACCOUNT_PASSWORD);
    for (const step of [
      () => signIn.getByRole('button', { name: 'Sign in' }).click(),
      () => signIn.getByLabel('Sign-in approved').check(),
      () => signIn.getByRole('button', { name: 'Verify' }).click(),
      () => signIn.getByRole('button', { name: 'Accept' }).click(),
    ]) {
      tally.clicks++;
      await step();
    }
    await signIn.waitForURL(/\/auth\/callback/);
    await signIn.close();

    await reachLine('Onboarding is complete');
    const cards = await s.cardsWithActions();
    console.log(`      journey: ${tally.clicks} clicks, ${tally.fields} fields typed, ${tally.continueStops} Continue-only stops`);
    assert.deepEqual(verifyCardActions, [], 'the verify-email card had no live button once the link verified the address');
    assert.equal(tally.continueStops, 0, 'no card that only says "Continue"');
    // Real choices stay: the welcome's "Let's start" (later, it says where the partner is) and
    // "Show commands" (help), "Re-run checks" (runs the checks again now, whenever the partner wants).
    const choices = new Set(["Let's start", 'Show commands', 'Re-run checks']);
    const live = cards.filter((c) => c.actions.some((a) => !choices.has(a)));
    if (live.length > 0) console.log(`      live: ${JSON.stringify(live.map((c) => [c.text.slice(0, 60), c.actions]))}`);
    assert.deepEqual(live.map((c) => ({ card: c.text.slice(0, 80), actions: c.actions })), [], 'no earlier card keeps a live button');
    assert.ok(cards.some((c) => c.text.includes('Signed in and consented')), 'the sign-in card became its summary');
    assert.ok(cards.some((c) => c.text.includes('Contact email verified')), 'the verify-email card became its summary');
    assert.deepEqual(s.nonLoopbackRequests().filter((r) => r.finished), [], 'the browser reached nothing but this machine');
    // No status told by an emoji alone: every status icon on every card has its word beside it.
    const emojiOnly = cards.flatMap((c) => [...c.text.matchAll(/(✅|⚠️|❌|❔|🔑)/gu)]
      .map((m) => c.text.slice(m.index, m.index + 90))
      .filter((around) => !/passed|warning|failed|not visible|needs sign-in|after you sign in|expires|expired/i.test(around)));
    assert.ok(cards.some((c) => /✅/u.test(c.text)), 'the checks card is in the chat');
    assert.deepEqual(emojiOnly, [], 'a status icon without its word');
  });
});

/** The verification link in the newest mail to `to` in the sandbox's outbox. */
async function mailedLink(outbox: string, to: string): Promise<string> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const files = (await readdir(outbox).catch(() => [] as string[])).filter((f) => f.endsWith('.json')).sort();
    for (const file of files.reverse()) {
      const mail = JSON.parse(await readFile(join(outbox, file), 'utf8')) as { to: string; text: string };
      const url = /https?:\/\/\S+verify-email\S*/.exec(mail.text)?.[0];
      if (mail.to === to && url) return url;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no verification mail to ${to} in ${outbox}`);
}
