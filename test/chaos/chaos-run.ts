import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Messages } from '../../src/onboarding/messages';
import { CustomerSyncRepository } from '../../src/store/customer-syncs';
import { openDatabase, type Db } from '../../src/store/db';
import { SupportRepository } from '../../src/store/support';
import { completeEntraPage, ConsentHarness, PUBLIC_BASE_URL } from '../auth/consent-harness';
import { BotClient } from '../harness/bot-client';
import { startBot, freePort, type BotProcess } from '../helpers/bot-process';
import { COMPANY, PRIMARY } from '../helpers/chat';
import { ownSchema } from '../helpers/databases';
import { customerRows } from '../sync/sync-harness';
import { APP_ID, APP_SECRET_VALUE, PARTNER_TENANT_ID, SERVICE_ACCOUNT_PASSWORD, SERVICE_ACCOUNT_UPN } from '../simulator/scenarios/ids';
import { connectorOf, type TranscriptEntry } from '../simulator/services/connector';
import { startSimulator, type Simulator } from '../simulator/server';
import { Front, type Backend } from './front';

export interface ChaosOptions {
  /** PostgreSQL server; the run works in a schema of its own and drops it at the end. */
  databaseUrl: string;
  partners: number;
  customers: number;
  /** The driver keeps killing until every partner is through and at least this many kills were made. */
  minKills: number;
  /** Pause between a restarted instance being ready and the next kill, in ms (uniform in the range). */
  killGapMs: [number, number];
  /** Progress lines (default: none). */
  progress?: (line: string) => void;
}

export interface Row {
  check: string;
  ok: boolean;
  result: string;
  detail: string[];
}

export interface ChaosReport {
  rows: Row[];
  ok: boolean;
  partners: number;
  kills: number;
  durationSeconds: number;
  /** Turns the walkers sent again after a kill took the first, by step. */
  resent: Record<string, number>;
  front: Front['stats'];
}

interface Kill { at: number; slot: number; pid: number | undefined }

const ENGINEER = { aadObjectId: randomUUID(), name: 'Sam Support' };
const OPERATOR_TENANT = randomUUID();
const TEAM = { id: `19:${randomBytes(16).toString('hex')}@thread.tacv2`, name: 'Partner Support' };
const CHANNEL = { id: `19:${randomBytes(16).toString('hex')}@thread.tacv2`, name: 'Escalations' };
const NOTICE = /Partner Center web app key expires in/;
/** How long a walker gives the bot to finish a turn before it sends it again, as a person would. */
const PATIENCE_MS = Number(process.env.CHAOS_PATIENCE_MS ?? 45_000);

type Card = Record<string, unknown>;
const cardsOf = (e: TranscriptEntry): Card[] => (e.activity.attachments ?? []).filter((a) => a.contentType === 'application/vnd.microsoft.card.adaptive').map((a) => a.content as Card);
function actionsOf(node: unknown): Array<Record<string, unknown>> {
  if (Array.isArray(node)) return node.flatMap(actionsOf);
  if (!node || typeof node !== 'object') return [];
  const n = node as Record<string, unknown>;
  const own = typeof n.type === 'string' && n.type.startsWith('Action.') ? [n] : [];
  return [...own, ...Object.values(n).flatMap(actionsOf)];
}
/** The newest live message with a button titled `title`, and that button. */
function buttonOn(entries: TranscriptEntry[], title: string): { id: string; action: Record<string, unknown> } | undefined {
  for (const e of [...entries].reverse()) {
    if (e.deleted) continue;
    const action = cardsOf(e).flatMap(actionsOf).find((a) => a.title === title);
    if (action) return { id: e.id, action };
  }
  return undefined;
}
const hasButton = (title: string) => (entries: TranscriptEntry[]) => buttonOn(entries, title) !== undefined;
const said = (text: string | RegExp) => (entries: TranscriptEntry[]) => entries.some((e) => (typeof text === 'string' ? (e.activity.text ?? '').includes(text) : text.test(e.activity.text ?? '')));

