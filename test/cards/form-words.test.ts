import assert from 'node:assert/strict';
import { renderCompanyForm, renderPartnerCenterForm } from '../../src/cards/render';
import { partnerCenterAppSchema } from '../../src/domain/credentials';

type Node = Record<string, unknown>;
const inputs = (card: unknown): Node[] => {
  const out: Node[] = [];
  const walk = (n: unknown): void => {
    if (Array.isArray(n)) n.forEach(walk);
    else if (n && typeof n === 'object') {
      if (String((n as Node).type).startsWith('Input.')) out.push(n as Node);
      Object.values(n).forEach(walk);
    }
  };
  walk(card);
  return out;
};
const input = (card: unknown, id: string) => inputs(card).find((i) => i.id === id)!;
const TODAY = new Date('2026-11-30T12:00:00Z');
const parse = (date: string) => partnerCenterAppSchema(false, new Set(), TODAY).safeParse({ pcAppId: 'a0a0a0a0-4444-4444-8444-000000000001', pcSecret: 'x'.repeat(40), pcSecretExpires: date });

describe('form words', () => {
  it('Partner Center card: the key is required like its ID and expiry (until one is stored); the date label names its format', () => {
    const fresh = renderPartnerCenterForm({ cardId: 'c', stepLabel: 'Step 8 of 11' }).content;
    assert.equal(input(fresh, 'pcSecret').isRequired, true);
    assert.equal(input(fresh, 'pcAppId').isRequired, true);
    assert.equal(input(fresh, 'pcSecretExpires').isRequired, true);
    assert.equal(input(fresh, 'pcSecretExpires').label, 'Key expires (YYYY-MM-DD)');
    const stored = renderPartnerCenterForm({ cardId: 'c', stepLabel: 'Step 8 of 11', secretStored: true }).content;
    assert.equal(input(stored, 'pcSecret').isRequired, false, 'empty keeps the stored key');
  });

  it('a typed-in expiry: YYYY-MM-DD is taken, anything else gets an error naming the format', () => {
    assert.equal(parse('2027-06-30').data?.pcSecretExpires, '2027-06-30');
    assert.equal(parse(' 2027-6-3 ').data?.pcSecretExpires, '2027-06-03');
    for (const typed of ['06/30/2027', '30.06.2027', 'June 30, 2027']) {
      const r = parse(typed);
      assert.equal(r.success, false, typed);
      assert.match(r.error!.issues[0]!.message, /as YYYY-MM-DD .*for example 2027-06-30/, typed);
    }
    assert.match(parse('2027-02-30').error!.issues[0]!.message, /no 2027-02-30.*YYYY-MM-DD/);
  });

  it('company card: the Partner ID error is written for a person', () => {
    const card = JSON.stringify(renderCompanyForm({ cardId: 'c', stepLabel: 'Step 1 of 11' }).content);
    assert.doesNotMatch(card, /partner id \(mpn id\)/);
    assert.equal(input(JSON.parse(card), 'partnerId').errorMessage, 'Enter your Partner ID (formerly called MPN ID)');
  });
});
