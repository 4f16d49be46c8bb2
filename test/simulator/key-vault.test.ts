import assert from 'node:assert/strict';
import { ConfidentialClientApplication } from '@azure/msal-node';
import { SecretClient } from '@azure/keyvault-secrets';
import { startSimulator, type Simulator } from './server';
import { decodeJwt } from './tokens';

type TokenCredential = ConstructorParameters<typeof SecretClient>[1];

// Ids from scenarios/entra-contract.json.
const PARTNER = 'e0000000-0000-4000-8000-000000000001';
const APP = { appId: 'e0000000-0000-4000-8000-0000000000b1', secret: 'Good~Secret.Value_0123456789abcdefghij' };

function statusOf(err: unknown): { statusCode?: unknown; code?: unknown } {
  return typeof err === 'object' && err !== null ? (err as { statusCode?: unknown; code?: unknown }) : {};
}

describe('Key Vault simulator with @azure/keyvault-secrets', () => {
  let sim: Simulator;
  let client: SecretClient;
  const tokenRequests: Array<{ scopes: string[]; tenantId?: string }> = [];

  /** The Azure SDK credential shape, backed by msal-node client credentials against the simulator. */
  function msalCredential(scopeOverride?: string): TokenCredential {
    const app = new ConfidentialClientApplication({
      auth: { clientId: APP.appId, clientSecret: APP.secret, authority: `${sim.baseUrl}/${PARTNER}`, knownAuthorities: [new URL(sim.baseUrl).host] },
    });
    return {
      async getToken(scopes, options) {
        const list = Array.isArray(scopes) ? scopes : [scopes];
        tokenRequests.push({ scopes: list, tenantId: options?.tenantId });
        const result = await app.acquireTokenByClientCredential({
          scopes: scopeOverride ? [scopeOverride] : list,
          ...(options?.tenantId ? { authority: `${sim.baseUrl}/${options.tenantId}` } : {}),
        });
        if (!result) throw new Error('no token');
        return { token: result.accessToken, expiresOnTimestamp: result.expiresOn?.getTime() ?? Date.now() + 3_600_000 };
      },
    };
  }

  before(async () => {
    sim = await startSimulator({ scenario: 'entra-contract' });
  });
  after(() => sim.stop());
  beforeEach(async () => {
    await sim.loadScenario('entra-contract');
    tokenRequests.length = 0;
    // The vault is the simulator's root: the SDK only parses ids of the form https://host/secrets/name/version.
    client = new SecretClient(sim.baseUrl, msalCredential(), { disableChallengeResourceVerification: true });
  });

  it('challenges a request without a token the way the SDK expects', async () => {
    const res = await fetch(`${sim.baseUrl}/secrets/anything?api-version=2025-07-01`);
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('www-authenticate'), `Bearer authorization="${sim.baseUrl}/${PARTNER}", resource="https://vault.azure.net"`);
    assert.deepEqual(await res.json(), { error: { code: 'Unauthorized', message: 'AKV10000: Request is missing a Bearer or PoP token.' } });
  });

  it('sets and gets secrets after answering the challenge with a vault token', async () => {
    const logStart = sim.requests.length;
    const created = await client.setSecret('partner-1-graph-secret', 'v1', { contentType: 'text/plain', tags: { partner: '1' } });
    assert.equal(created.name, 'partner-1-graph-secret');
    assert.equal(created.value, 'v1');
    assert.equal(created.properties.vaultUrl, sim.baseUrl);
    assert.match(created.properties.version ?? '', /^[0-9a-f]{32}$/);
    assert.equal(created.properties.id, `${sim.baseUrl}/secrets/partner-1-graph-secret/${created.properties.version}`);
    assert.equal(created.properties.enabled, true);
    assert.ok(created.properties.createdOn instanceof Date);
    assert.deepEqual(created.properties.tags, { partner: '1' });

    const puts = sim.requests.slice(logStart).filter((r) => r.path === '/secrets/partner-1-graph-secret');
    assert.deepEqual(puts.map((r) => r.status), [401, 200]);
    assert.deepEqual(tokenRequests[0], { scopes: ['https://vault.azure.net/.default'], tenantId: PARTNER });

    const second = await client.setSecret('partner-1-graph-secret', 'v2');
    assert.equal((await client.getSecret('partner-1-graph-secret')).value, 'v2');
    assert.equal((await client.getSecret('partner-1-graph-secret', { version: created.properties.version })).value, 'v1');
    assert.notEqual(second.properties.version, created.properties.version);
    const versions: string[] = [];
    for await (const v of client.listPropertiesOfSecretVersions('partner-1-graph-secret')) versions.push(v.version ?? '');
    assert.deepEqual(versions.sort(), [created.properties.version, second.properties.version].sort());
  });

  it('lists secret properties across pages, without values', async () => {
    const names = Array.from({ length: 30 }, (_, i) => `partner-${String(i).padStart(2, '0')}-pc-secret`);
    for (const name of names) await client.setSecret(name, `value-${name}`);
    const logStart = sim.requests.length;
    const listed: string[] = [];
    for await (const props of client.listPropertiesOfSecrets()) {
      listed.push(props.name);
      assert.equal(props.id, `${sim.baseUrl}/secrets/${props.name}`);
    }
    assert.deepEqual(listed, names);
    assert.equal(sim.requests.slice(logStart).filter((r) => r.path === '/secrets' && r.status === 200).length, 2);

    const raw = await fetch(`${sim.baseUrl}/secrets?api-version=2025-07-01&maxresults=5`, { headers: { authorization: `Bearer ${(await msalCredential().getToken('https://vault.azure.net/.default'))?.token ?? ''}` } });
    const page = (await raw.json()) as { value: Array<Record<string, unknown>>; nextLink: string | null };
    assert.equal(page.value.length, 5);
    assert.ok(page.value.every((item) => !('value' in item)));
    assert.ok(page.nextLink?.startsWith(`${sim.baseUrl}/secrets?`));
  });

  it('soft-deletes with a poller, blocks the name until purged, then purges', async () => {
    await client.setSecret('partner-2-secret', 'to-delete');
    const poller = await client.beginDeleteSecret('partner-2-secret');
    const deleted = await poller.pollUntilDone();
    assert.equal(deleted.name, 'partner-2-secret');
    assert.equal(deleted.properties.recoveryId, `${sim.baseUrl}/deletedsecrets/partner-2-secret`);
    assert.ok(deleted.properties.deletedOn instanceof Date);
    assert.ok(deleted.properties.scheduledPurgeDate instanceof Date);

    await assert.rejects(client.getSecret('partner-2-secret'), (err: unknown) => statusOf(err).statusCode === 404);
    await assert.rejects(client.setSecret('partner-2-secret', 'again'), (err: unknown) => statusOf(err).statusCode === 409 && statusOf(err).code === 'Conflict');
    assert.equal((await client.getDeletedSecret('partner-2-secret')).name, 'partner-2-secret');

    await client.purgeDeletedSecret('partner-2-secret');
    await assert.rejects(client.getDeletedSecret('partner-2-secret'), (err: unknown) => statusOf(err).statusCode === 404);
    assert.equal((await client.setSecret('partner-2-secret', 'again')).value, 'again');
  });

  it('recovers a deleted secret', async () => {
    await client.setSecret('partner-3-secret', 'keep');
    await (await client.beginDeleteSecret('partner-3-secret')).pollUntilDone();
    await (await client.beginRecoverDeletedSecret('partner-3-secret')).pollUntilDone();
    assert.equal((await client.getSecret('partner-3-secret')).value, 'keep');
  });

  it('answers a missing secret with 404 SecretNotFound', async () => {
    await assert.rejects(client.getSecret('no-such-secret'), (err: unknown) => {
      const e = statusOf(err);
      assert.equal(e.statusCode, 404);
      assert.equal(e.code, 'SecretNotFound');
      assert.match(String((err as Error).message), /no-such-secret was not found in this key vault/);
      return true;
    });
  });

  it('refuses a token for another audience', async () => {
    const graphOnly = new SecretClient(sim.baseUrl, msalCredential('https://graph.microsoft.com/.default'), { disableChallengeResourceVerification: true });
    await assert.rejects(graphOnly.getSecret('anything'), (err: unknown) => {
      assert.equal(statusOf(err).statusCode, 401);
      assert.match(String((err as Error).message), /AKV10022/);
      return true;
    });
  });

  it('needs disableChallengeResourceVerification: the SDK checks the challenge resource against the vault host', async () => {
    const strict = new SecretClient(sim.baseUrl, msalCredential());
    await assert.rejects(strict.getSecret('anything'), /does not match the requested domain/);
  });

  it('issues vault tokens with the Key Vault audience', async () => {
    const token = await msalCredential().getToken('https://vault.azure.net/.default');
    assert.equal(decodeJwt(token?.token ?? '').aud, 'https://vault.azure.net');
  });

  it('forgets every secret when a scenario is loaded', async () => {
    await client.setSecret('partner-4-secret', 'x');
    await sim.loadScenario('entra-contract');
    await assert.rejects(client.getSecret('partner-4-secret'), (err: unknown) => statusOf(err).statusCode === 404);
  });
});
