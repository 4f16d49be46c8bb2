// `npm run bench -- --turns`: every kind of turn next to a bare echo bot (issue 29). Figures and
// ratios printed, nothing asserted: the machine is shared and noisy, so the echo bot runs laid out
// as the bot is, through the same client, right after the bot's rows, and the ratios are what count.
//   --pglite-worker  the embedded database on the bot's thread and on a worker thread (PGLITE_THREAD), one after the other
//                    (--worker-first: the worker thread first, so the order's own effect, a warmer process, shows)
//   --no-process     without the bot process' cold start and peak RSS
//   BENCH_N          turns per row (default 300)
//   BENCH_USERS      the concurrent users of each row set (default 6,50)
//   BENCH_LAYOUT     in-process,process (default both): the bot and echo bot in this process, or each in its own
//   BENCH_ENGINES    which engines to run (default pglite,postgres; postgres needs a database URL)
//   BENCH_ROWS       which rows to run besides the echo bot (default help,submit,support): to profile one kind
//                    of turn, e.g. `NODE_OPTIONS='--cpu-prof --cpu-prof-dir=prof' BENCH_LAYOUT=process
//                    BENCH_ENGINES=postgres BENCH_ROWS=submit npm run bench -- --turns --no-process` (the bot
//                    process' profile is the one its pid names)
import { randomBytes, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, type Db } from '../src/store/db';
import { SupportRepository } from '../src/store/support';
import { loadConfig } from '../src/config';
import { conversationDefinitions, executeInvoke, messageActivity, submitActivity, teamsConversation, connectorServiceUrl, type TeamsActivity, type TeamsConversation, type TeamsConversationOptions } from '../test/harness/activities';
import { startBot } from '../test/helpers/bot-process';
import { BotUnderTest, COMPANY, PRIMARY } from '../test/helpers/chat';
import { ownSchema } from '../test/helpers/databases';
import { connectorOf, type TranscriptEntry } from '../test/simulator/services/connector';
import { startEchoBot, startEchoBotProcess } from './echo-bot';
import { startSimulator, type Simulator } from '../test/simulator/server';

/**
 * `threadMs`, `cpuMs`: per turn, the CPU of this process' main thread (bot, client and simulator
 * alike; the embedded database too when it runs there) and of all its threads (the database's
 * worker included). CPU, not busy time: on a loaded machine a thread waiting for a core is not
 * charged.
 */
interface Stats {
  n: number; p50: number; p99: number; perSec: number; threadMs: number; cpuMs: number;
  /** Per turn, the CPU of each other process measured (Linux; NaN elsewhere): see `Probes`. */
  others: Record<string, number>;
}

/**
 * Other processes' CPU so far, in ms, by name: a bot process (its whole tree, every thread) and
 * the PostgreSQL server (all its processes). Read from /proc in clock ticks of 10 ms, so a row's
 * figure is good to 10 ms over all its turns.
 */
type Probes = Record<string, () => number>;

/** Every process' /proc/<pid>/stat, parsed (undefined where /proc is not there; a process that ends meanwhile is left out). */
function processStats(): ProcessStat[] | undefined {
  let dirs: string[];
  try { dirs = readdirSync('/proc').filter((d) => /^\d+$/.test(d)); } catch { return undefined; }
  return dirs.flatMap((d) => {
    try { return [parseStat(readFileSync(`/proc/${d}/stat`, 'utf8'))]; } catch { return []; }
  });
}

/** utime + stime of `pid` and every process under it, in ms (NaN where /proc is not there). */
function treeCpuMs(pid: number): number {
  const stats = processStats() ?? [];
  const children = new Map<number, number[]>();
  for (const s of stats) children.set(s.ppid, [...(children.get(s.ppid) ?? []), s.pid]);
  const byPid = new Map(stats.map((s) => [s.pid, s]));
  if (!byPid.has(pid)) return NaN;
  let ms = 0;
  for (const todo = [pid]; todo.length > 0;) {
    const p = todo.pop()!;
    ms += byPid.get(p)?.ms ?? 0;
    todo.push(...(children.get(p) ?? []));
  }
  return ms;
}

/** All processes named `comm` (the PostgreSQL server's are `postgres`), in ms. */
function commCpuMs(comm: string): number {
  return processStats()?.reduce((ms, s) => (s.comm === comm ? ms + s.ms : ms), 0) ?? NaN;
}

