import assert from 'node:assert/strict';
import { TurnContext, type Activity } from 'botbuilder';
import {
  botAddedActivity,
  conversationDefinitions,
  executeInvoke,
  installationUpdateActivity,
  messageActivity,
  submitActivity,
  teamsConversation,
  teamsUser,
} from './activities';

const TENANT = '11111111-1111-1111-1111-111111111111';
const SERVICE_URL = 'https://127.0.0.1:4443/connector/';
const USER = { aadObjectId: 'eddfa9d4-346e-4cce-a18f-fa6261ad776b', name: 'Adele Vance', userPrincipalName: 'adele@contosopartner.onmicrosoft.com' };
const BOT = { appId: '608cacfd-1cea-40c9-b678-4b93e69bb72b', name: 'Onboarding' };

describe('Teams activity builders', () => {
  const personal = teamsConversation({ serviceUrl: SERVICE_URL, tenantId: TENANT, user: USER, bot: BOT });
  const group = teamsConversation({ serviceUrl: SERVICE_URL, tenantId: TENANT, user: USER, bot: BOT, scope: 'groupChat' });
  const channel = teamsConversation({ serviceUrl: SERVICE_URL, tenantId: TENANT, user: USER, bot: BOT, scope: 'channel', team: { name: 'Support' }, channel: { id: '19:6d97d816470f481dbcda38244b98689a@thread.tacv2', name: 'Escalations' } });

  it('builds a 1:1 message the way Teams sends it', () => {
    const a = messageActivity(personal, 'help');
    assert.equal(a.type, 'message');
    assert.equal(a.channelId, 'msteams');
    assert.equal(a.serviceUrl, SERVICE_URL);
    assert.match(a.id, /^\d{13,}$/);
    assert.ok(!Number.isNaN(Date.parse(a.timestamp)));
    assert.match(a.from.id, /^29:/);
    assert.equal(a.from.aadObjectId, USER.aadObjectId);
    assert.deepEqual(a.recipient, { id: `28:${BOT.appId}`, name: BOT.name });
    assert.deepEqual(a.conversation, { conversationType: 'personal', tenantId: TENANT, id: personal.conversationId });
    assert.match(a.conversation.id, /^a:1/);
    assert.deepEqual(a.channelData, { tenant: { id: TENANT } });
    assert.equal(a.text, 'help');
    assert.equal(a.locale, 'en-US');
    assert.equal(a.entities?.length, 1, 'clientInfo only: no mention in a 1:1 chat');
  });

  it('@mentions the bot in group chats and channels, and botbuilder can strip the mention', () => {
    const g = messageActivity(group, 'status');
    assert.equal(g.text, `<at>${BOT.name}</at> status`);
    assert.deepEqual(g.conversation, { isGroup: true, conversationType: 'groupChat', tenantId: TENANT, id: group.conversationId });
    assert.match(g.conversation.id, /^19:[0-9a-f]{32}@thread\.v2$/);
    assert.equal(TurnContext.removeRecipientMention(g as unknown as Partial<Activity>)?.trim(), 'status');

    const c = messageActivity(channel, 'status');
    assert.match(c.conversation.id, /^19:6d97d816470f481dbcda38244b98689a@thread\.tacv2;messageid=\d+$/);
    assert.deepEqual(c.channelData, {
      teamsChannelId: channel.channel?.id, teamsTeamId: channel.team?.id,
      channel: { id: channel.channel?.id }, team: { id: channel.team?.id }, tenant: { id: TENANT },
    });
  });

  it('builds install events: installationUpdate add, conversationUpdate with the bot in membersAdded', () => {
    const inst = installationUpdateActivity(personal);
    assert.equal(inst.type, 'installationUpdate');
    assert.equal(inst.action, 'add');
    assert.match(inst.id, /^f:/);

    const added = botAddedActivity(personal);
    assert.equal(added.type, 'conversationUpdate');
    assert.deepEqual(added.membersAdded, [{ id: `28:${BOT.appId}` }, { id: personal.user.id, aadObjectId: USER.aadObjectId }]);

    const team = botAddedActivity(channel);
    assert.equal(team.conversation.id, channel.channel?.id, 'on the channel, not a thread');
    assert.deepEqual(team.membersAdded, [{ id: `28:${BOT.appId}` }]);
    assert.equal(team.channelData.eventType, 'teamMemberAdded');
    assert.deepEqual(team.channelData.settings, { selectedChannel: { id: channel.channel?.id } });
    assert.deepEqual(team.channelData.team, { aadGroupId: channel.team?.aadGroupId, name: 'Support', id: channel.team?.id });
  });

  it('builds card actions: Action.Submit as a message with value, Action.Execute as an adaptiveCard/action invoke', () => {
    const s = submitActivity(personal, { verb: 'save', company: 'Contoso' }, { replyToId: '1700000000000' });
    assert.equal(s.type, 'message');
    assert.equal(s.text, undefined);
    assert.deepEqual(s.value, { verb: 'save', company: 'Contoso' });
    assert.equal(s.replyToId, '1700000000000');

    const e = executeInvoke(channel, { verb: 'claim', data: { caseId: 'c1' } }, { replyToId: '1700000000001' });
    assert.equal(e.type, 'invoke');
    assert.equal(e.name, 'adaptiveCard/action');
    assert.deepEqual(e.value, { action: { type: 'Action.Execute', verb: 'claim', data: { caseId: 'c1' } }, trigger: 'manual' });
    assert.equal(e.replyToId, '1700000000001');
  });

  it('derives stable Teams ids, and tells the simulator the channel roster under the channel and the thread', () => {
    assert.equal(teamsUser(USER).id, teamsUser(USER).id);
    assert.notEqual(teamsUser(USER).id, teamsUser({ ...USER, aadObjectId: '00000000-0000-0000-0000-000000000001' }).id);
    assert.equal(teamsConversation({ serviceUrl: SERVICE_URL, tenantId: TENANT, user: USER, bot: BOT }).conversationId, personal.conversationId);
    const defs = conversationDefinitions(channel);
    assert.deepEqual(defs.map((d) => d.id), [channel.channel?.id, channel.conversationId]);
    assert.ok(defs.every((d) => d.teamId === channel.team?.id && d.members?.[0]?.userPrincipalName === USER.userPrincipalName));
  });
});
