import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { inert } from '../../src/cards/inert-text';
import { secretName } from '../../src/credentials/credential-service';
import { SupportRepository } from '../../src/store/support';
import { ConsentHarness, type TestPartner } from '../auth/consent-harness';
import { BotClient } from '../harness/bot-client';
import { Chat, COMPANY } from '../helpers/chat';
import type { TranscriptEntry } from '../simulator/services/connector';
import { APP_ID, APP_SECRET_VALUE, PARTNER_TENANT_ID, SERVICE_ACCOUNT_UPN } from '../simulator/scenarios/ids';

/**
 * Partner-typed and Microsoft-supplied text planted with markdown and Adaptive Card syntax in
 * every free-text field, walked through the journey to the support channel: wherever Teams
 * renders markdown (message text, TextBlock text, Fact title and value; every version of every
 * activity, and the invoke answer), the payload shows as itself, never as a link, bold, a list,
 * a heading or a date function.
 */

const LURE = '[Support: re-verify your account](https://evil.example/login)';
// A Teams display name is not validated by Teams for markdown, and may hold line breaks.
const DISPLAY_NAME = `${LURE} **now** {{DATE(2017-02-14T06:08:39Z, SHORT)}} \${root}\n# heading\n- item`;
const COLLEAGUE_NAME = '[Add me](https://evil.example/add) **colleague** `code`';
const PLANTED_COMPANY = {
  ...COMPANY,
  legalName: '[Open the case file](https://evil.example/case) **Contoso** {{DATE(2017-02-14T06:08:39Z, SHORT)}} ${root}',
  street: '**Main** street _1_ `tick` | x',
  city: '# Berlin ~~x~~',
};
const PLANTED_PRIMARY = {
  firstName: '[Megan](https://evil.example/m)', lastName: '**Bowen**', email: 'megan@contoso-cloud.de', phone: '030 1234567',
  role: '- item {{TIME(2017-02-14T06:08:39Z)}}',
};
// What Microsoft says about the partner's tenant: names an admin of that tenant chose.
const TENANT_NAME = '[Tenant](https://evil.example/t) **tenantname**';
const PROFILE_NAME = '[Profile](https://evil.example/p) **profilename**';
const APP_NAME = '[App](https://evil.example/a) **appname**';

/** Raw markdown fragments of the payloads: none may reach a rendered place unescaped. */
const RAW = ['**now**', '**colleague**', '**Contoso**', '**Main**', '**Bowen**', '**tenantname**', '**profilename**', '**appname**', '_1_', '~~x~~', '`tick`', '`code`', '{{', '${'];

const ENGINEER = { aadObjectId: randomUUID(), name: 'Sam Support' };
const OPERATOR_TENANT = randomUUID();
const TEAM = { id: `19:${randomBytes(16).toString('hex')}@thread.tacv2`, name: 'Partner Support' };
const CHANNEL = { id: `19:${randomBytes(16).toString('hex')}@thread.tacv2`, name: 'Escalations' };

type Node = Record<string, unknown>;

/** Every string Teams renders as markdown in a card: TextBlock text, Fact title and value. */
function markdownPlaces(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) { for (const n of node) markdownPlaces(n, out); return out; }
  if (!node || typeof node !== 'object') return out;
  const n = node as Node;
  if (n.type === 'TextBlock' && typeof n.text === 'string') out.push(n.text);
  if (n.type === 'FactSet' && Array.isArray(n.facts)) for (const f of n.facts as Node[]) out.push(String(f.title), String(f.value));
  for (const [k, v] of Object.entries(n)) if (k !== 'data' && k !== 'choices') markdownPlaces(v, out);
  return out;
}

/** Every version of every activity (first post, each update): its text and its cards' markdown places. */
function rendered(entries: TranscriptEntry[]): string[] {
  const out: string[] = [];
  for (const e of entries) {
    for (const a of [e.original, ...e.updates.map((u) => u.activity), e.activity]) {
      if (typeof a.text === 'string') out.push(a.text);
      for (const att of a.attachments ?? []) markdownPlaces(att.content, out);
    }
  }
  return out;
}

