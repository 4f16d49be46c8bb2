import { randomUUID } from 'node:crypto';
import {
  ActivityTypes, TeamsActivityHandler, type ConversationReference, type ConversationState, type StatePropertyAccessor, type TurnContext,
} from 'botbuilder';
import { DialogSet, DialogTurnStatus, type DialogState } from 'botbuilder-dialogs';
import { z } from 'zod';
import {
  renderConfirmCard, renderHandoverCard, renderHelpCard, renderMemberRequestCard, renderOpenPersonalChatCard, renderWelcomeCard, type WelcomeCardData,
} from '../cards/render';
import { Verbs } from '../cards/verbs';
import { closeCard } from '../dialogs/cards';
import { ONBOARDING_DIALOG, OnboardingDialog, statusText } from '../dialogs/onboarding-dialog';
import { personOf, tenantOf, type OnboardingServices } from '../dialogs/services';
import { parseSubmission } from '../dialogs/submission';
import type { Logger } from '../logger';
import { Messages } from '../onboarding/messages';
import type { ConversationReferenceRepository } from '../store/conversation-references';
import { ownerOf, type Partner } from '../store/partners';
import type { SecretStore } from '../store/secrets/secret-store';
import { commandRoute, type Command, type Route } from './commands';
import type { Notifier } from './notifier';

export interface PartnerBotDeps {
  conversationState: ConversationState;
  references: ConversationReferenceRepository;
  secrets: SecretStore;
  onboarding: OnboardingServices;
  notifier: Notifier;
  logger: Logger;
}

/** What the owner's handover card sends back: the member picked. Checked against the members on the server. */
const HandoverChoice = z.object({ memberId: z.string().min(1).max(128) });

/** A colleague asking to join is passed on to the owner at most this often. */
const MEMBER_REQUEST_INTERVAL_MS = 3_600_000;

interface WelcomeState {
  sentAt?: string;
}

const WELCOME: Omit<WelcomeCardData, 'userName'> = {
  platformName: 'the partner management platform',
  minutes: 20,
  steps: [
    { number: 1, text: 'Your company and contact details' },
    { number: 2, text: 'A short checklist to prepare your tenant' },
    { number: 3, text: 'Credentials and a sign-in to grant consent' },
    { number: 4, text: 'I verify every permission and explain any fix' },
    { number: 5, text: 'Your customers are synced, with live progress' },
  ],
  prerequisites: [
    'Your Partner ID (MPN) and company address',
    'A service account that is Global Administrator and Admin Agent, with MFA enforced',
    'Rights to create an app registration in Microsoft Entra ID',
    'Admin access to Partner Center (to create the web app secret)',
  ],
};

/** Secret names of a partner all start with this, so deleting the partner can find every one. */
export function partnerSecretPrefix(tenantId: string): string {
  return `partner-${tenantId.toLowerCase().replace(/[^0-9a-z-]/g, '')}-`;
}

/**
 * Routes each turn: remembers the conversation, welcomes on install, runs commands (which
 * interrupt onboarding at any step), hands everything else to the onboarding dialog, and saves
 * conversation state at the end of the turn.
 */
export class PartnerBot extends TeamsActivityHandler {
  private readonly routes: Route[];
  private readonly commands: Command[];
  private readonly welcome: StatePropertyAccessor<WelcomeState>;
  private readonly dialogState: StatePropertyAccessor<DialogState>;
  private readonly dialogs: DialogSet;