interface ProcessStat { pid: number; comm: string; ppid: number; ms: number }

/** One line of /proc/<pid>/stat (or /proc/<pid>/task/<tid>/stat): its utime + stime in ms (clock ticks of 10 ms). */
function parseStat(stat: string): ProcessStat {
  const close = stat.lastIndexOf(')');
  const fields = stat.slice(close + 2).split(' ');
  return { pid: Number(stat.slice(0, stat.indexOf(' '))), comm: stat.slice(stat.indexOf('(') + 1, close), ppid: Number(fields[1]), ms: (Number(fields[11]) + Number(fields[12])) * 10 };
}

function statsOf(samples: number[], totalMs: number, busy: { threadMs: number; cpuMs: number }, others: Record<string, number> = {}): Stats {
  const sorted = [...samples].sort((a, b) => a - b);
  const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
  return { n: sorted.length, p50: q(0.5), p99: q(0.99), perSec: (sorted.length / totalMs) * 1000, threadMs: busy.threadMs / sorted.length, cpuMs: busy.cpuMs / sorted.length, others };
}

/**
 * The one client every row uses (bot and echo alike): POST the activity, then wait in this process
 * for `posts` new messages at the simulated connector (0: the HTTP answer is the reply, as for
 * invokes). No transcript reads over HTTP, so the client costs the same for every row.
 */
class LeanClient {
  constructor(private readonly sim: Simulator, private readonly endpoint: string) {}

  conversation(options: Omit<TeamsConversationOptions, 'serviceUrl'>): TeamsConversation {
    const conv = teamsConversation({ ...options, serviceUrl: connectorServiceUrl(this.sim.baseUrl) });
    for (const def of conversationDefinitions(conv)) connectorOf(this.sim).defineConversation(def);
    return conv;
  }

  async send(activity: TeamsActivity, posts: number): Promise<{ ms: number; body: unknown }> {
    const transcript = connectorOf(this.sim).transcript(activity.conversation.id);
    const messages = () => transcript.entries.filter((e) => e.type === 'message').length;
    const before = messages();
    const t = performance.now();
    const res = await fetch(this.endpoint, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(activity) });
    const raw = await res.text();
    if (res.status >= 300) throw new Error(`HTTP ${res.status}: ${raw.slice(0, 200)}`);
    if (posts > 0) await transcript.waitFor(() => messages() - before >= posts, { timeoutMs: 30_000 });
    return { ms: performance.now() - t, body: raw ? JSON.parse(raw) as unknown : undefined };
  }

  /** The newest card in the conversation and the data of its button `title`. */
  press(conv: TeamsConversation, title: string, inputs: Record<string, unknown> = {}): TeamsActivity {
    const entries = [...connectorOf(this.sim).transcript(conv.conversationId).entries].filter((e) => cardOf(e)).sort((a, b) => b.seq - a.seq);
    for (const e of entries) {
      const action = actionsOf(cardOf(e)).find((a) => a.title === title);
      if (action) return submitActivity(conv, { ...(action.data as Record<string, unknown> | undefined ?? {}), ...inputs }, { replyToId: e.id });
    }
    throw new Error(`no button "${title}" in ${conv.conversationId}`);
  }
}

const cardOf = (e: TranscriptEntry): unknown => e.activity.attachments?.find((a) => a.contentType === 'application/vnd.microsoft.card.adaptive')?.content;
function actionsOf(node: unknown): Array<Record<string, unknown>> {
  if (Array.isArray(node)) return node.flatMap(actionsOf);
  if (!node || typeof node !== 'object') return [];
  const n = node as Record<string, unknown>;
  return [...(typeof n.type === 'string' && n.type.startsWith('Action.') ? [n] : []), ...Object.values(n).flatMap(actionsOf)];
}