/**
 * The chaos run: two real bot processes on one PostgreSQL behind a round-robin front, the simulator
 * as Microsoft's cloud and Teams, N partners walking the whole journey through the front while a
 * driver SIGKILLs a random instance at random moments and restarts it. At the end the effects are
 * read from the database and the connector's transcripts.
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const say = options.progress ?? (() => undefined);
  const started = Date.now();
  const sim = await startSimulator({ scenario: 'large' });
  const schema = await ownSchema(options.databaseUrl, 'chaos');
  let h: ConsentHarness | undefined;
  let db: Db | undefined;
  let front: Front | undefined;
  const procs: Array<BotProcess | undefined> = [undefined, undefined];
  const logs: Array<{ slot: number; pid: number | undefined; out: () => string }> = [];
  try {
    // The harness migrates the schema and gives the bots' environment; only the bot processes work.
    h = await ConsentHarness.start('large', {
      sim,
      env: {
        DATABASE_URL: schema.url, SUPPORT_ENGINEERS: ENGINEER.aadObjectId, SYNC_NIGHTLY_AT: 'off', SYNC_SLICE_SECONDS: '2', SYNC_PAGE_SIZE: '250',
        EXPIRY_COOLDOWN_SECONDS: '0', RECHECK_COOLDOWN_SECONDS: '0', SUPPORT_COOLDOWN_SECONDS: '0',
      },
    });
    await h.app.stop();
    sim.scenario.tenants.find((t) => t.id === PARTNER_TENANT_ID)!.customers.count = options.customers;
    db = await openDatabase({ kind: 'postgres', url: schema.url });
    const env = h.env;
    const ports = [await freePort(), await freePort()];
    const backends: Backend[] = ports.map((p) => ({ url: `http://127.0.0.1:${p}` }));
    const boot = async (slot: number): Promise<BotProcess> => {
      const proc = await startBot({ entry: 'src', env: { ...env, LOG_LEVEL: 'info', PORT: String(ports[slot]) }, timeoutMs: 180_000 });
      logs.push({ slot, pid: proc.child.pid, out: () => proc.stdout() + proc.stderr() });
      return proc;
    };
    [procs[0], procs[1]] = await Promise.all([boot(0), boot(1)]);
    front = await Front.start(backends);
    say(`front ${front.url}, instances on ${ports.join(' and ')}, schema ${schema.schema}`);

    // The driver: one instance down at a time, SIGKILL at a random moment, restarted at once.
    const kills: Kill[] = [];
    let walking = true;
    const driver = (async () => {
      while (walking || kills.length < options.minKills) {
        const [lo, hi] = options.killGapMs;
        const until = Date.now() + lo + Math.random() * (hi - lo);
        while (Date.now() < until && (walking || kills.length < options.minKills)) await delay(100);
        if (!walking && kills.length >= options.minKills) break;
        const slot = Math.random() < 0.5 ? 0 : 1;
        const proc = procs[slot]!;
        kills.push({ at: Date.now(), slot, pid: proc.child.pid });
        await proc.stop('SIGKILL');
        procs[slot] = await boot(slot);
        if (kills.length % 5 === 0) say(`${kills.length} kills (${((Date.now() - started) / 1000).toFixed(0)} s)`);
      }
    })();

    // Support: the operator's engineer makes the channel the support channel, through the front.
    const engineerIn = (conversationId?: string) => new BotClient({
      endpoint: `${front!.url}/api/messages`, simulatorUrl: sim.baseUrl, quietMs: 120, timeoutMs: 60_000,
      conversation: { tenantId: OPERATOR_TENANT, scope: 'channel', user: ENGINEER, team: TEAM, channel: CHANNEL, ...(conversationId ? { conversationId } : {}) },
    });
    const resent: Record<string, number> = {};
    const resentOnce: Record<string, number> = {};
    const channelClient = engineerIn();
    await persist(channelClient, 'set support channel', () => channelClient.say('set support channel', { count: 0 }), said(Messages.supportChannelSet('This channel')), resent);

    const walkers = Array.from({ length: options.partners }, (_, i) => walk(i));
    const outcomes = await Promise.allSettled(walkers);
    walking = false;
    say(`walkers done (${((Date.now() - started) / 1000).toFixed(0)} s, ${kills.length} kills); the driver runs to ${options.minKills} kills`);
    await driver;

    async function walk(i: number): Promise<string> {
      await delay(i * 500); // partners arrive over time, not all in one second
      const tenant = randomUUID();
      const person = { aadObjectId: randomUUID(), name: 'Megan Bowen', userPrincipalName: PRIMARY.email };
      const client = new BotClient({ endpoint: `${front!.url}/api/messages`, simulatorUrl: sim.baseUrl, conversation: { tenantId: tenant, user: person }, quietMs: 120, timeoutMs: 60_000 });
      const press = (title: string, inputs: Record<string, unknown> = {}) => async () => {
        const b = buttonOn(await client.transcript(), title);
        // No such button left (its card became a summary, the next card never came): a person types.
        if (!b) { await client.say('hello?', { count: 0 }); return; }
        await client.submit({ ...((b.action.data ?? {}) as Record<string, unknown>), ...inputs }, b.id, { count: 0 });
      };
      const step = (name: string, act: () => Promise<unknown>, done: (e: TranscriptEntry[]) => boolean) => persist(client, name, act, done, resent);

      await step('start', () => client.say('start', { count: 0 }), hasButton('Save company details'));
      await step('company card', press('Save company details', COMPANY), hasButton('Save contact'));
      await step('contact card', press('Save contact', PRIMARY), hasButton('Skip: no secondary contact'));
      await step('secondary contact', press('Skip: no secondary contact'), hasButton('Confirm'));
      await step('review', press('Confirm'), hasButton("I've done this"));
      await step('checklist', press("I've done this"), hasButton('Save and check'));
      await step('Entra credentials', press('Save and check', { tenant: PARTNER_TENANT_ID, serviceAccount: SERVICE_ACCOUNT_UPN, appId: APP_ID, appSecret: APP_SECRET_VALUE }), hasButton('Save'));
      // The key ends in 20 days: the on-demand scan below has a notice due for it.
      const pcExpires = new Date(Date.now() + 20 * 86_400_000).toISOString().slice(0, 10);
      await step('Partner Center credentials', press('Save', { pcAppId: APP_ID, pcSecret: APP_SECRET_VALUE, pcSecretExpires: pcExpires }), (e) => signInLink(e) !== undefined);
      // The sign-in in a browser: a failed callback is done again from the card's link, as a person would.
      await step('sign-in', async () => {
        const link = new URL(signInLink(await client.transcript())!);
        const start = await fetch(`${front!.url}${link.pathname}${link.search}`, { redirect: 'manual' });
        if (start.status !== 302) throw new Error(`sign-in link: ${start.status}`);
        const entra = await completeEntraPage(start.headers.get('location')!, { upn: SERVICE_ACCOUNT_UPN, password: SERVICE_ACCOUNT_PASSWORD, mfa: true });
        if (entra.status !== 302 || !entra.location) throw new Error(`Entra: ${entra.status}`);
        const back = new URL(entra.location, PUBLIC_BASE_URL);
        await fetch(`${front!.url}${back.pathname}${back.search}`);
      }, said('**Partner Center is connected.**'));
      // The checks run by themselves after the sign-in; a person who sees nothing more types "recheck".
      await step('checks', async () => {
        if ((resentOnce[tenant] = (resentOnce[tenant] ?? 0) + 1) > 1) await client.say('recheck', { count: 0 });
      }, (e) => said('the connection is done and verified')(e) || said('Every blocking check passes')(e));
      // The first sync starts by itself; a person who sees it stopped types "sync".
      const syncs = new CustomerSyncRepository(db!);
      // A running sync is waited for however long it takes; none, or a failed one, gets a "sync".
      await persistUntil('first sync', async () => {
        const s = await syncs.latest(tenant);
        return s?.status === 'succeeded' ? true : s?.status === 'running' ? undefined : false;
      }, () => client.say('sync', { count: 0 }), resent, 30_000, false);
      await step('expiry', () => client.say('expiry', { count: 0 }), said(NOTICE));
      // A turn killed after it recorded the case but before it answered: the next "support" is told the team already has it.
      await step('support', () => client.say('support', { count: 0 }), (e) => said(Messages.supportOpened)(e) || said(Messages.supportUpdated)(e));
      const cases = new SupportRepository(db!);
      await persistUntil('support card posted', async () => Boolean((await cases.get(tenant))?.cardActivityId), () => client.say('support', { count: 0 }), resent, PATIENCE_MS, false);
      const c = (await cases.get(tenant))!;
      const engineer = engineerIn(c.threadId);
      await persistUntil('claim', async () => (await cases.get(tenant))?.status === 'claimed' && said(Messages.supportClaimed(ENGINEER.name))(await client.transcript()),
        () => engineer.execute({ verb: 'support.claim', data: { tenantId: tenant } }, { replyToId: c.cardActivityId! }, { count: 0 }), resent, PATIENCE_MS, true);
      say(`partner ${i + 1} through (${((Date.now() - started) / 1000).toFixed(0)} s)`);
      return tenant;
    }

    // After the run: the outbox and the job engine settle (a notice claimed by a killed process waits out its lease).
    const tenants = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
    const failures = outcomes.flatMap((o, i) => (o.status === 'rejected' ? [`partner ${i + 1}: ${o.reason instanceof Error ? o.reason.message.split('\n')[0] : String(o.reason)}`] : []));
    const settled = await settle(db, `${schema.schema}_pgboss`, 240_000);
    say(`settled: ${settled ? 'yes' : 'no'}`);
    for (const p of procs) await p?.stop('SIGTERM');
    const rows = await judge({ db, sim, tenants, failures, partners: options.partners, customers: options.customers, kills, bossSchema: `${schema.schema}_pgboss`, logs });
    return {
      rows, ok: rows.every((r) => r.ok), partners: options.partners, kills: kills.length, durationSeconds: Math.round((Date.now() - started) / 1000), resent, front: front.stats,
    };
  } finally {
    for (const p of procs) await p?.stop('SIGKILL');
    // CHAOS_LOG_DIR: every instance's log, one file per process, to read after the run.
    const dir = process.env.CHAOS_LOG_DIR;
    if (dir) {
      await mkdir(dir, { recursive: true });
      for (const l of logs) await writeFile(join(dir, `instance-${l.slot + 1}-pid-${l.pid}.log`), l.out());
    }
    await front?.stop();
    await db?.close();
    await schema.drop();
    await sim.stop();
    if (h) await rm(h.dataDir, { recursive: true, force: true });
  }
}

/** The sign-in button's link on the newest card that has one. */
function signInLink(entries: TranscriptEntry[]): string | undefined {
  for (const e of [...entries].reverse()) {
    const a = cardsOf(e).flatMap(actionsOf).find((x) => x.type === 'Action.OpenUrl' && typeof x.url === 'string' && x.url.includes('/auth/'));
    if (a) return a.url as string;
  }
  return undefined;
}

