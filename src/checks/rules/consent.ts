import type { Facts } from '../facts';
import { LINKS } from '../microsoft';
import type { Outcome, RuleContext } from '../types';
import { count, DAY_MS, day, known, parseDate, unknownOutcome } from './util';

export const FRESH_DAYS = 7;
/** Refresh tokens die after 90 days unused (AADSTS700082). */
export const DEAD_DAYS = 90;

export function consentFresh(facts: Facts, ctx: RuleContext): Outcome {
  const c = known(facts.consent);
  if (!c.ok) return unknownOutcome('Consent', c.unknown, LINKS.refreshTokens);
  if (!c.value) return { status: 'unknown', evidence: 'Consent: the service account has not signed in yet', fix: { text: 'Sign in as the service account (the next step): this check runs then.', link: LINKS.refreshTokens }, afterSignIn: true };
  if (c.value.lastRefreshError) {
    return { status: 'fail', evidence: `the last token refresh failed (${c.value.lastRefreshError})` };
  }
  const times = [parseDate(c.value.consentedAt), parseDate(c.value.lastRefreshAt)].filter((d): d is Date => !!d);
  if (!times.length) return { status: 'unknown', evidence: 'Consent: no usable consent or refresh time recorded', fix: { text: 'Sign in again with the service account.', link: LINKS.refreshTokens } };
  const last = new Date(Math.max(...times.map((d) => d.getTime())));
  const age = Math.floor((ctx.now.getTime() - last.getTime()) / DAY_MS);
  const what = c.value.lastRefreshAt && parseDate(c.value.lastRefreshAt)?.getTime() === last.getTime() ? 'refreshed' : 'consented';
  if (age >= DEAD_DAYS) return { status: 'fail', evidence: `last ${what} on ${day(last)} (${count(age, 'day')} ago): the refresh token has lapsed` };
  if (age > FRESH_DAYS) return { status: 'warn', evidence: `last ${what} on ${day(last)} (${count(age, 'day')} ago): the keep-alive has not run` };
  return { status: 'pass', evidence: `last ${what} on ${day(last)} (${age === 0 ? 'today' : `${count(age, 'day')} ago`})` };
}