/** What is wrong with one rendered string: an unescaped link, a payload fragment, a list or heading from a payload. */
function injected(s: string): string[] {
  const found: string[] = [];
  // `](` after a `]` that no backslash escapes, to a payload's address: a link (ours go to Microsoft's portals).
  if (/(^|[^\\])(\\\\)*\]\(https:\/\/evil\.example/.test(s)) found.push('a live link');
  for (const raw of RAW) if (s.includes(raw)) found.push(raw);
  if (/(^|[^\\])\| x/.test(s)) found.push('| x');
  if (/(^|[\r\n])\s*(# heading|- item|# Berlin)/.test(s)) found.push('a heading or list item');
  return found;
}

describe('markdown and card syntax from partners and Microsoft stay inert (simulator, in-process bot)', function () {
  this.timeout(180_000);
  let h: ConsentHarness;

  before(async () => {
    h = await ConsentHarness.start('healthy', { env: { SUPPORT_ENGINEERS: ENGINEER.aadObjectId } });
    const tenant = h.sim.scenario.tenants.find((t) => t.id === PARTNER_TENANT_ID)!;
    tenant.displayName = TENANT_NAME;
    tenant.partnerCenter.companyName = PROFILE_NAME;
    // No customers: the Partner Center check warns, naming the profile, so the support card lists it.
    tenant.customers = { ...tenant.customers, count: 0 };
    h.partnerApp().displayName = APP_NAME;
  });
  after(async () => { await h?.stop(); });

  const inChannel = (conversationId?: string) => new BotClient({
    endpoint: `${h.url}/api/messages`, simulatorUrl: h.sim.baseUrl, quietMs: 150,
    conversation: { tenantId: OPERATOR_TENANT, scope: 'channel', user: ENGINEER, team: TEAM, channel: CHANNEL, ...(conversationId ? { conversationId } : {}) },
  });

  it('in every message and card the partner, a colleague and the support channel see', async () => {
    await inChannel().say('set support channel');

    // The owner: a display name full of markdown; the company and contact cards likewise.
    const tenant = randomUUID();
    const person = { aadObjectId: randomUUID(), name: DISPLAY_NAME };
    const chat = new Chat(new BotClient({
      endpoint: `${h.url}/api/messages`, simulatorUrl: h.sim.baseUrl, quietMs: 120,
      conversation: { tenantId: tenant, user: { ...person, userPrincipalName: PLANTED_PRIMARY.email } },
    }));
    await chat.say('start', 1);
    await chat.press('Save company details', PLANTED_COMPANY, { count: 1 });
    await chat.press('Save contact', PLANTED_PRIMARY, { count: 1 });
    await chat.press('Skip: no secondary contact', {}, { count: 1 });
    await chat.press('Confirm', {}, { count: 2 });

    // A colleague asks to join; the owner adds them.
    const colleague = new Chat(new BotClient({
      endpoint: `${h.url}/api/messages`, simulatorUrl: h.sim.baseUrl, quietMs: 120,
      conversation: { tenantId: tenant, user: { aadObjectId: randomUUID(), name: COLLEAGUE_NAME } },
    }));
    await colleague.say('start', 1);
    await chat.refresh();
    await chat.press(/^Add /, {}, { count: 1 });

    // The connection as the credential cards save it (the tenant's name as Microsoft gave it), signed in, checked.
    const p: TestPartner = { tenant, person, chat, conversationId: chat.client.conversation.conversationId };
    await h.app.secrets.set(secretName(tenant, 'appSecret'), APP_SECRET_VALUE);
    await h.app.connections.saveCredentials(tenant, { partnerTenantId: PARTNER_TENANT_ID, partnerTenantName: TENANT_NAME, serviceAccountUpn: SERVICE_ACCOUNT_UPN, appId: APP_ID }, {
      appSecret: { storeName: secretName(tenant, 'appSecret'), hint: APP_SECRET_VALUE.slice(0, 3), setBy: person.aadObjectId, setAt: new Date().toISOString() },
    }, person.aadObjectId, randomUUID());
    await h.signIn(p);
    await h.app.connections.recordAdminConsent(tenant, 'test', 'token-roles');
    await chat.say('recheck', 2);
    await chat.say('status', 1);

    // Support: the case opens; an engineer claims and resolves it; the partner asks again (a line in
    // the thread names them); the card refreshes for the engineer.
    await chat.say('support', 1);
    const c = (await new SupportRepository(h.app.db).get(tenant))!;
    const thread = inChannel(c.threadId!);
    await thread.execute({ verb: 'support.claim' }, { replyToId: c.cardActivityId! });
    await thread.execute({ verb: 'support.resolve' }, { replyToId: c.cardActivityId! });
    await chat.say('support', 1);
    const refreshed = await thread.execute({ verb: 'support.refresh' }, { replyToId: c.cardActivityId!, trigger: 'automatic' });

    const partnerSide = rendered([...(await chat.client.transcript()), ...(await colleague.client.transcript())]);
    const threadEntries = await thread.transcript(c.threadId!);
    const supportSide = [...rendered(threadEntries), ...markdownPlaces((refreshed.body as { value?: unknown }).value)];
    const all = [...partnerSide, ...supportSide];

    const bad = [...new Set(all.flatMap((s) => injected(s).map((what) => `${what} in ${JSON.stringify(s)}`)))];
    assert.deepEqual(bad, []);

    // The payloads did reach these places, shown as themselves.
    const shown = (value: string, where: string[]) => assert.ok(where.some((s) => s.includes(inert(value))), `${inert(value)} not found`);
    for (const v of [DISPLAY_NAME, PLANTED_COMPANY.legalName, PLANTED_COMPANY.street, PLANTED_COMPANY.city, PLANTED_PRIMARY.firstName, PLANTED_PRIMARY.lastName, PLANTED_PRIMARY.role, TENANT_NAME, APP_NAME, COLLEAGUE_NAME]) shown(v, partnerSide);
    for (const v of [DISPLAY_NAME, PLANTED_COMPANY.legalName, PROFILE_NAME]) shown(v, supportSide);
    assert.ok(threadEntries.some((e) => e.activity.text?.includes(`${inert(DISPLAY_NAME)} asked for support again`)), 'the "asked again" line names the partner, inert');
  });
});
