import { ActivityTypes, TeamsActivityHandler, type AdaptiveCardInvokeResponse, type AdaptiveCardInvokeValue, type ConversationState, type MessagingExtensionQuery, type MessagingExtensionResponse, type TurnContext } from 'botbuilder';
import type { TakeOverLinks } from '../auth/take-over';
import type { OnboardingServices } from '../dialogs/onboarding-services';
import { ownerOf } from '../domain/partner';
import type { StepId } from '../domain/steps';
import type { Logger } from '../logger';
import { Messages } from '../onboarding/messages';
import type { CooldownRepository } from '../store/cooldowns';
import type { ConversationReferenceRepository } from '../store/conversation-references';
import type { TurnReads } from '../store/turn-reads';
import type { SecretStore } from '../store/secrets/secret-store';
import type { SupportDesk } from '../support/support-desk';
import { conversationReferenceOf, teamIdOf } from '../teams/activity';
import { settleCardUpdates } from '../teams/card-activity';
import type { Notifier } from '../teams/notifier';
import { resolveTurn, turnOf, type Turn } from '../teams/turn';
import { deleteAction, deleteCommand } from './commands/delete-data';
import { handoverAnswerRoute, handoverCommand } from './commands/handover';
import { helpCommand } from './commands/help';
import { restartAction, restartCommand } from './commands/restart';
import { startCommand } from './commands/start';
import { statusCommand } from './commands/status';
import { takeOverCommand } from './commands/take-over';
import { cancelSyncCommand, syncCommand } from './commands/sync';
import { customerInvoke, customerRoute, customerSearch, customersCommand, isCustomerVerb, sharedCardRoute, type CustomerLookup } from './commands/customer';
import { confirmationRoute } from './confirmations';
import { Membership } from './membership';
import { personalOnly, personalOnlyRoute, sayPersonalOnly } from './personal-only';
import { OnboardingRunner } from './onboarding-runner';
import { expiryCommand, type ExpiryLook } from './commands/expiry';
import { repairForMeCommand, rotateForMeCommand } from './commands/for-me';
import { recheckCommand, recheckLaterCommand } from './commands/recheck';
import { setSupportChannelCommand, supportCommand, supportInvoke } from './commands/support';
import { updateCredentialsCommand } from './commands/update-credentials';
import { commandRoute, type Command, type Route } from './routes';
import { Welcome } from './welcome';

export interface PartnerBotDeps {
  conversationState: ConversationState;
  /** The turn's first statement: partner, conversation reference version, conversation state (on conversationState's storage). */
  turnReads: TurnReads;
  references: ConversationReferenceRepository;
  secrets: SecretStore;
  onboarding: OnboardingServices;
  notifier: Notifier;
  /** The support channel and the partners' cases there. */
  support: SupportDesk;
  /** The expiry scan on demand (`expiry`). */
  expiry: ExpiryLook;
  /** How often a partner may ask for what costs Microsoft requests (`recheck`, `expiry`). */
  cooldowns: Pick<CooldownRepository, 'take'>;
  logger: Logger;
  /** "Re-check in 15 minutes": how long. */
  recheckDelayMs?: number;
  /** `take over`: an administrator's sign-in links. */
  takeOver: TakeOverLinks;
  /** `customer <name>`, `customers`: the synced customers and one customer's GDAP read again. */
  customers: CustomerLookup;
}

/**
 * Routes each turn: resolves it once (tenant, person, partner, submission), remembers the
 * conversation, welcomes on install, runs commands and card verbs (which interrupt onboarding at
 * any step), hands everything else to the onboarding dialog, and saves state at the end.
 */
export class PartnerBot extends TeamsActivityHandler {
  private readonly commands: Command[];
  private readonly routes: Route[];
  private readonly onboarding: OnboardingRunner;
  private readonly welcome: Welcome;
  private readonly membership: Membership;