  constructor(private readonly deps: PartnerBotDeps) {
    super();
    this.welcome = deps.conversationState.createProperty<WelcomeState>('welcome');
    this.dialogState = deps.conversationState.createProperty<DialogState>('dialogState');
    this.dialogs = new DialogSet(this.dialogState).add(new OnboardingDialog(deps.onboarding));
    this.commands = [
      {
        name: 'help', aliases: ['?', 'commands', 'menu'], verb: Verbs.help, description: 'Show what I can do',
        handle: async (context) => { await context.sendActivity({ attachments: [renderHelpCard({ commands: this.helpEntries() })] }); },
      },
      {
        name: 'start', aliases: ['begin', 'continue', 'resume'], verb: Verbs.start, description: 'Start onboarding, or pick up where you left off',
        handle: (context) => this.personalOnly(context, () => this.start(context)),
      },
      {
        name: 'status', aliases: ['progress', 'where am i'], description: 'Where you are and what is left',
        handle: (context) => this.personalOnly(context, () => this.status(context)),
      },
      {
        name: 'restart', aliases: ['cancel', 'start over'], description: 'Start over (asks first)',
        handle: (context) => this.personalOnly(context, () => this.askRestart(context)),
      },
      {
        name: 'hand over', aliases: ['handover', 'transfer ownership', 'change owner'], description: 'Hand onboarding over to a colleague (owner only)',
        handle: (context) => this.personalOnly(context, () => this.askHandover(context)),
      },
      {
        name: 'delete my data', aliases: ['delete data', 'forget me'], description: "Delete your organization's onboarding data (owner only, asks first)",
        handle: (context) => this.personalOnly(context, () => this.askDelete(context)),
      },
    ];
    this.routes = [
      ...this.commands.map(commandRoute),
      {
        select: (a) => { const s = parseSubmission(a); return !!s?.ok && (s.submission.verb === Verbs.confirmYes || s.submission.verb === Verbs.confirmNo); },
        handle: (context) => this.personalOnly(context, () => this.answerConfirmation(context)),
      },
      {
        select: (a) => { const s = parseSubmission(a); return !!s?.ok && (s.submission.verb === Verbs.memberAdd || s.submission.verb === Verbs.memberIgnore); },
        handle: (context) => this.personalOnly(context, () => this.answerMemberRequest(context)),
      },
      {
        select: (a) => { const s = parseSubmission(a); return !!s?.ok && (s.submission.verb === Verbs.handoverSubmit || s.submission.verb === Verbs.handoverCancel); },
        handle: (context) => this.personalOnly(context, () => this.answerHandover(context)),
      },
    ];

    this.onMembersAdded(async (context, next) => {
      const botId = context.activity.recipient?.id;
      if (context.activity.membersAdded?.some((m) => m.id === botId)) await this.sendWelcomeOnce(context);
      await next();
    });
    this.onInstallationUpdateAdd(async (context, next) => {
      await this.sendWelcomeOnce(context);
      await next();
    });
    this.onInstallationUpdateRemove(async (context, next) => {
      const tenantId = tenantOf(context);
      if (tenantId) await this.deps.references.markUninstalled(tenantId, context.activity.conversation.id);
      await this.welcome.delete(context);
      await next();
    });
    this.onMessage(async (context, next) => {
      const route = this.routes.find((r) => r.select(context.activity));
      if (route) await route.handle(context);
      else await this.continueOnboarding(context);
      await next();
    });
  }

  override async run(context: TurnContext): Promise<void> {
    await this.rememberConversation(context);
    await super.run(context);
    await this.deps.conversationState.saveChanges(context, false);
  }

  /** Commands as the help card lists them. */
  helpEntries(): Array<{ name: string; description: string }> {
    return this.commands.map((c) => ({ name: c.name, description: c.description }));
  }

  /** Onboarding handles company data and, later, credentials: never in a shared conversation. */
  private async personalOnly(context: TurnContext, handler: () => Promise<void>): Promise<void> {
    if (context.activity.conversation?.conversationType && context.activity.conversation.conversationType !== 'personal') {
      const botId = context.activity.recipient?.id ?? '';
      await context.sendActivity({
        text: Messages.personalOnly,
        attachments: [renderOpenPersonalChatCard({ chatUrl: `https://teams.microsoft.com/l/chat/0/0?users=${encodeURIComponent(botId)}` })],
      });
      return;
    }
    await handler();
  }

