import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { ConsentFlow } from '../../src/auth/consent-flow';
import type { ChatMessage } from '../../src/auth/consent-messages';
import { msalCacheSecretName, PartnerTokenCacheStore } from '../../src/auth/partner-msal';
import { explainSignInError, toChatText, type SignInErrorInput } from '../../src/microsoft/sign-in-errors';
import { createLogger } from '../../src/logger';
import type { ProfileAnswer } from '../../src/microsoft/partner-center-mfa';
import { consentPage } from '../../src/server/auth-pages';
import { sharedSecret } from '../../src/store/secrets/shared-secret';
import {
  APP_ID, CUSTOMER_ADMIN_UPN, CUSTOMER_TENANT_ID, HELPDESK_USER_UPN, PARTNER_TENANT_ID, SERVICE_ACCOUNT_PASSWORD, SERVICE_ACCOUNT_UPN,
} from '../simulator/scenarios/ids';
import { completeEntraPage, ConsentHarness, pageText, type BrowserAnswer, type TestPartner } from './consent-harness';

const TRACE = '0000aaaa-11bb-cccc-dd33-eeeeee333333';
const description = (code: number) => `AADSTS${code}: Something Microsoft says with ids.\r\nTrace ID: ${TRACE}\r\nCorrelation ID: ${randomUUID()}\r\nTimestamp: 2026-11-30 04:20:00Z`;

/** Waits for the bot's next message in the partner's chat after `before` messages, and returns its text. */
async function nextChatText(p: TestPartner, before: number): Promise<string> {
  return p.chat.client.waitFor((entries) => entries.slice(before).find((e) => e.activity.text)?.activity.text);
}

const count = async (p: TestPartner): Promise<number> => (await p.chat.client.transcript()).length;

/** The page says the explanation's title and fix, and nothing Microsoft wrote. */
function assertPage(answer: BrowserAnswer, status: number, title: string): void {
  const text = pageText(answer.text);
  assert.equal(answer.status, status, text.slice(0, 300));
  assert.ok(text.includes(title), `page title "${title}" in: ${text.slice(0, 300)}`);
  assert.match(text, /What to do:/);
  assert.doesNotMatch(text, /Trace ID|Correlation ID|Something Microsoft says|eyJ/);
}

