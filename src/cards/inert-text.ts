/**
 * Text that came from a partner or from Microsoft (Teams display names, company and contact
 * fields, tenant and policy names, check evidence, error text), made inert before it goes where
 * Teams renders markdown: a message's `text`, a TextBlock's `text`, a Fact's value. Not for input
 * values, choice titles or button titles: those show text as it is, and a backslash would show.
 *
 * Where markdown renders:
 * - Adaptive Cards in Teams: TextBlock and Fact.Title / Fact.Value (no HTML), with `\r` / `\n`
 *   making new lines and lists:
 *   https://learn.microsoft.com/microsoftteams/platform/task-modules-and-cards/cards/cards-format
 * - A subset of CommonMark in TextBlock (bold, italic, lists, links), and `{{DATE(…)}}` /
 *   `{{TIME(…)}}` functions expanded on the device:
 *   https://learn.microsoft.com/adaptive-cards/authoring-cards/text-features
 * - A bot message's text: a subset of markdown and of XML/HTML tags (and `<at>` mentions):
 *   https://learn.microsoft.com/microsoftteams/platform/bots/how-to/format-your-bot-messages
 * A backslash before ASCII punctuation shows that character as itself (CommonMark, "Backslash
 * escapes": https://spec.commonmark.org/0.31.2/#backslash-escapes). A bare URL is still
 * linkified by Teams; it shows its own address, which a `[label](url)` link hides.
 */

/** What opens emphasis, code, links, images, HTML and mentions, tables, headings, card functions (`{{`, `${`). */
const SIGNIFICANT = /[\\`*_~[\]{}<>#|]/g;
/** Line breaks, tabs and other control characters: one line of text can start no list or heading. */
const BREAKS = /[\s\u0000-\u001f\u007f-\u009f]+/g;
/** A list item or a thematic break where the text starts a line (`- x`, `+ x`, `---`, `1. x`, `1) x`). */
const LEADING_MARKER = /^( ?)(?:([-+])|(\d{1,9})([.)]))/;

/** The text on one line, every markdown and card-function character shown as itself. */
export function inert(text: string): string {
  return text
    .replace(BREAKS, ' ')
    .replace(SIGNIFICANT, '\\$&')
    .replace(LEADING_MARKER, (_m, space: string, sign?: string, digits?: string, dot?: string) => (sign ? `${space}\\${sign}` : `${space}${digits}\\${dot}`));
}