  constructor(private readonly deps: PartnerBotDeps) {
    super();
    const { partners } = deps.onboarding;
    this.onboarding = new OnboardingRunner(deps.conversationState, deps.onboarding);
    this.welcome = new Welcome(deps.conversationState, deps.references);
    const membership = (this.membership = new Membership(deps));
    const restart = restartAction(partners, this.onboarding);
    const remove = deleteAction(partners, deps.secrets, this.onboarding);
    const start = startCommand(membership, this.onboarding);
    this.commands = [
      helpCommand(() => this.commands),
      personalOnly(start),
      personalOnly(statusCommand(membership, deps.onboarding.checkRuns, deps.onboarding.syncs)),
      personalOnly(restartCommand(membership, start, restart)),
      personalOnly(handoverCommand(membership)),
      personalOnly(takeOverCommand(membership, deps.takeOver)),
      personalOnly(updateCredentialsCommand(membership, this.onboarding)),
      personalOnly(recheckCommand(membership, deps.onboarding, this.onboarding, deps.cooldowns)),
      personalOnly(recheckLaterCommand(membership, deps.onboarding, deps.recheckDelayMs ?? 15 * 60_000)),
      personalOnly(supportCommand(membership, deps.support)),
      setSupportChannelCommand(deps.support, deps.references),
      personalOnly(syncCommand(membership, deps.onboarding)),
      personalOnly(expiryCommand(membership, deps.expiry, deps.cooldowns)),
      personalOnly(cancelSyncCommand(membership, deps.onboarding)),
      personalOnly(deleteCommand(membership, remove)),
      personalOnly(customersCommand(membership, deps.customers)),
      ...(deps.onboarding.setup ? [rotateForMeCommand, repairForMeCommand].map((c) => personalOnly(c(membership, deps.onboarding.setup!.signIn))) : []),
    ];
    this.routes = [
      ...this.commands.map(commandRoute),
      personalOnlyRoute(confirmationRoute(membership, [restart, remove], (...a) => partners.answerCard(...a))),
      personalOnlyRoute(membership.answerRoute),
      personalOnlyRoute(handoverAnswerRoute(membership, partners, deps.notifier)),
      personalOnlyRoute(customerRoute(membership, deps.customers)),
      sharedCardRoute(),
    ];

    this.onMembersAdded(async (context, next) => {
      const botId = context.activity.recipient?.id;
      if (context.activity.membersAdded?.some((m) => m.id === botId)) await this.welcome.sendOnce(context, turnOf(context));
      await next();
    });
    this.onInstallationUpdateAdd(async (context, next) => {
      await this.welcome.sendOnce(context, turnOf(context));
      await next();
    });
    this.onInstallationUpdateRemove(async (context, next) => {
      const { tenantId } = turnOf(context);
      const teamId = teamIdOf(context);
      // Removed from a team: every channel and thread of it goes, not only this conversation.
      if (tenantId && teamId) await this.leave(tenantId, { teamId }, 'the app was removed from the team');
      else if (tenantId) await this.deps.references.markUninstalled(tenantId, context.activity.conversation.id);
      await this.welcome.forget(context);
      await next();
    });
    this.onMembersRemoved(async (context, next) => {
      const { tenantId } = turnOf(context);
      const teamId = teamIdOf(context);
      const botId = context.activity.recipient?.id;
      if (tenantId && teamId && context.activity.membersRemoved?.some((m) => m.id === botId)) await this.leave(tenantId, { teamId }, 'the bot was removed from the team');
      await next();
    });
    this.onTeamsTeamDeletedEvent(async (team, context, next) => {
      const { tenantId } = turnOf(context);
      if (tenantId && team.id) await this.leave(tenantId, { teamId: team.id }, 'the team was deleted');
      await next();
    });
    this.onTeamsChannelDeletedEvent(async (channel, _team, context, next) => {
      const { tenantId } = turnOf(context);
      if (tenantId && channel.id) await this.leave(tenantId, { channelId: channel.id }, 'the channel was deleted');
      await next();
    });
    this.onMessage(async (context, next) => {
      const turn = turnOf(context);
      const route = this.routes.find((r) => r.select(turn, context.activity));
      if (route) await route.handle(context, turn);
      else await this.continueOnboarding(context, turn);
      await next();
    });
  }

