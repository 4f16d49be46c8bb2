import assert from 'node:assert/strict';
import { ActivityTypes, TestAdapter, type Activity } from 'botbuilder';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, type App } from '../../src/app';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/logger';
import type { ConversationReferenceRepository } from '../../src/store/conversation-references';
import { openDatabase } from '../../src/store/db';

const TENANT = 'b5f5a1d2-3c4e-4f60-8a9b-0c1d2e3f4a5b';
const BOT = { id: '28:bot', name: 'Partner Onboarding' };

type Kind = 'personal' | 'groupChat' | 'channel';

function activity(kind: Kind, conversationId: string, extra: Partial<Activity>): Partial<Activity> {
  return {
    channelId: 'msteams',
    serviceUrl: 'https://smba.example.test/emea/',
    from: { id: '29:user', name: 'Adele Vance', aadObjectId: 'aad-adele' },
    recipient: BOT,
    conversation: { id: conversationId, conversationType: kind, tenantId: TENANT, isGroup: kind !== 'personal', name: '' },
    channelData: { tenant: { id: TENANT }, ...(kind === 'channel' ? { team: { id: '19:team' }, channel: { id: conversationId } } : {}) },
    ...extra,
  };
}

describe('PartnerBot', () => {
  let app: App;
  let dataDir: string;
  let references: ConversationReferenceRepository;
  let adapter: TestAdapter;

  // The bot as the app builds it (createApp), driven in-process by botbuilder's TestAdapter.
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'partner-bot-'));
    const { logger, redactor } = createLogger({ level: 'silent' });
    app = await createApp(loadConfig({ DATA_DIR: dataDir, ALLOW_UNAUTHENTICATED: 'true' }), logger, redactor, { db: await openDatabase({ kind: 'pglite-memory' }) });
    references = app.references;
    adapter = new TestAdapter((context) => app.bot.run(context));
  });
  afterEach(async () => {
    await app.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  async function send(a: Partial<Activity>): Promise<Partial<Activity>[]> {
    const before = adapter.activeQueue.length;
    await adapter.processActivity(a);
    return adapter.activeQueue.splice(before);
  }

  it('welcomes once on install, although Teams sends both conversationUpdate and installationUpdate', async () => {
    const first = await send(activity('personal', 'a:1', { type: ActivityTypes.ConversationUpdate, membersAdded: [{ id: BOT.id, name: BOT.name }] }));
    const second = await send(activity('personal', 'a:1', { type: ActivityTypes.InstallationUpdate, action: 'add' }));
    assert.equal(first.length, 1);
    const card = first[0]!.attachments?.[0];
    assert.equal(card?.contentType, 'application/vnd.microsoft.card.adaptive');
    assert.match(JSON.stringify(card?.content), /Welcome, Adele!/);
    assert.deepEqual(second, []);
  });

  it('in a team channel and a group chat, on install: one short line, never the onboarding card', async () => {
    for (const [kind, id] of [['channel', '19:team-install@thread.tacv2'], ['groupChat', '19:group-install@thread.v2']] as const) {
      const replies = [
        ...(await send(activity(kind, id, { type: ActivityTypes.ConversationUpdate, membersAdded: [{ id: BOT.id, name: BOT.name }] }))),
        ...(await send(activity(kind, id, { type: ActivityTypes.InstallationUpdate, action: 'add' }))),
      ];
      assert.equal(replies.length, 1, `${kind}: one line`);
      assert.equal(replies[0]!.attachments, undefined, `${kind}: no card, no "Let's start" for everyone`);
      assert.match(replies[0]!.text ?? '', /private chat/);
      if (kind === 'channel') assert.match(replies[0]!.text ?? '', /@Partner Onboarding set support channel/);
      else assert.doesNotMatch(replies[0]!.text ?? '', /support channel/);
    }
  });

  it('does not welcome when somebody else joins', async () => {
    const replies = await send(activity('groupChat', 'g:1', { type: ActivityTypes.ConversationUpdate, membersAdded: [{ id: '29:someone-else', name: 'X' }] }));
    assert.deepEqual(replies, []);
  });

  it('welcomes again after an uninstall and reinstall', async () => {
    await send(activity('personal', 'a:2', { type: ActivityTypes.InstallationUpdate, action: 'add' }));
    await send(activity('personal', 'a:2', { type: ActivityTypes.InstallationUpdate, action: 'remove' }));
    const again = await send(activity('personal', 'a:2', { type: ActivityTypes.InstallationUpdate, action: 'add' }));
    assert.equal(again.length, 1);
  });

  const helpCases: Array<[string, Partial<Activity>]> = [
    ['"help"', { text: 'help' }],
    ['"  HELP  "', { text: '  HELP  ' }],
    ['"?"', { text: '?' }],
    ['the card button', { value: { verb: 'help' } }],
  ];
  for (const [name, extra] of helpCases) {
    it(`answers ${name} with the command list`, async () => {
      const [reply] = await send(activity('personal', 'a:3', { type: ActivityTypes.Message, ...extra }));
      const content = JSON.stringify(reply?.attachments?.[0]?.content);
      assert.match(content, /"title":"help","value":"Show what I can do"/);
    });
  }

  it('answers help in a channel when @mentioned', async () => {
    const [reply] = await send(activity('channel', '19:chan;messageid=1', {
      type: ActivityTypes.Message,
      text: '<at>Partner Onboarding</at> help',
      entities: [{ type: 'mention', mentioned: BOT, text: '<at>Partner Onboarding</at>' }],
    }));
    assert.match(JSON.stringify(reply?.attachments?.[0]?.content), /Show what I can do/);
  });

  it('points unknown text back to help', async () => {
    const [reply] = await send(activity('personal', 'a:4', { type: ActivityTypes.Message, text: 'what is this' }));
    assert.equal(reply?.text, 'I didn\'t catch that. Type **start** to begin onboarding, or **help** to see what I can do.');
  });

  it('treats a submit with an unknown verb as unknown input', async () => {
    const [reply] = await send(activity('personal', 'a:4', { type: ActivityTypes.Message, value: { verb: 'drop-tables' } }));
    assert.equal(reply?.text, "That button isn't one I know. Nothing was saved.");
  });

  it('remembers every conversation it is in: personal, group chat and channel', async () => {
    await send(activity('personal', 'a:p', { type: ActivityTypes.InstallationUpdate, action: 'add' }));
    await send(activity('groupChat', '19:g@thread.v2', { type: ActivityTypes.Message, text: 'help' }));
    await send(activity('channel', '19:c@thread.tacv2', { type: ActivityTypes.ConversationUpdate, membersAdded: [{ id: BOT.id, name: BOT.name }] }));
    const saved = await references.listForTenant(TENANT);
    assert.deepEqual(saved.map((s) => [s.conversationId, s.kind, s.installed]).sort(), [
      ['19:c@thread.tacv2', 'channel', true],
      ['19:g@thread.v2', 'groupChat', true],
      ['a:p', 'personal', true],
    ]);
    const personal = saved.find((s) => s.kind === 'personal')!;
    assert.equal(personal.reference.serviceUrl, 'https://smba.example.test/emea/');
    assert.equal(personal.reference.bot?.id, BOT.id);
    assert.equal(personal.reference.conversation?.id, 'a:p');
  });

  it('marks a conversation uninstalled on removal, and installed again on return', async () => {
    await send(activity('personal', 'a:u', { type: ActivityTypes.InstallationUpdate, action: 'add' }));
    await send(activity('personal', 'a:u', { type: ActivityTypes.InstallationUpdate, action: 'remove' }));
    assert.equal((await references.get(TENANT, 'a:u'))?.installed, false);
    await send(activity('personal', 'a:u', { type: ActivityTypes.Message, text: 'help' }));
    assert.equal((await references.get(TENANT, 'a:u'))?.installed, true);
  });

  it('records nothing for an activity without a tenant', async () => {
    await send({ ...activity('personal', 'a:nt', { type: ActivityTypes.Message, text: 'help' }), channelData: {}, conversation: { id: 'a:nt', isGroup: false, name: '', conversationType: 'personal' } });
    assert.deepEqual(await app.db.query('SELECT * FROM conversation_references'), []);
  });
});