/** The main thread's CPU so far (Linux: its utime + stime in /proc, in clock ticks of 10 ms); NaN elsewhere. */
function mainThreadCpuMs(): number {
  try {
    return parseStat(readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8')).ms;
  } catch {
    return NaN;
  }
}

/** `users` workers, each with its own conversation (made by `setup`), doing `turns` timed turns between them. */
async function run<C>(users: number, turns: number, setup: (u: number) => Promise<C>, turn: (c: C, i: number) => Promise<number[]>, probes: Probes = {}): Promise<Stats> {
  const contexts = await Promise.all(Array.from({ length: users }, (_, u) => setup(u)));
  const samples: number[] = [];
  let next = 0;
  const before = Object.entries(probes).map(([name, read]) => [name, read()] as const);
  const start = performance.now();
  const thread = mainThreadCpuMs();
  const cpu = process.cpuUsage();
  await Promise.all(contexts.map(async (c) => {
    while (next < turns) samples.push(...(await turn(c, next++)));
  }));
  const used = process.cpuUsage(cpu);
  const others = Object.fromEntries(before.map(([name, was]) => [name, (probes[name]!() - was) / Math.max(1, samples.length)]));
  return statsOf(samples, performance.now() - start, { threadMs: mainThreadCpuMs() - thread, cpuMs: (used.user + used.system) / 1000 }, others);
}

/** `count` things made by `make`, `users` at a time (untimed preparation). */
async function ready<T>(users: number, count: number, make: () => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: users }, async () => {
    while (next < count) {
      const i = next++;
      out[i] = await make();
    }
  }));
  return out;
}

/** `cpu`: this process' CPU columns (false where the bot is another process: they would be the client's). */
/**
 * `cpu`: this process' CPU columns, where the bot runs in it. Where it does not, the other
 * processes' CPU a turn (the bot's, PostgreSQL's) is printed instead, with this process' as
 * "Teams + client".
 */
const fmt = (s: Stats, cpu = true) => `p50 ${s.p50.toFixed(1).padStart(6)} ms  p99 ${s.p99.toFixed(1).padStart(6)} ms  ${s.perSec.toFixed(0).padStart(5)}/s (n=${s.n}${cpu ? `; main thread ${s.threadMs.toFixed(1)} ms, CPU ${s.cpuMs.toFixed(1)} ms a turn`
  : Object.keys(s.others).length > 0 ? `; CPU a turn: ${Object.entries(s.others).map(([name, ms]) => `${name} ${ms.toFixed(2)}`).join(', ')}, Teams + client ${s.cpuMs.toFixed(2)} ms` : ''})`;
const ratio = (s: Stats, e: Stats) => `x${(s.p50 / e.p50).toFixed(2)} p50  x${(s.p99 / e.p99).toFixed(2)} p99  x${(s.perSec / e.perSec).toFixed(2)} throughput`;

/**
 * The bot under measurement, and where its support cases are: in this process (BotUnderTest, its
 * database at hand) or as its own process (`src/index.ts` through tsx, as `npm start` runs it).
 */
interface Target {
  url: string;
  sim: Simulator;
  /** The channel thread and card of `tenantId`'s support case. */
  caseOf(tenantId: string): Promise<{ threadId: string; cardActivityId: string }>;
}

function inProcess(bot: BotUnderTest): Target {
  const support = new SupportRepository(bot.app.db);
  return {
    url: bot.url, sim: bot.sim,
    async caseOf(tenantId) {
      const c = await support.get(tenantId);
      if (!c?.threadId || !c.cardActivityId) throw new Error('support: the case was not posted');
      return { threadId: c.threadId, cardActivityId: c.cardActivityId };
    },
  };
}

/** A bot in its own process: its support case is read where Teams has it, the channel card that names the tenant (posted once the case is recorded). */
function asProcess(url: string, sim: Simulator): Target {
  return {
    url, sim,
    async caseOf(tenantId) {
      const connector = connectorOf(sim);
      for (const deadline = Date.now() + 10_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 20))) {
        for (const { id } of connector.listConversations()) {
          if (!id.includes(';messageid=')) continue;
          const card = connector.transcript(id).entries.find((e) => JSON.stringify(cardOf(e) ?? null).includes(tenantId));
          if (card) return { threadId: id, cardActivityId: card.id };
        }
      }
      throw new Error('support: the case was not posted');
    },
  };
}

