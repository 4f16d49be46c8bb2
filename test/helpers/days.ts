const DAY = 86_400_000;

/**
 * Noon (UTC) on the calendar day `days` from today. The bot counts days left as calendar days (the
 * date it shows), so a test's "ends in n days" must land on that date whatever the hour it runs:
 * `now + n days - 1 h` is n - 1 calendar days away when run between 00:00 and 01:00 UTC.
 */
export function noonInDays(days: number, now = Date.now()): Date {
  const today = new Date(now);
  return new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate()) + days * DAY + DAY / 2);
}
