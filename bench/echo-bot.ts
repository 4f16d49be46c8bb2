// The floor under any turn (issue 29): a bare echo bot on botbuilder's CloudAdapter and restify, as
// the bot uses them, reading the JSON body itself and replying to the simulator's connector. In the
// bench's process (`startEchoBot`), or run as a file (`startEchoBotProcess`): its own process,
// listening on a free loopback port it prints as `listening <url>`.
import { spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { CloudAdapter, ConfigurationBotFrameworkAuthentication, type Request as BotRequest, type Response as BotResponse } from 'botbuilder';
import restify from 'restify';
import { endsWithThisProcess } from '../test/helpers/bot-process';

/** `pid`: the echo bot's own process, when it has one. */
export interface EchoBot { url: string; pid?: number; stop(): Promise<void> }

export async function startEchoBot(): Promise<EchoBot> {
  const adapter = new CloudAdapter(new ConfigurationBotFrameworkAuthentication({}));
  const server = restify.createServer({ handleUncaughtExceptions: false });
  server.post('/api/messages', async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
    (req as { body?: unknown }).body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
    await adapter.process(req as unknown as BotRequest, res as unknown as BotResponse, async (context) => {
      await context.sendActivity(context.activity.text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/api/messages`, stop: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** The echo bot in a process of its own (this file through tsx), with this process' environment (the simulator's CA included). */
export async function startEchoBotProcess(): Promise<EchoBot> {
  const child = spawn(process.execPath, ['--disable-warning=DEP0111', '--import', 'tsx', __filename], { stdio: ['ignore', 'pipe', 'inherit'] });
  endsWithThisProcess(child);
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening (\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`the echo bot process ended (${code}) before it listened`)));
  });
  return {
    url, pid: child.pid,
    stop: () => new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    }),
  };
}

if (require.main === module) {
  void startEchoBot().then(({ url }) => console.log(`listening ${url}`));
}