  /**
   * The partner of this turn's tenant, if the person may act on it. Says why not otherwise.
   * `create`: make the person the owner of a new partner when the tenant has none.
   */
  private async accessPartner(context: TurnContext, create: boolean): Promise<{ tenantId: string; partner?: Partner } | undefined> {
    const tenantId = tenantOf(context);
    if (!tenantId) {
      await context.sendActivity(Messages.noTenant);
      return undefined;
    }
    const person = personOf(context);
    let partner = await this.deps.onboarding.partners.get(tenantId);
    const member = partner?.members.some((m) => m.aadObjectId === person.aadObjectId);
    // Owners and members come only through these doors, so a guest is refused once, here.
    if ((!partner && create) || (partner && !member)) {
      if ((await this.deps.onboarding.teamsIdentity(context))?.userRole === 'guest') {
        await context.sendActivity(Messages.guestRefused);
        return undefined;
      }
    }
    if (!partner && create) {
      await this.deps.onboarding.partners.createIfMissing(tenantId, person, context.activity.conversation.id);
      partner = await this.deps.onboarding.partners.get(tenantId);
    }
    if (partner && !partner.members.some((m) => m.aadObjectId === person.aadObjectId)) {
      const owner = ownerOf(partner);
      await context.sendActivity(Messages.notMember(owner?.name ?? 'a colleague'));
      await this.askOwnerToAdd(context, tenantId, owner?.conversationId);
      return undefined;
    }
    return { tenantId, partner };
  }

  /** The partner, when this turn's person owns it; otherwise says who does (`refusal`) and gives undefined. */
  private async ownedPartner(context: TurnContext, refusal: (owner: string) => string): Promise<{ tenantId: string; partner: Partner } | undefined> {
    const access = await this.accessPartner(context, false);
    if (!access?.partner) {
      if (access) await context.sendActivity(Messages.staleCard);
      return undefined;
    }
    if (!(await this.requireOwner(context, access.partner, refusal))) return undefined;
    return { tenantId: access.tenantId, partner: access.partner };
  }

  private async requireOwner(context: TurnContext, partner: Partner, refusal: (owner: string) => string): Promise<boolean> {
    const owner = ownerOf(partner);
    if (owner?.aadObjectId === personOf(context).aadObjectId) return true;
    await context.sendActivity(refusal(owner?.name ?? 'the owner'));
    return false;
  }

  /** Passes a colleague's request to join on to the owner, in the owner's own chat. */
  private async askOwnerToAdd(context: TurnContext, tenantId: string, ownerConversationId: string | undefined): Promise<void> {
    if (!ownerConversationId) return;
    const person = personOf(context);
    const requestId = await this.deps.onboarding.partners.recordJoinRequest(tenantId, person, context.activity.conversation.id, MEMBER_REQUEST_INTERVAL_MS);
    if (!requestId) return;
    await this.deps.notifier.send(tenantId, ownerConversationId, {
      attachments: [renderMemberRequestCard({ cardId: randomUUID(), requestId, name: person.name.slice(0, 100) })],
    });
  }

  private async answerMemberRequest(context: TurnContext): Promise<void> {
    const parsed = parseSubmission(context.activity);
    if (!parsed?.ok) return;
    const { submission } = parsed;
    const owned = await this.ownedPartner(context, Messages.ownerOnlyAdd);
    if (!owned) return;
    const requestId = submission.fields.requestId;
    if (typeof requestId !== 'string' || !/^[0-9a-f-]{36}$/i.test(requestId)) {
      await context.sendActivity(Messages.notASubmission);
      return;
    }
    const add = submission.verb === Verbs.memberAdd;
    // Who asked, and where they chat, come from the stored request: the card carries only its id.
    const request = await this.deps.onboarding.partners.answerJoinRequest(owned.tenantId, requestId, personOf(context), add);
    if (!request) {
      await context.sendActivity(Messages.alreadySaved);
      return;
    }
    await closeCard(context, submission.replyToId, add ? `${request.name} added` : `${request.name} not added`);
    if (!add) {
      await context.sendActivity(Messages.memberRequestIgnored(request.name));
      return;
    }
    await context.sendActivity(Messages.memberAddedOwner(request.name));
    if (request.conversationId) await this.deps.notifier.send(owned.tenantId, request.conversationId, { text: Messages.memberAdded(personOf(context).name) });
  }

  private async askHandover(context: TurnContext): Promise<void> {
    const owned = await this.ownedPartner(context, Messages.ownerOnlyHandover);
    if (!owned) return;
    const members = owned.partner.members.filter((m) => m.role === 'member').map((m) => ({ id: m.aadObjectId, name: m.name }));
    if (members.length === 0) {
      await context.sendActivity(Messages.handoverNoMembers);
      return;
    }
    await context.sendActivity({ attachments: [renderHandoverCard({ cardId: randomUUID(), members })] });
  }

