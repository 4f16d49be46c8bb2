import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { msalCacheSecretName } from '../../src/auth/partner-msal';
import { TakeOverMessages } from '../../src/auth/take-over-messages';
import { toChatText } from '../../src/microsoft/sign-in-errors';
import { Messages } from '../../src/onboarding/messages';
import { secretName } from '../../src/credentials/credential-service';
import { listAudit } from '../../src/store/audit-log';
import { completeEntraPage, ConsentHarness, pageText, PUBLIC_BASE_URL, textsOf, type BrowserAnswer } from '../auth/consent-harness';
import { BotClient } from '../harness/bot-client';
import { cardText, Chat } from '../helpers/chat';
import { TenantSchema } from '../simulator/scenario';
import {
  APP_ID, APP_SECRET_VALUE, HELPDESK_USER_ID, HELPDESK_USER_UPN, PARTNER_TENANT_ID, SERVICE_ACCOUNT_ID, SERVICE_ACCOUNT_PASSWORD, SERVICE_ACCOUNT_UPN,
  SIM_SETUP_APP_ID, SIM_SETUP_APP_SECRET,
} from '../simulator/scenarios/ids';

const PASSWORD = 'Tenant-Passw0rd!';

interface Person { aadObjectId: string; name: string; upn: string; password: string }

/**
 * `take over`: the first person to type `start` owns the partner, but an administrator of the tenant
 * can take it over by proving an active Global Administrator or Privileged Role Administrator role
 * through a sign-in (the operator's setup app, as SETUP_APP_ID configures it). Driven over HTTP
 * against the simulator: Teams (connector), Entra ID's sign-in page and Graph.
 */