describe('consent flow: every failure gives a chat message and a page', function () {
  this.timeout(120_000);
  let h: ConsentHarness;
  let p: TestPartner;

  before(async () => {
    h = await ConsentHarness.start('healthy');
    p = await h.partner();
  });
  after(() => h.stop());

  describe('Entra ID refuses on the redirect (checked before the state)', () => {
    const rows: Array<{ name: string; query: Record<string, string>; status: number }> = [
      ...[
        [50076, 'interaction_required'], [50078, 'interaction_required'], [70043, 'invalid_grant'], [700082, 'invalid_grant'], [50173, 'invalid_grant'],
        [700003, 'invalid_grant'], [65001, 'consent_required'], [650052, 'invalid_client'], [500011, 'invalid_resource'], [650053, 'invalid_scope'],
        [650057, 'invalid_client'], [50020, 'access_denied'], [53003, 'access_denied'], [7000215, 'invalid_client'], [7000222, 'invalid_client'],
        [530032, 'access_denied'], [65004, 'access_denied'], [90094, 'access_denied'],
      ].map(([code, error]) => ({ name: `AADSTS${code}`, query: { error: String(error), error_description: description(Number(code)) }, status: 403 })),
      { name: 'consent declined (access_denied, no code)', query: { error: 'access_denied', error_subcode: 'cancel' }, status: 403 },
      { name: 'Entra briefly unavailable', query: { error: 'temporarily_unavailable' }, status: 503 },
    ];
    for (const row of rows) {
      it(`${row.name}: page ${row.status} and the same advice in the chat`, async () => {
        const link = await h.app.consent.signIn(p.tenant, p.person, p.conversationId);
        const s = new URL(link).searchParams.get('s')!;
        const before = await count(p);
        const answer = await h.open(`/auth/callback?${new URLSearchParams({ ...row.query, state: s })}`);
        const input: SignInErrorInput = { source: 'entra', error: row.query.error, error_description: row.query.error_description };
        const expected = explainSignInError(input);
        assertPage(answer, row.status, expected.title);
        assert.equal(await nextChatText(p, before), toChatText(expected));
        // The state is spent: the link on the card can't be replayed after a refusal.
        assert.equal((await h.open(link)).status, 410);
      });
    }

    it('admin consent: an error redirect that also says admin_consent=True is a refusal, not a grant', async () => {
      const link = await h.app.consent.adminConsent(p.tenant, p.person, p.conversationId);
      const s = new URL(link).searchParams.get('s')!;
      const before = await count(p);
      const answer = await h.open(`/auth/adminconsent/callback?${new URLSearchParams({ admin_consent: 'True', error: 'consent_required', error_description: description(65004), state: s })}`);
      assertPage(answer, 403, 'Consent was declined');
      assert.match(await nextChatText(p, before), /^\*\*Consent was declined\*\*/);
      assert.equal((await h.app.partners.get(p.tenant))!.consent.adminConsentAt, undefined);
    });
  });

  describe('admin consent is recorded only once the app’s own token shows the grants', () => {
    afterEach(() => h.loadScenario('healthy'));

    const forged = async (q: TestPartner): Promise<BrowserAnswer> => {
      const s = new URL(await h.app.consent.adminConsent(q.tenant, q.person, q.conversationId)).searchParams.get('s')!;
      // What anyone can type: no visit to Entra, no tenant parameter.
      return h.open(`/auth/adminconsent/callback?admin_consent=True&state=${s}`);
    };

    for (const row of [{ name: 'no Graph permission granted', granted: [] }, { name: 'one of the four granted', granted: ['Directory.ReadWrite.All'] }]) {
      it(`a callback Entra never sent (${row.name}): nothing recorded, the page and the chat say the consent isn’t there`, async () => {
        h.partnerApp().grantedAppRoles = [...row.granted];
        const q = await h.partner();
        const before = await count(q);
        const answer = await forged(q);
        assertPage(answer, 403, 'Admin consent isn’t in place yet');
        assert.match(pageText(answer.text), /Grant consent/);
        assert.match(await nextChatText(q, before), /^\*\*Admin consent isn’t in place yet\*\*/);
        assert.equal((await h.app.partners.get(q.tenant))!.consent.adminConsentAt, undefined, 'no admin consent recorded');
      });
    }

    it('granted through Entra: the grants are confirmed and recorded, with or without Entra’s tenant parameter', async () => {
      h.partnerApp().grantedAppRoles = [];
      const q = await h.partner();
      const start = await h.open(await h.app.consent.adminConsent(q.tenant, q.person, q.conversationId));
      const entra = await completeEntraPage(start.location!, { upn: SERVICE_ACCOUNT_UPN, password: SERVICE_ACCOUNT_PASSWORD, mfa: true });
      const back = new URL(entra.location!);
      assert.equal(back.searchParams.get('tenant'), PARTNER_TENANT_ID);
      back.searchParams.delete('tenant');
      const answer = await h.open(back.toString());
      assert.equal(answer.status, 200, pageText(answer.text));
      assert.match(pageText(answer.text), /Admin consent is granted/);
      assert.ok((await h.app.partners.get(q.tenant))!.consent.adminConsentAt);
    });

    it('grants already in place (given in the portal): a callback without Entra’s visit is confirmed by them, and recorded', async () => {
      const q = await h.partner();
      const answer = await forged(q);
      assert.equal(answer.status, 200, pageText(answer.text));
      assert.ok((await h.app.partners.get(q.tenant))!.consent.adminConsentAt);
    });
  });

  describe('the sign-in’s state', () => {
    it('tampered or unknown: 400, nothing told (the chat is unknown)', async () => {
      const link = await h.app.consent.signIn(p.tenant, p.person, p.conversationId);
      const s = new URL(link).searchParams.get('s')!;
      const tampered = `${s.slice(0, 5)}${s[5] === 'A' ? 'B' : 'A'}${s.slice(6)}`;
      const before = await count(p);
      for (const bad of [tampered, `${s}x`, '', 'not-a-state']) {
        assertPage(await h.open(`/auth/start?s=${encodeURIComponent(bad)}`), 400, 'I don’t recognise that sign-in');
        assertPage(await h.open(`/auth/callback?code=abc&state=${encodeURIComponent(bad)}`), 400, 'I don’t recognise that sign-in');
      }
      // A sign-in state is not an admin consent state.
      assertPage(await h.open(`/auth/adminconsent/start?s=${s}`), 400, 'I don’t recognise that sign-in');
      assert.equal(await count(p), before);
      assert.equal((await h.open(link)).status, 302, 'the real link still works');
    });

    it('expired: 410 and the chat is told', async () => {
      const link = await h.app.consent.signIn(p.tenant, p.person, p.conversationId);
      await h.app.db.query("UPDATE auth_states SET expires_at = now() - interval '1 second' WHERE tenant_id = $1 AND used_at IS NULL", [p.tenant]);
      const before = await count(p);
      assertPage(await h.open(link), 410, 'That sign-in link has expired');
      assert.match(await nextChatText(p, before), /^\*\*That sign-in link has expired\*\*/);
    });

    it('another user’s: a link made for the owner before a handover is refused (403), and its chat is told', async () => {
      const q = await h.partner();
      const link = await h.app.consent.signIn(q.tenant, q.person, q.conversationId);
      await h.app.partners.transferOwnership(q.tenant, { aadObjectId: randomUUID(), name: 'Adele Vance' }, q.person.aadObjectId, 'handover');
      const before = await count(q);
      assertPage(await h.open(link), 403, 'That sign-in link belongs to someone else');
      assert.match(await nextChatText(q, before), /^\*\*That sign-in link belongs to someone else\*\*/);
    });

    it('another partner’s: a link made before the app, tenant or service account changed is refused (403)', async () => {
      const q = await h.partner();
      const link = await h.app.consent.signIn(q.tenant, q.person, q.conversationId);
      const partner = (await h.app.partners.get(q.tenant))!;
      await h.app.connections.saveCredentials(q.tenant, { ...partner.connection!, appId: randomUUID() }, {}, q.person.aadObjectId, randomUUID());
      const before = await count(q);
      assertPage(await h.open(link), 403, 'That sign-in link is for other details');
      assert.match(await nextChatText(q, before), /^\*\*That sign-in link is for other details\*\*/);
    });
  });

  describe('what signed in is not acceptable (through the simulator)', () => {
    it('bad secret: the code is refused at redemption (AADSTS7000215): 502', async () => {
      const q = await h.partner({ appSecret: 'Qd78Q~this.is.not.the.secret_0123456789ab' });
      const before = await count(q);
      const answer = await h.signIn(q);
      assertPage(answer, 502, 'The client secret was rejected');
      assert.match(await nextChatText(q, before), /^\*\*The client secret was rejected\*\*/);
      assert.equal((await h.app.partners.get(q.tenant))!.consent.at, undefined);
    });

    it('wrong account: another user of the partner tenant signs in: 403, naming both accounts', async () => {
      // Consent for the organization already given, so the helpdesk user meets no admin-approval page.
      h.partnerApp().grantedScopes.push('RoleManagement.Read.Directory', 'Policy.Read.All', 'UserAuthenticationMethod.Read.All', 'AuditLog.Read.All', 'DelegatedAdminRelationship.Read.All');
      const q = await h.partner();
      const before = await count(q);
      const answer = await h.signIn(q, { upn: HELPDESK_USER_UPN });
      assertPage(answer, 403, 'A different account signed in');
      const text = await nextChatText(q, before);
      assert.ok(text.includes(`You signed in as \`${HELPDESK_USER_UPN}\`, but I need the service account \`${SERVICE_ACCOUNT_UPN}\`.`), text);
      assert.equal(await h.app.secrets.get(msalCacheSecretName(q.tenant)), undefined, 'nothing is stored');
    });

    it('no MFA (no-mfa scenario: amr without mfa): 403', async () => {
      await h.loadScenario('no-mfa');
      const q = await h.partner();
      const before = await count(q);
      const answer = await h.signIn(q, { mfa: false });
      assertPage(answer, 403, 'Signed in without MFA');
      assert.match(await nextChatText(q, before), /^\*\*Signed in without MFA\*\*/);
    });

    it('third-party MFA (Duo-style, no mfa in amr): 403', async () => {
      await h.loadScenario('third-party-mfa');
      const q = await h.partner();
      const before = await count(q);
      assertPage(await h.signIn(q), 403, 'Signed in without MFA');
      assert.match(await nextChatText(q, before), /^\*\*Signed in without MFA\*\*/);
    });

    it('a customer tenant named as the partner tenant: Partner Center answers 2032, a plain "access denied": 403, the roles named, not "wrong tenant"', async () => {
      await h.loadScenario('wrong-tenant');
      const q = await h.partner({ connection: { partnerTenantId: CUSTOMER_TENANT_ID, serviceAccountUpn: CUSTOMER_ADMIN_UPN } });
      const before = await count(q);
      const answer = await h.signIn(q, { upn: CUSTOMER_ADMIN_UPN, password: passwordOf(h, CUSTOMER_ADMIN_UPN) });
      assertPage(answer, 403, 'Partner Center refused access');
      const text = await nextChatText(q, before);
      assert.match(text, /^\*\*Partner Center refused access\*\*/);
      assert.match(text, /\*\*Admin Agent\*\*/);
      assert.doesNotMatch(text, /wrong tenant|2032/i);
      assert.equal((await h.app.partners.get(q.tenant))!.consent.at, undefined, 'no consent recorded');
      await h.loadScenario('healthy');
    });
  });

  describe('Partner Center’s verdict (a probe standing in for Partner Center)', () => {
    const probes: Array<{ name: string; probe: ProfileAnswer; status: number; title: string }> = [
      { name: 'PC 900421 (no MFA claim)', probe: { ok: false, status: 401, code: 900421, unavailable: false }, status: 403, title: 'Partner Center needs MFA' },
      { name: 'PC 2032 (access denied)', probe: { ok: false, status: 403, code: 2032, unavailable: false }, status: 403, title: 'Partner Center refused access' },
      { name: 'a 403 without a code', probe: { ok: false, status: 403, unavailable: false }, status: 403, title: 'Partner Center refused access' },
      { name: 'PC 900150 (no Partner Center role)', probe: { ok: false, status: 403, code: 900150, unavailable: false }, status: 403, title: 'The service account has no Partner Center role' },
      { name: 'Partner Center busy', probe: { ok: false, status: 503, unavailable: true }, status: 503, title: 'Partner Center refused the request (HTTP 503)' },
    ];
    for (const row of probes) {
      it(`${row.name}: page ${row.status} and chat`, async () => {
        const told: ChatMessage[] = [];
        const flow = new ConsentFlow({
          authorityHost: h.sim.baseUrl, publicBaseUrl: 'http://localhost:3978', partnerCenterBaseUrl: `${h.sim.baseUrl}/partnercenter`, graphBaseUrl: `${h.sim.baseUrl}/graph`,
          partners: h.app.partners, connections: h.app.connections, credentials: h.app.credentials, tokenCache: new PartnerTokenCacheStore(h.app.secrets),
          tellChat: async (_t, _c, m) => { told.push(m); return true; },
          logger: createLogger({ level: 'silent' }).logger,
          key: await sharedSecret(h.app.db, h.app.secrets, 'auth-state-key'),
          readProfile: async () => row.probe,
        });
        const q = await h.partner();
        const start = await flow.start(new URL(await flow.signIn(q.tenant, q.person, q.conversationId)).searchParams.get('s')!);
        assert.equal(start.kind, 'redirect');
        const entra = await completeEntraPage((start as { location: string }).location, { upn: SERVICE_ACCOUNT_UPN, password: SERVICE_ACCOUNT_PASSWORD, mfa: true });
        const outcome = await flow.callback(new URL(entra.location!).searchParams);
        assertPage({ ...consentPage(outcome), text: consentPage(outcome).html }, row.status, row.title);
        assert.equal(told.length, 1);
        assert.ok(told[0]!.text.startsWith(`**${row.title}**`), told[0]!.text);
        assert.equal((await h.app.partners.get(q.tenant))!.consent.at, undefined, 'no consent recorded');
      });
    }
  });

  it('signs in to the partner tenant only: the connection’s app and tenant are the ones on the authorize URL', async () => {
    const start = await h.open(await h.app.consent.signIn(p.tenant, p.person, p.conversationId));
    const url = new URL(start.location!);
    assert.ok(url.pathname.startsWith(`/${PARTNER_TENANT_ID}/`));
    assert.equal(url.searchParams.get('client_id'), APP_ID);
  });
});

function passwordOf(h: ConsentHarness, upn: string): string {
  for (const t of h.sim.scenario.tenants) for (const u of t.users) if (u.userPrincipalName === upn) return u.password;
  throw new Error(`no user ${upn}`);
}
