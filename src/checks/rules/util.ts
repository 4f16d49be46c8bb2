import { isUnknown, type Fact, type GroupRef, type Unknown } from '../facts';
import type { Fix, Outcome } from '../types';

export const DAY_MS = 24 * 60 * 60 * 1000;

/** "1 day", "3 days". */
export function count(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** The `unknown` outcome for a fact the bot could not see: why, and what (if anything) the partner can do about it. */
export function unknownOutcome(what: string, fact: Unknown | undefined, fallbackLink: string): Outcome {
  if (!fact) {
    return { status: 'unknown', evidence: `${what}: not checked in this run`, fix: { text: 'Re-run the checks; if it stays unseen, select **Ask support**.', link: fallbackLink } };
  }
  const needs = fact.needs ? `; needs ${fact.needs}` : '';
  return {
    status: 'unknown',
    evidence: `${what}: ${fact.unknown}${needs}`,
    fix: { text: fact.fix ?? (fact.needs ? `Check it yourself in the Microsoft Entra admin center: Microsoft shows it to the bot only with ${fact.needs}.` : 'Re-run the checks in a few minutes; if it stays unseen, select **Ask support**.'), link: fallbackLink },
    ...(fact.lasting ? { lasting: true } : {}),
    ...(fact.afterSignIn ? { afterSignIn: true } : {}),
  };
}

/**
 * Reads the facts a rule needs: each one's value, or the first that is missing or unknown (the
 * rule then answers `unknown` naming it).
 */
export function known<T>(fact: Fact<T> | undefined): { ok: true; value: T } | { ok: false; unknown: Unknown | undefined } {
  if (fact === undefined) return { ok: false, unknown: undefined };
  if (isUnknown(fact)) return { ok: false, unknown: fact };
  return { ok: true, value: fact };
}

const NAME_MAX = 40;

/** A tenant-chosen name, flattened to one line and cut short, so a list still fits on one line. */
function shortName(name: string): string {
  const flat = name.replace(/\s+/g, ' ').trim();
  return flat.length > NAME_MAX ? `${flat.slice(0, NAME_MAX - 1)}…` : flat;
}

/** "a, b, c and 2 more" — stable (sorted) and short enough for one line. */
export function listNames(names: readonly string[], max = 3): string {
  const sorted = [...new Set(names.map(shortName))].sort((a, b) => a.localeCompare(b));
  if (sorted.length <= max) return sorted.join(', ');
  return `${sorted.slice(0, max).join(', ')} and ${sorted.length - max} more`;
}

export function groupsLine(groups: readonly GroupRef[]): string {
  return groups.length ? `member of: ${listNames(groups.map((g) => g.displayName))}` : 'member of no groups';
}

export function sameId(a: string | null | undefined, b: string | null | undefined): boolean {
  return !!a && !!b && a.toLowerCase() === b.toLowerCase();
}

export function parseDate(text: string | null | undefined): Date | undefined {
  if (!text) return undefined;
  const d = new Date(text);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** "2026-12-30" — dates on a card carry no time of day. */
export function day(d: Date): string {
  return d.toISOString().slice(0, 10);
}

/**
 * Days left until `end`, as the partner counts them beside its date: calendar days (UTC) from
 * today's date to the end's date. At least 1 until the moment passes, 0 or less once it has. The
 * checks, `expiry`, the notices and the support card all count with this one function.
 */
export function daysLeft(end: Date, now: Date): number {
  const calendar = Math.round((utcDate(end) - utcDate(now)) / DAY_MS);
  return end.getTime() > now.getTime() ? Math.max(1, calendar) : Math.min(0, calendar) || 0; // never -0
}

function utcDate(d: Date): number {
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
}

export const EXPIRY_WARN_DAYS = 30;

/** Shared rule for anything that expires: fail once expired, warn under 30 days, pass otherwise. */
export function expiryOutcome(label: string, end: Date, now: Date, fix: Fix): Outcome {
  const left = daysLeft(end, now);
  if (end.getTime() <= now.getTime()) {
    return { status: 'fail', evidence: `${label} expired on ${day(end)} (${left === 0 ? 'today' : `${count(-left, 'day')} ago`})`, fix };
  }
  if (end.getTime() - now.getTime() < EXPIRY_WARN_DAYS * DAY_MS) {
    return { status: 'warn', evidence: `${label} expires on ${day(end)} (in ${count(left, 'day')})`, fix };
  }
  return { status: 'pass', evidence: `${label} valid until ${day(end)} (${count(left, 'day')} left)` };
}
