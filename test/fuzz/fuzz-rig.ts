import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { Verbs } from '../../src/cards/verbs';
import type { BotTurn } from '../harness/bot-client';
import { BotUnderTest, cardText, type Chat } from '../helpers/chat';
import { cardIdOf, toPreparation, upTo } from '../helpers/onboarding-path';
import { APP_ID, APP_SECRET_VALUE, PARTNER_TENANT_ID, SERVICE_ACCOUNT_UPN } from '../simulator/scenarios/ids';

/**
 * Property-based fuzzing of everything a person or a client can send the bot: card submits, the
 * `adaptiveCard/action` invoke, and the HTTP routes. One rig drives the real bot over HTTP against
 * the simulator; each case says what went wrong (nothing, normally) so the tests assert none and
 * the bench (`npm run bench -- --fuzz`) counts them over many cases.
 */

/** The generic apology of a failed turn or page: a handler that crashed, not one that refused. */
const GENERIC = /something went wrong/i;
/** Log lines of a crash at the edges (turn, request, sign-in page). */
const CRASH_LINES = ['turn failed', 'request failed', 'sign-in page failed'];

export type Problem = 'crash' | 'http500' | 'stateChange' | 'generic' | 'silent';

export interface Outcome {
  problems: Problem[];
  /** What was sent, for the report. */
  input: unknown;
}

/** Every input name a card of ours has, so the arbitrary data hits real fields as often as stray ones. */
const FIELD_NAMES = [
  'legalName', 'country', 'street', 'postalCode', 'city', 'website', 'partnerId', 'vatId',
  'firstName', 'lastName', 'email', 'phone', 'role', 'code', 'memberId',
  'tenant', 'serviceAccount', 'appId', 'appSecret', 'pcAppId', 'pcSecret', 'pcSecretExpires',
];
const ALL_VERBS = Object.values(Verbs);

/** Any JSON value, nested objects and arrays included, with the awkward strings (unicode, control characters, markup). */
const jsonValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', '<b>x</b>', '\u0000', '00000000-0000-0000-0000-000000000000', 'a'.repeat(300), '+49 30 1234567', 'x@y.z', '2027-01-31') },
  { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null)) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
);

/** Card fields: known names and stray ones, each present or not. */
const fields = fc.dictionary(fc.oneof(fc.constantFrom(...FIELD_NAMES), fc.string({ maxLength: 12 })), jsonValue, { maxKeys: 10 });

/** A value that is not text, where every card field wants text. */
const notText: fc.Arbitrary<unknown> = fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.array(fc.string(), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }));

/** Any submit value: a verb of ours or any string (or none), the right card id, another id, garbage or none, and fields. */
export function anySubmit(cardId: string): fc.Arbitrary<Record<string, unknown>> {
  return fc.record({
    verb: fc.option(fc.oneof(fc.constantFrom(...ALL_VERBS), fc.string({ maxLength: 20 }), notText), { nil: undefined }),
    cardId: fc.option(fc.oneof(fc.constant(cardId), fc.uuid(), fc.string({ maxLength: 40 }), notText), { nil: undefined }),
    section: fc.option(jsonValue, { nil: undefined }),
    fields,
  }).map(({ fields: f, ...envelope }) => clean({ ...f, ...envelope }));
}

/** A submit of the card's own verb and card id whose form is invalid for sure: one of its fields is not text. */
export function rejectedSubmit(form: FormCard): fc.Arbitrary<Record<string, unknown>> {
  return fc.record({
    bad: fc.constantFrom(...form.fields),
    badValue: notText,
    rest: fc.dictionary(fc.constantFrom(...form.fields), jsonValue, { maxKeys: form.fields.length }),
    extra: fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }).filter((k) => !['verb', 'cardId', 'section', 'action', ...form.fields].includes(k)), jsonValue, { maxKeys: 2 }),
  }).map(({ bad, badValue, rest, extra }) => clean({ ...extra, ...rest, [bad]: badValue, verb: form.verb, cardId: form.cardId }));
}

/** Any `Action.Execute`: a verb of ours or any string, any data. */
export const anyExecute = fc.record({
  verb: fc.oneof(fc.constantFrom(...ALL_VERBS), fc.constantFrom('customer.open', 'customer.recheck', 'customer.list.page', 'support.claim', 'support.resolve', 'support.rerun'), fc.string({ maxLength: 30 })),
  data: fc.dictionary(fc.oneof(fc.constantFrom('tenantId', 'customerId', 'page', 'cardId', 'verb', 'version', ...FIELD_NAMES), fc.string({ maxLength: 10 })), jsonValue, { maxKeys: 6 }),
});

