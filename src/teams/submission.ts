import type { Activity } from 'botbuilder';
import { isVerb, type Verb } from '../cards/verbs';

/** Largest Action.Submit payload accepted (the biggest real card sends well under 2 KB). */
export const MAX_SUBMIT_BYTES = 8_192;

/** Keys our cards put in `data` beside the inputs; everything else must be a field of the card. */
const ENVELOPE_KEYS = new Set(['verb', 'cardId', 'section', 'action']);

const CARD_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface Submission {
  verb: Verb;
  /** Present on every card that collects or confirms something. */
  cardId?: string;
  section?: string;
  action?: string;
  /** The card's inputs, as sent (not yet validated). */
  fields: Record<string, unknown>;
  /** The message id of the card the button is on (Teams sets it on Action.Submit). */
  replyToId?: string;
}

/** Why a payload is not a usable submission; the chat says it in words (Messages.submission). */
export type SubmissionProblem = 'not_a_submission' | 'too_large' | 'unknown_verb' | 'bad_card_id';

export type ParsedSubmission = { ok: true; submission: Submission } | { ok: false; problem: SubmissionProblem };

/**
 * Reads an Action.Submit payload defensively: it is whatever the client sent, so its shape, size,
 * verb and card id are all checked before anything looks at the fields.
 * Returns undefined when the activity is not a card submission at all.
 */
export function parseSubmission(activity: Activity): ParsedSubmission | undefined {
  if (activity.type !== 'message' || activity.value === undefined) return undefined;
  const value: unknown = activity.value;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return { ok: false, problem: 'not_a_submission' };
  let size: number;
  try {
    size = Buffer.byteLength(JSON.stringify(value));
  } catch {
    return { ok: false, problem: 'not_a_submission' };
  }
  if (size > MAX_SUBMIT_BYTES) return { ok: false, problem: 'too_large' };
  const record = value as Record<string, unknown>;
  if (!isVerb(record.verb)) return { ok: false, problem: 'unknown_verb' };
  const { cardId, section, action } = record;
  if (cardId !== undefined && (typeof cardId !== 'string' || !CARD_ID.test(cardId))) return { ok: false, problem: 'bad_card_id' };
  if ((section !== undefined && typeof section !== 'string') || (action !== undefined && typeof action !== 'string')) {
    return { ok: false, problem: 'not_a_submission' };
  }
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(record)) if (!ENVELOPE_KEYS.has(k)) fields[k] = v;
  return {
    ok: true,
    submission: {
      verb: record.verb, cardId, section, action, fields,
      replyToId: activity.replyToId || undefined,
    },
  };
}
