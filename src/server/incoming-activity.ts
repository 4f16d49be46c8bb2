import { isIP } from 'node:net';
import { z } from 'zod';

/**
 * What an activity must have before it reaches the adapter. botbuilder assumes these fields
 * (a turn without `conversation` or with an unparsable `serviceUrl` fails deep inside it, as a
 * 500); here a malformed activity is a 400 that says which field is wrong.
 */
const Id = z.string().min(1).max(1024);
const Account = z.looseObject({ id: Id, name: z.string().max(1024).optional(), aadObjectId: z.string().max(128).optional() });
const DateText = z.string().max(64).refine((v) => !Number.isNaN(Date.parse(v)), 'expected a date-time');

const ActivitySchema = z.looseObject({
  type: z.string().min(1).max(64),
  id: z.string().max(1024).optional(),
  channelId: z.string().min(1).max(64),
  serviceUrl: z.string().max(2048).refine((v) => {
    try {
      const u = new URL(v);
      return (u.protocol === 'https:' || u.protocol === 'http:') && u.hostname !== '';
    } catch {
      return false;
    }
  }, 'expected an http(s) URL'),
  from: Account,
  recipient: Account,
  conversation: z.looseObject({
    id: Id,
    conversationType: z.string().max(64).optional(),
    tenantId: z.string().max(128).optional(),
  }),
  timestamp: DateText.optional(),
  localTimestamp: DateText.optional(),
  expiration: DateText.optional(),
  text: z.string().optional(),
  textFormat: z.string().max(32).optional(),
  locale: z.string().max(64).optional(),
  replyToId: z.string().max(1024).optional(),
  action: z.string().max(64).optional(),
  name: z.string().max(256).optional(),
  channelData: z.looseObject({}).optional(),
  attachments: z.array(z.looseObject({ contentType: z.string().max(256) })).max(50).optional(),
  entities: z.array(z.looseObject({})).max(50).optional(),
  membersAdded: z.array(Account).max(1000).optional(),
  membersRemoved: z.array(Account).max(1000).optional(),
});

export type IncomingActivity = z.infer<typeof ActivitySchema>;

export type ActivityCheck = { ok: true; activity: IncomingActivity } | { ok: false; reason: string };

/** Validates a parsed body as an activity; the reason names the first wrong field. */
export function checkActivity(body: Record<string, unknown>): ActivityCheck {
  const parsed = ActivitySchema.safeParse(body);
  if (parsed.success) return { ok: true, activity: parsed.data };
  const issue = parsed.error.issues[0]!;
  const path = issue.path.map(String).join('.') || 'activity';
  return { ok: false, reason: `${path}: ${issue.message}` };
}

/** Loopback only: 127.0.0.0/8, ::1 and localhost. */
export function isLoopbackUrl(url: string): boolean {
  let host: string;
  try {
    host = new URL(url).hostname.replace(/^\[|\]$/g, '').toLowerCase();
  } catch {
    return false;
  }
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1' || host === '0:0:0:0:0:0:0:1';
  return false;
}
