import assert from 'node:assert/strict';
import { renderCompanyForm } from '../../src/cards/render';
import { COUNTRIES } from '../../src/domain/countries';
import { contactSchema } from '../../src/domain/forms';

type Node = Record<string, unknown>;
function element(card: unknown, id: string): Node {
  const found: Node[] = [];
  const walk = (n: unknown): void => {
    if (Array.isArray(n)) n.forEach(walk);
    else if (n && typeof n === 'object') {
      if ((n as Node).id === id) found.push(n as Node);
      Object.values(n).forEach(walk);
    }
  };
  walk(card);
  assert.equal(found.length, 1, `one element ${id}`);
  return found[0]!;
}

/** Issue 29, item 3: nothing on a turn that the process could have done once. */
describe('cards: no per-turn work that could be done once', () => {
  it('the company form lists every country, by name, in order, with the saved one chosen', () => {
    const card = renderCompanyForm({ cardId: 'c', stepLabel: 'Step 1 of 11', values: { country: 'DE' } }).content;
    const country = element(card, 'country');
    assert.equal(country.type, 'Input.ChoiceSet');
    assert.equal(country.value, 'DE');
    assert.deepEqual(country.choices, COUNTRIES.map((c) => ({ title: c.name, value: c.code })));
    assert.ok(COUNTRIES.length > 200);
  });

  it('the country choices are made once for every company form (not expanded through the template each turn), and cannot be changed by one card', () => {
    const a = element(renderCompanyForm({ cardId: 'a', stepLabel: 'Step 1 of 11' }).content, 'country');
    const b = element(renderCompanyForm({ cardId: 'b', stepLabel: 'Step 1 of 11', values: { country: 'FR' }, errors: { legalName: 'Enter a name' } }).content, 'country');
    assert.equal(a.choices, b.choices);
    assert.ok(Object.isFrozen(a.choices) && Object.isFrozen((a.choices as Node[])[0]));
  });

  it('the contact form\'s schema is built once per company country (a zod schema costs about 1 ms to build, 0.1 ms to use), and still reads the phone in that country', () => {
    assert.equal(contactSchema('DE'), contactSchema('DE'));
    assert.equal(contactSchema(undefined), contactSchema(undefined));
    assert.notEqual(contactSchema('DE'), contactSchema('FR'));
    const contact = { firstName: 'Ada', lastName: 'Lovelace', email: 'Ada@Contoso.com', phone: '030 1234567' };
    assert.equal(contactSchema('DE').parse(contact).phone, '+49301234567');
    assert.equal(contactSchema('US').safeParse(contact).success, false);
    assert.equal(contactSchema('DE').safeParse({ ...contact, email: 'not an email' }).error?.issues[0]?.message, 'Enter an email address like name@contoso.com');
  });
});
