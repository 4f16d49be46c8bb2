import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface PostedActivity {
  conversationId: string;
  replyToId?: string;
  activity: Record<string, unknown> & { type?: string; text?: string; attachments?: Array<{ contentType: string; content: Record<string, unknown> }> };
  authorization?: string;
}

/**
 * A tiny HTTP endpoint standing in for the Bot Connector at an activity's serviceUrl: records what
 * the bot sends (send and reply) and answers with an id, as the connector does.
 */
export class ConnectorStub {
  readonly posted: PostedActivity[] = [];
  private server?: Server;
  private waiters: Array<() => void> = [];
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const m = /^\/v3\/conversations\/([^/]+)\/activities(?:\/([^/]+))?$/.exec(req.url ?? '');
        if (req.method !== 'POST' || !m) {
          // Not chained: restify, when loaded in the same process, patches writeHead to return nothing.
          res.writeHead(404, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: { code: 'NotFound', message: 'stub' } }));
          return;
        }
        const activity = JSON.parse(Buffer.concat(chunks).toString('utf8')) as PostedActivity['activity'];
        this.posted.push({ conversationId: decodeURIComponent(m[1]!), replyToId: m[2] && decodeURIComponent(m[2]), activity, authorization: req.headers.authorization });
        for (const w of this.waiters.splice(0)) w();
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id: `reply-${this.posted.length}` }));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
    return this;
  }

  /** Waits until at least `count` activities were posted in total. */
  async waitForCount(count: number, timeoutMs = 10_000): Promise<PostedActivity[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.posted.length < count) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`expected ${count} activities from the bot, got ${this.posted.length}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
    return this.posted;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
