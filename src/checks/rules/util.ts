import { isUnknown, type Fact, type GroupRef, type Unknown } from '../facts';
import type { Fix, Outcome } from '../types';

export const DAY_MS = 24 * 60 * 60 * 1000;

/** "1 day", "3 days". */
export function count(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** The `unknown` outcome for a fact the bot could not see: why, and what would let it see. */
export function unknownOutcome(what: string, fact: Unknown | undefined, fallbackLink: string): Outcome {
  if (!fact) {
    return { status: 'unknown', evidence: `${what}: not checked in this run`, fix: { text: 'Re-run the checks after the step that gathers it.', link: fallbackLink } };
  }
  const needs = fact.needs ? `; needs ${fact.needs}` : '';
  return {
    status: 'unknown',
    evidence: `${what}: ${fact.unknown}${needs}`,
    fix: { text: fact.needs ? `Give the bot ${fact.needs}, then re-run the checks.` : 'Re-run the checks; if it stays unknown, ask support.', link: fallbackLink },
    ...(fact.lasting ? { lasting: true } : {}),
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

/** Whole days from now to then (negative once passed). */
export function daysUntil(then: Date, now: Date): number {
  return Math.floor((then.getTime() - now.getTime()) / DAY_MS);
}

export const EXPIRY_WARN_DAYS = 30;

/** Shared rule for anything that expires: fail once expired, warn under 30 days, pass otherwise. */
export function expiryOutcome(label: string, end: Date, now: Date, fix: Fix): Outcome {
  const left = daysUntil(end, now);
  if (end.getTime() <= now.getTime()) {
    return { status: 'fail', evidence: `${label} expired on ${day(end)} (${count(-left, 'day')} ago)`, fix };
  }
  if (end.getTime() - now.getTime() < EXPIRY_WARN_DAYS * DAY_MS) {
    return { status: 'warn', evidence: `${label} expires on ${day(end)} (in ${count(left, 'day')})`, fix };
  }
  return { status: 'pass', evidence: `${label} valid until ${day(end)} (${count(left, 'day')} left)` };
}
