import type { TurnContext } from 'botbuilder';
import type { Partner, Person } from '../domain/partner';
import type { PartnerRecord } from '../store/partners';
import type { TurnReads } from '../store/turn-reads';
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
    /** The conversation reference's version as the turn read it (null: none stored). */
    readonly referenceVersion: number | null = null,
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

/**
 * Reads what the turn needs (the partner, the conversation reference's version, the conversation
 * state for `stateKey`) in one statement and parses the submission (once); keeps the result on the
 * turn. Returns the release for the end of the turn (conversation state it did not read is dropped).
 */
export async function resolveTurn(context: TurnContext, reads: TurnReads, stateKey: string | undefined): Promise<{ turn: Turn; release(): void }> {
  const tenantId = tenantOf(context);
  const read = await reads.read(tenantId, context.activity.conversation?.id, stateKey);
  const partner = tenantId ? read.partner : undefined;
  const turn = new Turn(tenantId, personOf(context), conversationKindOf(context), parseSubmission(context.activity), partner, read.referenceVersion);
  context.turnState.set(TURN_KEY, turn);
  return { turn, release: read.release };
}

/** The turn resolved at its start. */
export function turnOf(context: TurnContext): Turn {
  const turn = context.turnState.get(TURN_KEY) as Turn | undefined;
  if (!turn) throw new Error('turnOf() before resolveTurn()');
  return turn;
}
