// Benchmarks: figures and ratios printed, nothing asserted (machines here are shared and noisy).
//   npm run bench                  -> PGlite, plus PostgreSQL when BENCH_DATABASE_URL / TEST_DATABASE_URL is set
//   npm run bench -- --connection  -> only the credential cards and the sign-in
//   npm run bench -- --sync        -> only the customer sync (2,000 and 20,000 customers)
//   npm run bench -- --notices     -> only the expiry notices (BENCH_N partners, default 10,000)
//   npm run bench -- --support     -> only the support channel (escalate, claim, re-run, resolve; Teams answering in BENCH_CONNECTOR_DELAY_MS, default 2000)
//   npm run bench -- --customers   -> only `customer <partial>` among 20,000 synced customers, next to the echo bot
//   npm run bench -- --fuzz        -> only the fuzz properties of test/fuzz, 10,000 cases (BENCH_FUZZ_CASES), counted
//   npm run bench -- --turns       -> help, card submits and a support click at 6 and 50 users next to the echo bot, both engines; cold start, peak RSS
//                                     (--pglite-worker: the embedded database on the bot's thread and on its worker; --worker-first, --no-process)
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { createLogger } from '../src/logger';
import { SqlStorage } from '../src/store/bot-storage';
import { openDatabase, type DatabaseTarget, type Db } from '../src/store/db';
import { migrate } from '../src/store/migrate';
import { BotUnderTest, COMPANY, PRIMARY } from '../test/helpers/chat';
import { connectorServiceUrl, messageActivity, type TeamsConversation } from '../test/harness/activities';
import { toPreparation } from '../test/helpers/onboarding-path';
import { BotClient } from '../test/harness/bot-client';
import { startSimulator, type Simulator } from '../test/simulator/server';
import { completeEntraPage, ConsentHarness } from '../test/auth/consent-harness';
import { startBot } from '../test/helpers/bot-process';
import { onboardedPartner } from '../test/sync/sync-harness';
import { ownSchema } from '../test/helpers/databases';
import { readFile } from 'node:fs/promises';
import * as ids from '../test/simulator/scenarios/ids';
import { connectorOf, type TranscriptEntry } from '../test/simulator/services/connector';
import { noticesReceived, seedPartnersWithExpiringKey } from '../test/watch/partner-seed';
import { loadConfig } from '../src/config';
import { Messages } from '../src/onboarding/messages';
import { CustomerRepository } from '../src/store/customers';
import { NoticeRepository } from '../src/store/notices';
import { PartnerRepository } from '../src/store/partners';
import { SupportRepository } from '../src/store/support';
import { THRESHOLDS } from '../src/watch/expiry';
import { ExpiryWatch } from '../src/watch/expiry-watch';
import { benchFuzz } from './fuzz';
import { startEchoBot } from './echo-bot';
import { benchTurnKinds } from './turns';

interface Stats { n: number; totalMs: number; p50: number; p95: number; p99: number; perSec: number }

async function measure(n: number, fn: (i: number) => Promise<void>, concurrency = 1): Promise<Stats> {
  const samples: number[] = [];
  let next = 0;
  const start = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < n) {
      const i = next++;
      const t = performance.now();
      await fn(i);
      samples.push(performance.now() - t);
    }
  }));
  const totalMs = performance.now() - start;
  samples.sort((a, b) => a - b);
  const q = (p: number) => samples[Math.min(samples.length - 1, Math.floor(p * samples.length))]!;
  return { n, totalMs, p50: q(0.5), p95: q(0.95), p99: q(0.99), perSec: (n / totalMs) * 1000 };
}

/** Percentiles over samples collected elsewhere (one sample per timed step, not per `fn` call). */
function statsOf(samples: number[], totalMs: number): Stats {
  const sorted = [...samples].sort((a, b) => a - b);
  const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
  return { n: sorted.length, totalMs, p50: q(0.5), p95: q(0.95), p99: q(0.99), perSec: (sorted.length / totalMs) * 1000 };
}

function row(name: string, s: Stats): void {
  console.log(`  ${name.padEnd(44)} ${s.perSec.toFixed(0).padStart(7)} ops/s   p50 ${s.p50.toFixed(2).padStart(7)} ms   p95 ${s.p95.toFixed(2).padStart(7)} ms   p99 ${s.p99.toFixed(2).padStart(7)} ms   (n=${s.n})`);
}

async function benchStorage(name: string, target: DatabaseTarget): Promise<Stats> {
  const db = await openDatabase(target);
  await migrate(db);
  await db.exec('TRUNCATE bot_state');
  const storage = new SqlStorage(db);
  const doc = { dialogStack: [{ id: 'onboarding', state: { step: 3, values: { company: 'Contoso', country: 'DE', contacts: [{ email: 'a@contoso.com' }] } } }] };
  // A turn's state traffic: read the conversation's state, then write it back with its eTag.
  const turn = async (i: number) => {
    const key = `msteams/conversations/${i % 200}/`;
    const item = (await storage.read([key]))[key];
    await storage.write({ [key]: { ...doc, counter: i, eTag: item?.eTag ?? '*' } });
  };
  await measure(200, turn);
  const seq = await measure(2000, turn);
  row(`${name}: state read+write per turn`, seq);
  const conc = await measure(2000, (i) => turn(i * 7919), 8);
  row(`${name}: same, 8 concurrent`, conc);
  await db.close();
  return seq;
}

