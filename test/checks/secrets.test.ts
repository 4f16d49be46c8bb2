import assert from 'node:assert/strict';
import type { AppRegistration } from '../../src/checks/facts';
import { evaluate } from '../../src/checks/run';
import { APP_SECRET_KEY_ID, APP_SECRET_VALUE } from '../simulator/scenarios/ids';
import { daysFromNow, HEALTHY, OPTIONS, table } from './table';

const app = HEALTHY.application as AppRegistration;
const withSecrets = (...creds: AppRegistration['passwordCredentials']) => ({ application: { ...app, passwordCredentials: creds } });
const cred = (hint: string, days: number, keyId = `key-${hint}-${days}`) => ({ keyId, hint, displayName: null, endDateTime: daysFromNow(days) });

describe('checks: secrets', () => {
  table('secret.app', [
    { name: '700 days left, matched by hint', facts: {}, status: 'pass', evidence: /^secret Qd7… \(matched by hint\) valid until 2028-10-30 \(700 days left\)$/ },
    { name: 'matched by keyId', facts: { secretInUse: { hint: 'Qd7', keyId: APP_SECRET_KEY_ID } }, status: 'pass', evidence: /matched by ID/ },
    { name: 'exactly 30 days left', facts: withSecrets(cred('Qd7', 30)), status: 'pass', evidence: /30 days left/ },
    { name: 'expires in 10 days', facts: withSecrets(cred('Qd7', 10)), status: 'warn', evidence: /expires on 2026-12-10 \(in 10 days\)/, fix: /\*\*Value\*\* \(not its Secret ID\)/ },
    { name: 'two secrets share the hint: judged by the first to expire', facts: withSecrets(cred('Qd7', 400), cred('Qd7', 12)), status: 'warn', evidence: /2 secrets share it/ },
    { name: 'expired 5 days ago', facts: withSecrets(cred('Qd7', -5)), status: 'fail', evidence: /expired on 2026-11-25 \(5 days ago\)/ },
    { name: 'the secret in use is not on the app (the Secret ID pasted?)', facts: withSecrets(cred('abc', 300)), status: 'fail', evidence: /^the secret in use \(Qd7…\) is not one of the app's secrets — the app's secrets start with abc…$/ },
    { name: 'no secret entered yet', facts: { secretInUse: undefined }, status: 'unknown', evidence: /no secret entered yet/ },
    { name: 'app unreadable', facts: { application: { unknown: 'Graph answered 403' } }, status: 'unknown', evidence: /Client secret expiry: Graph answered 403/ },
  ]);

  table('secret.partner-center', [
    { name: 'a year left', facts: {}, status: 'pass', evidence: /web app secret \(as entered\) valid until 2027-11-30 \(365 days left\)/ },
    { name: 'under 30 days', facts: { partnerCenterSecretExpiry: daysFromNow(29) }, status: 'warn', evidence: /expires on 2026-12-29 \(in 29 days\)/, fix: /App management/ },
    { name: 'expired', facts: { partnerCenterSecretExpiry: daysFromNow(-1) }, status: 'fail', evidence: /expired on 2026-11-29/ },
    { name: 'not entered', facts: { partnerCenterSecretExpiry: null }, status: 'unknown', evidence: /no expiry entered/ },
    { name: 'not a date', facts: { partnerCenterSecretExpiry: 'next year' }, status: 'unknown', evidence: /not a date/ },
    // Seed 000 step 2.11: the key is created with 2 years' validity; one entered with much less is flagged.
    { name: 'entered with 6 months\' validity', facts: { partnerCenterSecretExpiry: daysFromNow(170), partnerCenterSecretEnteredAt: daysFromNow(-10) }, status: 'warn', evidence: /^web app secret entered with 180 days' validity \(valid until 2027-05-19\); the onboarding guide asks for 2 years$/, fix: /2 years/ },
    // A key made in Partner Center with a year's validity, entered the same afternoon: its expiry is a date, so the year is counted from that day, not from the hour.
    { name: 'entered at 15:18 with a year\'s validity (the expiry a date)', facts: { partnerCenterSecretExpiry: '2027-11-30', partnerCenterSecretEnteredAt: '2026-11-30T15:18:00.000Z' }, status: 'pass', evidence: /valid until/ },
    { name: 'entered with 2 years\' validity', facts: { partnerCenterSecretExpiry: daysFromNow(720), partnerCenterSecretEnteredAt: daysFromNow(-10) }, status: 'pass', evidence: /valid until/ },
  ]);

  it('never shows more of a secret than its 3-character hint', () => {
    // Even if a gatherer wrongly put a whole secret where a hint goes, only 3 characters come out.
    const leaky = { secretInUse: { hint: APP_SECRET_VALUE }, ...withSecrets({ keyId: 'k', hint: APP_SECRET_VALUE, endDateTime: daysFromNow(5) }) };
    for (const r of evaluate({ ...HEALTHY, ...leaky }, OPTIONS)) {
      assert.ok(!r.evidence.includes(APP_SECRET_VALUE.slice(0, 4)), `${r.id}: ${r.evidence}`);
      assert.ok(!r.fix?.text.includes(APP_SECRET_VALUE.slice(0, 4)));
    }
  });
});
