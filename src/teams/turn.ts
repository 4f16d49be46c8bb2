import type { TurnContext } from 'botbuilder';
import type { Partner, Person } from '../domain/partner';
import type { PartnerRecord, PartnerRepository } from '../store/partners';
import { conversationKindOf, personOf, tenantOf, type ConversationKind } from './activity';
import { parseSubmission, type ParsedSubmission } from './submission';

/**
 * Everything about this turn that every route, command and dialog needs, worked out once at the
 * start of the turn: whose tenant, who, where, the partner (one read), and the card submission
 * (parsed once). Writes go through the repository and hand the new record back with `refresh`.
 */
export class Turn {
  constructor(
    readonly tenantId: string | undefined,
    readonly person: Person,
    readonly conversation: ConversationKind,
    /** undefined: the activity is not a card submission. */
    readonly submission: ParsedSubmission | undefined,
    private current: Partner | undefined,
  ) {}

  get partner(): Partner | undefined {
    return this.current;
  }

  get personal(): boolean {
    return this.conversation === 'personal';
  }

  /** After a write: the record the repository returned (members are kept unless given). */
  refresh(record: PartnerRecord | Partner | undefined): void {
    if (!record) {
      this.current = undefined;
      return;
    }
    this.current = { ...record, members: 'members' in record ? record.members : this.current?.members ?? [] };
  }

  /** The tenant, for code that runs only where one is known (dialogs start only there). */
  requireTenant(): string {
    if (!this.tenantId) throw new Error('turn without a tenant reached tenant-only code');
    return this.tenantId;
  }
}

const TURN_KEY = Symbol('partner-onboarding.turn');

/** Reads the partner (once) and parses the submission (once); keeps the result on the turn. */
export async function resolveTurn(context: TurnContext, partners: PartnerRepository): Promise<Turn> {
  const tenantId = tenantOf(context);
  const partner = tenantId ? await partners.get(tenantId) : undefined;
  const turn = new Turn(tenantId, personOf(context), conversationKindOf(context), parseSubmission(context.activity), partner);
  context.turnState.set(TURN_KEY, turn);
  return turn;
}

/** The turn resolved at its start. */
export function turnOf(context: TurnContext): Turn {
  const turn = context.turnState.get(TURN_KEY) as Turn | undefined;
  if (!turn) throw new Error('turnOf() before resolveTurn()');
  return turn;
}
