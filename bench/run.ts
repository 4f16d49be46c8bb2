// Benchmarks: figures and ratios printed, nothing asserted (machines here are shared and noisy).
//   npm run bench                  -> PGlite, plus PostgreSQL when BENCH_DATABASE_URL / TEST_DATABASE_URL is set
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { createLogger } from '../src/logger';
import { SqlStorage } from '../src/store/bot-storage';
import { openDatabase, type DatabaseTarget } from '../src/store/db';
import { migrate } from '../src/store/migrate';
import { BotUnderTest, COMPANY, PRIMARY } from '../test/helpers/chat';
import { connectorServiceUrl } from '../test/harness/activities';

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
  const one = async (i: number) => {
    const chat = bot.chat({ tenantId: randomUUID(), user: { name: `Bench User ${i}`, aadObjectId: randomUUID(), email: PRIMARY.email } });
    await chat.say('start', 1);
    await chat.press('Save company details', COMPANY, { count: 1 });
    await chat.press('Save contact', PRIMARY, { count: 1 });
    await chat.press('Skip: no secondary contact', {}, { count: 1 });
    await chat.press('Confirm', {}, { count: 2 });
  };
  await measure(3, one);
  const seq = await measure(20, one);
  row('partner: start → verified (5 turns)', seq);
  console.log(`  per turn, sequential partners                ${(seq.totalMs / seq.n / 5).toFixed(1).padStart(7)} ms`);
  const conc = await measure(40, one, 8);
  row('same, 8 partners at once', conc);
  await bot.stop();
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

async function main(): Promise<void> {
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
  console.log('Logging');
  await benchLogging();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