/** Any JSON body for `/api/messages`: garbage, or activity-shaped with arbitrary parts. */
export function anyActivityBody(serviceUrl: string, tenantId: string): fc.Arbitrary<unknown> {
  const activityLike = fc.record({
    type: fc.oneof(fc.constantFrom('message', 'invoke', 'conversationUpdate', 'installationUpdate', 'event', 'messageReaction'), fc.string({ maxLength: 12 }), notText),
    id: fc.option(fc.string({ maxLength: 20 }), { nil: undefined }),
    channelId: fc.oneof(fc.constant('msteams'), fc.string({ maxLength: 10 }), notText),
    serviceUrl: fc.oneof(fc.constant(serviceUrl), fc.constant('https://evil.example.com/'), fc.string({ maxLength: 20 }), notText),
    from: fc.oneof(fc.record({ id: fc.string({ maxLength: 20 }), aadObjectId: fc.option(fc.uuid(), { nil: undefined }) }), jsonValue),
    recipient: fc.oneof(fc.record({ id: fc.constant('28:bot') }), jsonValue),
    conversation: fc.oneof(fc.record({ id: fc.string({ minLength: 1, maxLength: 30 }), conversationType: fc.constantFrom('personal', 'channel', 'groupChat'), tenantId: fc.constant(tenantId) }), jsonValue),
    channelData: fc.oneof(fc.record({ tenant: fc.record({ id: fc.constant(tenantId) }) }), jsonValue),
    text: fc.option(fc.string({ maxLength: 60 }), { nil: undefined }),
    name: fc.option(fc.oneof(fc.constantFrom('adaptiveCard/action', 'signin/verifyState', 'task/fetch'), fc.string({ maxLength: 20 })), { nil: undefined }),
    value: fc.option(jsonValue, { nil: undefined }),
    extra: fields,
  }).map(({ extra, ...a }) => clean({ ...extra, ...a }));
  return fc.oneof({ weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) }, { weight: 4, arbitrary: activityLike });
}

/** A query string for the sign-in routes: their parameter names with arbitrary values, or garbage. */
export const anyAuthQuery = fc.oneof(
  fc.dictionary(fc.oneof(fc.constantFrom('s', 'state', 'code', 'error', 'error_description', 'admin_consent', 'tenant', 'scope', 'session_state', 'client_info'), fc.string({ maxLength: 8 })), fc.oneof(fc.string({ unit: 'binary', maxLength: 60 }), fc.constantFrom('True', 'access_denied', 'x.y.z', '')), { maxKeys: 6 })
    .map((q) => new URLSearchParams(q).toString()),
  fc.string({ maxLength: 80 }).map((s) => encodeURI(s)),
);
export const AUTH_ROUTES = ['/auth/start', '/auth/callback', '/auth/adminconsent/start', '/auth/adminconsent/callback', '/auth/takeover/start'] as const;

/** A form for `/verify-email`: token and decision with arbitrary values, stray fields, or a raw body. */
export const anyVerifyForm = fc.oneof(
  fc.record({
    token: fc.option(fc.oneof(fc.string({ unit: 'binary', maxLength: 80 }), fc.base64String({ maxLength: 60 })), { nil: undefined }),
    decision: fc.option(fc.oneof(fc.constantFrom('confirm', 'deny'), fc.string({ maxLength: 10 })), { nil: undefined }),
    extra: fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 20 }), { maxKeys: 3 }),
  }).map(({ extra, ...f }) => new URLSearchParams({ ...extra, ...clean(f) as Record<string, string> }).toString()),
  fc.string({ unit: 'binary', maxLength: 200 }),
);

