import assert from 'node:assert/strict';
import { secretName } from '../../src/credentials/credential-service';
import { recipientsOf, type Partner } from '../../src/domain/partner';
import { daysLeft, expiringItems, thresholdFor } from '../../src/watch/expiry';
import { ConsentHarness, type TestPartner } from '../auth/consent-harness';
import { cardText } from '../helpers/chat';
import { connectorOf } from '../simulator/services/connector';
import { CUSTOMER_TENANT_ID, GLOBAL_ADMIN_TEMPLATE_ID, PARTNER_TENANT_ID, STANDARD_GDAP_ROLES } from '../simulator/scenarios/ids';
import { noonInDays } from '../helpers/days';

const DAY = 86_400_000;

describe('watch: thresholds (pure)', () => {
  const rows: [number, number | undefined][] = [[90, undefined], [61, undefined], [60, 60], [45, 60], [30, 30], [15, 30], [14, 14], [8, 14], [7, 7], [4, 7], [3, 3], [2, 3], [1, 1], [0, 0], [-5, 0]];
  for (const [left, want] of rows) it(`${left} days left: ${want === undefined ? 'nothing yet' : want === 0 ? 'expired' : `the ${want}-day notice`}`, () => assert.equal(thresholdFor(left), want));

  it('recipients: the owner, and the primary contact when the bot knows their chat (the member who proved the mailbox), each chat once', () => {
    const owner = { aadObjectId: 'o', name: 'Owner', role: 'owner' as const, conversationId: 'a:owner' };
    const contact = { aadObjectId: 'c', name: 'Contact', role: 'member' as const, conversationId: 'a:contact' };
    const base = { tenantId: 't', secondarySkipped: false, preparation: { done: [] }, credentials: {}, consent: {}, members: [owner, contact] } as Partner;
    const chats = (p: Partner) => recipientsOf(p).map((m) => m.conversationId);
    assert.deepEqual(chats(base), ['a:owner'], 'no proven contact: the owner alone');
    assert.deepEqual(chats({ ...base, emailVerifiedBy: 'c' }), ['a:owner', 'a:contact']);
    assert.deepEqual(chats({ ...base, emailVerifiedBy: 'o' }), ['a:owner'], 'the owner is the contact: once');
    assert.deepEqual(chats({ ...base, emailVerifiedBy: 'c', members: [owner, { ...contact, conversationId: undefined }] }), ['a:owner'], 'no chat known for the contact');
    assert.deepEqual(chats({ ...base, emailVerifiedBy: 'x' }), ['a:owner'], 'the prover is not a member');
  });

  it('days left are calendar days to the date shown: 6 days and an hour ahead is 6; later today is 1; once passed, 0 or less', () => {
    const now = new Date('2026-11-30T00:00:00Z');
    assert.equal(daysLeft(new Date(now.getTime() + 6 * DAY + 3_600_000), now), 6);
    assert.equal(daysLeft(new Date(now.getTime() + 3_600_000), now), 1);
    assert.equal(daysLeft(new Date(now.getTime() - 1), now), -1, 'it ended on yesterday\'s date');
    assert.equal(daysLeft(new Date(now.getTime() + 3_600_000), new Date(now.getTime() + 7_200_000)), 0, 'it ended earlier today');
  });

  it('items: the app secret (Graph\'s end date over the stored one), the Partner Center key, the refresh path (90 days after its last use, one key per consent)', () => {
    const at = new Date('2026-10-01T00:00:00Z');
    const partner = {
      tenantId: 't', secondarySkipped: false, preparation: { done: [] }, credentials: {
        appSecret: { storeName: 's', hint: 'Qd7', expiresAt: '2027-01-01', setBy: 'u', setAt: '' },
        pcSecret: { storeName: 's', hint: 'pcK', expiresAt: '2026-12-24', setBy: 'u', setAt: '' },
      },
      consent: { at, usedAt: new Date('2026-11-01T00:00:00Z') },
    };
    const items = expiringItems(partner, new Date('2026-12-20T00:00:00Z'));
    assert.deepEqual(items.map((i) => [i.item, i.key, i.expiresAt.toISOString().slice(0, 10)]), [
      ['app-secret', 'Qd7:2026-12-20', '2026-12-20'],
      ['pc-secret', 'pcK:2026-12-24', '2026-12-24'],
      ['refresh-token', at.toISOString(), '2027-01-30'],
    ]);
    assert.equal(expiringItems({ ...partner, consent: { at, brokenAt: new Date() } }, undefined).filter((i) => i.item === 'refresh-token').length, 0, 'a broken consent is told at once elsewhere');
  });
});

