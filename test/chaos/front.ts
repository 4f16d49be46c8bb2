import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';

/** One backend slot of the front: its URL while the instance is up, undefined while it is down. */
export interface Backend {
  url: string | undefined;
}

export interface FrontStats {
  requests: number;
  /** Requests sent on to the other instance because the first refused the connection or was down. */
  failedOver: number;
  /** Requests whose instance died after taking them: answered 502, as Azure's front end does. */
  lost: number;
}

/**
 * A round-robin front on loopback, as Azure's front end is for the instances of an App Service:
 * each request goes to the next instance; one that is down or refuses the connection is skipped
 * (the request never reached it, so sending it to the other is safe); one that dies after taking
 * the request answers 502 and the client decides whether to send again.
 */
export class Front {
  private next = 0;
  /** Answers whose head was passed on already. */
  private readonly begun = new WeakSet<ServerResponse>();
  readonly stats: FrontStats = { requests: 0, failedOver: 0, lost: 0 };
  private constructor(private readonly server: Server, readonly url: string, private readonly backends: readonly Backend[]) {}

  static async start(backends: readonly Backend[]): Promise<Front> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const front = new Front(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`, backends);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => { void front.handle(req, res); });
    return front;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.stats.requests++;
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const deadline = Date.now() + 60_000;
    for (let tries = 0; Date.now() < deadline; tries++) {
      const slot = this.backends[this.next++ % this.backends.length]!;
      if (tries > 0) this.stats.failedOver++;
      if (!slot.url) {
        // Both down for a moment (a restart): wait as the front's health probe would.
        if (tries % this.backends.length === this.backends.length - 1) await delay(200);
        continue;
      }
      const outcome = await this.forward(slot.url, req, body, res);
      if (outcome === 'answered') return;
      if (outcome === 'lost') {
        this.stats.lost++;
        // Cut off mid-answer: the client sees the connection drop, as it would behind Azure's front.
        if (this.begun.has(res)) res.destroy();
        else {
          res.writeHead(502, { 'content-type': 'text/plain' });
          res.end('Bad Gateway');
        }
        return;
      }
      if (tries % this.backends.length === this.backends.length - 1) await delay(200);
    }
    res.writeHead(503, { 'content-type': 'text/plain' });
    res.end('Service Unavailable');
  }

  /** `refused`: the request did not reach the instance; `lost`: it did, and the instance died before answering in full. */
  private forward(base: string, req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<'answered' | 'refused' | 'lost'> {
    return new Promise((resolve) => {
      const target = new URL(req.url ?? '/', base);
      const headers = { ...req.headers, host: target.host, 'content-length': String(body.length) };
      let sent = false;
      // A connection of its own (agent: false): on a kept-alive socket, which never emits 'connect'
      // again, a request could not tell 'refused' from 'lost', and each added a 'connect' listener
      // (Node 22 warned: MaxListenersExceededWarning on the front's sockets).
      const out = request(target, { method: req.method, headers, agent: false }, (answer) => {
        this.begun.add(res);
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.on('data', (d: Buffer) => res.write(d));
        answer.on('end', () => { res.end(); resolve('answered'); });
        answer.on('error', () => resolve('lost'));
        answer.on('aborted', () => resolve('lost'));
      });
      out.on('socket', (s) => s.once('connect', () => { sent = true; }));
      out.on('error', (e: NodeJS.ErrnoException) => resolve(!sent && (e.code === 'ECONNREFUSED' || e.code === 'ECONNRESET') ? 'refused' : 'lost'));
      out.end(body);
    });
  }
}
