import assert from 'node:assert/strict';
import { createSecretStore } from '../../../src/app';
import { loadConfig } from '../../../src/config';
import { isAppError } from '../../../src/errors';
import { Redactor } from '../../../src/logger';
import type { Db } from '../../../src/store/db';
import type { SecretStore } from '../../../src/store/secrets/secret-store';
import { startSimulator, type Simulator } from '../../simulator/server';
import { databasesUnderTest } from '../../helpers/databases';

// Ids from test/simulator/scenarios/entra-contract.json: an app registered in the partner tenant.
const TENANT = 'e0000000-0000-4000-8000-000000000001';
const APP = { appId: 'e0000000-0000-4000-8000-0000000000b1', secret: 'Good~Secret.Value_0123456789abcdefghij' };
const VALUE = 'pc-app-secret~9f8e7d6c5b4a3210';

describe('KeyVaultSecretStore against the simulated Key Vault', () => {
  let sim: Simulator;
  let store: SecretStore;
  let redactor: Redactor;
  const [target] = databasesUnderTest();
  let db: Db;

  before(async () => {
    sim = await startSimulator({ scenario: 'entra-contract' });
    db = await target!.open();
  });
  after(async () => {
    await sim.stop();
    await target!.cleanup();
  });
  beforeEach(async () => {
    await sim.loadScenario('entra-contract');
    redactor = new Redactor();
    // Built exactly as the bot builds it: config → app credential (msal-node) → Key Vault client.
    const config = loadConfig({
      BOT_ID: APP.appId, BOT_PASSWORD: APP.secret, BOT_TENANT_ID: TENANT, BOT_TYPE: 'SingleTenant',
      AUTHORITY_HOST: sim.baseUrl, KEY_VAULT_URL: sim.baseUrl, KEY_VAULT_DISABLE_CHALLENGE_RESOURCE_VERIFICATION: 'true',
    });
    store = createSecretStore(config, db, redactor);
    assert.equal(store.kind, 'keyvault');
  });

  it('sets, gets, overwrites, lists by prefix and deletes', async () => {
    await store.set('partner-t1-pc-secret', VALUE);
    await store.set('partner-t1-app-secret', 'other');
    await store.set('partner-t2-app-secret', 'third');
    assert.equal(await store.get('partner-t1-pc-secret'), VALUE);
    await store.set('partner-t1-pc-secret', 'rotated');
    assert.equal(await store.get('partner-t1-pc-secret'), 'rotated');
    assert.deepEqual(await store.list('partner-t1-'), ['partner-t1-app-secret', 'partner-t1-pc-secret']);
    await store.delete('partner-t1-pc-secret');
    assert.equal(await store.get('partner-t1-pc-secret'), undefined);
    assert.deepEqual(await store.list('partner-t1-'), ['partner-t1-app-secret']);
  });

  it('can set a name again right after deleting it (the soft-deleted secret is purged)', async () => {
    await store.set('reused', 'first');
    await store.delete('reused');
    await store.set('reused', 'second');
    assert.equal(await store.get('reused'), 'second');
  });

  it('reads a missing secret as undefined and deletes a missing one quietly', async () => {
    assert.equal(await store.get('never-set'), undefined);
    await store.delete('never-set');
  });

  it('rejects names Key Vault would reject before calling it', async () => {
    const before = sim.requests.length;
    await assert.rejects(store.set('under_score', 'v'), (err: unknown) => isAppError(err, 'secret_name_invalid'));
    assert.equal(sim.requests.length, before);
  });

  it('registers values with the redactor', async () => {
    await store.set('r', VALUE);
    assert.equal(redactor.text(VALUE), '[redacted]');
  });

  it('reports an unreachable or refusing vault as secret_store_unavailable, without the secret', async () => {
    const config = loadConfig({
      BOT_ID: APP.appId, BOT_PASSWORD: 'wrong-secret-value', BOT_TENANT_ID: TENANT, BOT_TYPE: 'SingleTenant',
      AUTHORITY_HOST: sim.baseUrl, KEY_VAULT_URL: sim.baseUrl, KEY_VAULT_DISABLE_CHALLENGE_RESOURCE_VERIFICATION: 'true',
    });
    const bad = createSecretStore(config, db, new Redactor());
    await assert.rejects(bad.set('x', VALUE), (err: unknown) => isAppError(err, 'secret_store_unavailable') && !err.message.includes(VALUE));
  });
});