/** Drops undefined members (JSON would). */
function clean(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

/** A form card waiting for its submit: what its button sends besides the inputs. */
export interface FormCard {
  name: string;
  chat: Chat;
  tenant: string;
  messageId: string;
  cardId: string;
  verb: string;
  fields: string[];
  /** The same card on another fresh partner (a long run keeps each chat's transcript short). */
  again(): Promise<FormCard>;
}

export class FuzzRig {
  /** `lines`: what the bot logs, read and emptied per case. */
  private constructor(readonly bot: BotUnderTest, private readonly lines: string[]) {}

  static async start(): Promise<FuzzRig> {
    const lines: string[] = [];
    return new FuzzRig(await BotUnderTest.start({ teamsLimits: false, logLines: lines }), lines);
  }

  stop(): Promise<void> {
    return this.bot.stop();
  }

  /** Each form card of the journey, on a fresh partner who has reached it. */
  async formCards(): Promise<FormCard[]> {
    const at = async (name: string, verb: string, fieldsOf: string[], reach: () => Promise<{ chat: Chat; tenant: string }>): Promise<FormCard> => {
      const { chat, tenant } = await reach();
      const { id, card } = chat.lastCard();
      if (!JSON.stringify(card).includes(`"verb":"${verb}"`)) throw new Error(`fuzz rig: the ${name} card was not reached: ${cardText(card).slice(0, 200)}`);
      return { name, chat, tenant, messageId: id, cardId: cardIdOf(card), verb, fields: fieldsOf, again: () => at(name, verb, fieldsOf, reach) };
    };
    return [
      await at('company', Verbs.companySubmit, ['legalName', 'country', 'street', 'postalCode', 'city', 'website', 'partnerId', 'vatId'], () => upTo(this.bot, 0)),
      await at('primary contact', Verbs.contactSubmit, ['firstName', 'lastName', 'email', 'phone', 'role'], () => upTo(this.bot, 1)),
      await at('secondary contact', Verbs.contactSubmit, ['firstName', 'lastName', 'email', 'phone', 'role'], () => upTo(this.bot, 2)),
      await at('email code', Verbs.verifyCode, ['code'], () => upTo(this.bot, 4, { userPrincipalName: `someone-else-${randomUUID()}@contoso.com` })),
      await at('Entra app', Verbs.entraSubmit, ['tenant', 'serviceAccount', 'appId', 'appSecret'], () => toPreparation(this.bot, { skipChecklist: true })),
      await at('Partner Center app', Verbs.pcSubmit, ['pcAppId', 'pcSecret', 'pcSecretExpires'], async () => {
        const reached = await toPreparation(this.bot, { skipChecklist: true });
        await reached.chat.press('Save and check', { tenant: PARTNER_TENANT_ID, serviceAccount: SERVICE_ACCOUNT_UPN, appId: APP_ID, appSecret: APP_SECRET_VALUE }, { count: 2 });
        return reached;
      }),
    ];
  }

  /** Everything stored about a tenant: each table with a tenant_id column (dialog state aside). */
  async snapshot(tenant: string): Promise<string> {
    const tables = await this.tenantTables();
    const parts: string[] = [];
    for (const t of tables) {
      const rows = await this.bot.app.db.query<{ r: string }>(`SELECT t::text AS r FROM ${t} t WHERE tenant_id = $1 ORDER BY 1`, [tenant]);
      parts.push(`${t}:${rows.map((x) => x.r).join('|')}`);
    }
    const secrets = await this.bot.app.db.query<{ r: string }>("SELECT name || ':' || updated_at::text AS r FROM secrets WHERE name LIKE '%' || $1 || '%' ORDER BY 1", [tenant]);
    parts.push(`secrets:${secrets.map((x) => x.r).join('|')}`);
    return parts.join('\n');
  }

  /** Every table but the dialog state and cooldowns, fingerprinted. */
  async fingerprint(): Promise<string> {
    const tables = await this.bot.app.db.query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name NOT IN ('bot_state', 'cooldowns', 'schema_migrations') ORDER BY 1");
    const parts: string[] = [];
    for (const { table_name: t } of tables) {
      const [row] = await this.bot.app.db.query<{ f: string | null }>(`SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) AS f FROM "${t}" t`);
      parts.push(`${t}:${row?.f ?? ''}`);
    }
    return parts.join('\n');
  }

  private tables?: string[];
  private async tenantTables(): Promise<string[]> {
    this.tables ??= (await this.bot.app.db.query<{ table_name: string }>(
      "SELECT c.table_name FROM information_schema.columns c JOIN information_schema.tables t USING (table_schema, table_name) WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' AND c.column_name = 'tenant_id' ORDER BY 1",
    )).map((r) => `"${r.table_name}"`);
    if (!this.tables.includes('"partners"')) throw new Error(`fuzz rig: the partner tables were not found (${this.tables.join(', ')})`);
    return this.tables;
  }

  /** Crash lines logged since the last call. */
  takeCrashes(): number {
    const crashes = this.lines.filter((l) => CRASH_LINES.some((m) => l.includes(`"msg":"${m}"`))).length;
    this.lines.length = 0;
    return crashes;
  }

  // ---- the cases ----------------------------------------------------------------------------

  /** A submit on a form card; `mustReject`: the input is invalid for sure, so nothing may change. */
  async submitCase(form: FormCard, value: Record<string, unknown>, mustReject: boolean): Promise<Outcome & { changed: boolean }> {
    this.takeCrashes();
    const before = await this.snapshot(form.tenant);
    const turn = await form.chat.client.submit(value, form.messageId, { quietMs: 1 });
    const changed = (await this.snapshot(form.tenant)) !== before;
    const problems = this.judgeTurn(turn);
    if (mustReject && changed) problems.push('stateChange');
    return { problems, input: value, changed };
  }

  /** An `adaptiveCard/action` invoke in the partner's chat. */
  async executeCase(form: FormCard, action: { verb: string; data: Record<string, unknown> }): Promise<Outcome> {
    this.takeCrashes();
    const turn = await form.chat.client.execute(action, { replyToId: form.messageId }, { quietMs: 1 });
    const problems = this.judgeTurn(turn, true);
    return { problems, input: action };
  }

  /** A raw POST to `/api/messages`. */
  async messagesCase(body: unknown): Promise<Outcome> {
    this.takeCrashes();
    const before = await this.fingerprint();
    const res = await fetch(`${this.bot.url}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const text = await res.text();
    const problems: Problem[] = [];
    if (res.status >= 500) problems.push('http500');
    if (this.takeCrashes() > 0) problems.push('crash');
    if (GENERIC.test(text)) problems.push('generic');
    // An activity the edge refuses (4xx) must leave every table as it was.
    if (res.status >= 400 && (await this.fingerprint()) !== before) problems.push('stateChange');
    return { problems, input: body };
  }

  /** A GET of a sign-in route with a query string. */
  async authCase(route: string, query: string): Promise<Outcome> {
    return this.pageCase(`${route}?${query}`, { method: 'GET' });
  }

  /** The verification page: GET with a token, or the form's POST. */
  async verifyCase(method: 'GET' | 'POST', payload: string): Promise<Outcome> {
    return method === 'GET'
      ? this.pageCase(`/verify-email?${new URLSearchParams({ token: payload }).toString()}`, { method: 'GET' })
      : this.pageCase('/verify-email', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: payload });
  }

  private async pageCase(path: string, init: RequestInit): Promise<Outcome> {
    this.takeCrashes();
    const before = await this.fingerprint();
    const res = await fetch(`${this.bot.url}${path}`, { ...init, redirect: 'manual' });
    const text = await res.text();
    const problems: Problem[] = [];
    if (res.status >= 500) problems.push('http500');
    if (this.takeCrashes() > 0) problems.push('crash');
    if (GENERIC.test(text)) problems.push('generic');
    // None of these inputs carries a state or token the bot issued: nothing may change.
    if ((await this.fingerprint()) !== before) problems.push('stateChange');
    return { problems, input: `${init.method} ${path}${init.body ? ` ${String(init.body)}` : ''}` };
  }

  private judgeTurn(turn: BotTurn, invoke = false): Problem[] {
    const problems: Problem[] = [];
    if (turn.status >= 500) problems.push('http500');
    if (this.takeCrashes() > 0) problems.push('crash');
    const said = [...turn.activities, ...turn.updated].map((e) => `${e.text ?? ''} ${cardText(e.activity.attachments?.[0]?.content as Record<string, unknown> | undefined)}`);
    const body = invoke ? JSON.stringify(turn.body ?? '') : '';
    if ([...said, body].some((t) => GENERIC.test(t))) problems.push('generic');
    if (!invoke && said.length === 0) problems.push('silent');
    if (invoke && turn.body === undefined && said.length === 0) problems.push('silent');
    return problems;
  }
}

/** Figures over many cases. */
export class Tally {
  cases = 0;
  readonly counts: Record<Problem, number> = { crash: 0, http500: 0, stateChange: 0, generic: 0, silent: 0 };
  readonly examples: Array<{ problems: Problem[]; input: unknown }> = [];

  add(o: Outcome): void {
    this.cases++;
    for (const p of o.problems) this.counts[p]++;
    if (o.problems.length && this.examples.length < 10) this.examples.push(o);
  }
}