  private async answerHandover(context: TurnContext): Promise<void> {
    const parsed = parseSubmission(context.activity);
    if (!parsed?.ok) return;
    const { submission } = parsed;
    const owned = await this.ownedPartner(context, Messages.ownerOnlyHandover);
    if (!owned || !submission.cardId) return;
    const person = personOf(context);
    const choice = HandoverChoice.safeParse(submission.fields);
    const to = choice.success ? owned.partner.members.find((m) => m.role === 'member' && m.aadObjectId === choice.data.memberId) : undefined;
    if (submission.verb === Verbs.handoverSubmit && !to) {
      await context.sendActivity(Messages.staleCard);
      return;
    }
    if (!(await this.deps.onboarding.partners.answerCard(owned.tenantId, submission.cardId, 'owner-handover', person.aadObjectId))) {
      await context.sendActivity(Messages.alreadySaved);
      return;
    }
    if (!to) {
      await closeCard(context, submission.replyToId, 'Ownership kept');
      await context.sendActivity(Messages.handoverKept);
      return;
    }
    await this.deps.onboarding.partners.transferOwnership(owned.tenantId, to, person.aadObjectId, 'handover');
    await closeCard(context, submission.replyToId, `Handed over to ${to.name}`);
    await context.sendActivity(Messages.handoverDone(to.name));
    if (to.conversationId) await this.deps.notifier.send(owned.tenantId, to.conversationId, { text: Messages.handoverReceived(person.name) });
  }

  private async start(context: TurnContext): Promise<void> {
    if (!(await this.accessPartner(context, true))) return;
    const dc = await this.dialogs.createContext(context);
    if (dc.activeDialog) {
      await context.sendActivity(Messages.resumed);
      await dc.cancelAllDialogs();
    }
    await dc.beginDialog(ONBOARDING_DIALOG);
  }

  private async status(context: TurnContext): Promise<void> {
    const access = await this.accessPartner(context, false);
    if (!access) return;
    if (!access.partner) {
      await context.sendActivity(Messages.notStarted);
      return;
    }
    await context.sendActivity(statusText(access.partner));
  }

  private async continueOnboarding(context: TurnContext): Promise<void> {
    const personal = !context.activity.conversation?.conversationType || context.activity.conversation.conversationType === 'personal';
    const submission = parseSubmission(context.activity);
    if (!personal) {
      if (submission) await this.personalOnly(context, async () => undefined);
      else await context.sendActivity(Messages.unknownText);
      return;
    }
    const dc = await this.dialogs.createContext(context);
    if (!dc.activeDialog) {
      if (submission && !submission.ok) await context.sendActivity(submission.message);
      else await context.sendActivity(submission ? Messages.noActiveCard : Messages.unknownText);
      return;
    }
    if (!(await this.accessPartner(context, false))) return;
    const result = await dc.continueDialog();
    if (result.status === DialogTurnStatus.empty) await context.sendActivity(Messages.unknownText);
  }

  private async askRestart(context: TurnContext): Promise<void> {
    const access = await this.accessPartner(context, false);
    if (!access) return;
    if (!access.partner) {
      await this.start(context);
      return;
    }
    if (!(await this.requireOwner(context, access.partner, Messages.ownerOnlyRestart))) return;
    await context.sendActivity({ attachments: [renderConfirmCard({
      cardId: randomUUID(), action: 'restart', title: 'Start over?',
      text: 'This clears the company and contact details you entered. Your place as owner stays.',
      yesTitle: 'Yes, start over', noTitle: 'No, keep going',
    })] });
  }