/** help, the card submit sequence and a support click at `users` concurrent users, each next to the echo bot. */
async function turnsAt(bot: Target, echoUrl: string, engineer: { aadObjectId: string; name: string }, users: number, n: number, print = true, cpu = true, probes: { bot: Probes; echo: Probes } = { bot: {}, echo: {} }): Promise<void> {
  const client = new LeanClient(bot.sim, `${bot.url}/api/messages`);
  const echo = new LeanClient(bot.sim, echoUrl);
  const person = (u: number) => ({ name: `Bench User ${u}`, aadObjectId: randomUUID() });

  const rows = new Set((process.env.BENCH_ROWS ?? 'help,submit,support').split(','));
  const none: Stats = { n: 0, p50: NaN, p99: NaN, perSec: NaN, threadMs: NaN, cpuMs: NaN, others: {} };
  const help = !rows.has('help') ? none : await run(users, Math.max(n, users * 6), async (u) => {
    const conv = client.conversation({ tenantId: randomUUID(), user: person(u) });
    await client.send(messageActivity(conv, 'help'), 1);
    return conv;
  }, async (conv) => [(await client.send(messageActivity(conv, 'help'), 1)).ms], probes.bot);

  // Fresh tenants, each past `start` before the clock runs; then company, contact, skip, confirm (timed).
  const partners = rows.has('submit') ? Math.max(users, Math.ceil(n / 4)) : 0;
  const chats = await ready(users, partners, async () => {
    const conv = client.conversation({ tenantId: randomUUID(), user: person(0) });
    await client.send(messageActivity(conv, 'start'), 1);
    return conv;
  });
  const submit = !rows.has('submit') ? none : await run(users, partners, async () => undefined, async (_, i) => {
    const conv = chats[i]!;
    const ms: number[] = [];
    ms.push((await client.send(client.press(conv, 'Save company details', COMPANY), 1)).ms);
    ms.push((await client.send(client.press(conv, 'Save contact', PRIMARY), 1)).ms);
    ms.push((await client.send(client.press(conv, 'Skip: no secondary contact'), 1)).ms);
    ms.push((await client.send(client.press(conv, 'Confirm'), 1)).ms);
    return ms;
  }, probes.bot);

  // Support: one open case per click (a partner's start and support, before the clock runs), the engineer's Claim timed until its answer.
  const operator = await supportChannel(bot, engineer);
  const cases = await ready(users, rows.has('support') ? n : 0, async () => {
    const tenantId = randomUUID();
    const conv = client.conversation({ tenantId, user: person(0) });
    await client.send(messageActivity(conv, 'start'), 1);
    await client.send(messageActivity(conv, 'support'), 1);
    const c = await bot.caseOf(tenantId);
    return { tenantId, thread: client.conversation({ ...operator, conversationId: c.threadId }), cardActivityId: c.cardActivityId };
  });
  const click = !rows.has('support') ? none : await run(users, n, async () => undefined, async (_, i) => {
    const { tenantId, thread, cardActivityId } = cases[i]!;
    const answer = await client.send(executeInvoke(thread, { verb: 'support.claim', data: { tenantId } }, { replyToId: cardActivityId }), 0);
    if ((answer.body as { statusCode?: number } | undefined)?.statusCode !== 200) throw new Error(`support.claim: ${JSON.stringify(answer.body).slice(0, 200)}`);
    return [answer.ms];
  }, probes.bot);

  const floor = await run(users, Math.max(n, submit.n, users * 6), async (u) => {
    const conv = echo.conversation({ tenantId: randomUUID(), user: person(u) });
    await echo.send(messageActivity(conv, 'warm'), 1);
    return conv;
  }, async (conv, i) => [(await echo.send(messageActivity(conv, `echo ${i}`), 1)).ms], probes.echo);

  if (!print) return;
  console.log(`  ${users} concurrent users`);
  console.log(`    echo bot (floor)               ${fmt(floor, cpu)}`);
  if (help.n) console.log(`    help                           ${fmt(help, cpu)}   ${ratio(help, floor)}`);
  if (submit.n) console.log(`    card submit (4-card sequence)  ${fmt(submit, cpu)}   ${ratio(submit, floor)}`);
  if (click.n) console.log(`    support Claim (Action.Execute) ${fmt(click, cpu)}   ${ratio(click, floor)}`);
}

