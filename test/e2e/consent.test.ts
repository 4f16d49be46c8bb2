import assert from 'node:assert/strict';
import { join } from 'node:path';
import { COMPANY } from '../helpers/chat';
import { ROOT } from '../helpers/bot-process';
import { APP_ID, APP_SECRET_VALUE, PARTNER_CUSTOM_DOMAIN, SERVICE_ACCOUNT_PASSWORD, SERVICE_ACCOUNT_UPN } from '../simulator/scenarios/ids';
import { docScreenshot } from './playground';
import { sandboxInPlayground } from './sandbox-process';

/**
 * The whole connection in the Agents Playground, as a partner admin does it: part one, the
 * checklist, the credential cards, then the sign-in card's button opens the simulator's sign-in
 * page in the same browser; after sign-in, MFA and consent the bot says so in the chat.
 */
describe('connecting in the Agents Playground (headless Chromium): credentials, sign-in, consent', function () {
  this.timeout(240_000);
  // Chromium trusts nothing extra: the simulator's test CA is not in it, as in a newcomer's browser.
  const sandbox = sandboxInPlayground('consent', async () => ({ timeoutMs: 20_000 }));

  it('fills the credential cards, signs in through the sign-in page in the same browser, and the chat confirms', async () => {
    const s = sandbox.session();
    await s.openChat('Personal Chat');
    await s.waitForCard({ containing: 'Welcome' });
    await s.clickCardButton("Let's start");

    const company = await s.waitForCard({ containing: 'Step 1 of 11 · Company details' });
    await s.fillCompanyCard(company, COMPANY, 'Germany');
    await docScreenshot('company-card', company);
    await s.clickCardButton('Save company details', company);

    // The Playground's user is the scenario's Global Administrator: as primary contact their
    // address is verified from the Teams sign-in, no mail needed.
    const primary = await s.waitForCard({ containing: 'Step 2 of 11 · Primary contact' });
    await s.fillInput('First name', 'Partner', primary);
    await s.fillInput('Last name', 'Admin', primary);
    await s.fillInput('Email', SERVICE_ACCOUNT_UPN, primary);
    await s.fillInput('Phone', '030 1234567', primary);
    await s.clickCardButton('Save contact', primary);
    await s.clickCardButton('Skip: no secondary contact', await s.waitForCard({ containing: 'Step 3 of 11 · Secondary contact' }));
    await s.clickCardButton('Confirm', await s.waitForCard({ containing: 'Step 4 of 11 · Review' }));

    const checklist = await s.waitForCard({ containing: 'Step 6 of 11 · Prepare your tenant' });
    await s.screenshot('1-checklist');
    await s.clickCardButton("I've done this", checklist);

    const entra = await s.waitForCard({ containing: 'Step 7 of 11 · Your tenant and Entra app' });
    await s.fillInput('Partner tenant', PARTNER_CUSTOM_DOMAIN, entra);
    await s.fillInput('Service account', SERVICE_ACCOUNT_UPN, entra);
    await s.fillInput('Application (client) ID', APP_ID, entra);
    await s.fillInput('Client secret value', `${APP_SECRET_VALUE} `, entra);
    await s.screenshot('2-entra-card');
    await s.clickCardButton('Save and check', entra);

    const pc = await s.waitForCard({ containing: 'Step 8 of 11 · Partner Center web app' });
    // The summary replaces the card beside the next card's arrival: it may show a moment after it.
    const summary = await (await s.waitForCard({ containing: 'Tenant and Entra app saved' })).innerText();
    assert.ok(summary, 'the Entra card became a masked summary');
    assert.match(summary, /Qd7••••••••/);
    assert.ok(!(await s.cardTexts()).join(' ').includes(APP_SECRET_VALUE), 'no card shows the secret');
    await s.fillInput('Web app ID', APP_ID, pc);
    await s.fillInput('Web app key (secret)', APP_SECRET_VALUE, pc);
    await s.fillInput('Key expires (YYYY-MM-DD)', new Date(Date.now() + 300 * 86_400_000).toISOString().slice(0, 10), pc);
    await s.clickCardButton('Save', pc);

    const signInCard = await s.waitForCard({ containing: 'Step 9 of 11 · Sign in as the service account' });
    await s.screenshot('3-sign-in-card');
    await docScreenshot('sign-in-card', signInCard);
    const before = await s.cardTexts();
    // The journey runs on by itself after the sign-in: record every version of the cards from here.
    await s.recordCardRenders();
    const signIn = await s.clickCardButtonOpeningPage('Sign in', signInCard);
    // No certificate warning on the way: the page is the simulator's sign-in page, served to the
    // browser from a loopback host it trusts, not Chromium's interstitial (chrome-error://, "Privacy error").
    await signIn.waitForLoadState('load');
    assert.doesNotMatch(signIn.url(), /^chrome-error:/, `a browser warning instead of the sign-in page (title ${JSON.stringify(await signIn.title())})`);
    assert.equal(await signIn.title(), 'Sign in to your account', `at ${signIn.url()}`);
    await docScreenshot('sign-in-page', signIn);
    // The simulator's sign-in page (login_hint fills the account), then MFA, then consent.
    await signIn.getByLabel('Account').waitFor().catch(async (err: unknown) => {
      const recent = s.requests.slice(-5).map((r) => `${r.url.slice(0, 120)} ${r.outcome}`).join(' | ');
      throw new Error(`no sign-in form at ${signIn.url()}: ${(await signIn.locator('body').innerText().catch(() => '')).slice(0, 200)} (requests: ${recent}) (${String(err).slice(0, 100)})`);
    });
    assert.equal(await signIn.getByLabel('Account').inputValue(), SERVICE_ACCOUNT_UPN);
    await signIn.getByLabel('Password').fill(SERVICE_ACCOUNT_PASSWORD);
    await signIn.getByRole('button', { name: 'Sign in' }).click();
    await signIn.getByLabel('Sign-in approved').check();
    await signIn.getByRole('button', { name: 'Verify' }).click();
    await signIn.getByRole('button', { name: 'Accept' }).click();
    await signIn.waitForURL(/\/auth\/callback/);
    const pageText = await signIn.locator('body').innerText();
    assert.match(pageText, /Teams/i, `the page sends the person back to Teams: ${pageText}`);
    assert.ok(!pageText.includes(APP_SECRET_VALUE));
    await signIn.screenshot({ path: join(ROOT, 'test-results', 'consent-4-callback-page.png') });
    await signIn.close();

    // The bot confirms in the chat, proactively.
    const deadline = Date.now() + 20_000;
    let said = '';
    while (Date.now() < deadline) {
      said = (await s.page.locator('body').innerText());
      if (/Partner Center is connected/.test(said)) break;
      await s.page.waitForTimeout(200);
    }
    await s.screenshot('5-confirmed');
    assert.match(said, /Partner Center is connected/, 'the chat was told');
    // The journey carries on by itself: the sign-in card becomes its summary and it runs journey step 10, the full checks, and posts them before the verdict; then step
    // 11, the first customer sync: its progress card changes in place, then the summary card.
    await s.page.getByRole('paragraph').filter({ hasText: 'the connection is done and verified' }).waitFor();
    await docScreenshot('checks-card', await s.waitForCard({ containing: 'Checks: your connection is verified' }));
    const syncSummary = await s.waitForCard({ containing: 'Customer sync done', timeoutMs: 60_000 });
    await s.screenshot('7-sync-summary');
    assert.match(await syncSummary.innerText(), /Customers\s+25/);
    const rendered = await s.renderedCardTexts();
    assert.ok(rendered.some((t) => /Customer sync: reading your (GDAP relationships|customers)/.test(t)), `the progress card as it ran: ${rendered.filter((t) => t.includes('sync')).join(' | ')}`);
    const texts = await s.cardTexts();
    assert.ok(texts.some((t) => t.includes('Customer sync finished: the summary is below')), 'the same card, changed in place to its final state');
    assert.ok(!texts.some((t) => /Customer sync: reading/.test(t)), 'no progress card is left in its running state');
    await s.page.getByRole('paragraph').filter({ hasText: 'Onboarding is complete' }).waitFor();
    assert.ok(!(await s.cardTexts()).some((t) => /Ready for the next step/.test(t)), 'no Continue stop');
    assert.ok((await s.cardTexts()).some((t) => t.includes('Signed in and consented')), 'the sign-in card was replaced by its summary');
    await s.screenshot('6-connected');
    assert.ok((await s.cardTexts()).length >= before.length);
    assert.deepEqual(s.nonLoopbackRequests().filter((r) => r.finished), [], 'the browser reached nothing but this machine');
  });
});
