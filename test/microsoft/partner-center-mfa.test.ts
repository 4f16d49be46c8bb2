import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { readOrganizationProfile } from '../../src/microsoft/partner-center-mfa';
import { Router } from '../simulator/http';
import type { Claims } from '../simulator/jwt';
import { APP_ID, PARTNER_TENANT_ID, SERVICE_ACCOUNT_ID, SERVICE_ACCOUNT_UPN } from '../simulator/scenarios/ids';
import { startSimulator, type ServiceFactory, type Simulator } from '../simulator/server';
import { partnerCenterService } from '../simulator/services/partner-center';

/** The simulator's Partner Center, with every request's headers kept for the test to read. */
function recordingPartnerCenter(seen: Array<{ path: string; headers: IncomingHttpHeaders }>): ServiceFactory {
  return (ctx) => {
    const inner = partnerCenterService(ctx);
    const router = new Router().get('/*rest', async (req) => {
      seen.push({ path: req.path, headers: req.headers });
      const route = inner.router.match(req.method, req.path);
      if (!route || route === 'method') throw new Error(`no Partner Center route for ${req.path}`);
      return route.handler({ ...req, params: route.params });
    });
    return { ...inner, router };
  };
}

/** What Entra issues the service account for Partner Center's `user_impersonation`. */
function userToken(sim: Simulator, claims: Claims = {}): string {
  const now = Math.floor(sim.now() / 1000);
  return sim.signer.sign({
    aud: 'https://api.partnercenter.microsoft.com', tid: PARTNER_TENANT_ID, oid: SERVICE_ACCOUNT_ID, upn: SERVICE_ACCOUNT_UPN,
    appid: APP_ID, amr: ['pwd', 'mfa'], scp: 'user_impersonation', idtyp: 'user', iat: now, nbf: now, exp: now + 3600, ...claims,
  });
}

describe('Partner Center with the sign-in’s token: the organization profile (simulator)', function () {
  this.timeout(30_000);
  const seen: Array<{ path: string; headers: IncomingHttpHeaders }> = [];
  let sim: Simulator;
  let baseUrl: string;
  before(async () => {
    sim = await startSimulator({ services: [recordingPartnerCenter(seen)], randomThrottling: false });
    baseUrl = `${sim.baseUrl}/partnercenter`;
  });
  after(() => sim.stop());
  beforeEach(async () => {
    seen.length = 0;
    await sim.loadScenario('healthy');
  });

  it('asks GET /v1/profiles/organization with the token alone: no ValidateMfa header, nothing read but the answer', async () => {
    assert.deepEqual(await readOrganizationProfile({ baseUrl, accessToken: userToken(sim) }), { ok: true });
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.path, '/v1/profiles/organization');
    assert.equal(seen[0]!.headers.validatemfa, undefined, 'ValidateMfa is in no Partner Center reference');
    assert.match(String(seen[0]!.headers.authorization), /^Bearer /);
  });

  it('a token without mfa in amr: 401 with code 900421', async () => {
    assert.deepEqual(await readOrganizationProfile({ baseUrl, accessToken: userToken(sim, { amr: ['pwd'] }) }), { ok: false, status: 401, code: 900421, unavailable: false });
  });

  it('a refusal (2032, access denied) is an answer, not an outage', async () => {
    await sim.loadScenario('not-enrolled');
    assert.deepEqual(await readOrganizationProfile({ baseUrl, accessToken: userToken(sim) }), { ok: false, status: 403, code: 2032, unavailable: false });
  });
});
