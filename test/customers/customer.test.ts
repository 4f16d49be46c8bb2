import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { dayText } from '../../src/bot/commands/customer-words';
import { ConsentHarness, type TestPartner } from '../auth/consent-harness';
import { SupportRepository } from '../../src/store/support';
import { executeInvoke, messageActivity } from '../harness/activities';
import { BotClient } from '../harness/bot-client';
import { cardText } from '../helpers/chat';
import { onboardedPartner, syncFinished } from '../sync/sync-harness';

type Card = Record<string, unknown>;

const ENGINEER = { aadObjectId: randomUUID(), name: 'Sam Support' };
const OPERATOR_TENANT = randomUUID();
const TEAM = { id: `19:${randomBytes(16).toString('hex')}@thread.tacv2`, name: 'Partner Support' };
const CHANNEL = { id: `19:${randomBytes(16).toString('hex')}@thread.tacv2`, name: 'Escalations' };

/**
 * "Why can't I manage customer X?" over HTTP against the simulator: the gdap-mixed scenario's seven
 * customers (manageable, expired, terminated, none, read-only roles, unassigned, pending) synced,
 * then asked about in chat, each answered with its verdict, evidence and fix.
 */
describe('customer cards (simulator, PGlite)', function () {
  this.timeout(300_000);
  let h: ConsentHarness;
  let p: TestPartner;
  /** Customer #i of the scenario (its tenant id ends in i). */
  const customers = new Map<number, { id: string; name: string; domain: string }>();

  before(async () => {
    h = await ConsentHarness.start('gdap-mixed', { env: { SYNC_SPREAD_MINUTES: '0', SUPPORT_ENGINEERS: ENGINEER.aadObjectId } });
    p = await onboardedPartner(h);
    const { sync } = await h.app.syncJobs.service.start(p.tenant, 'chat', p.person.aadObjectId, p.conversationId);
    const done = await syncFinished(h.app.syncs, sync.id);
    assert.equal(done.status, 'succeeded', done.error);
    const rows = await h.app.db.query<{ customer_tenant_id: string; company_name: string; domain: string }>(
      'SELECT customer_tenant_id, company_name, domain FROM customers WHERE tenant_id = $1', [p.tenant]);
    for (const r of rows) customers.set(parseInt(r.customer_tenant_id.slice(-12), 16), { id: r.customer_tenant_id, name: r.company_name, domain: r.domain });
    assert.equal(customers.size, 7);
  });
  after(async () => { await h?.stop(); });

  const cardOf = (turn: { activities: Array<{ activity: { attachments?: Array<{ content?: unknown }> } }> }): Card => {
    const card = turn.activities.map((e) => e.activity.attachments?.[0]?.content).find(Boolean);
    assert.ok(card, 'a card');
    return card as Card;
  };
  const invokeCard = (body: unknown): Card => {
    const b = body as { statusCode: number; type: string; value: Card };
    assert.equal(b.statusCode, 200, JSON.stringify(body));
    assert.equal(b.type, 'application/vnd.microsoft.card.adaptive');
    return b.value;
  };
  const ended = dayText(new Date(Date.now() - 3 * 86_400_000));

  const expected: Array<[number, RegExp[]]> = [
    [0, [/✅ Manageable/, /Access assignment\nAdminAgents: Directory Readers, .*reaches the service account/, /Auto-extend\non \(every 180 days\)/]],
    [1, [/❌ Not manageable: the GDAP relationship has ended/, new RegExp(`ended on ${ended}: create a new one in Partner Center under \\*\\*Customers → Admin relationships\\*\\*`), /GDAP relationships \(2\)/, /Status\nterminated/]],
    [2, [/❌ Not manageable: the GDAP relationship was terminated/, /was terminated \(by you or the customer\): create a new one in Partner Center under \*\*Customers → Admin relationships\*\*/]],
    [3, [/❌ Not manageable: no GDAP relationship/, /There is no GDAP relationship with this customer: create one .*Request admin relationship/, /GDAP relationships: none/]],
    [4, [/lacks roles the platform needs/, /does not hold User Administrator, License Administrator\. Roles cannot be added to an approved relationship: create a new one/, /Roles\nDirectory Readers, Global Reader/]],
    [5, [/no access assignment gives the service account the roles/, /No access assignment gives AdminAgents \(or another group that holds the service account\) the roles Directory Readers, User Administrator, License Administrator: open the relationship/, /a group the service account is not in: .*does not reach the service account/]],
    [6, [/⏳ Not manageable yet: the GDAP relationship is not active yet/, /waits for the customer's approval \(status: approvalPending\)/, /Access assignments\nnone/]],
  ];
  for (const [i, patterns] of expected) {
    it(`customer #${i} by its domain: the verdict in words, the evidence and the fix (${patterns[0]!.source.slice(0, 40)}…)`, async () => {
      const c = customers.get(i)!;
      const text = cardText(cardOf(await p.chat.say(`customer ${c.domain.toUpperCase()}`, 1)));
      assert.ok(text.includes(c.name), text);
      for (const re of patterns) assert.match(text, re);
      const buttons = text.split('\n');
      assert.ok(buttons.includes('Check again'));
      assert.equal(buttons.includes('Open Partner Center'), i !== 0, 'a fix comes with its Partner Center link');
    });
  }

  it('partial, case-insensitive name: several matches give a list to pick from; Open posts that customer\'s card and keeps the list', async () => {
    const maples = [...customers.values()].filter((c) => c.name.toLowerCase().includes('maple'));
    assert.ok(maples.length >= 2, 'the scenario has two Maple customers');
    const turn = await p.chat.say('customer mApL', 1);
    const list = cardOf(turn);
    assert.match(cardText(list), new RegExp(`^${maples.length} customers match “mapl”`));
    for (const m of maples) assert.ok(cardText(list).includes(m.name));
    const opened = await p.chat.client.execute({ verb: 'customer.open', data: { customerTenantId: maples[0]!.id } }, { replyToId: turn.activities[0]!.id }, { count: 1 });
    assert.equal((opened.body as { type: string }).type, 'application/vnd.microsoft.activity.message');
    assert.ok(cardText(cardOf(opened)).includes(maples[0]!.name));
  });

  it('no match, and no text, are answered in words', async () => {
    assert.match((await p.chat.say('customer zzzz-nothing', 1)).texts[0]!, /No customer's name or domain contains “zzzz-nothing”/);
    assert.match((await p.chat.say('customer', 1)).texts[0]!, /Type \*\*customer\*\* and part of a customer's name or domain/);
  });

  it('Check again re-reads that customer\'s relationships from Graph and updates the card in place', async () => {
    const c = customers.get(6)!;
    const posted = await p.chat.say(`customer ${c.domain}`, 1);
    const id = posted.activities[0]!.id;
    assert.match(cardText(cardOf(posted)), /⏳ Not manageable yet/);
    // The customer approves and the partner assigns roles to AdminAgents (in the simulated cloud).
    const rel = h.sim.scenario.tenants[0]!.gdapRelationships.find((g) => g.customerTenantId === c.id)!;
    const before = structuredClone(rel);
    rel.status = 'active';
    rel.accessAssignments = [{ id: 'asg-6-0', groupDisplayName: 'AdminAgents', roles: [...rel.roles], status: 'active' }];
    try {
      const turn = await p.chat.client.execute({ verb: 'customer.recheck', data: { customerTenantId: c.id } }, { replyToId: id });
      const card = cardText(invokeCard(turn.body));
      assert.match(card, /✅ Manageable/);
      assert.match(card, /Read again from Microsoft just now/);
      assert.match(card, /Read from\nchecked again/);
      const updated = (await p.chat.client.transcript()).find((e) => e.id === id)!;
      assert.match(cardText(updated.activity.attachments![0]!.content as Card), /✅ Manageable/, 'the posted message is updated too');
      const [row] = await h.app.db.query<{ manageable: boolean }>('SELECT manageable FROM customers WHERE tenant_id = $1 AND customer_tenant_id = $2', [p.tenant, c.id]);
      assert.equal(row!.manageable, true);
    } finally {
      Object.assign(rel, before);
    }
    // And back: the relationship is pending again in the cloud; Check again says so.
    const again = cardText(invokeCard((await p.chat.client.execute({ verb: 'customer.recheck', data: { customerTenantId: c.id } }, { replyToId: id })).body));
    assert.match(again, /⏳ Not manageable yet/);
  });

  it('customers: the counts by verdict and the unmanageable worst first, paged in place; each opens its card', async () => {
    const first = await p.chat.say('customers', 1);
    const text = cardText(cardOf(first));
    assert.match(text, /Your customers: 6 of 7 cannot be managed/);
    assert.match(text, /✅ manageable\n1/);
    assert.match(text, /Not manageable, worst first \(page 1 of 1\)/);
    const order = [3, 2, 1, 4, 5, 6].map((i) => text.indexOf(customers.get(i)!.name));
    assert.ok(order.every((at, k) => at > 0 && (k === 0 || at > order[k - 1]!)), `worst first: none, terminated, expired, missing roles, no access, pending\n${text}`);
    assert.ok(!text.split('\n').includes('Next'));
    // Ten more without a relationship: two pages.
    await h.app.db.query(
      `INSERT INTO customers (tenant_id, customer_tenant_id, pc_customer_id, company_name, domain, manageable, not_manageable_reason, last_seen_sync)
       SELECT $1, gen_random_uuid()::text, 'pc-' || n, 'Zeta Extra ' || n, 'zeta' || n || '.example', false, 'none', 0 FROM generate_series(1, 10) AS n`, [p.tenant]);
    try {
      const posted = await p.chat.say('customers', 1);
      const page1 = cardText(cardOf(posted));
      assert.match(page1, /16 of 17 cannot be managed/);
      assert.match(page1, /page 1 of 2/);
      assert.ok(page1.split('\n').includes('Next') && !page1.split('\n').includes('Previous'));
      const id = posted.activities[0]!.id;
      const page2 = cardText(invokeCard((await p.chat.client.execute({ verb: 'customer.list.page', data: { page: 1 } }, { replyToId: id })).body));
      assert.match(page2, /page 2 of 2/);
      assert.ok(page2.includes(customers.get(6)!.name), 'pending, the least bad, is last');
      assert.ok(page2.split('\n').includes('Previous') && !page2.split('\n').includes('Next'));
      const updated = (await p.chat.client.transcript()).find((e) => e.id === id)!;
      assert.match(cardText(updated.activity.attachments![0]!.content as Card), /page 2 of 2/, 'updated in place');
      const back = cardText(invokeCard((await p.chat.client.execute({ verb: 'customer.list.page', data: { page: 0 } }, { replyToId: id })).body));
      assert.match(back, /page 1 of 2/);
      const opened = await p.chat.client.execute({ verb: 'customer.open', data: { customerTenantId: customers.get(2)!.id } }, { replyToId: id }, { count: 1 });
      assert.match(cardText(cardOf(opened)), /was terminated/);
    } finally {
      await h.app.db.query(`DELETE FROM customers WHERE tenant_id = $1 AND company_name LIKE 'Zeta Extra %'`, [p.tenant]);
    }
  });

  it('the support case card shows how many customers cannot be managed and the worst three', async () => {
    const inChannel = (conversationId?: string) => new BotClient({
      endpoint: `${h.url}/api/messages`, simulatorUrl: h.sim.baseUrl, quietMs: 150,
      conversation: { tenantId: OPERATOR_TENANT, scope: 'channel', user: ENGINEER, team: TEAM, channel: CHANNEL, ...(conversationId ? { conversationId } : {}) },
    });
    await inChannel().say('set support channel');
    await p.chat.say('support', 1);
    const c = (await new SupportRepository(h.app.db).get(p.tenant))!;
    const card = (await inChannel().transcript(c.threadId!)).find((e) => e.id === c.cardActivityId)!.activity.attachments![0]!.content as Card;
    const text = cardText(card);
    assert.match(text, /Unmanageable customers\n6 of 7/);
    const worst = [3, 2, 1].map((i) => customers.get(i)!.name);
    assert.match(text, new RegExp(`Worst three\\n${worst[0]} \\(no GDAP relationship\\); ${worst[1]} \\(GDAP relationship terminated\\); ${worst[2]} \\(GDAP relationship expired\\)`));
  });

  /** `composeExtension/query` as Teams sends it when someone types in the search command's box. */
  const search = async (client: BotClient, text: string) => {
    const activity = executeInvoke(client.conversation, { verb: 'unused' });
    activity.name = 'composeExtension/query';
    activity.value = { commandId: 'findCustomer', parameters: [{ name: 'customer', value: text }], queryOptions: { skip: 0, count: 25 } };
    const turn = await client.send(activity);
    assert.equal(turn.status, 200);
    const body = turn.body as { composeExtension: { type: string; attachmentLayout: string; attachments: Array<{ contentType: string; content: Card; preview: { content: { title: string; text: string } } }> } };
    assert.equal(body.composeExtension.type, 'result');
    return body.composeExtension.attachments;
  };

  it('Find a customer (message extension): a member gets matching customers with their verdict; picking one inserts its card', async () => {
    const maples = [...customers.values()].filter((c) => c.name.toLowerCase().includes('maple'));
    const results = await search(p.chat.client, 'MAPLE');
    assert.equal(results.length, maples.length);
    for (const r of results) {
      assert.equal(r.contentType, 'application/vnd.microsoft.card.adaptive');
      assert.match(cardText(r.content), /Not manageable|Manageable/);
      assert.ok(maples.some((m) => r.preview.content.title.includes(m.name.split(' ')[0]!)), r.preview.content.title);
      assert.match(r.preview.content.text, /❌ (relationship ended|no access assignment)/);
    }
    assert.deepEqual(await search(p.chat.client, ''), [], 'nothing typed, nothing listed');
  });

  it('a customer card the partner sends into the chat from Find a customer is shared, not a command: no answer', async () => {
    const [picked] = await search(p.chat.client, 'maple');
    // What Teams (and the Agents Playground) post when the card inserted in the compose box is sent:
    // the card attached, and for text only the inline card's markup.
    const sent = messageActivity(p.chat.client.conversation, '');
    sent.text = '<span class="inline-compose-card" itemid="0" itemtype="http://schema.skype.com/InputExtension"><span itemprop="0"></span></span>';
    sent.attachments = [{ contentType: picked!.contentType, content: picked!.content }];
    const turn = await p.chat.client.send(sent, { quietMs: 1_000 });
    assert.equal(turn.status, 200);
    assert.deepEqual(turn.texts, [], 'no answer');
    assert.equal(turn.activities.length, 0, 'no card either');
  });

  it('Find a customer is refused across tenants and to a colleague not added: an empty list, no name', async () => {
    const elsewhere = new BotClient({ endpoint: `${h.url}/api/messages`, simulatorUrl: h.sim.baseUrl, quietMs: 120, conversation: { tenantId: randomUUID(), user: { aadObjectId: randomUUID(), name: 'Eve' } } });
    assert.deepEqual(await search(elsewhere, 'maple'), []);
    const colleague = new BotClient({ endpoint: `${h.url}/api/messages`, simulatorUrl: h.sim.baseUrl, quietMs: 120, conversation: { tenantId: p.tenant, user: { aadObjectId: randomUUID(), name: 'Not Added' } } });
    assert.deepEqual(await search(colleague, 'maple'), []);
    assert.ok((await search(p.chat.client, 'maple')).length > 0, 'the member still sees them');
  });

  it('customer cards are refused to anyone not a member of the partner, in another tenant too', async () => {
    const c = customers.get(1)!;
    const stranger = new BotClient({ endpoint: `${h.url}/api/messages`, simulatorUrl: h.sim.baseUrl, quietMs: 120, conversation: { tenantId: randomUUID(), user: { aadObjectId: randomUUID(), name: 'Eve' } } });
    const turn = await stranger.execute({ verb: 'customer.recheck', data: { customerTenantId: c.id } });
    const body = turn.body as { statusCode: number; type: string; value: unknown };
    assert.equal(body.type, 'application/vnd.microsoft.activity.message');
    assert.doesNotMatch(JSON.stringify(turn), new RegExp(c.name));
    const typed = await stranger.say(`customer ${c.domain}`, { count: 1 });
    assert.doesNotMatch(JSON.stringify(typed.activities), new RegExp(c.name));
  });
});
