import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { ROOT } from '../helpers/bot-process';
import { BotClient } from '../harness/bot-client';
import { PARTNER_TENANT_ID, SIM_BOT_APP_ID } from '../simulator/scenarios/ids';
import { formatViolations, violations } from '../harness/network-guard';
import { docScreenshot, PlaygroundSession, RESULTS_DIR, skipWithoutChromium } from './playground';
import { commandOf, isRunning, sandboxArgs, startSandboxProcess, type SandboxRun } from './sandbox-process';

async function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} within ${ms / 1000}s`)), ms); })]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits until none of `pids` runs; names the survivors otherwise. */
async function allGone(pids: number[], ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  let left = pids.filter(isRunning);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    left = left.filter(isRunning);
  }
  assert.deepEqual(left.map((p) => `${p} ${commandOf(p)}`), [], 'processes left behind');
}

async function saveOutput(name: string, run: SandboxRun | undefined): Promise<void> {
  if (!run) return;
  await mkdir(RESULTS_DIR, { recursive: true });
  await writeFile(join(RESULTS_DIR, `${name}.log`), run.output());
}

describe('npm run sandbox, in the Agents Playground (headless Chromium)', function () {
  this.timeout(120_000);
  let dataDir = '';
  let run: SandboxRun | undefined;
  let session: PlaygroundSession | undefined;

  before(async function () {
    skipWithoutChromium(this);
    dataDir = await mkdtemp(join(tmpdir(), 'sandbox-e2e-'));
    run = await startSandboxProcess(await sandboxArgs(dataDir));
    session = await PlaygroundSession.open(run.playgroundUrl, { name: 'sandbox' });
  });

  after(async () => {
    await session?.close();
    run?.kill();
    await saveOutput('sandbox-output', run);
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('welcomes the user once the Playground has installed the app', async () => {
    // On connect the Playground sends installationUpdate + conversationUpdate into the personal
    // chat, as Teams does when the app is added; the card shows once the chat is open.
    await session!.openChat('Personal Chat');
    await docScreenshot('welcome', await session!.waitForCard({ containing: 'Welcome' }));
    await session!.screenshot('welcome');
    const [first] = await session!.cardTexts();
    assert.match(first!, /Welcome/);
    assert.match(first!, /Let's start/);
    // Both install events arrive at once; a moment later there is still exactly one welcome.
    await session!.page.waitForTimeout(1000);
    assert.equal((await session!.cardTexts()).filter((t) => t.includes('Welcome')).length, 1);
  });

  it('shows the commands from the welcome card\'s "Show commands" button', async () => {
    const welcome = await session!.waitForCard({ containing: 'Welcome' });
    const before = await session!.cardCount();
    await session!.clickCardButton('Show commands', welcome);
    await session!.waitForCard({ after: before, containing: 'Show what I can do' });
  });

  it('welcomes again after "Mock an Activity" > Uninstall, then Install application', async () => {
    await session!.uninstall();
    const before = await session!.cardCount();
    await session!.install();
    await session!.waitForCard({ after: before, containing: 'Welcome' });
    await session!.page.waitForTimeout(1000);
    assert.equal((await session!.cardTexts()).slice(before).filter((t) => t.includes('Welcome')).length, 1);
  });

  it('answers "help" with the list of commands', async () => {
    const before = await session!.cardCount();
    await session!.send('help');
    const card = await session!.waitForCard({ after: before, containing: 'Show what I can do' });
    await session!.screenshot('help');
    assert.match(await card.innerText(), /Start onboarding, or pick up where you left off/);
  });

  it('reached no host but loopback (Chromium, and every sandbox process)', async () => {
    const outside = session!.nonLoopbackRequests();
    // The Playground's page asks a Microsoft CDN for its Segoe UI fonts: the harness blocks that.
    assert.deepEqual(outside.filter((r) => r.outcome !== 'blocked' && r.outcome !== 'failed').map((r) => r.url), [], 'requests that left the machine');
    if (outside.length > 0) console.log(`      (blocked in Chromium: ${[...new Set(outside.map((r) => r.host))].join(', ')})`);
    assert.doesNotMatch(run!.output(), /\[sandbox\] BLOCKED/);
    // The network guard (inherited by npm and everything under it) logs any other attempt.
    run!.processTree();
    const v = violations().filter((x) => run!.knownPids().has(x.pid));
    assert.equal(v.length, 0, formatViolations(v));
  });

  it('stops every process it started on Ctrl-C', async () => {
    await session!.close();
    session = undefined;
    const pids = run!.processTree();
    // npm, sh, tsx, the sandbox, the bot, the Playground (and esbuild under tsx).
    assert.ok(pids.length >= 6, `expected the whole tree, got:\n${pids.map((p) => `${p} ${commandOf(p)}`).join('\n')}`);
    run!.signalGroup('SIGINT');
    const exit = await within(30_000, 'npm run sandbox did not exit', run!.exited);
    await allGone(pids);
    assert.match(run!.output(), /\[sandbox\] stopped/);
    // npm got the Ctrl-C too and ends the way npm does (130, or by the signal); the sandbox said "stopped" above.
    assert.ok(exit.code === 0 || exit.code === 130 || exit.signal === 'SIGINT', `npm ended with ${JSON.stringify(exit)}`);
  });
});

describe('npm run sandbox (processes)', function () {
  this.timeout(120_000);

  it('stops everything when npm alone gets SIGTERM', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'sandbox-term-'));
    let run: SandboxRun | undefined;
    try {
      run = await startSandboxProcess(await sandboxArgs(dataDir));
      const pids = run.processTree();
      // npm passes it to `sh -c`, which dies and leaves tsx: the sandbox notices and stops.
      run.child.kill('SIGTERM');
      await allGone(pids);
      assert.match(run.output(), /has ended[\s\S]*\[sandbox\] stopped/);
    } finally {
      run?.kill();
      await saveOutput('sandbox-sigterm-output', run);
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('runs the bot authenticated by default: unsigned activities get 401, signed ones are answered with bot-token replies', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'sandbox-auth-'));
    let run: SandboxRun | undefined;
    try {
      run = await startSandboxProcess(await sandboxArgs(dataDir));
      assert.match(run.output(), /Channel:\s+authenticated/);
      // Teams gives a bot a channel message only when it is @mentioned: the banner says so, with the app's name.
      const manifest = JSON.parse(await readFile(join(ROOT, 'manifest', 'manifest.json'), 'utf8')) as { name: { short: string } };
      const botName = manifest.name.short.replace('${{APP_NAME_SUFFIX}}', '');
      assert.ok(run.output().includes(`@mention the bot: \`@${botName} set support channel\``), `the banner:\n${run.output()}`);
      // The switch-scenario command names the simulator's port actually chosen.
      assert.ok(run.output().includes(`-d '{"name":"no-mfa"}' ${run.simulatorUrl}/_sim/scenario`), `the banner:\n${run.output()}`);
      const conversation = { tenantId: PARTNER_TENANT_ID, user: { name: 'Probe', aadObjectId: randomUUID() } };
      const unsigned = new BotClient({ endpoint: run.botUrl, simulatorUrl: run.simulatorUrl, conversation });
      assert.equal((await unsigned.say('help', { quietMs: 100 })).status, 401);
      const signed = new BotClient({ endpoint: run.botUrl, simulatorUrl: run.simulatorUrl, conversation, signFor: SIM_BOT_APP_ID });
      const turn = await signed.say('help', { count: 1 });
      assert.equal(turn.status, 200);
      assert.equal(turn.activities[0]?.auth.verified, true, 'the reply carried no valid bot token');
    } finally {
      run?.kill();
      await saveOutput('sandbox-auth-output', run);
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('refuses an unknown scenario with exit code 2, listing the known ones', async () => {
    const res = spawnSync('npm', ['run', 'sandbox', '--', '--scenario', 'no-such-scenario', '--data-dir', join(tmpdir(), 'sandbox-unused')], {
      cwd: ROOT, encoding: 'utf8', timeout: 60_000, env: { ...process.env, npm_config_update_notifier: 'false' },
    });
    assert.equal(res.status, 2, res.stderr);
    assert.match(res.stderr, /unknown scenario "no-such-scenario"\. Known scenarios: .*\bhealthy\b/);
  });
});