  private async askDelete(context: TurnContext): Promise<void> {
    const access = await this.accessPartner(context, false);
    if (!access) return;
    if (!access.partner) {
      await context.sendActivity(Messages.nothingToDelete);
      return;
    }
    if (!(await this.requireOwner(context, access.partner, Messages.ownerOnly))) return;
    await context.sendActivity({ attachments: [renderConfirmCard({
      cardId: randomUUID(), action: 'delete', title: "Delete your organization's data?",
      text: 'This deletes the company and contact details, any credentials you gave me and where I can reach you. It cannot be undone. An audit record of the deletion is kept.',
      yesTitle: 'Yes, delete everything', noTitle: 'No, keep it',
    })] });
  }

  private async answerConfirmation(context: TurnContext): Promise<void> {
    const parsed = parseSubmission(context.activity);
    if (!parsed?.ok) return;
    const { submission } = parsed;
    if (!submission.cardId || (submission.action !== 'restart' && submission.action !== 'delete')) {
      await context.sendActivity(Messages.staleCard);
      return;
    }
    // Both are the owner's: checked again on the answer, whoever holds the card.
    const owned = await this.ownedPartner(context, submission.action === 'restart' ? Messages.ownerOnlyRestart : Messages.ownerOnly);
    if (!owned) return;
    const person = personOf(context);
    if (!(await this.deps.onboarding.partners.answerCard(owned.tenantId, submission.cardId, `confirm-${submission.action}`, person.aadObjectId))) {
      await context.sendActivity(Messages.alreadySaved);
      return;
    }
    const yes = submission.verb === Verbs.confirmYes;
    const summary = (title: string) => closeCard(context, submission.replyToId, title);
    if (submission.action === 'restart') {
      if (!yes) {
        await summary('Kept your details');
        await context.sendActivity(Messages.restartKept);
        return;
      }
      await this.deps.onboarding.partners.reset(owned.tenantId, person.aadObjectId);
      await summary('Started over');
      await context.sendActivity(Messages.restarted);
      const dc = await this.dialogs.createContext(context);
      await dc.cancelAllDialogs();
      await dc.beginDialog(ONBOARDING_DIALOG);
      return;
    }
    if (!yes) {
      await summary('Nothing deleted');
      await context.sendActivity(Messages.deleteKept);
      return;
    }
    for (const name of await this.deps.secrets.list(partnerSecretPrefix(owned.tenantId))) await this.deps.secrets.delete(name);
    await this.deps.onboarding.partners.delete(owned.tenantId, person.aadObjectId);
    await this.dialogState.delete(context);
    await summary('Data deleted');
    await context.sendActivity(Messages.deleted);
  }

  private async rememberConversation(context: TurnContext): Promise<void> {
    const { activity } = context;
    // The removal itself is recorded by its handler; every other activity proves we are there.
    if (activity.type === ActivityTypes.InstallationUpdate && activity.action?.startsWith('remove')) return;
    const tenantId = tenantOf(context);
    if (!tenantId) {
      this.deps.logger.debug({ channelId: activity.channelId }, 'activity without a tenant: conversation not recorded');
      return;
    }
    await this.deps.references.save(tenantId, conversationReferenceOf(context));
  }

  /**
   * Teams sends installationUpdate and conversationUpdate together on install, handled in
   * parallel: the database decides which one welcomes. Without a tenant (not Teams) there is no
   * row to claim, and the conversation state decides.
   */
  private async sendWelcomeOnce(context: TurnContext): Promise<void> {
    const tenantId = tenantOf(context);
    if (tenantId) {
      if (!(await this.deps.references.claimWelcome(tenantId, context.activity.conversation.id))) return;
    } else {
      if ((await this.welcome.get(context, {})).sentAt) return;
      await this.welcome.set(context, { sentAt: new Date().toISOString() });
    }
    const firstName = context.activity.from?.name?.split(' ')[0];
    await context.sendActivity({ attachments: [renderWelcomeCard({ ...WELCOME, userName: context.activity.conversation.conversationType === 'personal' ? firstName : undefined })] });
  }
}

function conversationReferenceOf(context: TurnContext): Partial<ConversationReference> {
  const { activity } = context;
  // Same shape as TurnContext.getConversationReference, without the per-message activityId,
  // so the stored row changes only when the conversation itself does.
  return {
    bot: activity.recipient,
    channelId: activity.channelId,
    conversation: activity.conversation,
    serviceUrl: activity.serviceUrl,
    locale: activity.locale,
  };
}
