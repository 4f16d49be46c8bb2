import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { z } from 'zod';
import { MicrosoftHttpError } from '../../src/microsoft/http-errors';
import { MicrosoftHttpClient, type AttemptEvent, type MicrosoftHttpClientOptions } from '../../src/microsoft/http';
import { APP_ID, APP_SERVICE_PRINCIPAL_ID, PARTNER_TENANT_ID } from '../simulator/scenarios/ids';
import { startSimulator, type Simulator } from '../simulator/server';

interface Reply { status?: number; headers?: Record<string, string>; body?: unknown; delayMs?: number; destroy?: boolean }
interface Seen { method: string; url: string; headers: IncomingMessage['headers']; body: string }

/** A loopback server answering from a script (the last reply repeats); records every request. */
async function scripted(script: Array<Reply | ((req: Seen) => Reply)>) {
  const requests: Seen[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const seen = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString() };
      requests.push(seen);
      const step = script[Math.min(requests.length - 1, script.length - 1)]!;
      const reply = typeof step === 'function' ? step(seen) : step;
      if (reply.destroy) { req.socket.destroy(); return; }
      const send = () => {
        const body = reply.body === undefined ? '' : JSON.stringify(reply.body);
        res.writeHead(reply.status ?? 200, { 'content-type': 'application/json', ...reply.headers });
        res.end(body);
      };
      if (!reply.delayMs) { send(); return; }
      const timer = setTimeout(send, reply.delayMs);
      res.on('close', () => clearTimeout(timer));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url, requests,
    close: async () => { server.closeAllConnections(); await new Promise<void>((r) => server.close(() => r())); },
  };
}

/** A clock that only moves when the client sleeps: waits are asserted, not waited. */
function fakeTime(start = Date.UTC(2026, 10, 30, 4, 0, 0)) {
  let t = start;
  const waits: number[] = [];
  return { waits, now: () => t, sleep: async (ms: number) => { waits.push(ms); t += ms; } };
}

const TOKEN = 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ0ZXN0LXN1YmplY3QifQ.TOKEN-SECRET-7f3a9c';
const provider = async () => TOKEN;

function client(baseUrl: string, options: Partial<MicrosoftHttpClientOptions> = {}) {
  const events: AttemptEvent[] = [];
  const time = fakeTime();
  const c = new MicrosoftHttpClient({
    baseUrl, tokenProvider: provider, scopes: ['https://graph.microsoft.com/.default'],
    now: time.now, sleep: time.sleep, onAttempt: (e) => events.push(e), ...options,
  });
  return { c, events, waits: time.waits, time };
}

async function rejection(p: Promise<unknown>): Promise<MicrosoftHttpError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof MicrosoftHttpError, `expected MicrosoftHttpError, got ${inspect(err)}`);
    return err;
  }
  assert.fail('expected a rejection');
}

const graphError = (code: string, message: string) => ({ error: { code, message } });

