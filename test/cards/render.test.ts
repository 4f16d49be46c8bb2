import assert from 'node:assert/strict';
import { renderHelpCard, renderWelcomeCard } from '../../src/cards/render';
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
});