/** The operator's support channel, set by `engineer` (once per bot). */
const channels = new WeakMap<Target, Omit<TeamsConversationOptions, 'serviceUrl' | 'conversationId'>>();
async function supportChannel(bot: Target, engineer: { aadObjectId: string; name: string }): Promise<Omit<TeamsConversationOptions, 'serviceUrl' | 'conversationId'>> {
  const known = channels.get(bot);
  if (known) return known;
  const options = {
    tenantId: randomUUID(), scope: 'channel' as const, user: engineer,
    team: { id: `19:${randomBytes(16).toString('hex')}@thread.tacv2`, name: 'Partner Support' },
    channel: { id: `19:${randomBytes(16).toString('hex')}@thread.tacv2`, name: 'Escalations' },
  };
  const client = new LeanClient(bot.sim, `${bot.url}/api/messages`);
  await client.send(messageActivity(client.conversation(options), 'set support channel'), 1);
  channels.set(bot, options);
  return options;
}

/** A bench bot process' environment: unauthenticated, the simulator as Microsoft's cloud, its files in `dataDir`, warnings only in its log. */
function botProcessEnv(sim: Simulator, dataDir: string): Record<string, string> {
  return {
    DATA_DIR: dataDir, ALLOW_UNAUTHENTICATED: 'true', PUBLIC_BASE_URL: 'http://localhost:3978', WATCH_DAILY_AT: 'off', LOG_LEVEL: 'warn',
    AUTHORITY_HOST: sim.baseUrl, GRAPH_BASE_URL: `${sim.baseUrl}/graph`, PARTNER_CENTER_BASE_URL: `${sim.baseUrl}/partnercenter`,
  };
}

/** The engines: PostgreSQL, or the embedded database on disk (the bot's DATA_DIR) on the bot's thread or on a worker thread (PGLITE_THREAD). */
type Engine = 'PGlite (bot thread)' | 'PGlite (worker thread)' | 'PostgreSQL';

/**
 * Where the bot and the echo bot run: `in-process`, beside the simulator and the client on one
 * thread (their CPU delays the bot's turns, and the CPU columns are the bot's, the client's and
 * Teams' together); `process`, each bot in its own process, as deployed, the simulator (Teams) and
 * the client in this one.
 */
type Layout = 'in-process' | 'process';

async function onEngine(engine: Engine, layout: Layout, n: number): Promise<void> {
  const url = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL;
  const schema = engine === 'PostgreSQL' && url ? await ownSchema(url, 'bench') : undefined;
  const engineer = { aadObjectId: randomUUID(), name: 'Bench Engineer' };
  const thread = engine === 'PGlite (worker thread)' ? 'worker' : 'main';
  let bot: Target;
  let botPid: number | undefined;
  let stop: () => Promise<unknown>;
  if (layout === 'in-process') {
    const db: Db | undefined = schema ? await openDatabase({ kind: 'postgres', url: schema.url }) : undefined;
    const inside = await BotUnderTest.start({ teamsLimits: false, db, env: { SUPPORT_ENGINEERS: engineer.aadObjectId, PGLITE_THREAD: thread } });
    bot = inProcess(inside);
    stop = () => inside.stop();
  } else {
    const sim = await startSimulator({ randomThrottling: false });
    connectorOf(sim).setLimits({ enabled: false });
    const dataDir = await mkdtemp(join(tmpdir(), 'bench-bot-'));
    const proc = await startBot({
      entry: 'src',
      env: {
        ...botProcessEnv(sim, dataDir), ...(schema ? { DATABASE_URL: schema.url } : { PGLITE_THREAD: thread }), SUPPORT_ENGINEERS: engineer.aadObjectId,
      },
      timeoutMs: 120_000,
    });
    bot = asProcess(proc.url, sim);
    botPid = proc.child.pid;
    stop = async () => { await proc.stop(); await sim.stop(); await rm(dataDir, { recursive: true, force: true }); };
  }
  await (await fetch(`${bot.sim.baseUrl}/_sim/throttling`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ random: false }) })).body?.cancel();
  const echo = layout === 'in-process' ? await startEchoBot() : await startEchoBotProcess();
  console.log(layout === 'in-process' ? `${engine}; the bot, the echo bot, Teams (simulated) and the client in one process` : `${engine}; the bot and the echo bot each in its own process (as deployed), Teams (simulated) and the client in this one`);
  // Each process' CPU a turn, where the bots run in processes of their own (the whole machine's PostgreSQL server: nothing else uses it meanwhile).
  const probes: { bot: Probes; echo: Probes } = { bot: {}, echo: {} };
  if (botPid !== undefined) probes.bot.bot = () => treeCpuMs(botPid);
  if (botPid !== undefined && schema) probes.bot.PostgreSQL = () => commCpuMs('postgres');
  if (echo.pid !== undefined) probes.echo['echo bot'] = () => treeCpuMs(echo.pid!);
  await turnsAt(bot, echo.url, engineer, 6, Math.ceil(n / 5), false, layout === 'in-process', probes); // warm-up
  for (const users of (process.env.BENCH_USERS ?? '6,50').split(',').map(Number)) await turnsAt(bot, echo.url, engineer, users, n, true, layout === 'in-process', probes);
  await echo.stop();
  await stop();
  await schema?.drop();
}