describe('MicrosoftHttpClient', function () {
  this.timeout(60_000);
  const servers: Array<{ close(): Promise<void> }> = [];
  async function server(script: Array<Reply | ((req: Seen) => Reply)>) {
    const s = await scripted(script);
    servers.push(s);
    return s;
  }
  afterEach(async () => { await Promise.all(servers.splice(0).map((s) => s.close())); });

  describe('Retry-After', () => {
    it('waits exactly the seconds a 429 and a 503 ask for, then returns the parsed answer', async () => {
      const s = await server([
        { status: 429, headers: { 'Retry-After': '3' }, body: graphError('TooManyRequests', 'slow down') },
        { status: 503, headers: { 'Retry-After': '2' } },
        { status: 200, headers: { 'request-id': 'req-1' }, body: { id: 'u1', displayName: 'Megan' } },
      ]);
      const { c, events, waits } = client(s.url);
      const res = await c.request('GET', '/v1.0/users/u1', { query: { $select: 'id,displayName' }, parse: z.object({ id: z.string(), displayName: z.string() }) });
      assert.deepEqual(res.data, { id: 'u1', displayName: 'Megan' });
      assert.equal(res.attempts, 3);
      assert.equal(res.requestId, 'req-1');
      assert.deepEqual(waits, [3000, 2000]);
      assert.deepEqual(events.map((e) => [e.status, e.attempt, e.waitMs, e.path]),
        [[429, 1, 3000, '/v1.0/users/u1'], [503, 2, 2000, '/v1.0/users/u1'], [200, 3, 0, '/v1.0/users/u1']]);
      assert.equal(s.requests[0]!.url, '/v1.0/users/u1?$select=id%2CdisplayName');
      assert.equal(s.requests[0]!.headers.authorization, `Bearer ${TOKEN}`);
    });

    it('honours an HTTP-date Retry-After against the injected clock; a past date means now', async () => {
      const time = fakeTime();
      const s = await server([
        { status: 429, headers: { 'Retry-After': new Date(time.now() + 7000).toUTCString() } },
        { status: 503, headers: { 'Retry-After': new Date(time.now() - 60_000).toUTCString() } },
        { status: 204 },
      ]);
      const c = new MicrosoftHttpClient({ baseUrl: s.url, tokenProvider: provider, scopes: [], now: time.now, sleep: time.sleep });
      const res = await c.request('DELETE', '/v1.0/groups/g1/members/m1/$ref');
      assert.equal(res.status, 204);
      assert.equal(res.data, undefined);
      assert.deepEqual(time.waits, [7000], 'a Retry-After already past is retried without a wait');
      assert.equal(s.requests.length, 3);
    });

    it('does not wait out a Retry-After above maxRetryWaitMs: fails at once with retryAfterMs', async () => {
      const s = await server([{ status: 429, headers: { 'Retry-After': '120' }, body: { statusCode: 429, message: 'Rate limit is exceeded. Try again in 120 seconds.' } }]);
      const { c, waits } = client(s.url, { maxRetryWaitMs: 60_000 });
      const err = await rejection(c.request('GET', '/v1/customers'));
      assert.deepEqual([err.status, err.retryAfterMs, err.attempts, err.throttled], [429, 120_000, 1, true]);
      assert.equal(err.description, 'Rate limit is exceeded. Try again in 120 seconds.');
      assert.deepEqual(waits, []);
    });
  });

  describe('backoff', () => {
    it('without Retry-After waits full jitter: random × min(cap, base·2^(n−1))', async () => {
      const s = await server([{ status: 500 }, { status: 502 }, { status: 504 }, { status: 408 }, { status: 200, body: {} }]);
      const draws = [0.5, 0.25, 0.9, 0.999999];
      const { c, waits } = client(s.url, { baseDelayMs: 1000, maxRetryWaitMs: 3000, random: () => draws.shift()! });
      await c.request('GET', '/x');
      // ceilings 1000, 2000, 4000→3000 (cap), 8000→3000 (cap)
      assert.deepEqual(waits, [500, 500, 2700, 2999]);
    });

    it('keeps every jittered wait within [0, base·2^(n−1)] with the real random source', async () => {
      for (let run = 0; run < 20; run++) {
        const s = await server([{ status: 503 }, { status: 503 }, { status: 503 }, { status: 503 }, { status: 200, body: {} }]);
        const { c, events } = client(s.url, { baseDelayMs: 100 });
        await c.request('GET', '/x');
        const waits = events.filter((e) => e.status === 503).map((e) => e.waitMs);
        assert.equal(waits.length, 4);
        waits.forEach((w, i) => assert.ok(w >= 0 && w <= 100 * 2 ** i, `wait ${i + 1} = ${w}`));
        await servers.pop()!.close();
      }
    });
  });

  describe('what is not retried', () => {
    for (const [status, body, code] of [
      [400, { error: 'invalid_request', error_description: 'AADSTS90002: Tenant not found. Trace ID: abc Correlation ID: def Timestamp: 2026-11-30 04:00:00Z' }, 'invalid_request'],
      [401, { code: 900421, description: 'Multi-factor authentication is required.', data: [], source: 'PartnerFD' }, 900421],
      [403, graphError('Authorization_RequestDenied', 'Insufficient privileges to complete the operation.'), 'Authorization_RequestDenied'],
      [404, graphError('Request_ResourceNotFound', 'Resource does not exist.'), 'Request_ResourceNotFound'],
    ] as const) {
      it(`${status}: one attempt, typed error with the service's code`, async () => {
        const s = await server([{ status, body, headers: { 'MS-CorrelationId': `corr-${status}` } }]);
        const { c, events } = client(s.url);
        const err = await rejection(c.request('GET', '/v1.0/thing'));
        assert.deepEqual([err.status, err.code, err.attempts, err.failure, err.requestId], [status, code, 1, 'status', `corr-${status}`]);
        assert.equal(s.requests.length, 1);
        assert.deepEqual(events.map((e) => e.waitMs), [0]);
        if (status === 400) assert.equal(err.description, 'AADSTS90002: Tenant not found.');
      });
    }

    it('a 401 is retried once with a forced token refresh when asked to and the provider can', async () => {
      const s = await server([{ status: 401, body: graphError('InvalidAuthenticationToken', 'Lifetime validation failed, the token is expired.') }, { status: 200, body: { ok: true } }]);
      const calls: boolean[] = [];
      const { c } = client(s.url, {
        refreshTokenOn401: true,
        tokenProvider: async (_scopes, { forceRefresh }) => { calls.push(forceRefresh); return forceRefresh ? 'fresh-token-000' : 'stale-token-000'; },
      });
      const res = await c.request('GET', '/v1.0/me');
      assert.equal(res.status, 200);
      assert.deepEqual(calls, [false, true]);
      assert.deepEqual(s.requests.map((r) => r.headers.authorization), ['Bearer stale-token-000', 'Bearer fresh-token-000']);
    });

    it('POST is not retried on 500 or a broken connection, but is on 429; idempotent: true opts in', async () => {
      const s500 = await server([{ status: 500, body: graphError('InternalServerError', 'boom') }, { status: 201, body: {} }]);
      const a = client(s500.url);
      const err = await rejection(a.c.request('POST', '/v1.0/invitations', { body: { invitedUserEmailAddress: 'x@y.z' } }));
      assert.deepEqual([err.status, err.attempts, s500.requests.length], [500, 1, 1]);

      const reset = await server([{ destroy: true }, { status: 201, body: {} }]);
      const b = client(reset.url);
      const net = await rejection(b.c.request('POST', '/v1.0/invitations', { body: {} }));
      assert.deepEqual([net.failure, net.attempts, reset.requests.length], ['network', 1, 1]);

      const s429 = await server([{ status: 429, headers: { 'Retry-After': '1' } }, { status: 201, body: { id: 'new' } }]);
      const d = client(s429.url, { requestIds: 'partner-center' });
      const created = await d.c.request('POST', '/v1/customers', { body: { companyProfile: {} } });
      assert.deepEqual([created.status, created.attempts, d.waits], [201, 2, [1000]]);
      assert.equal(s429.requests[1]!.body, '{"companyProfile":{}}');
      assert.equal(s429.requests[1]!.headers['content-type'], 'application/json');
      const ids = s429.requests.map((r) => r.headers['ms-requestid']);
      assert.ok(ids[0] && ids[0] === ids[1], 'MS-RequestId stays the same across retries of one call');

      const again = await server([{ status: 500 }, { status: 200, body: {} }]);
      const e = client(again.url, { random: () => 0.5 });
      assert.equal((await e.c.request('POST', '/v1.0/$batch', { body: { requests: [] }, idempotent: true })).attempts, 2);
    });
  });

  describe('timeouts, network errors and the caller’s abort', () => {
    it('times out one attempt, then succeeds on the next', async () => {
      const s = await server([{ status: 200, body: { late: true }, delayMs: 5_000 }, { status: 200, body: { late: false } }]);
      const { c, events } = client(s.url, { timeoutMs: 200, baseDelayMs: 1 });
      const started = Date.now();
      const res = await c.request<{ late: boolean }>('GET', '/slow');
      assert.deepEqual(res.data, { late: false });
      assert.ok(Date.now() - started < 3_000);
      assert.deepEqual(events.map((e) => [e.attempt, e.status, e.failure]), [[1, undefined, 'timeout'], [2, 200, undefined]]);
    });

    it('gives a typed timeout error once every attempt timed out', async () => {
      const s = await server([{ status: 200, delayMs: 5_000 }]);
      const { c } = client(s.url, { timeoutMs: 100, maxRetries: 1, baseDelayMs: 1 });
      const err = await rejection(c.request('GET', '/slow'));
      assert.deepEqual([err.failure, err.attempts, err.status], ['timeout', 2, undefined]);
    });

    it('retries a GET whose connection was reset', async () => {
      const s = await server([{ destroy: true }, { status: 200, body: { ok: 1 } }]);
      const { c, events } = client(s.url);
      assert.deepEqual((await c.request('GET', '/flaky')).data, { ok: 1 });
      assert.deepEqual(events.map((e) => e.failure), ['network', undefined]);
    });

    it('stops at once, without a retry, when the caller aborts during a request', async () => {
      const s = await server([{ status: 200, delayMs: 5_000 }]);
      const { c, events } = client(s.url);
      const started = Date.now();
      await assert.rejects(c.request('GET', '/slow', { signal: AbortSignal.timeout(100) }), (err: Error) => err.name === 'TimeoutError');
      const controller = new AbortController();
      setTimeout(() => controller.abort(new Error('user cancelled')), 50);
      await assert.rejects(c.request('GET', '/slow', { signal: controller.signal }), /user cancelled/);
      assert.ok(Date.now() - started < 2_000);
      assert.equal(s.requests.length, 2);
      assert.equal(events.length, 0);
    });

    it('stops at once when the caller aborts during a Retry-After wait (real sleep)', async () => {
      const s = await server([{ status: 429, headers: { 'Retry-After': '30' } }]);
      const c = new MicrosoftHttpClient({ baseUrl: s.url, tokenProvider: provider, scopes: [] });
      const controller = new AbortController();
      setTimeout(() => controller.abort(new Error('user cancelled')), 100);
      const started = Date.now();
      await assert.rejects(c.request('GET', '/x', { signal: controller.signal }), /user cancelled/);
      assert.ok(Date.now() - started < 2_000);
      assert.equal(s.requests.length, 1);
    });
  });

  describe('giving up', () => {
    it('stops when the next wait would overrun the retry budget: typed error with attempts and the last status', async () => {
      const s = await server([{ status: 503, headers: { 'Retry-After': '10', 'request-id': 'r-503' }, body: graphError('serviceNotAvailable', 'Service unavailable') }]);
      const { c, waits } = client(s.url, { retryBudgetMs: 25_000, maxRetries: 10 });
      const err = await rejection(c.request('GET', '/v1.0/users'));
      assert.deepEqual(waits, [10_000, 10_000]);
      assert.deepEqual([err.status, err.attempts, err.retryAfterMs, err.code, err.requestId], [503, 3, 10_000, 'serviceNotAvailable', 'r-503']);
      assert.match(err.message, /^GET \/v1\.0\/users failed: HTTP 503 serviceNotAvailable \(Service unavailable\) after 3 attempts/);
      assert.equal(err.userMessage, 'Microsoft did not answer properly just now. Please try again in a few minutes.');
    });

    it('stops after maxRetries', async () => {
      const s = await server([{ status: 502 }]);
      const { c } = client(s.url, { maxRetries: 2 });
      const err = await rejection(c.request('GET', '/x'));
      assert.deepEqual([err.status, err.attempts, s.requests.length], [502, 3, 3]);
    });

    it('an answer of the wrong shape is a typed invalid_response, not retried', async () => {
      const s = await server([{ status: 200, body: { id: 42 } }]);
      const { c } = client(s.url);
      const err = await rejection(c.request('GET', '/x', { parse: z.object({ id: z.string() }) }));
      assert.deepEqual([err.failure, err.status, s.requests.length], ['invalid_response', 200, 1]);
    });
  });

  it('never puts the token, the query string or the body in an error', async () => {
    const SECRET = 'Sup3r~Secret.Value_0123456789';
    const echo = (req: Seen): Reply => ({
      status: 400,
      body: { error: { code: 'BadRequest', message: `Bad ${req.headers.authorization ?? ''} for ${req.url} client_secret=${SECRET}`, innerError: { secret: SECRET, blob: 'x'.repeat(5000) } } },
    });
    const s = await server([echo]);
    const { c, events } = client(s.url);
    const err = await rejection(c.request('GET', '/v1.0/applications', { query: { $filter: `secret eq '${SECRET}'`, client_secret: SECRET } }));
    const everything = [err.message, String(err), inspect(err, { depth: 5 }), JSON.stringify(err), err.description ?? '', JSON.stringify(events)].join('\n');
    for (const secret of [TOKEN, SECRET, 'TOKEN-SECRET-7f3a9c', 'xxxxxxxxxx']) assert.ok(!everything.includes(secret), `leaked ${secret}: ${everything}`);
    assert.ok(!everything.includes('?'), 'no query string');
    assert.equal(err.code, 'BadRequest');
    assert.ok((err.description ?? '').length <= 160);
  });

  describe('paging against the simulator (throttling on)', () => {
    let sim: Simulator;
    before(async () => { sim = await startSimulator(); });
    after(async () => { await sim.stop(); });

    function simToken(aud: string, claims: Record<string, unknown>): string {
      const now = Math.floor(sim.now() / 1000);
      return sim.signer.sign({ aud, tid: PARTNER_TENANT_ID, appid: APP_ID, idtyp: 'app', iat: now, nbf: now, exp: now + 3600, ...claims });
    }
    const customer = z.object({ id: z.string(), companyProfile: z.object({ companyName: z.string() }) });

    for (const [scenario, size, count] of [['throttled', 5, 25], ['large', 500, 20_000]] as const) {
      it(`lists every Partner Center customer once (${scenario}: ${count} at size=${size}), through 429s`, async () => {
        await sim.loadScenario(scenario);
        const { c, events, waits } = client(`${sim.baseUrl}/partnercenter`, {
          scopes: ['https://api.partnercenter.microsoft.com/.default'], requestIds: 'partner-center',
          tokenProvider: async () => simToken('https://api.partnercenter.microsoft.com', { oid: APP_ID, roles: [] }),
        });
        const ids: string[] = [];
        let pages = 0;
        for await (const page of c.partnerCenterPages('/v1/customers', { query: { size }, item: customer })) {
          pages += 1;
          ids.push(...page.items.map((x) => x.id));
        }
        assert.equal(ids.length, count);
        assert.equal(new Set(ids).size, count, 'none twice');
        assert.equal(pages, Math.ceil(count / size));
        const throttled = events.filter((e) => e.status === 429).length;
        if (scenario === 'throttled') {
          assert.ok(throttled >= 2, `${throttled} throttled`);
          assert.ok(waits.every((w) => w === 1000), `waits ${waits.join(',')}`);
        }
        assert.equal(events.filter((e) => e.status === 200).length, pages);
        assert.ok(events.every((e) => !e.path.includes('?')));
      });
    }

    it('pages a Graph collection by @odata.nextLink, through 429s', async () => {
      await sim.loadScenario('throttled');
      const { c, events } = client(`${sim.baseUrl}/graph`, {
        requestIds: 'graph',
        tokenProvider: async () => simToken('https://graph.microsoft.com', { oid: APP_SERVICE_PRINCIPAL_ID, roles: ['DelegatedAdminRelationship.Read.All'] }),
      });
      const rel = z.object({ id: z.string(), customer: z.object({ tenantId: z.string() }) });
      const tenants: string[] = [];
      for await (const page of c.graphPages('/v1.0/tenantRelationships/delegatedAdminRelationships', { query: { $top: 5 }, item: rel })) {
        assert.ok(page.items.length <= 5);
        tenants.push(...page.items.map((r) => r.customer.tenantId));
      }
      assert.equal(tenants.length, 23);
      assert.equal(new Set(tenants).size, 23);
      assert.ok(events.some((e) => e.status === 429));
    });

    it('resumes Partner Center paging from a saved next link', async () => {
      await sim.loadScenario('healthy');
      sim.setRandomThrottling(false);
      try {
        const { c } = client(`${sim.baseUrl}/partnercenter`, {
          tokenProvider: async () => simToken('https://api.partnercenter.microsoft.com', { oid: APP_ID, roles: [] }),
        });
        const first = await c.partnerCenterPages('/v1/customers', { query: { size: 10 }, item: customer }).next();
        assert.ok(!first.done && first.value.next);
        const rest: string[] = [];
        for await (const page of c.partnerCenterPages('/v1/customers', { item: customer, resumeFrom: first.value.next })) rest.push(...page.items.map((x) => x.id));
        assert.equal(rest.length, 15);
        assert.ok(!rest.some((id) => first.value.items.some((x) => x.id === id)));
      } finally {
        sim.setRandomThrottling(true);
      }
    });
  });

  describe('links to elsewhere', () => {
    it('refuses an @odata.nextLink on another host, or outside the base path, after yielding the page it came with', async () => {
      for (const next of ['https://graph.evil.example/v1.0/users?$skiptoken=abc', 'OTHER_PATH']) {
        const s = await server([(req) => ({
          status: 200,
          body: { value: [{ id: 'a' }], '@odata.nextLink': next === 'OTHER_PATH' ? `http://${req.headers.host ?? ''}/elsewhere/v1.0/users?$skiptoken=abc` : next },
        })]);
        const { c } = client(`${s.url}/graph`);
        const seen: string[] = [];
        const err = await rejection((async () => {
          for await (const page of c.graphPages('/v1.0/users', { item: z.object({ id: z.string() }) })) seen.push(...page.items.map((x) => x.id));
        })());
        assert.equal(err.failure, 'refused_link');
        assert.deepEqual(seen, ['a']);
        assert.equal(s.requests.length, 1);
        assert.ok(!err.message.includes('skiptoken'));
      }
    });

    it('normalises Partner Center links with and without /v1 and never takes an Authorization header from a link', async () => {
      const s = await server([
        { body: { items: [1], links: { next: { uri: '/customers?size=1&seekOperation=Next', headers: [{ key: 'MS-ContinuationToken', value: '+RT:a/b=c,d+e' }, { key: 'Authorization', value: 'Bearer stolen' }] } } } },
        { body: { items: [2], links: { next: { uri: '/v1/customers?size=1&seekOperation=Next', headers: [{ key: 'MS-ContinuationToken', value: 'x==' }] } } } },
        { body: { items: [3], links: {} } },
      ]);
      const { c } = client(`${s.url}/pc/`);
      const items: number[] = [];
      for await (const page of c.partnerCenterPages('/v1/customers', { query: { size: 1 }, item: z.number() })) items.push(...page.items);
      assert.deepEqual(items, [1, 2, 3]);
      assert.deepEqual(s.requests.map((r) => r.url), ['/pc/v1/customers?size=1', '/pc/v1/customers?size=1&seekOperation=Next', '/pc/v1/customers?size=1&seekOperation=Next']);
      assert.deepEqual(s.requests.map((r) => r.headers['ms-continuationtoken']), [undefined, '+RT:a/b=c,d+e', 'x==']);
      assert.ok(s.requests.every((r) => r.headers.authorization === `Bearer ${TOKEN}`));
    });
  });
});
