import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { secretName } from '../../src/credentials/credential-service';
import type { CustomerSync } from '../../src/store/customer-syncs';
import type { Db } from '../../src/store/db';
import type { ConsentHarness, TestPartner } from '../auth/consent-harness';
import { APP_ID, APP_SECRET_VALUE } from '../simulator/scenarios/ids';

/**
 * A partner of the harness' current scenario, onboarded up to the sync: signed in, admin consent,
 * the Partner Center web app in (so the customer list is read app-only), full checks passed.
 */
export async function onboardedPartner(h: ConsentHarness): Promise<TestPartner> {
  const p = await h.partner();
  await h.signIn(p);
  await h.app.connections.recordAdminConsent(p.tenant, 'test', 'token-roles');
  const partner = (await h.app.partners.get(p.tenant))!;
  const expiresAt = new Date(Date.now() + 400 * 86_400_000).toISOString().slice(0, 10);
  await h.app.secrets.set(secretName(p.tenant, 'pcSecret'), APP_SECRET_VALUE);
  await h.app.connections.saveCredentials(p.tenant, { ...partner.connection!, pcAppId: APP_ID }, {
    pcSecret: { storeName: secretName(p.tenant, 'pcSecret'), hint: APP_SECRET_VALUE.slice(0, 3), expiresAt, setBy: p.person.aadObjectId, setAt: new Date().toISOString() },
  }, p.person.aadObjectId, 'card');
  const run = await h.app.checks.full((await h.app.partners.get(p.tenant))!, 'test');
  assert.ok(run.verdict === 'passed' || run.verdict === 'passed-with-advisories', `checks: ${run.verdict}`);
  return p;
}

/** Waits until the sync is no longer running (reading the database the bot writes). */
export async function syncFinished(read: { get(id: string): Promise<CustomerSync | undefined> }, id: string, timeoutMs = 120_000): Promise<CustomerSync> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await read.get(id);
    if (s && s.status !== 'running') return s;
    if (Date.now() > deadline) throw new Error(`sync ${id} still running: ${JSON.stringify(s)}`);
    await delay(200);
  }
}

/** Rows and distinct customers of the partner: equal when nothing was stored twice. */
export async function customerRows(db: Db, tenantId: string): Promise<{ rows: number; distinct: number }> {
  const [row] = await db.query<{ n: string; d: string }>('SELECT count(*) AS n, count(DISTINCT customer_tenant_id) AS d FROM customers WHERE tenant_id = $1', [tenantId]);
  return { rows: Number(row!.n), distinct: Number(row!.d) };
}