/** A `help` turn over HTTP, its reply delivered to the simulator's Bot Connector (HTTPS, limits off). */
async function benchTurns(): Promise<void> {
  const bot = await BotUnderTest.start({ teamsLimits: false });
  const serviceUrl = connectorServiceUrl(bot.sim.baseUrl);
  const tenant = '72f988bf-86f1-41af-91ab-2d7cd011db47';
  const post = async (i: number) => {
    const res = await fetch(`${bot.url}/api/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        type: 'message', text: 'help', channelId: 'msteams', serviceUrl, id: `m${i}`,
        from: { id: '29:u', name: 'U' }, recipient: { id: '28:b' },
        conversation: { id: `a:${i % 50}`, conversationType: 'personal', tenantId: tenant }, channelData: { tenant: { id: tenant } },
      }),
    });
    await res.arrayBuffer();
    if (res.status >= 300) throw new Error(`HTTP ${res.status}`);
  };
  await measure(50, post);
  row('HTTP turn "help" (PGlite, reply sent)', await measure(500, post));
  row('HTTP turn "help", 10 concurrent', await measure(1000, post, 10));
  await bot.stop();
}

/** The first half of the journey per partner, as Teams would drive it, against the simulator's connector. */
async function benchOnboarding(): Promise<void> {
  const bot = await BotUnderTest.start({ teamsLimits: false });
  // Signed in with the contact's address (UPN): verified through Teams identity, no mail (the `mail` attribute is not trusted).
  const one = async () => { await toPreparation(bot); };
  await measure(3, one);
  const seq = await measure(20, one);
  row('partner: start → verified (5 turns)', seq);
  console.log(`  per turn, sequential partners                ${(seq.totalMs / seq.n / 5).toFixed(1).padStart(7)} ms`);
  const conc = await measure(40, one, 8);
  row('same, 8 partners at once', conc);
  await bot.stop();
}

/** Microsoft round-trips the bot made, from the simulator's request log: Entra ID, Graph, Partner Center. */
function microsoftCalls(sim: Simulator, from: number): { entra: number; graph: number; partnerCenter: number } {
  const out = { entra: 0, graph: 0, partnerCenter: 0 };
  for (const r of sim.requests.slice(from)) {
    if (r.path.startsWith('/graph')) out.graph++;
    else if (r.path.startsWith('/partnercenter')) out.partnerCenter++;
    else if (!r.path.startsWith('/connector') && !r.path.startsWith('/_sim') && !r.path.startsWith('/v3')) out.entra++;
  }
  return out;
}

/**
 * Journey steps 6-7 per partner: the Entra card (tenant and account domain through OpenID metadata,
 * the app-only pre-flight, Graph for name and secret expiry), the Partner Center card (app-only
 * token), and the service account's sign-in from the card's link to the callback (MSAL, Partner
 * Center's ValidateMfa), then Continue into the full checks, with the Microsoft round-trips each made.
 */
async function benchConnection(): Promise<void> {
  const bot = await BotUnderTest.start({ teamsLimits: false });
  await bot.loadScenario('healthy');
  const throttle = await fetch(`${bot.sim.baseUrl}/_sim/throttling`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ random: false }) });
  await throttle.body?.cancel();
  const entraMs: number[] = [];
  const pcMs: number[] = [];
  const signInMs: number[] = [];
  const checksMs: number[] = [];
  const calls = { entra: { entra: 0, graph: 0, partnerCenter: 0 }, pc: { entra: 0, graph: 0, partnerCenter: 0 }, signIn: { entra: 0, graph: 0, partnerCenter: 0 }, checks: { entra: 0, graph: 0, partnerCenter: 0 } };
  let fullRun: { graph: number; partnerCenter: number; waves?: { graph: number; partnerCenter: number } } | undefined;
  const n = Number(process.env.BENCH_N ?? 12);
  const started = performance.now();
  for (let i = 0; i < n; i++) {
    const { chat } = await toPreparation(bot, { skipChecklist: true });
    let mark = bot.sim.requests.length;
    let t = performance.now();
    await chat.press('Save and check', { tenant: ids.PARTNER_CUSTOM_DOMAIN, serviceAccount: ids.SERVICE_ACCOUNT_UPN, appId: ids.APP_ID, appSecret: ids.APP_SECRET_VALUE }, { count: 2 });
    entraMs.push(performance.now() - t);
    calls.entra = microsoftCalls(bot.sim, mark);
    mark = bot.sim.requests.length;
    t = performance.now();
    await chat.press('Save', { pcAppId: ids.APP_ID, pcSecret: ids.APP_SECRET_VALUE, pcSecretExpires: new Date(Date.now() + 300 * 86_400_000).toISOString().slice(0, 10) }, { count: 3 });
    pcMs.push(performance.now() - t);
    calls.pc = microsoftCalls(bot.sim, mark);
    const link = /"url":"(http:\/\/localhost:3978\/auth\/start\?s=[^"]+)"/.exec(JSON.stringify(chat.lastCard().card))![1]!;
    mark = bot.sim.requests.length;
    t = performance.now();
    const path = (u: string) => { const x = new URL(u); return `${bot.url}${x.pathname}${x.search}`; };
    const start = await fetch(path(link), { redirect: 'manual' });
    const entraPage = await completeEntraPage(start.headers.get('location')!, { upn: ids.SERVICE_ACCOUNT_UPN, password: ids.SERVICE_ACCOUNT_PASSWORD, mfa: true });
    const done = await fetch(path(entraPage.location!), { redirect: 'manual' });
    await done.body?.cancel();
    signInMs.push(performance.now() - t);
    // The browser's own two round-trips to the sign-in page are Entra's too; the rest is the bot's.
    calls.signIn = microsoftCalls(bot.sim, mark);
    // Continue: journey step 10, the full checks (delegated and app-only), card and verdict posted.
    await chat.refresh();
    mark = bot.sim.requests.length;
    t = performance.now();
    const turn = await chat.press('Continue', {}, { count: 4 });
    checksMs.push(performance.now() - t);
    calls.checks = microsoftCalls(bot.sim, mark);
    if (!turn.texts.some((x) => x.includes('connection is done and verified'))) throw new Error(`the full checks did not pass: ${turn.texts.join(' | ')}`);
    fullRun = (await bot.app.checkRuns.latest(chat.client.conversation.tenantId))?.roundTrips;
  }
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  // Rates are per step done back to back (the time of the other steps not counted).
  row('Entra card submit (resolve, pre-flight, Graph)', statsOf(entraMs, sum(entraMs)));
  row('Partner Center card + pre-flight checks', statsOf(pcMs, sum(pcMs)));
  row('sign-in: /auth/start → Entra → callback', statsOf(signInMs, sum(signInMs)));
  row('Continue → full checks, card, verdict', statsOf(checksMs, sum(checksMs)));
  console.log(`  ${n} partners from start to consent in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  const fmt = (c: { entra: number; graph: number; partnerCenter: number }) => `Entra ${c.entra}, Graph ${c.graph}, Partner Center ${c.partnerCenter}`;
  console.log(`  Microsoft round-trips, Entra card: ${fmt(calls.entra)}; Partner Center card: ${fmt(calls.pc)}; sign-in (browser's 2 page requests included): ${fmt(calls.signIn)}`);
  console.log(`  full checks, healthy partner (${ids.PARTNER_TENANT_ID.slice(0, 8)}…, 23 GDAP relationships): requests ${fmt(calls.checks)} (Entra: delegated Graph and Partner Center tokens from the refresh token, app-only Graph token)`);
  if (fullRun?.waves) console.log(`  full checks, one after the other (waves): Graph ${fullRun.waves.graph} (target ≤ 3), Partner Center ${fullRun.waves.partnerCenter} (target ≤ 2); requests as counted by the run: Graph ${fullRun.graph}, Partner Center ${fullRun.partnerCenter}`);
  await bot.stop();
}

/** Peak resident set of a process (Linux: VmHWM), in MiB. */
async function peakRssMiB(pid: number): Promise<number | undefined> {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The customer sync of one partner with `count` customers, run by the real bot process on its
 * embedded database (as `npm start` runs it) against the simulator, whose Partner Center allows
 * `perSecond` requests a second (a token bucket: beyond it, 429 + Retry-After). Prints customers
 * per second, the allowed request rate against the rate achieved on the customer pages, the 429s,
 * and the bot process' peak RSS.
 */
async function benchSyncOf(count: number, perSecond: number, pageSize: number): Promise<void> {
  const sim = await startSimulator({ scenario: 'large', randomThrottling: false });
  const h = await ConsentHarness.start('large', { sim, env: { SYNC_PAGE_SIZE: String(pageSize), SYNC_NIGHTLY_AT: 'off', JOB_POLL_SECONDS: '0.5' } });
  sim.scenario.tenants[0]!.customers.count = count;
  const p = await onboardedPartner(h);
  await h.app.stop();
  sim.scenario.throttling.partnerCenter.perSecond = perSecond;
  const proc = await startBot({ entry: 'src', env: { ...h.env, LOG_LEVEL: 'warn' } });
  const chat = new BotClient({ endpoint: `${proc.url}/api/messages`, simulatorUrl: sim.baseUrl, conversation: { tenantId: p.tenant, user: p.person, conversationId: p.conversationId }, quietMs: 120 });
  const mark = sim.requests.length;
  const t0 = performance.now();
  await chat.say('sync', { count: 1 });
  const deadline = Date.now() + 900_000;
  let done = false;
  while (!done && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
    done = (await chat.transcript()).some((e) => JSON.stringify(e.activity.attachments ?? []).includes('Customer sync done'));
  }
  const wallMs = performance.now() - t0;
  const rss = await peakRssMiB(proc.child.pid!);
  await proc.stop();
  await h.restart();
  const sync = await h.app.syncs.latest(p.tenant);
  const pages = sim.requests.slice(mark).filter((r) => r.path.endsWith('/v1/customers'));
  const ok = pages.filter((r) => r.status === 200);
  const throttled = pages.filter((r) => r.status === 429).length;
  const spanS = ok.length > 1 ? (ok[ok.length - 1]!.at - ok[0]!.at) / 1000 : 0;
  const achieved = spanS > 0 ? (ok.length - 1) / spanS : 0;
  console.log(`  ${String(count).padStart(6)} customers: ${done ? 'synced' : 'NOT finished'} in ${(wallMs / 1000).toFixed(1)} s → ${(count / (wallMs / 1000)).toFixed(0)} customers/s end to end; ${sync?.seen ?? '?'} seen, ${sync?.pages ?? '?'} customer pages of ${pageSize}, ${sync?.gdapPages ?? '?'} GDAP pages`);
  console.log(`         Partner Center customer pages: allowed ${perSecond}/s, achieved ${achieved.toFixed(1)}/s (ratio ${(achieved / perSecond).toFixed(2)}, target ≥ 0.9), 429s ${throttled}; bot process peak RSS ${rss?.toFixed(0) ?? '?'} MiB`);
  await h.stop();
  await sim.stop();
}

async function benchSync(): Promise<void> {
  const perSecond = Number(process.env.BENCH_PC_PER_SECOND ?? 20);
  const pageSize = Number(process.env.BENCH_SYNC_PAGE_SIZE ?? 100);
  for (const count of [2_000, 20_000]) await benchSyncOf(count, perSecond, pageSize);
}

/**
 * Expiry notices: BENCH_N connected partners (each its own tenant, so Teams' limits per thread and
 * per tenant never bind), their Partner Center keys spread over the thresholds, recorded by the scan
 * (in this process), then sent by the real bot process (its drain at start) through the simulator's
 * connector, whose per-app limit across tenants (a bench knob) allows BENCH_NOTICES_PER_SECOND.
 * Prints the rate achieved over the drain (first send to last delivery) against the one allowed,
 * the 429s the connector answered, duplicates (a conversation given its notice twice), the outbox
 * afterwards and the bot process' peak RSS. PostgreSQL when BENCH_DATABASE_URL / TEST_DATABASE_URL
 * is set, else the embedded database. BENCH_NOTICES_TIMELINE=1 prints deliveries and 429s per second.
 */
async function benchNotices(): Promise<void> {
  const n = Number(process.env.BENCH_N ?? 10_000);
  const allowed = Number(process.env.BENCH_NOTICES_PER_SECOND ?? 100);
  const url = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL;
  const schema = url ? await ownSchema(url, 'bench') : undefined;
  const databaseUrl = schema?.url;
  const sim = await startSimulator({ scenario: 'healthy', randomThrottling: false });
  // The harness migrates the database and gives the bot's environment; the bot process does the rest.
  const h = await ConsentHarness.start('healthy', { sim, env: { ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}), SYNC_NIGHTLY_AT: 'off' } });
  await h.app.stop();
  const db = await openDatabase(loadConfig(h.env).database);
  let t = performance.now();
  const partners = await seedPartnersWithExpiringKey(db, sim, n, (i) => THRESHOLDS[i % THRESHOLDS.length]!);
  const seedMs = performance.now() - t;
  t = performance.now();
  // The scan as the job runs it; Graph is not read (these partners keep no app secret to read it with).
  const watch = new ExpiryWatch({
    partners: new PartnerRepository(db), notices: new NoticeRepository(db), logger: createLogger({ level: 'silent' }).logger,
    watched: () => Promise.resolve({}), supportThread: () => Promise.resolve(undefined),
  });
  const scanned = await watch.scan();
  const scanMs = performance.now() - t;
  await db.close();

  const connector = connectorOf(sim);
  connector.setLimits({ perAppGlobal: [{ limit: allowed, windowMs: 1_000 }] });
  const mark = connector.requests.length;
  // A proactive send answers a continuation activity: the connector logs it as a reply.
  const sends = () => connector.requests.slice(mark).filter((r) => r.op === 'send' || r.op === 'reply');
  t = performance.now();
  const proc = await startBot({ entry: 'src', env: { ...h.env, LOG_LEVEL: 'warn' } });
  const atReady = await peakRssMiB(proc.child.pid!);
  const deadline = Date.now() + Math.max(300_000, (n / allowed) * 4_000);
  while (Date.now() < deadline && sends().filter((r) => r.status === 201).length < scanned.recorded) await new Promise((r) => setTimeout(r, 500));
  const endToEndMs = performance.now() - t;
  const rss = await peakRssMiB(proc.child.pid!);
  await proc.stop();
  if (proc.stderr().trim()) console.log(`  bot process stderr: ${proc.stderr().trim().slice(0, 2_000)}`);

  const all = sends();
  const delivered = all.filter((r) => r.status === 201);
  const throttled = all.filter((r) => r.status === 429).length;
  const other = all.length - delivered.length - throttled;
  const drainS = delivered.length > 0 ? (Date.parse(delivered[delivered.length - 1]!.at) - Date.parse(all[0]!.at)) / 1000 : 0;
  const achieved = drainS > 0 ? delivered.length / drainS : 0;
  if (process.env.BENCH_NOTICES_TIMELINE) console.log(`  second:delivered/429s  ${perSecond(all)}`);
  const received = [...noticesReceived(sim, partners).values()];
  const duplicates = received.reduce((sum, c) => sum + Math.max(0, c - 1), 0);
  const missing = received.filter((c) => c === 0).length;
  await h.restart();
  const outbox = await h.app.notices.counts();
  console.log(`  ${n} partners seeded in ${(seedMs / 1000).toFixed(1)} s; scan: ${scanned.partners} partners → ${scanned.recorded} notices recorded in ${(scanMs / 1000).toFixed(1)} s (${db.engine === 'postgres' ? 'PostgreSQL' : 'PGlite on disk'})`);
  console.log(`  drain by the bot process: ${delivered.length} delivered in ${drainS.toFixed(1)} s (process start to last delivery ${(endToEndMs / 1000).toFixed(1)} s); outbox after: ${JSON.stringify(outbox)}`);
  console.log(`  connector, per app across tenants: allowed ${allowed}/s, achieved ${achieved.toFixed(1)}/s (ratio ${(achieved / allowed).toFixed(2)}, target ≥ 0.9); 429s ${throttled}${other ? `, other failures ${other}` : ''}`);
  console.log(`  duplicates ${duplicates} (target 0), conversations without their notice ${missing}; bot process peak RSS ${rss?.toFixed(0) ?? '?'} MiB (${atReady?.toFixed(0) ?? '?'} MiB when ready)`);
  await h.stop();
  await sim.stop();
  await schema?.drop();
}

/** "second:delivered/429s" for each second of the sends, from the connector's log. */
function perSecond(requests: readonly { at: string; status: number }[]): string {
  const start = Date.parse(requests[0]?.at ?? '');
  const seconds: Array<[number, number]> = [];
  for (const r of requests) {
    const s = (seconds[Math.floor((Date.parse(r.at) - start) / 1000)] ??= [0, 0]);
    s[r.status === 429 ? 1 : 0] += 1;
  }
  return [...seconds].map((s, i) => `${i}:${s?.[0] ?? 0}${s?.[1] ? `/${s[1]}` : ''}`).join(' ');
}

const SUBMIT_USERS = 6;

/**
 * Card-submit turn latency: 6 users at once, each a fresh tenant, each timing its company, primary
 * contact, secondary "Skip" and review "Confirm" submits (reply delivered to the connector). The
 * same bot as the tests, on embedded PGlite; Confirm mails a code to the outbox folder.
 */
async function benchSubmits(bot: BotUnderTest, partners: number): Promise<{ all: Stats; bySubmit: Map<string, number[]> }> {
  const bySubmit = new Map<string, number[]>([['company', []], ['primary contact', []], ['secondary skip', []], ['review confirm', []]]);
  const timed = async (name: string, step: () => Promise<unknown>) => {
    const t = performance.now();
    await step();
    bySubmit.get(name)!.push(performance.now() - t);
  };
  let next = 0;
  const start = performance.now();
  await Promise.all(Array.from({ length: SUBMIT_USERS }, async () => {
    while (next < partners) {
      const i = next++;
      const chat = bot.chat({ tenantId: randomUUID(), user: { name: `Bench User ${i}`, aadObjectId: randomUUID() } });
      await chat.say('start', 1);
      await timed('company', () => chat.press('Save company details', COMPANY, { count: 1 }));
      await timed('primary contact', () => chat.press('Save contact', PRIMARY, { count: 1 }));
      await timed('secondary skip', () => chat.press('Skip: no secondary contact', {}, { count: 1 }));
      await timed('review confirm', () => chat.press('Confirm', {}, { count: 1 }));
    }
  }));
  const totalMs = performance.now() - start;
  return { all: statsOf([...bySubmit.values()].flat(), totalMs), bySubmit };
}

async function benchEcho(sim: Simulator, turns: number): Promise<Stats> {
  const echo = await startEchoBot();
  const clients = Array.from({ length: SUBMIT_USERS }, (_, u) => new BotClient({
    endpoint: echo.url,
    simulatorUrl: sim.baseUrl,
    conversation: { tenantId: randomUUID(), user: { name: `Echo User ${u}`, aadObjectId: randomUUID() } },
  }));
  const samples: number[] = [];
  let next = 0;
  const start = performance.now();
  await Promise.all(clients.map(async (client) => {
    while (next < turns) {
      const i = next++;
      const t = performance.now();
      const turn = await client.say(`echo ${i}`, { count: 1 });
      samples.push(performance.now() - t);
      if (turn.texts[0] !== `echo ${i}`) throw new Error(`echo bot answered ${JSON.stringify(turn.texts)}`);
    }
  }));
  const stats = statsOf(samples, performance.now() - start);
  await echo.stop();
  return stats;
}

/** Card submits next to the echo floor, same simulator, same harness, same 6-way concurrency. Target: ≤ 2×. */
async function benchSubmitVsEcho(engine: 'PGlite' | 'PostgreSQL' = 'PGlite'): Promise<void> {
  const url = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL;
  // A schema of its own, so the bench never touches other data on that server.
  const schema = engine === 'PostgreSQL' && url ? await ownSchema(url, 'bench') : undefined;
  const db: Db | undefined = schema ? await openDatabase({ kind: 'postgres', url: schema.url }) : undefined;
  const bot = await BotUnderTest.start({ teamsLimits: false, db });
  const partners = Number(process.env.BENCH_SUBMIT_PARTNERS ?? 80);
  await benchSubmits(bot, SUBMIT_USERS * 2); // warm-up
  const { all, bySubmit } = await benchSubmits(bot, partners);
  await benchEcho(bot.sim, 60); // warm-up
  const echo = await benchEcho(bot.sim, all.n);
  row(`card submit (${SUBMIT_USERS} users, ${engine})`, all);
  for (const [name, samples] of bySubmit) {
    const s = statsOf(samples, all.totalMs);
    console.log(`    ${name.padEnd(42)} p50 ${s.p50.toFixed(2).padStart(7)} ms   p95 ${s.p95.toFixed(2).padStart(7)} ms   p99 ${s.p99.toFixed(2).padStart(7)} ms   (n=${s.n})`);
  }
  row(`echo bot, same adapter (${SUBMIT_USERS} users)`, echo);
  console.log(`  ratio submit / echo: p50 x${(all.p50 / echo.p50).toFixed(2)}   p99 x${(all.p99 / echo.p99).toFixed(2)}   (target ≤ x2)`);
  await bot.stop();
  await schema?.drop();
}

/** Both engines when a PostgreSQL URL is given: the embedded one shares the bot's thread, PostgreSQL does not. */
async function benchSubmitsOnEveryEngine(): Promise<void> {
  await benchSubmitVsEcho('PGlite');
  if (process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL) await benchSubmitVsEcho('PostgreSQL');
  else console.log('  (PostgreSQL not measured: set BENCH_DATABASE_URL or TEST_DATABASE_URL)');
}

async function benchLogging(): Promise<void> {
  const sink = () => new Writable({ write(_c, _e, cb) { cb(); } });
  const plain = pino({ level: 'info' }, sink());
  const { logger } = createLogger({ level: 'info', destination: sink() });
  const fields = { tenantId: '72f988bf', conversationId: 'a:1', step: 'company', request: { headers: { authorization: 'Bearer abc.def.ghi' }, path: '/api/messages' } };
  const n = 50_000;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) plain.info(fields, 'turn done');
  const plainMs = performance.now() - t0;
  const t1 = performance.now();
  for (let i = 0; i < n; i++) logger.info(fields, 'turn done');
  const redactedMs = performance.now() - t1;
  console.log(`  log line, plain pino                          ${((n / plainMs) * 1000).toFixed(0).padStart(7)} lines/s`);
  console.log(`  log line, with redaction                      ${((n / redactedMs) * 1000).toFixed(0).padStart(7)} lines/s   (cost x${(redactedMs / plainMs).toFixed(2)} of plain)`);
}

