import { TurnContext, type Activity } from 'botbuilder';
import type { Verb } from '../cards/verbs';
import type { Turn } from '../teams/turn';

/**
 * A route: `select` decides from the resolved turn whether this handler takes it. Commands and
 * card verbs are registered here, never matched by substring search in the bot.
 */
export interface Route {
  select(turn: Turn, activity: Activity): boolean;
  handle(context: TurnContext, turn: Turn): Promise<void>;
}

export interface Command {
  /** What the user types (case-insensitive, whole message). */
  readonly name: string;
  readonly aliases?: readonly string[];
  /** The card verb that runs the same command from a button. */
  readonly verb?: Verb;
  /** One line for the help card. */
  readonly description: string;
  handle(context: TurnContext, turn: Turn): Promise<void>;
}

/** Message text with the bot's @mention removed, whitespace collapsed, lower-cased. */
export function commandText(activity: Activity): string {
  const text = activity.entities?.length ? TurnContext.removeRecipientMention(activity) : activity.text;
  return (text ?? '').replace(/\s+/g, ' ').trim().toLowerCase();
}

/** The verb of this turn's card submission, when it is a well-formed one. */
export function verbOf(turn: Turn): Verb | undefined {
  return turn.submission?.ok ? turn.submission.submission.verb : undefined;
}

export function commandRoute(command: Command): Route {
  const names = new Set([command.name, ...(command.aliases ?? [])]);
  return {
    select: (turn, activity) => activity.type === 'message' && (
      (command.verb !== undefined && verbOf(turn) === command.verb) || names.has(commandText(activity))
    ),
    handle: (context, turn) => command.handle(context, turn),
  };
}

/** A route for card verbs: the handler gets the parsed submission. */
export function verbRoute(verbs: readonly Verb[], handle: Route['handle']): Route {
  return { select: (turn) => verbs.includes(verbOf(turn) as Verb), handle };
}