/** Cold start of the real bot process (`src` through tsx, embedded database on `thread`) to /readyz, and its peak RSS after 50 users' help turns. */
async function coldStartAndRss(sim: Simulator, thread: 'worker' | 'main'): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'bench-cold-'));
  const t = performance.now();
  const proc = await startBot({
    entry: 'src',
    env: { ...botProcessEnv(sim, dataDir), PGLITE_THREAD: thread },
    timeoutMs: 120_000,
  });
  const coldMs = performance.now() - t;
  const client = new LeanClient(sim, `${proc.url}/api/messages`);
  const help = await run(50, 1000, async (u) => client.conversation({ tenantId: randomUUID(), user: { name: `U${u}`, aadObjectId: randomUUID() } }),
    async (conv) => [(await client.send(messageActivity(conv, 'help'), 1)).ms]);
  const m = /VmHWM:\s+(\d+) kB/.exec(await readFile(`/proc/${proc.child.pid!}/status`, 'utf8').catch(() => ''));
  await proc.stop();
  await rm(dataDir, { recursive: true, force: true });
  console.log(`Bot process (npm start's code through tsx, embedded database on disk, on the ${thread === 'main' ? "bot's thread" : 'worker thread'})`);
  console.log(`  cold start to /readyz          ${coldMs.toFixed(0)} ms (migrations on a new database included)`);
  console.log(`  peak RSS after 1,000 help turns from 50 users: ${m ? (Number(m[1]) / 1024).toFixed(0) : '?'} MiB   (help ${fmt(help, false)})`);
}

export async function benchTurnKinds(): Promise<void> {
  const n = Number(process.env.BENCH_N ?? 300);
  const [l1, l5] = loadavg();
  console.log(`Turns next to a bare echo bot (simulated Teams, the same client; ${cpus().length} cores, load average ${l1!.toFixed(2)} / ${l5!.toFixed(2)} at start)`);
  // --pglite-worker: the embedded database on both threads, one after the other; otherwise on the default one (PGLITE_THREAD's default).
  const embedded = loadConfig({ ALLOW_UNAUTHENTICATED: 'true' }).database;
  const defaultThread: Engine = embedded.kind === 'pglite' && embedded.thread === 'main' ? 'PGlite (bot thread)' : 'PGlite (worker thread)';
  const both: Engine[] = ['PGlite (bot thread)', 'PGlite (worker thread)'];
  if (process.argv.includes('--worker-first')) both.reverse();
  const pglite = process.argv.includes('--pglite-worker') ? both : [defaultThread];
  const engines = new Set((process.env.BENCH_ENGINES ?? 'pglite,postgres').split(','));
  const layouts = (process.env.BENCH_LAYOUT ?? 'in-process,process').split(',') as Layout[];
  for (const layout of layouts) {
    if (engines.has('pglite')) for (const engine of pglite) await onEngine(engine, layout, n);
    if (!engines.has('postgres')) console.log('  (PostgreSQL not measured: BENCH_ENGINES)');
    else if (process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL) await onEngine('PostgreSQL', layout, n);
    else console.log('  (PostgreSQL not measured: set BENCH_DATABASE_URL or TEST_DATABASE_URL)');
  }
  if (!process.argv.includes('--no-process')) {
    const sim = await startSimulator({ randomThrottling: false });
    connectorOf(sim).setLimits({ enabled: false });
    for (const engine of pglite) await coldStartAndRss(sim, engine === 'PGlite (bot thread)' ? 'main' : 'worker');
    await sim.stop();
  }
  const [e1] = loadavg();
  console.log(`  load average at the end: ${e1!.toFixed(2)}`);
}