/**
 * The support channel, as the people using it feel it: a partner's `support` until the answer
 * (case opened, thread and status card posted in the channel), and each engineer's click until
 * the invoke answer (the new card), and until the partner is told. The clicks run with Teams'
 * connector answering every call after BENCH_CONNECTOR_DELAY_MS (default 2 s): a slow Teams.
 */
async function benchSupport(): Promise<void> {
  const delayMs = Number(process.env.BENCH_CONNECTOR_DELAY_MS ?? 2000);
  const engineer = { aadObjectId: randomUUID(), name: 'Bench Engineer' };
  const h = await ConsentHarness.start('healthy', { env: { SUPPORT_ENGINEERS: engineer.aadObjectId } });
  const throttle = await fetch(`${h.sim.baseUrl}/_sim/throttling`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ random: false }) });
  await throttle.body?.cancel();
  connectorOf(h.sim).setLimits({ enabled: false });
  const channel = new BotClient({
    endpoint: `${h.url}/api/messages`, simulatorUrl: h.sim.baseUrl, quietMs: 0,
    conversation: { tenantId: randomUUID(), scope: 'channel', user: engineer },
  });
  await channel.say('set support channel', { count: 1 });
  const n = Number(process.env.BENCH_N ?? 20);
  const ms: Record<'escalate' | 'claim' | 'rerun' | 'resolve' | 'claimTold' | 'resolveTold', number[]> = { escalate: [], claim: [], rerun: [], resolve: [], claimTold: [], resolveTold: [] };
  const connector = connectorOf(h.sim);
  const told = (conversationId: string, text: string) => connector.transcript(conversationId).waitFor((entries) => entries.some((e) => e.activity.text === text), { timeoutMs: 600_000 });
  const started = performance.now();
  for (let i = 0; i < n; i++) {
    const p = await onboardedPartner(h);
    let t = performance.now();
    await p.chat.say('support', 1);
    ms.escalate.push(performance.now() - t);
    // The clicks come from the case's thread, on its card, as in Teams (elsewhere the answer is "no case here").
    const c = (await new SupportRepository(h.app.db).get(p.tenant))!;
    const thread = new BotClient({
      endpoint: `${h.url}/api/messages`, simulatorUrl: h.sim.baseUrl, quietMs: 0,
      conversation: { tenantId: channel.conversation.tenantId, scope: 'channel', user: engineer, team: channel.conversation.team, channel: channel.conversation.channel, conversationId: c.threadId! },
    });
    connector.answerAfter(delayMs);
    for (const verb of ['claim', 'rerun', 'resolve'] as const) {
      t = performance.now();
      const answer = await thread.execute({ verb: `support.${verb}`, data: {} }, { replyToId: c.cardActivityId! }, { count: 0, timeoutMs: 120_000 });
      ms[verb].push(performance.now() - t);
      const body = answer.body as { statusCode?: number; type?: string };
      if (body.statusCode !== 200 || body.type !== 'application/vnd.microsoft.card.adaptive') throw new Error(`support.${verb}: ${JSON.stringify(answer.body).slice(0, 200)}`);
      if (verb !== 'rerun') {
        await told(p.conversationId, verb === 'claim' ? Messages.supportClaimed(engineer.name) : Messages.supportResolved(engineer.name));
        ms[`${verb}Told`].push(performance.now() - t);
      }
    }
    connector.answerAfter(0);
  }
  const total = performance.now() - started;
  console.log(`Support channel (${n} partners, in-process bot, simulator; each step until its answer; ops/s counts the partners' onboarding too;`
    + ` the clicks with Teams answering in ${delayMs} ms)`);
  row('support → thread + case card posted', statsOf(ms.escalate, total));
  row('Claim → the engineer\'s answer', statsOf(ms.claim, total));
  row('Claim → the partner told', statsOf(ms.claimTold, total));
  row('Re-run checks (full run, both cards)', statsOf(ms.rerun, total));
  row('Resolve → the engineer\'s answer', statsOf(ms.resolve, total));
  row('Resolve → the partner told', statsOf(ms.resolveTold, total));
  await h.stop();
}