  /** Universal Actions (`Action.Execute`): the support card's buttons and its refresh. */
  protected override async onAdaptiveCardInvoke(context: TurnContext, value: AdaptiveCardInvokeValue): Promise<AdaptiveCardInvokeResponse> {
    if (isCustomerVerb(value?.action?.verb)) return customerInvoke(context, turnOf(context), value, this.membership, this.deps.customers);
    return supportInvoke(context, turnOf(context), value, this.deps.support);
  }

  /** "Find a customer" in the compose box (search message extension). */
  protected override async handleTeamsMessagingExtensionQuery(context: TurnContext, query: MessagingExtensionQuery): Promise<MessagingExtensionResponse> {
    return customerSearch(turnOf(context), query, this.deps.customers);
  }

  override async run(context: TurnContext): Promise<void> {
    const { turn, release } = await resolveTurn(context, this.deps.turnReads, this.deps.conversationState.getStorageKey(context));
    try {
      await this.rememberConversation(context, turn);
      await super.run(context);
      await this.settleSummaries(context);
      await this.deps.conversationState.saveChanges(context, false);
    } finally {
      release();
    }
  }

  /**
   * A proactive turn in which the journey carries on after `step` finished outside a turn. The
   * turn is resolved and the conversation state loaded and saved as in any turn, so the next
   * turn sees where the dialog is. A proactive activity names no one: the journey is the owner's.
   */
  async carryOn(context: TurnContext, tenantId: string, step: StepId): Promise<boolean> {
    const owner = await this.deps.onboarding.partners.get(tenantId).then((p) => (p ? ownerOf(p) : undefined));
    if (!owner) return false;
    context.activity.from = { id: owner.aadObjectId, aadObjectId: owner.aadObjectId, name: owner.name };
    context.activity.channelData = { ...(context.activity.channelData as object | undefined), tenant: { id: tenantId } };
    const { release } = await resolveTurn(context, this.deps.turnReads, this.deps.conversationState.getStorageKey(context));
    try {
      const carried = await this.onboarding.carryOn(context, step);
      await this.settleSummaries(context);
      await this.deps.conversationState.saveChanges(context, false);
      return carried;
    } finally {
      release();
    }
  }

  /** The turn's summaries sent beside its next card: a refused one is logged, and the chat has moved on all the same. */
  private async settleSummaries(context: TurnContext): Promise<void> {
    for (const err of await settleCardUpdates(context)) {
      this.deps.logger.warn({ err, conversationId: context.activity.conversation?.id }, 'Teams refused to replace an answered card with its summary; the card stays as it was');
    }
  }

  /** The bot is out of a team or a channel: its conversations there are not used again, and a support channel there is unset. */
  private async leave(tenantId: string, scope: { teamId: string } | { channelId: string }, reason: string): Promise<void> {
    const retired = await this.deps.references.retire(tenantId, scope, reason);
    const unset = await this.deps.support.channelGone(tenantId, scope);
    this.deps.logger.info({ tenantId, ...scope, retired, supportChannelUnset: unset }, reason);
  }

  private async continueOnboarding(context: TurnContext, turn: Turn): Promise<void> {
    if (!turn.personal) {
      if (turn.submission) await sayPersonalOnly(context);
      else await context.sendActivity(turn.conversation === 'channel' ? Messages.supportChannelHint : Messages.unknownText);
      return;
    }
    if (!(await this.onboarding.isActive(context))) {
      const s = turn.submission;
      await context.sendActivity(s && !s.ok ? Messages.submission[s.problem] : s ? Messages.noActiveCard : Messages.unknownText);
      return;
    }
    if (!(await this.membership.access(context, turn, false))) return;
    if (!(await this.onboarding.continue(context))) await context.sendActivity(Messages.unknownText);
  }

  private async rememberConversation(context: TurnContext, turn: Turn): Promise<void> {
    const { activity } = context;
    // The removal itself is recorded by its handler; every other activity proves we are there.
    if (activity.type === ActivityTypes.InstallationUpdate && activity.action?.startsWith('remove')) return;
    if (!turn.tenantId) {
      this.deps.logger.debug({ channelId: activity.channelId }, 'activity without a tenant: conversation not recorded');
      return;
    }
    await this.deps.references.save(turn.tenantId, conversationReferenceOf(context), teamIdOf(context), turn.referenceVersion);
  }
}
