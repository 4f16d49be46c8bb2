import { TurnContext, type Activity } from 'botbuilder';
import type { Verb } from '../cards/verbs';

/**
 * A route: `select` decides from the activity alone whether this handler takes the turn.
 * Commands are registered here, never matched by substring search in the bot.
 */
export interface Route {
  select(activity: Activity): boolean;
  handle(context: TurnContext): Promise<void>;
}

export interface Command {
  /** What the user types (case-insensitive, whole message). */
  readonly name: string;
  readonly aliases?: readonly string[];
  /** The card verb that runs the same command from a button. */
  readonly verb?: Verb;
  /** One line for the help card. */
  readonly description: string;
  handle(context: TurnContext): Promise<void>;
}

/** Message text with the bot's @mention removed, whitespace collapsed, lower-cased. */
export function commandText(activity: Activity): string {
  const text = activity.entities?.length ? TurnContext.removeRecipientMention(activity) : activity.text;
  return (text ?? '').replace(/\s+/g, ' ').trim().toLowerCase();
}

/** The `verb` of an Action.Submit payload, when the message carries one. */
export function submittedVerb(activity: Activity): string | undefined {
  const value: unknown = activity.value;
  if (value && typeof value === 'object' && 'verb' in value && typeof value.verb === 'string') return value.verb;
  return undefined;
}

export function commandRoute(command: Command): Route {
  const names = new Set([command.name, ...(command.aliases ?? [])]);
  return {
    select: (activity) => activity.type === 'message' && (
      (command.verb !== undefined && submittedVerb(activity) === command.verb) || names.has(commandText(activity))
    ),
    handle: (context) => command.handle(context),
  };
}