describe('take over', function () {
  this.timeout(120_000);
  let h: ConsentHarness;
  before(async () => {
    h = await ConsentHarness.start('healthy', { env: { SETUP_APP_ID: SIM_SETUP_APP_ID, SETUP_APP_SECRET: SIM_SETUP_APP_SECRET } });
  });
  after(() => h.stop());

  function chat(tenantId: string, p: Person): Chat {
    return new Chat(new BotClient({
      endpoint: `${h.url}/api/messages`, simulatorUrl: h.sim.baseUrl, conversation: { tenantId, user: { aadObjectId: p.aadObjectId, name: p.name } }, quietMs: 120,
    }));
  }

  /** Another partner tenant in the live scenario: an intern, a colleague, its Global Administrator, a PIM-eligible one. */
  function tenant(): { id: string; intern: Person; colleague: Person; admin: Person; eligible: Person } {
    const id = randomUUID();
    const domain = `t${id.slice(0, 8)}.onmicrosoft.com`;
    const person = (name: string, local: string): Person => ({ aadObjectId: randomUUID(), name, upn: `${local}@${domain}`, password: PASSWORD });
    const intern = person('Ivan Intern', 'intern');
    const colleague = person('Nora Colleague', 'nora');
    const admin = person('Alex Admin', 'alex');
    const eligible = person('Erin Eligible', 'erin');
    const user = (p: Person, extra: Record<string, unknown> = {}) => ({ id: p.aadObjectId, userPrincipalName: p.upn, displayName: p.name, password: p.password, ...extra });
    h.sim.scenario.tenants.push(TenantSchema.parse({
      id, displayName: 'Fabrikam Partner', domains: [domain],
      users: [user(intern), user(colleague), user(admin, { roles: ['Global Administrator'] }), user(eligible, { eligibleRoles: ['Global Administrator'] })],
    }));
    return { id, intern, colleague, admin, eligible };
  }

  /** The link on the take-over card, through Entra's page as `as`, to our callback: the answers of both. */
  async function signIn(cardUrl: string, as: Person, via: { harness: ConsentHarness; clientId: string } = { harness: h, clientId: SIM_SETUP_APP_ID }): Promise<{ callback: string; done: BrowserAnswer }> {
    const start = await via.harness.open(cardUrl);
    assert.equal(start.status, 302, pageText(start.text));
    const authorize = new URL(start.location!);
    assert.equal(authorize.searchParams.get('client_id'), via.clientId);
    assert.equal(authorize.searchParams.get('prompt'), 'login');
    assert.equal(authorize.searchParams.get('code_challenge_method'), 'S256');
    assert.equal(authorize.searchParams.get('redirect_uri'), `${PUBLIC_BASE_URL}/auth/callback`);
    const entra = await completeEntraPage(start.location!, { upn: as.upn, password: as.password, mfa: true });
    assert.equal(entra.status, 302, pageText(entra.text).slice(0, 400));
    return { callback: entra.location!, done: await via.harness.open(entra.location!) };
  }

  async function takeOverCard(c: Chat): Promise<string> {
    const turn = await c.say('take over', 1);
    assert.deepEqual(turn.texts, []);
    const { card } = c.lastCard();
    assert.match(cardText(card), /Take over onboarding/);
    const action = (card.actions as Array<{ type: string; url?: string }>)[0]!;
    assert.equal(action.type, 'Action.OpenUrl');
    assert.match(action.url!, /^http:\/\/localhost:3978\/auth\/takeover\/start\?s=[A-Za-z0-9_.-]+$/);
    return action.url!;
  }

  const ownerOf = async (tenantId: string) => (await h.app.partners.get(tenantId))?.members.find((m) => m.role === 'owner')?.aadObjectId;

  it('the Global Administrator meets "started by the intern", takes over by signing in as themselves, and may then delete the data', async () => {
    // The healthy scenario's own tenant: its helpdesk agent (no role, the "intern") and its Global
    // Administrator, with the names Teams shows for them (their Entra display names).
    const intern: Person = { aadObjectId: HELPDESK_USER_ID, name: 'Helpdesk Agent', upn: HELPDESK_USER_UPN, password: SERVICE_ACCOUNT_PASSWORD };
    const admin: Person = { aadObjectId: SERVICE_ACCOUNT_ID, name: 'Partner Onboarding Service', upn: SERVICE_ACCOUNT_UPN, password: SERVICE_ACCOUNT_PASSWORD };
    const internChat = chat(PARTNER_TENANT_ID, intern);
    await internChat.say('start', 1);
    const adminChat = chat(PARTNER_TENANT_ID, admin);

    const started = await adminChat.say('start', 1);
    assert.deepEqual(started.texts, [Messages.notMember('Helpdesk Agent')]);
    assert.match(started.texts[0]!, /Global Administrator.*type \*\*take over\*\*/);
    assert.deepEqual((await adminChat.say('delete my data', 1)).texts, [Messages.notMember('Helpdesk Agent')]);

    const url = await takeOverCard(adminChat);
    assert.equal(await ownerOf(PARTNER_TENANT_ID), HELPDESK_USER_ID, 'nothing changes before the sign-in');
    const { callback, done } = await signIn(url, admin);
    assert.equal(done.status, 200, pageText(done.text));
    assert.match(pageText(done.text), /you own onboarding now/);

    assert.equal(await ownerOf(PARTNER_TENANT_ID), SERVICE_ACCOUNT_ID);
    const members = (await h.app.partners.get(PARTNER_TENANT_ID))!.members.map((m) => `${m.name}:${m.role}`).sort();
    assert.deepEqual(members, ['Helpdesk Agent:member', 'Partner Onboarding Service:owner']);
    await adminChat.client.waitFor((e) => textsOf(e).includes(TakeOverMessages.tookOver('Helpdesk Agent', 'Global Administrator')));
    await internChat.client.waitFor((e) => textsOf(e).includes(TakeOverMessages.lostOwnership('Partner Onboarding Service')));
    // The sign-in's tokens were used once for the role read: no token cache was written for the tenant.
    assert.equal(await h.app.secrets.get(msalCacheSecretName(PARTNER_TENANT_ID)), undefined);
    const audit = await listAudit(h.app.db, PARTNER_TENANT_ID);
    assert.ok(audit.some((a) => a.action === 'partner.owner_changed' && a.detail.to === SERVICE_ACCOUNT_ID && a.detail.from === HELPDESK_USER_ID));

    // A replayed callback (a reload, or someone who saw the URL) is refused and changes nothing.
    const before = { admin: (await adminChat.client.transcript()).length, intern: (await internChat.client.transcript()).length };
    const replay = await h.open(callback);
    assert.equal(replay.status, 410, pageText(replay.text));
    assert.match(pageText(replay.text), /already used/);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual({ admin: (await adminChat.client.transcript()).length, intern: (await internChat.client.transcript()).length }, before);
    assert.equal(await ownerOf(PARTNER_TENANT_ID), SERVICE_ACCOUNT_ID);

    // Owner now: the data can be deleted by them, and no longer by the intern.
    assert.deepEqual((await internChat.say('delete my data', 1)).texts, [Messages.ownerOnly('Partner Onboarding Service')]);
    await adminChat.say('delete my data', 1);
    assert.match(cardText(adminChat.lastCard().card), /Delete your organization's data\?/);
    assert.deepEqual((await adminChat.say('take over', 1)).texts, [TakeOverMessages.alreadyOwner]);
  });

  it('a Privileged Role Administrator may take over too', async () => {
    const t = tenant();
    h.sim.scenario.tenants.find((x) => x.id === t.id)!.users.find((u) => u.id === t.colleague.aadObjectId)!.roles = ['Privileged Role Administrator'];
    const internChat = chat(t.id, t.intern);
    await internChat.say('start', 1);
    const c = chat(t.id, t.colleague);
    const { done } = await signIn(await takeOverCard(c), t.colleague);
    assert.equal(done.status, 200, pageText(done.text));
    assert.equal(await ownerOf(t.id), t.colleague.aadObjectId);
    await c.client.waitFor((e) => textsOf(e).includes(TakeOverMessages.tookOver('Ivan Intern', 'Privileged Role Administrator')));
    await internChat.client.waitFor((e) => textsOf(e).includes(TakeOverMessages.lostOwnership('Nora Colleague')));
  });

  it('refuses a member without an active administrator role (a PIM-eligible one included): nothing changes', async () => {
    const t = tenant();
    await chat(t.id, t.intern).say('start', 1);
    for (const who of [t.colleague, t.eligible]) {
      const c = chat(t.id, who);
      const url = await takeOverCard(c);
      const { done } = await signIn(url, who);
      assert.equal(done.status, 403, pageText(done.text));
      assert.match(pageText(done.text), /isn’t an administrator here/);
      await c.client.waitFor((e) => textsOf(e).includes(toChatText(TakeOverMessages.notAdmin)));
      assert.match(toChatText(TakeOverMessages.notAdmin), /Global Administrator or Privileged Role Administrator/);
      assert.equal(await ownerOf(t.id), t.intern.aadObjectId, `${who.name} did not take over`);
    }
  });

  it('refuses a sign-in as another account than the Teams user\'s, even the Global Administrator\'s: nothing changes', async () => {
    const t = tenant();
    const internChat = chat(t.id, t.intern);
    await internChat.say('start', 1);
    const c = chat(t.id, t.colleague);
    const url = await takeOverCard(c);
    const { done } = await signIn(url, t.admin);
    assert.equal(done.status, 403, pageText(done.text));
    assert.match(pageText(done.text), /different account/);
    await c.client.waitFor((e) => textsOf(e).includes(toChatText(TakeOverMessages.notSamePerson)));
    assert.equal(await ownerOf(t.id), t.intern.aadObjectId);
    assert.ok(!textsOf(await internChat.client.transcript()).some((x) => x.includes('took over onboarding')));
  });

  it('without a setup app: the partner\'s own app once its credentials are in; before that, says plainly it can\'t verify administrators yet', async () => {
    const plain = await ConsentHarness.start('healthy', { sim: h.sim });
    try {
      const t = tenant();
      const owner = new Chat(new BotClient({ endpoint: `${plain.url}/api/messages`, simulatorUrl: h.sim.baseUrl, conversation: { tenantId: t.id, user: { aadObjectId: t.intern.aadObjectId, name: t.intern.name } }, quietMs: 120 }));
      await owner.say('start', 1);
      const admin = new Chat(new BotClient({ endpoint: `${plain.url}/api/messages`, simulatorUrl: h.sim.baseUrl, conversation: { tenantId: t.id, user: { aadObjectId: t.admin.aadObjectId, name: t.admin.name } }, quietMs: 120 }));
      assert.deepEqual((await admin.say('take over', 1)).texts, [TakeOverMessages.cantVerifyYet('Ivan Intern')]);
      assert.equal((await plain.app.partners.get(t.id))?.members.find((m) => m.role === 'owner')?.aadObjectId, t.intern.aadObjectId);

      // The healthy partner with its credentials in: its own app (registered with /auth/callback) verifies.
      const intern = { aadObjectId: HELPDESK_USER_ID, name: 'Helpdesk Agent' };
      const internChat = new Chat(new BotClient({ endpoint: `${plain.url}/api/messages`, simulatorUrl: h.sim.baseUrl, conversation: { tenantId: PARTNER_TENANT_ID, user: intern }, quietMs: 120 }));
      await internChat.say('start', 1);
      await plain.app.secrets.set(secretName(PARTNER_TENANT_ID, 'appSecret'), APP_SECRET_VALUE);
      await plain.app.connections.saveCredentials(PARTNER_TENANT_ID, { partnerTenantId: PARTNER_TENANT_ID, serviceAccountUpn: SERVICE_ACCOUNT_UPN, appId: APP_ID }, {
        appSecret: { storeName: secretName(PARTNER_TENANT_ID, 'appSecret'), hint: APP_SECRET_VALUE.slice(0, 3), setBy: intern.aadObjectId, setAt: new Date().toISOString() },
      }, intern.aadObjectId, randomUUID());
      const gaPerson: Person = { aadObjectId: SERVICE_ACCOUNT_ID, name: 'Partner Onboarding Service', upn: SERVICE_ACCOUNT_UPN, password: SERVICE_ACCOUNT_PASSWORD };
      const ga = new Chat(new BotClient({ endpoint: `${plain.url}/api/messages`, simulatorUrl: h.sim.baseUrl, conversation: { tenantId: PARTNER_TENANT_ID, user: gaPerson }, quietMs: 120 }));
      const { done } = await signIn(await takeOverCard(ga), gaPerson, { harness: plain, clientId: APP_ID });
      assert.equal(done.status, 200, pageText(done.text));
      assert.equal((await plain.app.partners.get(PARTNER_TENANT_ID))?.members.find((m) => m.role === 'owner')?.aadObjectId, SERVICE_ACCOUNT_ID);
    } finally {
      await plain.stop();
    }
  });
});
