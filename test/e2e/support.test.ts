import assert from 'node:assert/strict';
import { docScreenshot, type PlaygroundSession } from './playground';
import { sandboxInPlayground } from './sandbox-process';

/**
 * The support channel in the Agents Playground: the sandbox makes the Playground's user a support
 * engineer, who picks the team's General channel; the partner (the same user, in personal chat)
 * asks for support; the case's card appears in the channel, Claim is clicked there, and the card
 * changes in place while the partner is told.
 */
describe('support channel in the Agents Playground (headless Chromium)', function () {
  this.timeout(180_000);
  const sandbox = sandboxInPlayground('support', async () => ({ timeoutMs: 20_000 }));

  const said = async (s: PlaygroundSession, text: string | RegExp) => {
    await s.page.getByRole('paragraph').filter({ hasText: text }).first().waitFor({ timeout: 20_000 }).catch(async (err: unknown) => {
      throw new Error(`the chat never said ${String(text)}; it shows: ${(await s.page.locator('body').innerText()).slice(-600)} (${String(err).slice(0, 80)})`);
    });
  };

  it('the partner asks in personal chat; the card appears in the channel; Claim there changes it; the partner is told', async () => {
    const s = sandbox.session();
    await s.openChat('Personal Chat');
    await s.waitForCard({ containing: 'Welcome' });
    await s.clickCardButton("Let's start");
    await s.waitForCard({ containing: 'Step 1 of 11 · Company details' });

    await s.openChannel('General');
    await s.post('set support channel');
    await said(s, 'is now the support channel');
    await s.screenshot('support-1-channel-set');

    await s.openChat('Personal Chat');
    await s.send('support');
    await said(s, 'Your request is with the support team');

    await s.openChannel('General');
    const card = await s.waitForCard({ containing: 'Support case:' });
    assert.match(await card.innerText(), /Open: waiting for an engineer/);
    await s.screenshot('support-2-case-card');
    await docScreenshot('support-card', card);
    await s.recordCardRenders();
    await s.clickCardButton('Claim', card);
    const claimed = await s.waitForCard({ containing: /Claimed by/ });
    await s.screenshot('support-3-claimed');
    const text = await claimed.innerText();
    assert.doesNotMatch(text, /\bClaim\b(?! by)/, 'no Claim button once claimed');
    assert.ok((await s.cardTexts()).filter((t) => t.includes('Support case:')).every((t) => !t.includes('Open: waiting')), 'the card changed in place: none is left open');

    await s.openChat('Personal Chat');
    await said(s, /from the support team took your case/);
    assert.deepEqual(s.nonLoopbackRequests().filter((r) => r.finished), [], 'the browser reached nothing but this machine');
  });
});