/**
 * One message turn in `conversation`, from the POST until the bot's reply (not a typing
 * indicator) is at the simulated connector, read in this process. BotClient.say reads the whole
 * transcript over HTTP two or three times a turn: in a chat that has grown hundreds of customer
 * cards that costs this single thread more than the bot's turn, and grows with the run.
 */
async function untilReply(sim: Simulator, endpoint: string, conversation: TeamsConversation, text: string): Promise<TranscriptEntry> {
  const transcript = connectorOf(sim).transcript(conversation.conversationId);
  const before = transcript.entries.length;
  const res = await fetch(endpoint, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(messageActivity(conversation, text)) });
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`${text}: HTTP ${res.status}`);
  return transcript.waitFor((entries) => entries.slice(before).find((e) => e.type === 'message'), { timeoutMs: 20_000 });
}

/**
 * `customer <partial>` turns among one partner's 20,000 synced customers (PGlite, in-process bot),
 * next to the bare echo bot, both one turn at a time through the same simulated Teams and timed the
 * same way (untilReply). The partials take turns: a name's start (the prefix indexes), a piece from
 * a name's middle and one of a domain (the trigram indexes, migration 19). The search query alone
 * is timed per form too.
 */
async function benchCustomers(): Promise<void> {
  const count = Number(process.env.BENCH_CUSTOMERS ?? 20_000);
  const turns = Number(process.env.BENCH_N ?? 300);
  const h = await ConsentHarness.start('healthy');
  connectorOf(h.sim).setLimits({ enabled: false });
  const p = await h.partner();
  const first = ['Alder', 'Birch', 'Cedar', 'Delta', 'Ember', 'Fjord', 'Granite', 'Harbor', 'Iris', 'Juniper', 'Kestrel', 'Lumen', 'Maple', 'Nimbus', 'Orchid', 'Pioneer'];
  const second = ['Foods', 'Solar', 'Dental', 'Logistics', 'Design', 'Consulting', 'Outfitters', 'Analytics', 'Legal', 'Health', 'Media', 'Robotics'];
  // Page by page, as the sync writes them (each page one statement), so the indexes are built the way they are in use.
  const loadStart = performance.now();
  for (let from = 1; from <= count; from += 500) {
    await h.app.db.query(
      `INSERT INTO customers (tenant_id, customer_tenant_id, pc_customer_id, company_name, domain, manageable, not_manageable_reason, last_seen_sync)
       SELECT $1, gen_random_uuid()::text, 'pc-' || n, ($2::text[])[1 + n % 16] || ' ' || ($3::text[])[1 + (n / 16) % 12] || ' ' || n || ' GmbH',
         lower(($2::text[])[1 + n % 16]) || n || '.onmicrosoft.com', n % 10 <> 0, CASE WHEN n % 10 = 0 THEN 'none' END, 0
       FROM generate_series($4::int, $5::int) AS n`, [p.tenant, first, second, from, Math.min(count, from + 499)]);
  }
  const loadMs = performance.now() - loadStart;
  await h.app.db.exec('ANALYZE customers');
  const forms = ['a name\'s start', 'a piece of a name\'s middle', 'a piece of a domain'] as const;
  const partial = (i: number) => {
    const n = 1 + ((i * 7919) % count);
    const word = first[n % 16]!;
    return i % 3 === 0 ? `${word.toLowerCase()} ${second[Math.floor(n / 16) % 12]!.slice(0, 3)}`
      : i % 3 === 1 ? `${second[Math.floor(n / 16) % 12]!.slice(-4)} ${n}`
        : `${word.slice(2).toLowerCase()}${n}.onmicro`;
  };
  const customers = new CustomerRepository(h.app.db);
  const endpoint = `${h.url}/api/messages`;
  const chat = p.chat.client.conversation;
  // Warm-up. The first POST may meet the keep-alive socket the bot's server closed during the load: once more then.
  await untilReply(h.sim, endpoint, chat, `customer ${partial(0)}`).catch(() => untilReply(h.sim, endpoint, chat, `customer ${partial(0)}`));
  for (let i = 1; i < 10; i++) await untilReply(h.sim, endpoint, chat, `customer ${partial(i)}`);
  const byForm = forms.map(() => [] as number[]);
  const db = await measure(turns, async (i) => {
    const t = performance.now();
    await customers.find(p.tenant, partial(i), 7);
    byForm[i % 3]!.push(performance.now() - t);
  });
  const bot = await measure(turns, async (i) => {
    const reply = await untilReply(h.sim, endpoint, chat, `customer ${partial(i)}`);
    if (!reply.attachments?.length) throw new Error(`customer ${partial(i)}: ${JSON.stringify(reply.text)}`);
  });
  const echo = await startEchoBot();
  const client = new BotClient({ endpoint: echo.url, simulatorUrl: h.sim.baseUrl, conversation: { tenantId: randomUUID(), user: { name: 'Echo User', aadObjectId: randomUUID() } } });
  await client.say('echo warm-up', { count: 1 }); // registers the conversation with the simulator
  for (let i = 0; i < 10; i++) await untilReply(h.sim, echo.url, client.conversation, `echo ${i}`);
  const floor = await measure(turns, async (i) => { await untilReply(h.sim, echo.url, client.conversation, `echo ${i}`); });
  await echo.stop();
  const [load1] = loadavg();
  console.log(`Customer look-up among ${count.toLocaleString('en-US')} synced customers (PGlite, in-process bot, one turn at a time, until the reply is at the connector; load average ${load1!.toFixed(1)} on ${cpus().length} cores)`);
  row('customer <partial> → card or pick list', bot);
  row('echo bot, same simulator, timed the same way', floor);
  row('  the search query alone (repository)', db);
  forms.forEach((form, k) => row(`    ${form}`, statsOf(byForm[k]!, byForm[k]!.reduce((sum, ms) => sum + ms, 0))));
  console.log(`  ratio customer / echo: p50 x${(bot.p50 / floor.p50).toFixed(2)}   p99 x${(bot.p99 / floor.p99).toFixed(2)}   (target: customer p99 under 200 ms)`);
  console.log(`  ${count.toLocaleString('en-US')} customers written in pages of 500 with the search indexes in place: ${(loadMs / 1000).toFixed(1)} s`);
  await h.stop();
}

