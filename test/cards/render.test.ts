import assert from 'node:assert/strict';
import type { Attachment } from 'botbuilder';
import { renderChecksCard, renderHandoverCard, renderMemberRequestCard, renderPrepareChecklist, renderReviewCard, renderHelpCard, renderWelcomeCard } from '../../src/cards/render';
import type { CheckResult } from '../../src/checks/run';
import { Verbs } from '../../src/cards/verbs';

function unresolved(card: unknown): string[] {
  return JSON.stringify(card).match(/\$\{[^}]*\}/g) ?? [];
}

describe('cards', () => {
  const welcome = {
    platformName: 'the platform',
    minutes: 20,
    steps: [{ number: 1, text: 'Company' }, { number: 2, text: 'Checks' }],
    prerequisites: ['Partner ID', 'A service account'],
  };

  it('welcome: Adaptive Card 1.5, every placeholder filled, verbs from the shared constants', () => {
    const { content, contentType } = renderWelcomeCard({ ...welcome, userName: 'Adele' }) as { content: Record<string, unknown>; contentType: string };
    assert.equal(contentType, 'application/vnd.microsoft.card.adaptive');
    assert.equal(content.version, '1.5');
    assert.deepEqual(unresolved(content), []);
    const text = JSON.stringify(content);
    assert.match(text, /Welcome, Adele!/);
    assert.match(text, /"title":"2\.","value":"Checks"/);
    assert.match(text, /- A service account/);
    assert.match(text, new RegExp(`"verb":"${Verbs.help}"`));
  });

  it('welcome without a name greets plainly', () => {
    assert.match(JSON.stringify(renderWelcomeCard(welcome).content), /"text":"Welcome!"/);
  });

  it('keeps user-supplied text as data, not template code', () => {
    const card = renderHelpCard({ commands: [{ name: '${verbs.help}', description: '<script>x</script> ${1+1}' }] });
    const text = JSON.stringify(card.content);
    assert.ok(text.includes('"title":"${verbs.help}"'));
    assert.ok(text.includes('${1+1}'));
  });

  it('renders each card from its parsed template again and again, the data of one never in another', () => {
    const first = JSON.stringify(renderWelcomeCard({ ...welcome, userName: 'Adele' }).content);
    const second = JSON.stringify(renderWelcomeCard({ ...welcome, steps: [{ number: 1, text: 'Only one' }], userName: 'Joni' }).content);
    const third = JSON.stringify(renderWelcomeCard({ ...welcome, userName: 'Adele' }).content);
    assert.match(second, /Welcome, Joni!/);
    assert.ok(!second.includes('Adele') && !second.includes('Checks'), second);
    assert.equal(third, first, 'the same data gives the same card, whatever was rendered between');
  });

  describe('partner and Microsoft text where Teams renders markdown', () => {
    const LURE = '[Support: re-verify](https://evil.example/login) **now**';
    type Node = Record<string, unknown>;
    const find = (node: unknown, pick: (n: Node) => boolean, out: Node[] = []): Node[] => {
      if (Array.isArray(node)) node.forEach((n) => find(n, pick, out));
      else if (node && typeof node === 'object') {
        if (pick(node as Node)) out.push(node as Node);
        Object.values(node).forEach((v) => find(v, pick, out));
      }
      return out;
    };
    const content = (a: Attachment): unknown => a.content as unknown;

    it('fact values (review) and the welcome name are inert', () => {
      const contact = { firstName: '[Megan](https://evil.example)', lastName: '**Bowen**', email: 'm@contoso.com', phone: '+49301234567', role: undefined };
      const card = content(renderReviewCard({
        cardId: 'c', stepLabel: 'Step 4 of 11',
        company: { legalName: LURE, country: 'DE', street: '- Main', city: '# Berlin', postalCode: '10117', website: 'contoso.com', partnerId: '1234567', vatId: undefined },
        primaryContact: contact,
      }));
      const values = find(card, (n) => typeof n.value === 'string' && typeof n.title === 'string').map((f) => f.value);
      assert.ok(values.includes('\\[Support: re-verify\\](https://evil.example/login) \\*\\*now\\*\\*'), JSON.stringify(values));
      assert.ok(values.includes('\\[Megan\\](https://evil.example) \\*\\*Bowen\\*\\*'));
      assert.ok(values.includes('\\- Main, 10117 \\# Berlin, Germany'));
      assert.match(JSON.stringify(content(renderWelcomeCard({ ...welcome, userName: '**Eve**' }))), /Welcome, \\\\\*\\\\\*Eve\\\\\*\\\\\*!/);
    });

    it('a member request: inert in its text, as typed on its button (a button title renders no markdown)', () => {
      const card = content(renderMemberRequestCard({ cardId: 'c', requestId: 'r', name: LURE }));
      const texts = find(card, (n) => n.type === 'TextBlock').map((t) => String(t.text));
      assert.ok(texts.every((t) => t.startsWith('\\[Support: re-verify\\](https://evil.example/login) \\*\\*now\\*\\*')), JSON.stringify(texts));
      assert.deepEqual(find(card, (n) => n.type === 'Action.Submit').map((a) => a.title), [`Add ${LURE}`, 'Not now']);
      // Choice titles render no markdown either: the member's name as it is.
      const handover = content(renderHandoverCard({ cardId: 'c', members: [{ id: 'x', name: LURE }] }));
      assert.deepEqual(find(handover, (n) => n.value === 'x').map((c) => c.title), [LURE]);
    });

    it('checks: evidence quoting Microsoft is inert, the fix keeps its portal link', () => {
      const result: CheckResult = {
        id: 'app.exists', title: 'App registration exists', group: 'App registration', severity: 'blocking', status: 'fail',
        evidence: '"[App](https://evil.example/a) {{DATE(2017-02-14T06:08:39Z, SHORT)}}" has no enterprise application',
        fix: { text: 'Select **Grant admin consent**.', link: 'https://entra.microsoft.com/' },
      } as CheckResult;
      const texts = find(content(renderChecksCard({ title: 'Checks', subtitle: '', note: '', results: [result], status: 'Re-run by **Eve**' })), (n) => n.type === 'TextBlock').map((t) => String(t.text));
      assert.ok(texts.includes('❌ Failed · **App registration exists**: "\\[App\\](https://evil.example/a) \\{\\{DATE(2017-02-14T06:08:39Z, SHORT)\\}\\}" has no enterprise application'), JSON.stringify(texts));
      assert.ok(texts.includes('Fix: Select **Grant admin consent**. [Open ↗](https://entra.microsoft.com/)'));
      assert.ok(texts.includes('Re-run by \\*\\*Eve\\*\\*'));
    });
  });

  it('preparation: with "Set it up for me" chosen, the app items are said to be the bot\'s and not counted as the partner\'s to do', () => {
    const base = { cardId: 'c1', stepLabel: 'Step 6 of 11', done: ['account.create'], publicBaseUrl: 'https://bot.example.com' };
    const text = (a: Attachment) => JSON.stringify(a.content);
    const manual = text(renderPrepareChecklist({ ...base, setupChoice: 'manual' }));
    assert.match(manual, /1 of 14 done/);
    assert.match(manual, /"The Entra app registration"|"Entra app registration"/);
    const forMe = text(renderPrepareChecklist({ ...base, setupChoice: 'setup' }));
    assert.match(forMe, /1 of 8 done/);
    assert.match(forMe, /Entra app registration: I do these for you/);
    assert.doesNotMatch(text(renderPrepareChecklist(base)), /I do these for you/, 'without the setup app there is no choice and nothing changes');
  });
});
