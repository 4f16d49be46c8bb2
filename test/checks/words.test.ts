import assert from 'node:assert/strict';
import { expiryLines } from '../../src/bot/commands/expiry';
import { renderChecksCard } from '../../src/cards/render';
import { Messages } from '../../src/onboarding/messages';
import { cardText } from '../helpers/chat';
import { refusedFact } from '../../src/checks/gather/map';
import { evaluate } from '../../src/checks/run';
import { expiryOutcome } from '../../src/checks/rules/util';
import { HEALTHY, NOW, OPTIONS } from './table';

const FIX = { text: 'Add a new key.', link: 'https://partner.microsoft.com/' };
const number = (text: string, re: RegExp): number => Number(re.exec(text)?.[1]);

describe('words the partner reads on the checks', () => {
  it('the checks card and `expiry` count the same days left to the same end: calendar days to the date shown', () => {
    // 04:00 now, the key entered as ending at midnight of its date: 365 calendar days away.
    const end = new Date('2027-11-30T00:00:00.000Z');
    const card = expiryOutcome('web app secret', end, NOW, FIX).evidence;
    const [line] = expiryLines([{ item: 'pc-secret', key: 'k', expiresAt: end }], NOW);
    assert.equal(number(card, /\((\d+) days? left\)/), 365, card);
    assert.equal(number(line!, /\((\d+) days?\)/), 365, line);
    // Later the same day it ends: still one day to go, never "0 days" or "expired" early.
    const tonight = new Date('2026-11-30T23:00:00.000Z');
    assert.match(expiryOutcome('key', tonight, NOW, FIX).evidence, /in 1 day\)/);
    assert.match(expiryLines([{ item: 'pc-secret', key: 'k', expiresAt: tonight }], NOW)[0]!, /ends 2026-11-30 \(1 day\)/);
    // Passed this morning: expired today, not "0 days ago".
    assert.match(expiryOutcome('key', new Date('2026-11-30T01:00:00.000Z'), NOW, FIX).evidence, /expired on 2026-11-30 \(today\)/);
  });

  it('a check Microsoft refused to show names a fix the partner can do, never a permission the checklist did not ask for', () => {
    const refused = refusedFact(403, { error: { code: 'AccessDenied' } }, 'Policy.Read.All');
    const results = evaluate({ ...HEALTHY, securityDefaultsEnabled: refused, conditionalAccessPolicies: refused, perUserMfaState: refused, gdapRelationships: refused }, OPTIONS);
    const unknown = results.filter((r) => r.status === 'unknown');
    assert.ok(unknown.length >= 4, unknown.map((r) => r.id).join());
    for (const r of unknown) {
      assert.doesNotMatch(r.fix!.text, /Give the bot|tell the bot|application permission|Policy\.Read\.All/, `${r.id}: ${r.fix!.text}`);
      assert.match(r.fix!.text, /Grant admin consent|sign in again/i, `${r.id}: ${r.fix!.text}`);
    }
  });

  it('long evidence is cut at the end of a word', () => {
    const long = { unknown: `Graph did not answer: ${'the request timed out after several attempts '.repeat(8)}` };
    const [r] = evaluate({ ...HEALTHY, securityDefaultsEnabled: long, conditionalAccessPolicies: long, perUserMfaState: long }, { ...OPTIONS, only: ['mfa.enforced'] });
    assert.ok(r!.evidence.length <= 240, r!.evidence);
    assert.match(r!.evidence, /(^|\s)(the|request|timed|out|after|several|attempts|answer)…$/, r!.evidence);
  });
});

describe('the line under a passing checks card', () => {
  it('counts what is left in the card header\'s words ("1 warning and 1 not visible", never "2 advisories")', () => {
    // A German company with an American tenant (a warning), and the setting Graph never shows (not visible).
    const results = evaluate({ ...HEALTHY, rememberMfaOff: undefined }, { ...OPTIONS, companyCountry: 'DE' });
    const advisories = results.filter((r) => r.status !== 'pass');
    assert.deepEqual(advisories.map((r) => r.status).sort(), ['unknown', 'warn']);
    const said = Messages.checksPassed(advisories);
    assert.match(said, /1 warning and 1 not visible on the card/);
    assert.doesNotMatch(said, /advisor/);
    const header = cardText(renderChecksCard({ title: 't', subtitle: 's', note: 'n', results }).content as Record<string, unknown>);
    assert.match(header, /⚠️ 1 warning · ❔ 1 not visible · ✅ \d+ passed/);
  });
});
