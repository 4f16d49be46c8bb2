import assert from 'node:assert/strict';
import { BotUnderTest } from '../helpers/chat';
import { connectorServiceUrl, installationUpdateActivity, messageActivity, submitActivity, teamsConversation } from '../harness/activities';
import { mulberry32 } from '../simulator/server';

const FIELDS = ['type', 'id', 'channelId', 'serviceUrl', 'from', 'recipient', 'conversation', 'text', 'value', 'timestamp', 'localTimestamp',
  'channelData', 'attachments', 'entities', 'membersAdded', 'membersRemoved', 'replyToId', 'action', 'name', 'locale', 'textFormat'];
const NESTED = ['from.id', 'from.aadObjectId', 'recipient.id', 'conversation.id', 'conversation.tenantId', 'conversation.conversationType',
  'channelData.tenant', 'channelData.tenant.id', 'value.verb', 'value.cardId', 'value.fields'];

interface Body { text: string; contentType: string }

/**
 * 2,000 bad inputs for /api/messages: bodies that are not JSON objects, activities with a field
 * missing or of the wrong type or size, nested fields broken, odd content types, and activities
 * that are well formed but say strange things (unknown types, verbs, huge values).
 */
function badInputs(simBaseUrl: string, count: number): Body[] {
  // The same 2,000 inputs on every run, so a failure can be replayed.
  const rnd = mulberry32(20261130);
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const junk = (): unknown => pick<() => unknown>([
    () => null, () => 0, () => -1, () => 1e308, () => true, () => '', () => ' ', () => 'x'.repeat(5000), () => '\u0000\u202e\ud800',
    () => [], () => [null], () => ({}), () => ({ id: 42 }), () => 'not a url', () => 'http://', () => 'javascript:alert(1)',
    () => '2026-13-45T99:99:99Z', () => ({ __proto__: { polluted: true } }), () => ({ constructor: { prototype: { x: 1 } } }),
    () => Array.from({ length: 60 }, () => ({})), () => JSON.parse('{"a":'.repeat(50) + '1' + '}'.repeat(50)) as unknown,
  ])();
  const base = () => {
    const conv = teamsConversation({ serviceUrl: connectorServiceUrl(simBaseUrl), tenantId: '6d2b1f0a-58c4-4b7e-9a3c-1f2e3d4c5b6a', user: { name: 'Fuzz' } });
    return pick([
      () => messageActivity(conv, pick(['help', 'start', 'status', 'delete my data', 'restart', '123456'])),
      () => submitActivity(conv, { verb: pick(['company.submit', 'member.add', 'confirm.yes', 'owner.handover', 'nope']), cardId: pick(['x', '00000000-0000-0000-0000-000000000000']) }, { replyToId: '1' }),
      () => installationUpdateActivity(conv, 'add'),
    ])() as unknown as Record<string, unknown>;
  };
  const setPath = (obj: Record<string, unknown>, path: string, v: unknown): void => {
    const keys = path.split('.');
    let o: Record<string, unknown> = obj;
    for (const k of keys.slice(0, -1)) {
      if (!o[k] || typeof o[k] !== 'object') o[k] = {};
      o = o[k] as Record<string, unknown>;
    }
    o[keys[keys.length - 1]!] = v;
  };
  const out: Body[] = [];
  for (let i = 0; i < count; i++) {
    const kind = rnd();
    const json = 'application/json';
    if (kind < 0.08) {
      out.push({ text: pick(['', '{', '[]', 'null', '"x"', '1', '{"type":', '\u0000', '{"a":1}{"b":2}', 'true', '[{"type":"message"}]']), contentType: json });
    } else if (kind < 0.12) {
      out.push({ text: JSON.stringify(base()), contentType: pick(['text/plain', 'application/xml', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded', '', 'application/jsonx']) });
    } else if (kind < 0.4) {
      const a = base();
      delete a[pick(FIELDS)];
      if (rnd() < 0.5) delete a[pick(FIELDS)];
      out.push({ text: JSON.stringify(a), contentType: json });
    } else if (kind < 0.75) {
      const a = base();
      a[pick(FIELDS)] = junk();
      out.push({ text: JSON.stringify(a), contentType: json });
    } else {
      const a = base();
      setPath(a, pick(NESTED), junk());
      if (rnd() < 0.3) a.type = pick(['invoke', 'event', 'messageReaction', 'typing', 'endOfConversation', 'conversationUpdate', 'x'.repeat(64)]);
      out.push({ text: JSON.stringify(a), contentType: json });
    }
  }
  return out;
}

describe('fuzzing /api/messages', function () {
  this.timeout(300_000);
  let bot: BotUnderTest;
  before(async () => { bot = await BotUnderTest.start({ teamsLimits: false }); });
  after(() => bot.stop());

  it('2,000 malformed bodies and activities: no 500, no crash, and the bot still answers help', async () => {
    const inputs = badInputs(bot.sim.baseUrl, 2000);
    const statuses = new Map<number, number>();
    const fiveHundreds: string[] = [];
    // A few at a time, as a busy channel would send them.
    for (let i = 0; i < inputs.length; i += 8) {
      await Promise.all(inputs.slice(i, i + 8).map(async (input) => {
        const res = await fetch(`${bot.url}/api/messages`, { method: 'POST', headers: input.contentType ? { 'content-type': input.contentType } : {}, body: input.text });
        await res.arrayBuffer();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        // 501 is botbuilder's documented answer to an invoke the bot does not implement; any other 5xx is our fault.
        const unimplementedInvoke = res.status === 501 && input.text.startsWith('{"type":"invoke"');
        if (res.status >= 500 && !unimplementedInvoke) fiveHundreds.push(input.text.slice(0, 300));
      }));
    }
    const summary = [...statuses].sort(([a], [b]) => a - b).map(([s, n]) => `${s}×${n}`).join(', ');
    console.log(`      statuses for 2,000 bad inputs: ${summary}`);
    assert.deepEqual(fiveHundreds, [], `answered 500 to:\n${fiveHundreds.slice(0, 5).join('\n')}`);
    const help = await bot.chat({ tenantId: '6d2b1f0a-58c4-4b7e-9a3c-1f2e3d4c5b6a', user: { name: 'After Fuzz' } }).say('help', 1);
    assert.equal(help.status, 200);
    assert.match(JSON.stringify(help.activities[0]?.activity), /Show what I can do/);
    assert.equal((await fetch(`${bot.url}/readyz`)).status, 200);
  });
});