/**
 * Sends a turn and waits for what it should bring; a turn lost to a kill (an error, a 502, or
 * nothing within the patience) is sent again. Only turns safe to repeat go through here: card
 * submits (answered once by answered_cards), commands that attach to what runs (`sync`, `expiry`,
 * `support`), and the sign-in from its link.
 */
async function persist(client: BotClient, name: string, act: () => Promise<unknown>, done: (e: TranscriptEntry[]) => boolean, resent: Record<string, number>): Promise<void> {
  for (let attempt = 0; attempt < 8; attempt++) {
    if (attempt > 0) resent[name] = (resent[name] ?? 0) + 1;
    try {
      if (done(await client.transcript())) return;
      await act();
    } catch (e) {
      // the instance died under the turn: look, then send again
      if (process.env.CHAOS_DEBUG) console.log(`    ${name}: ${e instanceof Error ? e.message : String(e)}`);
    }
    try {
      await client.waitFor((e) => done(e), { timeoutMs: PATIENCE_MS });
      return;
    } catch {
      // not there: send again
    }
  }
  if (process.env.CHAOS_DEBUG) for (const e of await client.transcript()) console.log(`    [${e.seq}] ${(e.activity.text ?? cardsOf(e).map((c) => JSON.stringify(c).slice(0, 400)).join(' ')).slice(0, 400)}`);
  const last = (await client.transcript()).slice(-3).map((e) => (e.activity.text ?? JSON.stringify(cardsOf(e)).slice(0, 300)));
  throw new Error(`${name}: no answer after 8 tries; the chat ends with: ${last.join(' | ')}`);
}

