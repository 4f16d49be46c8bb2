import type { Facts, PasswordCredential } from '../facts';
import { LINKS } from '../microsoft';
import type { Outcome, RuleContext } from '../types';
import { count, DAY_MS, day, expiryOutcome, known, listNames, parseDate, sameId, unknownOutcome } from './util';

/** "Qd7…": how a secret appears anywhere, ever. */
export function masked(hint: string | null | undefined): string {
  return `${(hint ?? '').slice(0, 3)}…`;
}

export function appSecretValid(facts: Facts, ctx: RuleContext): Outcome {
  const inUse = known(facts.secretInUse);
  if (!inUse.ok) return unknownOutcome('Client secret', inUse.unknown ?? { unknown: 'no secret entered yet' }, LINKS.appSecrets(ctx.appId));
  const app = known(facts.application);
  if (!app.ok) return unknownOutcome('Client secret expiry', app.unknown, LINKS.appSecrets(ctx.appId));
  if (!app.value) return { status: 'unknown', evidence: 'Client secret expiry: the app registration was not found', fix: { text: 'Fix "App registration exists" first.', link: LINKS.appRegistrations } };

  const fix = { text: 'Under the app\'s **Certificates & secrets**, add a new client secret (24 months), enter its **Value** (not its Secret ID) in the bot, and delete the old one once the bot confirms.', link: LINKS.appSecrets(app.value.appId) };
  const creds = app.value.passwordCredentials;
  const hint = inUse.value.hint.slice(0, 3);
  let match: PasswordCredential | undefined;
  let how = 'matched by ID';
  if (inUse.value.keyId) match = creds.find((c) => sameId(c.keyId, inUse.value.keyId));
  let ambiguous = 0;
  if (!match) {
    // Several secrets may share a hint: judge by the one that ends first, and say so.
    const byHint = creds.filter((c) => c.hint === hint)
      .sort((a, b) => (parseDate(a.endDateTime)?.getTime() ?? Infinity) - (parseDate(b.endDateTime)?.getTime() ?? Infinity));
    match = byHint[0];
    ambiguous = byHint.length;
    how = 'matched by hint';
  }
  if (!match) {
    const others = creds.length ? `the app's secrets start with ${listNames(creds.map((c) => masked(c.hint)))}` : 'the app has no client secrets';
    return { status: 'fail', evidence: `the secret in use (${masked(hint)}) is not one of the app's secrets — ${others}`, fix };
  }
  const end = parseDate(match.endDateTime);
  const label = `secret ${masked(match.hint ?? hint)} (${how}${ambiguous > 1 ? `, ${ambiguous} secrets share it: judged by the first to expire` : ''})`;
  if (!end) return { status: 'pass', evidence: `${label} has no end date` };
  return expiryOutcome(label, end, ctx.now, fix);
}

/** Seed 000 step 2.11 asks for a Partner Center key valid 2 years: one valid under a year is worth a word. */
export const PC_KEY_SHORT_DAYS = 365;

export function partnerCenterSecretValid(facts: Facts, ctx: RuleContext): Outcome {
  const fix = { text: 'In Partner Center **App management**, add a new key to the web app, enter it and its expiry in the bot, then remove the old key.', link: LINKS.partnerCenterApps };
  const entered = known(facts.partnerCenterSecretExpiry);
  if (!entered.ok) return unknownOutcome('Partner Center web app secret', entered.unknown, LINKS.partnerCenterApps);
  if (entered.value === null && facts.partnerCenterWebAppOptional === true) {
    return { status: 'pass', evidence: 'no Partner Center web app key: none is needed, customers are read with the service account’s sign-in' };
  }
  if (entered.value === null) return { status: 'unknown', evidence: 'Partner Center web app secret: no expiry entered', fix: { text: 'Enter the web app key\'s expiry (shown next to the key in Partner Center App management).', link: LINKS.partnerCenterApps } };
  const end = parseDate(entered.value);
  if (!end) return { status: 'unknown', evidence: 'Partner Center web app secret: the expiry entered is not a date', fix };
  const outcome = expiryOutcome('web app secret (as entered)', end, ctx.now, fix);
  // Seed 000 step 2.11: create the key with 2 years' validity. One entered with much less will
  // need replacing (and the connection re-keyed) long before the platform expects it.
  const enteredAt = known(facts.partnerCenterSecretEnteredAt);
  const from = enteredAt.ok ? parseDate(enteredAt.value) : undefined;
  if (outcome.status === 'pass' && from) {
    // The expiry is a date: the validity is counted from the day it was entered, not the hour (a
    // year's key entered in the afternoon is still a year's key).
    const fromDay = Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), from.getUTCDate());
    const validity = Math.round((end.getTime() - fromDay) / DAY_MS);
    if (validity < PC_KEY_SHORT_DAYS) {
      return {
        status: 'warn', evidence: `web app secret entered with ${count(validity, 'day')}' validity (valid until ${day(end)}); the onboarding guide asks for 2 years`,
        fix: { text: 'When convenient, add a new key in Partner Center **App management** with a validity of **2 years**, and enter it with its expiry in the bot.', link: LINKS.partnerCenterApps },
      };
    }
  }
  return outcome;
}
