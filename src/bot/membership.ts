import { randomUUID } from 'node:crypto';
import type { TurnContext } from 'botbuilder';
import { renderMemberRequestCard } from '../cards/render';
import { Verbs } from '../cards/verbs';
import { isMember, isOwner, ownerOf, type Partner } from '../domain/partner';
import type { OnboardingServices } from '../dialogs/onboarding-services';
import { Messages } from '../onboarding/messages';
import { closeCard } from '../teams/card-activity';
import type { Notifier } from '../teams/notifier';
import type { Turn } from '../teams/turn';
import { verbRoute, type Route } from './routes';

/** A colleague asking to join is passed on to the owner at most this often. */
const MEMBER_REQUEST_INTERVAL_MS = 3_600_000;

export interface MembershipDeps {
  onboarding: OnboardingServices;
  notifier: Notifier;
}

/** The tenant and its partner (if any) of a turn whose person may work on it. */
export interface Access {
  tenantId: string;
  partner?: Partner;
}

/**
 * Who may work on the tenant's partner: its members. Anyone else is told who owns it, and the
 * owner is asked to add them; guests are refused. `create`: the person becomes the owner of a new
 * partner when the tenant has none.
 */
export class Membership {
  constructor(private readonly deps: MembershipDeps) {}

  async access(context: TurnContext, turn: Turn, create: boolean): Promise<Access | undefined> {
    const { person } = turn;
    const tenantId = await this.identified(context, turn, create);
    if (!tenantId) return undefined;
    const partners = this.deps.onboarding.partners;
    if (!turn.partner && create) {
      await partners.createIfMissing(tenantId, person, context.activity.conversation.id);
      turn.refresh(await partners.get(tenantId));
    }
    const partner = turn.partner;
    if (partner && !isMember(partner, person)) {
      const owner = ownerOf(partner);
      await context.sendActivity(Messages.notMember(owner?.name ?? 'a colleague'));
      await this.askOwnerToAdd(context, turn, tenantId, owner?.conversationId);
      return undefined;
    }
    return { tenantId, partner };
  }

  /**
   * The turn's tenant, when it has one and a person Teams vouches for who is not a guest (asked only
   * of someone who would join: owners and members come through `access`'s doors, and `take over`'s,
   * so a guest is refused once, there). Otherwise says why and gives undefined.
   */
  async identified(context: TurnContext, turn: Turn, create = false): Promise<string | undefined> {
    const { tenantId, person } = turn;
    if (!tenantId) {
      await context.sendActivity(Messages.noTenant);
      return undefined;
    }
    if (!person.aadObjectId) {
      await context.sendActivity(Messages.noIdentity);
      return undefined;
    }
    if ((!turn.partner && create) || (turn.partner && !isMember(turn.partner, person))) {
      if ((await this.deps.onboarding.teamsIdentity(context))?.userRole === 'guest') {
        await context.sendActivity(Messages.guestRefused);
        return undefined;
      }
    }
    return tenantId;
  }

  /** `access` for commands about an onboarding in progress: the partner, or (told "not started") nothing. */
  async started(context: TurnContext, turn: Turn): Promise<{ tenantId: string; partner: Partner } | undefined> {
    const access = await this.access(context, turn, false);
    if (!access) return undefined;
    if (!access.partner) {
      await context.sendActivity(Messages.notStarted);
      return undefined;
    }
    return { tenantId: access.tenantId, partner: access.partner };
  }

  /** `started`, for commands that need the partner's credentials in: the partner, or (told what is missing) nothing. */
  async connected(context: TurnContext, turn: Turn): Promise<{ tenantId: string; partner: Partner } | undefined> {
    const access = await this.started(context, turn);
    if (!access) return undefined;
    if (!access.partner.connection) {
      await context.sendActivity(Messages.checksNeedCredentials);
      return undefined;
    }
    return access;
  }

  async owned(context: TurnContext, turn: Turn, refusal: (owner: string) => string): Promise<{ tenantId: string; partner: Partner } | undefined> {
    const access = await this.access(context, turn, false);
    if (!access?.partner) {
      if (access) await context.sendActivity(Messages.staleCard);
      return undefined;
    }
    if (!(await requireOwner(context, turn, access.partner, refusal))) return undefined;
    return { tenantId: access.tenantId, partner: access.partner };
  }

  /** Passes a colleague's request to join on to the owner, in the owner's own chat. */
  private async askOwnerToAdd(context: TurnContext, turn: Turn, tenantId: string, ownerConversationId: string | undefined): Promise<void> {
    if (!ownerConversationId) return;
    const requestId = await this.deps.onboarding.partners.recordJoinRequest(tenantId, turn.person, context.activity.conversation.id, MEMBER_REQUEST_INTERVAL_MS);
    if (!requestId) return;
    await this.deps.notifier.send(tenantId, ownerConversationId, {
      attachments: [renderMemberRequestCard({ cardId: randomUUID(), requestId, name: turn.person.name.slice(0, 100) })],
    });
  }

  /** The owner's Add / Not now on a join request: who is added comes from the stored request. */
  readonly answerRoute: Route = verbRoute([Verbs.memberAdd, Verbs.memberIgnore], async (context, turn) => {
    if (!turn.submission?.ok) return;
    const { submission } = turn.submission;
    const owned = await this.owned(context, turn, Messages.ownerOnlyAdd);
    if (!owned) return;
    const requestId = submission.fields.requestId;
    if (typeof requestId !== 'string' || !/^[0-9a-f-]{36}$/i.test(requestId)) {
      await context.sendActivity(Messages.submission.not_a_submission);
      return;
    }
    const add = submission.verb === Verbs.memberAdd;
    const request = await this.deps.onboarding.partners.answerJoinRequest(owned.tenantId, requestId, turn.person, add);
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
    if (request.conversationId) await this.deps.notifier.send(owned.tenantId, request.conversationId, { text: Messages.memberAdded(turn.person.name) });
  });
}

/** True when the turn's person owns `partner`; otherwise says who does and gives false. */
export async function requireOwner(context: TurnContext, turn: Turn, partner: Partner, refusal: (owner: string) => string): Promise<boolean> {
  if (isOwner(partner, turn.person)) return true;
  await context.sendActivity(refusal(ownerOf(partner)?.name ?? 'the owner'));
  return false;
}
