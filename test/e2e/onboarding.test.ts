import assert from 'node:assert/strict';
import { COMPANY, PRIMARY } from '../helpers/chat';
import { sandboxInPlayground } from './sandbox-process';

describe('onboarding in the Agents Playground (headless Chromium): company and contact cards to the review', function () {
  this.timeout(180_000);
  const sandbox = sandboxInPlayground('onboarding');

  it('a person fills the company and contact cards like in Teams and reaches the review card', async () => {
    const s = sandbox.session();
    // The Playground installs the app when it connects; the welcome shows in the personal chat.
    await s.openChat('Personal Chat');
    await s.waitForCard({ containing: 'Welcome' });
    await s.clickCardButton("Let's start");

    const company = await s.waitForCard({ containing: 'Step 1 of 11 · Company details' });
    // A typo in the Partner ID first: the same card comes back with the message under the field.
    await s.fillCompanyCard(company, { ...COMPANY, partnerId: '45x67890' }, 'Germany');
    await s.screenshot('1-company-filled');
    await s.clickCardButton('Save company details', company);
    await s.waitForCard({ containing: 'Partner ID is digits only, like 1234567' });
    await s.screenshot('2-company-error-on-card');
    const fixed = await s.waitForCard({ containing: 'Step 1 of 11 · Company details' });
    await s.fillInput('Partner ID (MPN ID)', COMPANY.partnerId, fixed);
    await s.clickCardButton('Save company details', fixed);

    const primary = await s.waitForCard({ containing: 'Step 2 of 11 · Primary contact' });
    // The summary replaces the card beside the next card's arrival: it may show a moment after it.
    const summary = await (await s.waitForCard({ containing: 'Company details saved' })).innerText();
    assert.ok(summary, 'the company card was replaced by its summary');
    assert.match(summary, /Contoso Cloud Services GmbH/);
    await s.fillInput('First name', PRIMARY.firstName, primary);
    await s.fillInput('Last name', PRIMARY.lastName, primary);
    await s.fillInput('Email', PRIMARY.email, primary);
    await s.fillInput('Phone', PRIMARY.phone, primary);
    await s.fillInput('Role or title (optional)', PRIMARY.role, primary);
    await s.screenshot('3-primary-contact');
    await s.clickCardButton('Save contact', primary);

    const secondary = await s.waitForCard({ containing: 'Step 3 of 11 · Secondary contact' });
    await s.clickCardButton('Skip: no secondary contact', secondary);

    const review = await s.waitForCard({ containing: 'Step 4 of 11 · Review' });
    const text = await review.innerText();
    assert.match(text, /Contoso Cloud Services GmbH/);
    assert.match(text, /Germany/);
    assert.match(text, /\+49 30 1234567/, 'phone normalised');
    assert.match(text, /Megan Bowen/);
    await s.screenshot('4-review');
    assert.deepEqual(s.nonLoopbackRequests().filter((r) => r.finished), [], 'the browser reached nothing but this machine');
  });
});
