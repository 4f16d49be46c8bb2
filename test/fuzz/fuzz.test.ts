import assert from 'node:assert/strict';
import fc from 'fast-check';
import { connectorServiceUrl } from '../harness/activities';
import { anyActivityBody, anyAuthQuery, anyExecute, anySubmit, anyVerifyForm, AUTH_ROUTES, FuzzRig, rejectedSubmit, type FormCard, type Problem } from './fuzz-rig';

/** Cases per property here (CI); `npm run bench -- --fuzz` runs 10,000. */
const RUNS = Number(process.env.FUZZ_RUNS ?? 100);

/** What the fuzzing found once, tried first on every run. */
const FOUND: Array<[Record<string, unknown>]> = [
  // The handover answer without a card id was ignored: the person pressed and heard nothing.
  [{ verb: 'owner.handover' }],
];

/** No crash, no 500, no generic apology; `silent` too unless allowed. */
const noProblems = (problems: Problem[], allow: Problem[] = []) => assert.deepEqual(problems.filter((p) => !allow.includes(p)), []);

describe('fuzz: whatever a client sends, the bot answers specifically, never crashes, and a refusal changes nothing', function () {
  this.timeout(600_000);
  let rig: FuzzRig;
  let forms: FormCard[];
  before(async () => {
    rig = await FuzzRig.start();
    forms = await rig.formCards();
  });
  after(() => rig?.stop());

  it('every form card: a submit with a field that is not text (others arbitrary, stray fields) is refused with a message and changes nothing', async () => {
    for (const form of forms) {
      await fc.assert(fc.asyncProperty(rejectedSubmit(form), async (value) => {
        const { problems } = await rig.submitCase(form, value, true);
        noProblems(problems);
      }), { numRuns: Math.ceil(RUNS / 2) });
    }
  });

  it('any submit on any form card (any verb, card id, section, fields): no crash, no 500, no generic apology', async () => {
    for (const form of forms) {
      await fc.assert(fc.asyncProperty(anySubmit(form.cardId), async (value) => {
        const { problems } = await rig.submitCase(form, value, false);
        noProblems(problems);
      }), { numRuns: Math.ceil(RUNS / 2), examples: FOUND });
    }
  });

  it('any adaptiveCard/action invoke (any verb, any data): answered, no crash, no 500', async () => {
    const form = forms[0]!;
    await fc.assert(fc.asyncProperty(anyExecute, async (action) => {
      noProblems((await rig.executeCase(form, action)).problems);
    }), { numRuns: RUNS });
  });

  it('any body on /api/messages: 2xx or 4xx, no crash, and a refused one changes nothing', async () => {
    const serviceUrl = connectorServiceUrl(rig.bot.sim.baseUrl);
    await fc.assert(fc.asyncProperty(anyActivityBody(serviceUrl, forms[0]!.tenant), async (body) => {
      noProblems((await rig.messagesCase(body)).problems);
    }), { numRuns: RUNS });
  });

  it('any query string on the sign-in routes: a page for a person, no 500, nothing changes', async () => {
    await fc.assert(fc.asyncProperty(fc.constantFrom(...AUTH_ROUTES), anyAuthQuery, async (route, query) => {
      noProblems((await rig.authCase(route, query)).problems);
    }), { numRuns: RUNS });
  });

  it('any token or form on /verify-email (GET and POST): a page for a person, no 500, nothing changes', async () => {
    await fc.assert(fc.asyncProperty(fc.constantFrom<'GET' | 'POST'>('GET', 'POST'), anyVerifyForm, async (method, payload) => {
      noProblems((await rig.verifyCase(method, payload)).problems);
    }), { numRuns: RUNS });
  });
});