describe('watch: the expiry scan and the notices outbox (simulator, in-process bot)', function () {
  this.timeout(120_000);
  let h: ConsentHarness;
  // Two `expiry` in a row here test what the second one says; the cooldown between them is test/server/probes.test.ts's.
  before(async () => { h = await ConsentHarness.start('healthy', { env: { EXPIRY_COOLDOWN_SECONDS: '0' } }); });
  after(async () => { await h?.stop(); });

  /** A connected partner whose Partner Center key ends in `days` days (negative: ended). */
  async function partnerWithKeyEnding(days: number): Promise<TestPartner> {
    const p = await h.partner();
    const partner = (await h.app.partners.get(p.tenant))!;
    const expiresAt = noonInDays(days).toISOString();
    await h.app.connections.saveCredentials(p.tenant, partner.connection!, {
      pcSecret: { storeName: secretName(p.tenant, 'pcSecret'), hint: 'pcK', expiresAt, setBy: p.person.aadObjectId, setAt: new Date().toISOString() },
    }, p.person.aadObjectId, 'card');
    return p;
  }

  const noticeCards = async (p: TestPartner) => (await p.chat.client.transcript())
    .map((e) => cardText(e.activity.attachments?.[0]?.content as Record<string, unknown>)).filter((t) => /Partner Center web app key/.test(t));

  it('one notice per threshold, each once: a second scan and drain send nothing; a later threshold is noticed when reached', async () => {
    const days = [61, 60, 30, 14, 7, 3, 1, -2];
    const partners = [];
    for (const d of days) partners.push(await partnerWithKeyEnding(d));
    const scanned = await h.app.watch.scan();
    assert.equal(scanned.partners, days.length);
    assert.equal(scanned.recorded, 7, 'every partner but the one 61 days out');
    assert.equal(await h.app.dispatcher.drain(), 7);
    const titles = await Promise.all(partners.map(async (p) => (await noticeCards(p)).map((t) => t.split('\n')[0])));
    assert.deepEqual(titles, [
      [], ['⚠️ Your Partner Center web app key expires in 60 days'], ['⚠️ Your Partner Center web app key expires in 30 days'],
      ['⚠️ Your Partner Center web app key expires in 14 days'], ['⚠️ Your Partner Center web app key expires in 7 days'],
      ['⚠️ Your Partner Center web app key expires in 3 days'], ['⚠️ Your Partner Center web app key expires in 1 day'],
      ['❌ Your Partner Center web app key has expired'],
    ]);
    assert.match((await noticeCards(partners[1]!))[0]!, /Update credentials/);

    assert.deepEqual(await h.app.watch.scan(), { partners: days.length, recorded: 0 });
    assert.equal(await h.app.dispatcher.drain(), 0);
    assert.deepEqual((await h.app.notices.counts()), { pending: 0, sent: 7, dead: 0 });

    // Time passes for the partner at 30 days: now 6 days are left.
    const p = partners[2]!;
    const partner = (await h.app.partners.get(p.tenant))!;
    await h.app.connections.saveCredentials(p.tenant, partner.connection!, {
      pcSecret: { ...partner.credentials.pcSecret!, expiresAt: noonInDays(6).toISOString() },
    }, p.person.aadObjectId, 'card2');
    // A new end date is a new key (as a rotation would be): noticed at the threshold it is in now.
    assert.equal((await h.app.watch.scan()).recorded, 1);
    assert.equal(await h.app.dispatcher.drain(), 1);
    // The 7-day notice, saying the days really left.
    assert.deepEqual((await noticeCards(p)).map((t) => t.split('\n')[0]), ['⚠️ Your Partner Center web app key expires in 30 days', '⚠️ Your Partner Center web app key expires in 6 days']);
  });

  it('a conversation the bot was removed from: the notice is dead, the conversation marked dead, nothing retried', async () => {
    const p = await partnerWithKeyEnding(3);
    connectorOf(h.sim).uninstall(p.conversationId);
    assert.equal((await h.app.watch.scan()).recorded, 1);
    assert.equal(await h.app.dispatcher.drain(), 0);
    assert.deepEqual(await h.app.notices.counts(p.tenant), { pending: 0, sent: 0, dead: 1 });
    const ref = await h.app.references.get(p.tenant, p.conversationId);
    assert.equal(ref?.installed, false);
    assert.equal(await h.app.dispatcher.drain(), 0);
  });

  it('GDAP: a relationship that will not extend itself (no auto-extend, or Global Administrator in it) is noticed; one that auto-extends, or has ended, is not', async () => {
    const tenant = h.sim.scenario.tenants.find((t) => t.id === PARTNER_TENANT_ID)!;
    const saved = tenant.gdapRelationships;
    const base = { customerTenantId: CUSTOMER_TENANT_ID, status: 'active' as const, roles: [...STANDARD_GDAP_ROLES], autoExtendDuration: 'P180D', accessAssignments: [] };
    tenant.gdapRelationships = [
      { ...base, id: 'rel-no-extend', displayName: 'No extend', endDateTime: { daysFromNow: 6 }, autoExtendDuration: 'PT0S' },
      { ...base, id: 'rel-global-admin', displayName: 'With GA', endDateTime: { daysFromNow: 29 }, roles: [GLOBAL_ADMIN_TEMPLATE_ID] },
      { ...base, id: 'rel-extends', displayName: 'Extends', endDateTime: { daysFromNow: 5 } },
      { ...base, id: 'rel-ended', displayName: 'Ended', endDateTime: { daysFromNow: -3 }, status: 'expired' as const, autoExtendDuration: 'PT0S' },
    ];
    try {
      const p = await h.partner();
      await h.signIn(p);
      assert.equal(await h.app.watch.scanPartner((await h.app.partners.get(p.tenant))!), 2);
      assert.equal(await h.app.dispatcher.drain(), 2);
      const titles = (await p.chat.client.transcript()).map((e) => cardText(e.activity.attachments?.[0]?.content as Record<string, unknown>).split('\n')[0]!)
        .filter((t) => /GDAP/.test(t)).sort();
      assert.equal(titles.length, 2, titles.join(' | '));
      assert.match(titles[0]!, /^⚠️ The GDAP relationship with .+ expires in 29 days$/);
      assert.match(titles[1]!, /^⚠️ The GDAP relationship with .+ expires in 6 days$/);
      assert.equal(await h.app.watch.scanPartner((await h.app.partners.get(p.tenant))!), 0, 'each once');
    } finally {
      tenant.gdapRelationships = saved;
    }
  });

  it('on demand: "expiry" lists what ends, soonest first, and sends a warning now due once (the daily scan then records nothing new)', async () => {
    const p = await partnerWithKeyEnding(20);
    const turn = await p.chat.say('expiry', 1);
    const text = turn.texts[0]!;
    assert.match(text, /^\*\*What ends\*\* \(read just now\):/);
    const lines = text.split('\n').filter((l) => l.startsWith('- '));
    assert.match(lines[0]!, /^- \*\*Partner Center web app key\*\*: ends \d{4}-\d{2}-\d{2} \(20 days\)$/);
    assert.ok(lines.some((l) => /Entra app client secret/.test(l)), lines.join(' | '));
    assert.match(text, /One warning is due now/);
    await p.chat.client.waitFor((entries) => entries.some((e) => /Partner Center web app key expires in 20 days/.test(e.activity.text ?? '')));
    assert.equal(await h.app.watch.scanPartner((await h.app.partners.get(p.tenant))!), 0, 'the daily scan does not repeat it');
    assert.match((await p.chat.say('expiry', 1)).texts[0]!, /No new warning is due/);
  });
});
