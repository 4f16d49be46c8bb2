import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { PartnerTokenError } from '../../src/auth/partner-tokens';
import { secretName } from '../../src/credentials/credential-service';
import { MicrosoftHttpClient } from '../../src/microsoft/http';
import { APP_ID, APP_SECRET_VALUE, PARTNER_TENANT_ID, SERVICE_ACCOUNT_ID } from '../simulator/scenarios/ids';
import { ConsentHarness, type TestPartner } from './consent-harness';

const RE_CONSENT = /^\*\*Re-consent needed\.\*\* I can no longer sign in to Partner Center as your service account/;

/** Token use after the sign-in: refresh, keep-alive, broken consent told once, app-only Partner Center. */
describe('partner tokens', function () {
  this.timeout(60_000);
  let h: ConsentHarness;

  before(async () => {
    h = await ConsentHarness.start('healthy');
  });
  after(() => h.stop());

  async function connected(): Promise<TestPartner> {
    const p = await h.partner();
    const done = await h.signIn(p);
    assert.equal(done.status, 200, done.text);
    return p;
  }

  const reConsentMessages = async (p: TestPartner): Promise<number> =>
    (await p.chat.client.transcript()).filter((e) => RE_CONSENT.test(e.activity.text ?? '')).length;

  it('is "not connected" until the service account has signed in', async () => {
    const p = await h.partner();
    assert.deepEqual(await h.app.tokens.userToken(p.tenant), { ok: false, reason: 'not_connected' });
    await assert.rejects(h.app.tokens.userTokenFunction(p.tenant)([], { forceRefresh: false }), (err: unknown) => err instanceof PartnerTokenError && err.reason === 'not_connected');
  });

  it('keep-alive: a consent unused for a week gets a real refresh; a fresh one is left alone', async () => {
    const due = await connected();
    const fresh = await connected();
    await h.app.db.query("UPDATE partners SET consent_used_at = now() - interval '8 days' WHERE tenant_id = $1", [due.tenant]);
    const before = (await h.app.partners.get(fresh.tenant))!.consent.usedAt!;
    const run = await h.app.keepAlive.run();
    assert.deepEqual(run, { refreshed: 1, failed: 0 });
    const usedAt = (await h.app.partners.get(due.tenant))!.consent.usedAt!;
    assert.ok(Date.now() - usedAt.getTime() < 60_000, 'the due consent was used just now');
    assert.equal((await h.app.partners.get(fresh.tenant))!.consent.usedAt!.getTime(), before.getTime());
  });

  it('90 days unused (AADSTS700082): consent broken, the owner told once, later calls fail without asking Entra', async () => {
    const p = await connected();
    h.sim.advanceClock(91 * 86_400_000);
    try {
      const first = await h.app.tokens.userToken(p.tenant, undefined, { forceRefresh: true });
      assert.equal(first.ok, false);
      assert.equal(!first.ok && first.reason, 'consent_broken');
      assert.equal(!first.ok && first.explanation?.code, 'AADSTS700082');
      const text = await p.chat.client.waitFor((entries) => entries.map((e) => e.activity.text ?? '').find((t) => RE_CONSENT.test(t)));
      assert.match(text, /The connection expired after 90 days unused/);
      const partner = (await h.app.partners.get(p.tenant))!;
      assert.ok(partner.consent.brokenAt);
      assert.equal(partner.consent.brokenReason, 'AADSTS700082');

      const second = await h.app.tokens.userToken(p.tenant);
      assert.equal(!second.ok && second.reason, 'consent_broken');
      assert.equal(!second.ok && second.explanation?.code, 'AADSTS700082');
      await delay(300);
      assert.equal(await reConsentMessages(p), 1, 'told once');
      // A broken consent is not the keep-alive's work.
      assert.ok(!(await h.app.connections.consentsUsedBefore(new Date(Date.now() + 86_400_000))).includes(p.tenant));
    } finally {
      h.sim.advanceClock(-91 * 86_400_000);
    }
  });

  it('sessions revoked (AADSTS50173): consent broken and the owner told; a new sign-in mends it', async () => {
    const p = await connected();
    const user = h.sim.scenario.tenants.find((t) => t.id === PARTNER_TENANT_ID)!.users.find((u) => u.id === SERVICE_ACCOUNT_ID)!;
    user.sessionsRevokedAt = new Date(h.sim.now() + 1000).toISOString();
    h.sim.advanceClock(2000);
    const result = await h.app.tokens.userToken(p.tenant, undefined, { forceRefresh: true });
    assert.equal(!result.ok && result.explanation?.code, 'AADSTS50173');
    await p.chat.client.waitFor((entries) => entries.some((e) => RE_CONSENT.test(e.activity.text ?? '') && /Access was revoked/.test(e.activity.text ?? '')));

    assert.equal((await h.signIn(p)).status, 200);
    const partner = (await h.app.partners.get(p.tenant))!;
    assert.equal(partner.consent.brokenAt, undefined);
    const mended = await h.app.tokens.userToken(p.tenant, undefined, { forceRefresh: true });
    assert.ok(mended.ok, JSON.stringify(mended));
  });

  it('app-only Partner Center token (web app id + its secret) for calls that need no user', async () => {
    const p = await h.partner();
    assert.deepEqual(await h.app.tokens.appOnlyPartnerCenterToken(p.tenant), { ok: false, reason: 'not_connected' });
    const partner = (await h.app.partners.get(p.tenant))!;
    await h.app.secrets.set(secretName(p.tenant, 'pcSecret'), APP_SECRET_VALUE);
    await h.app.connections.saveCredentials(p.tenant, { ...partner.connection!, pcAppId: APP_ID }, {}, p.person.aadObjectId, crypto.randomUUID());
    const pc = new MicrosoftHttpClient({ baseUrl: `${h.sim.baseUrl}/partnercenter`, tokenProvider: h.app.tokens.appOnlyTokenFunction(p.tenant), scopes: [], requestIds: 'partner-center' });
    const customers = await pc.request<{ items: unknown[] }>('GET', '/v1/customers', { query: { size: 5 } });
    assert.equal(customers.status, 200);
    assert.equal(customers.data.items.length, 5);

    await h.app.secrets.set(secretName(p.tenant, 'pcSecret'), 'Qd78Q~wrong.secret.value_0123456789abcdef');
    const refused = await h.app.tokens.appOnlyPartnerCenterToken(p.tenant);
    assert.equal(!refused.ok && refused.reason, 'secret_rejected');
  });
});