/** `npm run bench -- --<name>`: only that part. */
const PARTS: Record<string, () => Promise<void>> = {
  '--submits': benchSubmitsOnEveryEngine,
  '--connection': benchConnection,
  '--sync': benchSync,
  '--notices': benchNotices,
  '--support': benchSupport,
  '--customers': benchCustomers,
  '--fuzz': benchFuzz,
  '--turns': benchTurnKinds,
};

async function main(): Promise<void> {
  const only = Object.entries(PARTS).find(([flag]) => process.argv.includes(flag));
  if (only) {
    await only[1]();
    return;
  }
  console.log('Bot state storage');
  const pgl = await benchStorage('PGlite (in-memory)', { kind: 'pglite-memory' });
  const dir = await mkdtemp(join(tmpdir(), 'bench-pgl-'));
  const pglDisk = await benchStorage('PGlite (on disk)', { kind: 'pglite', dir });
  await rm(dir, { recursive: true, force: true });
  const url = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL;
  if (url) {
    const pg = await benchStorage('PostgreSQL', { kind: 'postgres', url });
    console.log(`  ratio PostgreSQL / PGlite-on-disk throughput: x${(pg.perSec / pglDisk.perSec).toFixed(2)}`);
  } else {
    console.log('  (PostgreSQL not measured: set BENCH_DATABASE_URL or TEST_DATABASE_URL)');
  }
  console.log(`  ratio PGlite on disk / in memory throughput: x${(pglDisk.perSec / pgl.perSec).toFixed(2)}`);
  console.log('Turns over HTTP');
  await benchTurns();
  console.log('Onboarding conversation (in-process bot, HTTP, simulated Teams)');
  await benchOnboarding();
  console.log('Connection: credential cards and sign-in (in-process bot, simulated Microsoft cloud)');
  await benchConnection();
  console.log('Customer sync (bot process on its embedded database, simulated Partner Center with a rate limit)');
  await benchSync();
  console.log('Expiry notices (bot process, simulated Teams connector with a rate limit per app)');
  await benchNotices();
  console.log('Card submits next to a bare echo bot (HTTP, simulated Teams, reply delivered)');
  await benchSubmitsOnEveryEngine();
  console.log('Logging');
  await benchLogging();
  await benchCustomers();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