/**
 * As persist, for an outcome read from the database: `done` answers true (done), false (not yet) or
 * undefined (under way: keep waiting, the patience starts again). `act` first when `actFirst`, then
 * again each time the patience runs out.
 */
async function persistUntil(name: string, done: () => Promise<boolean | undefined>, act: () => Promise<unknown>, resent: Record<string, number>, patienceMs: number, actFirst: boolean): Promise<void> {
  for (let attempt = 0; attempt < 8; attempt++) {
    if (attempt > 0 || actFirst) {
      if (attempt > 0) resent[name] = (resent[name] ?? 0) + 1;
      try { await act(); } catch { /* sent again at the next turn of the loop */ }
    }
    let deadline = Date.now() + patienceMs;
    while (Date.now() < deadline) {
      const d = await done();
      if (d === true) return;
      if (d === undefined) deadline = Date.now() + patienceMs;
      await delay(250);
    }
  }
  throw new Error(`${name}: not done after 8 tries`);
}

/** Waits until no job is active or waiting to retry and no notice is pending; false when the time ran out. */
async function settle(db: Db, bossSchema: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const [jobs] = await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${bossSchema}.job WHERE state IN ('active', 'retry')`);
    const [notices] = await db.query<{ n: string }>("SELECT count(*) AS n FROM notices WHERE status = 'pending'");
    if (Number(jobs!.n) === 0 && Number(notices!.n) === 0) return true;
    await delay(1_000);
  }
  return false;
}

interface JudgeInput {
  db: Db;
  sim: Simulator;
  tenants: string[];
  failures: string[];
  partners: number;
  customers: number;
  kills: Kill[];
  bossSchema: string;
  logs: Array<{ slot: number; pid: number | undefined; out: () => string }>;
}

/** A repeat is in the in-flight window when an instance was killed between the first delivery and the next. */
function repeatsOutsideKills(times: number[], kills: Kill[]): boolean {
  for (let i = 1; i < times.length; i++) if (!kills.some((k) => k.at >= times[i - 1]! - 1_000 && k.at <= times[i]!)) return true;
  return false;
}

async function judge(x: JudgeInput): Promise<Row[]> {
  const rows: Row[] = [];
  const connector = connectorOf(x.sim);
  rows.push({ check: 'partners complete', ok: x.tenants.length === x.partners, result: `${x.tenants.length} of ${x.partners}`, detail: x.failures });

  const wrong: string[] = [];
  for (const t of x.tenants) {
    const r = await customerRows(x.db, t);
    if (r.rows !== x.customers || r.distinct !== x.customers) wrong.push(`${t}: ${r.rows} rows, ${r.distinct} distinct`);
  }
  rows.push({ check: `customers exact (${x.customers.toLocaleString('en')} each)`, ok: wrong.length === 0 && x.tenants.length > 0, result: `${x.tenants.length - wrong.length} of ${x.tenants.length} exact`, detail: wrong });

  // What Teams got, per partner chat; the outbox's rows beside it.
  const chats = new Map<string, string>();
  for (const t of x.tenants) {
    const [m] = await x.db.query<{ conversation_id: string }>("SELECT conversation_id FROM partner_members WHERE tenant_id = $1 AND role = 'owner'", [t]);
    if (m) chats.set(t, m.conversation_id);
  }
  const deliveries = (t: string, match: (e: TranscriptEntry) => boolean) => connector.transcript(chats.get(t) ?? '').entries.filter(match).map((e) => Date.parse(e.timestamp));
  const noticeRepeats: string[] = [];
  const noticeMissing: string[] = [];
  let noticeBad = false;
  for (const t of x.tenants) {
    const times = deliveries(t, (e) => NOTICE.test(e.text ?? ''));
    if (times.length === 0) noticeMissing.push(`${t}: no notice in the chat`);
    if (times.length > 1) {
      const outside = repeatsOutsideKills(times, x.kills);
      noticeBad ||= outside;
      noticeRepeats.push(`${t}: ${times.length} times (${times.map((s) => new Date(s).toISOString().slice(11, 23)).join(', ')})${outside ? ' with no kill between: a duplicate' : ', a kill in between: in flight'}`);
    }
  }
  const outbox = await x.db.query<{ status: string; n: string }>('SELECT status, count(*) AS n FROM notices WHERE tenant_id = ANY($1) GROUP BY status ORDER BY status', [x.tenants]);
  const notSent = outbox.filter((r) => r.status !== 'sent');
  rows.push({
    check: 'every notice sent',
    ok: noticeMissing.length === 0 && !noticeBad && notSent.length === 0,
    result: `${x.tenants.length - noticeMissing.length} of ${x.tenants.length} chats; repeats in flight at a kill: ${noticeRepeats.length}; outbox ${outbox.map((r) => `${r.status} ${r.n}`).join(', ') || 'empty'}`,
    detail: [...noticeMissing, ...noticeRepeats],
  });

  const caseWrong: string[] = [];
  const claimRepeats: string[] = [];
  for (const t of x.tenants) {
    const [c] = await x.db.query<{ status: string; claimed_by: string | null }>('SELECT status, claimed_by FROM support_cases WHERE tenant_id = $1', [t]);
    if (c?.status !== 'claimed' || c.claimed_by !== ENGINEER.aadObjectId) caseWrong.push(`${t}: ${c ? `${c.status} by ${c.claimed_by ?? 'nobody'}` : 'no case'}`);
    const times = deliveries(t, (e) => e.text === Messages.supportClaimed(ENGINEER.name));
    if (times.length !== 1) {
      const outside = times.length === 0 || repeatsOutsideKills(times, x.kills);
      if (outside) caseWrong.push(`${t}: the partner was told ${times.length} times`);
      else claimRepeats.push(`${t}: told ${times.length} times, a kill in between: in flight`);
    }
  }
  rows.push({ check: 'each support case claimed once', ok: caseWrong.length === 0, result: `${x.tenants.length - caseWrong.length} of ${x.tenants.length}; repeats in flight at a kill: ${claimRepeats.length}`, detail: [...caseWrong, ...claimRepeats] });

  const jobs = await x.db.query<{ name: string; state: string; n: string }>(`SELECT name, state, count(*) AS n FROM ${x.bossSchema}.job GROUP BY name, state ORDER BY name, state`);
  const stuck = jobs.filter((j) => j.state === 'active' || j.state === 'retry');
  const failed = jobs.filter((j) => j.state === 'failed');
  rows.push({
    check: 'no job stuck',
    ok: stuck.length === 0 && failed.length === 0,
    result: `active/retry ${stuck.reduce((s, j) => s + Number(j.n), 0)}, failed ${failed.reduce((s, j) => s + Number(j.n), 0)}; ${jobs.filter((j) => j.state === 'completed').reduce((s, j) => s + Number(j.n), 0)} completed`,
    detail: [
      ...[...stuck, ...failed].map((j) => `${j.name}: ${j.n} ${j.state}`),
      // What each failed job said, and how often it was tried: a kill, or a give-up of the job's own.
      ...(await x.db.query<{ name: string; retry_count: number; output: unknown; singleton_key: string | null }>(
        `SELECT name, retry_count, output, singleton_key FROM ${x.bossSchema}.job WHERE state = 'failed' ORDER BY completed_on LIMIT 20`,
      )).map((j) => `  ${j.name} ${j.singleton_key ?? ''} after ${j.retry_count} retries: ${JSON.stringify(j.output).slice(0, 300)}`),
    ],
  });

  const errors: string[] = [];
  for (const l of x.logs) {
    for (const line of l.out().split('\n')) {
      if (!line.startsWith('{')) continue;
      let rec: { level?: number | string; msg?: string; err?: { type?: string; message?: string } };
      try { rec = JSON.parse(line) as typeof rec; } catch { continue; }
      // pino writes the level as a label here (formatters.level); 50 is error, 60 fatal.
      const level = typeof rec.level === 'number' ? rec.level : ({ error: 50, fatal: 60 } as Record<string, number>)[rec.level ?? ''] ?? 0;
      // The job engine's errors are warnings (a connection cut by a kill is expected), but an
      // assertion inside it is a broken contract with our database seam, never a kill's outcome.
      const engineBroken = rec.msg === 'job engine error' && rec.err?.type === 'AssertionError';
      if (level >= 50 || engineBroken) errors.push(`instance ${l.slot + 1} (pid ${l.pid}): ${rec.msg ?? ''}${rec.err?.message ? `: ${rec.err.message}` : ''}`);
    }
  }
  rows.push({ check: 'errors logged without a handled outcome', ok: errors.length === 0, result: String(errors.length), detail: errors });
  return rows;
}

/** The report as a table, one row per check, the details under it. */
export function formatReport(r: ChaosReport): string {
  const w = Math.max(...r.rows.map((x) => x.check.length));
  const lines = [
    `Chaos run: ${r.partners} partners, ${r.kills} SIGKILLs, ${r.durationSeconds} s; front: ${r.front.requests} requests, ${r.front.failedOver} sent on to the other instance, ${r.front.lost} lost under a kill (502)`,
    `Turns sent again by the walkers: ${Object.entries(r.resent).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`,
    '',
    `  ${'check'.padEnd(w)}  ok    result`,
    `  ${'-'.repeat(w)}  ----  ------`,
  ];
  for (const row of r.rows) {
    lines.push(`  ${row.check.padEnd(w)}  ${row.ok ? 'yes ' : 'NO  '}  ${row.result}`);
    for (const d of row.detail.slice(0, 30)) lines.push(`  ${' '.repeat(w)}          ${d}`);
    if (row.detail.length > 30) lines.push(`  ${' '.repeat(w)}          … and ${row.detail.length - 30} more`);
  }
  lines.push('', r.ok ? 'All checks pass.' : 'Some checks FAILED.');
  return lines.join('\n');
}
