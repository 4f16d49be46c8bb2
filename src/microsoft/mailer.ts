import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from '@microsoft/microsoft-graph-client';
import { AppError } from '../errors';
import type { TokenCredential } from './credential';

export interface Mail {
  to: string;
  subject: string;
  /** Plain text; links written out in full. */
  text: string;
}

export interface Mailer {
  readonly kind: 'graph' | 'outbox';
  send(mail: Mail, options?: { signal?: AbortSignal }): Promise<void>;
}

/**
 * Sends from the operator's mailbox through Graph `POST /users/{sender}/sendMail`.
 * Needs the Graph application permission Mail.Send for the bot's app registration (scope it to the
 * sender mailbox with an application access policy).
 */
export class GraphMailer implements Mailer {
  readonly kind = 'graph' as const;
  private readonly client: Client;

  constructor(graphBaseUrl: string, credential: TokenCredential, private readonly sender: string) {
    const host = new URL(graphBaseUrl).hostname;
    this.client = Client.initWithMiddleware({
      baseUrl: graphBaseUrl,
      // Without this the client attaches the token only to Microsoft's own Graph hosts.
      customHosts: new Set([host]),
      authProvider: {
        getAccessToken: async () => {
          const token = await credential.getToken('https://graph.microsoft.com/.default');
          if (!token) throw new AppError('internal', 'no token for Graph');
          return token.token;
        },
      },
    });
  }

  async send(mail: Mail): Promise<void> {
    try {
      await this.client.api(`/users/${encodeURIComponent(this.sender)}/sendMail`).version('v1.0').post({
        message: {
          subject: mail.subject,
          body: { contentType: 'Text', content: mail.text },
          toRecipients: [{ emailAddress: { address: mail.to } }],
        },
        saveToSentItems: false,
      });
    } catch (err) {
      const status = (err as { statusCode?: number }).statusCode;
      throw new AppError('mail_failed', `Graph sendMail failed${status ? ` (HTTP ${status})` : ''}`, {
        cause: err,
        userMessage: "I couldn't send the verification mail just now. Please try again in a minute.",
      });
    }
  }
}

/**
 * Local runs only (config refuses it in production): each mail becomes a JSON file in a folder, so
 * a developer can open the link or read the code without a mailbox.
 */
export class OutboxMailer implements Mailer {
  readonly kind = 'outbox' as const;
  constructor(private readonly dir: string) {}

  async send(mail: Mail): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const file = join(this.dir, `${new Date().toISOString().replace(/[:.]/g, '-')}-${Math.random().toString(36).slice(2, 8)}.json`);
    await writeFile(file, JSON.stringify(mail, null, 2), { mode: 0o600 });
  }
}
