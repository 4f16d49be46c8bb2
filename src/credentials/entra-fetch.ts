/**
 * A GET or POST to Entra ID's own endpoints (OpenID metadata, token) with the same manners as the
 * Microsoft HTTP layer: a timeout per attempt, and a bounded retry of 429 / 5xx / network errors
 * that honours a short `Retry-After`. Anything else is the caller's to read.
 */
export async function entraFetch(url: string, init: RequestInit, options: { timeoutMs?: number; attempts?: number } = {}): Promise<Response | undefined> {
  const attempts = options.attempts ?? 3;
  for (let attempt = 1; ; attempt++) {
    let res: Response | undefined;
    try {
      res = await fetch(url, { ...init, signal: AbortSignal.timeout(options.timeoutMs ?? 10_000) });
    } catch {
      res = undefined;
    }
    const retryable = !res || res.status === 429 || res.status >= 500;
    if (!retryable || attempt >= attempts) return res;
    const after = Number(res?.headers.get('retry-after'));
    await res?.body?.cancel();
    const waitMs = Number.isFinite(after) && after > 0 ? Math.min(after * 1000, 5_000) : 250 * 2 ** attempt;
    await new Promise((r) => setTimeout(r, waitMs));
  }
}
