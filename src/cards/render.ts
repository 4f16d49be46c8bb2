import { CardFactory, type Attachment } from 'botbuilder';
import { Template } from 'adaptivecards-templating';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import companyFormTemplate from '../../cards/company-form.json';
import confirmTemplate from '../../cards/confirm.json';
import checksTemplate from '../../cards/checks.json';
import entraAppFormTemplate from '../../cards/entra-app-form.json';
import partnerCenterFormTemplate from '../../cards/partner-center-form.json';
import prepareChecklistTemplate from '../../cards/prepare-checklist.json';
import signInTemplate from '../../cards/sign-in.json';
import syncTemplate from '../../cards/sync.json';
import takeOverTemplate from '../../cards/take-over.json';
import noticeTemplate from '../../cards/notice.json';
import supportCaseTemplate from '../../cards/support-case.json';
import contactFormTemplate from '../../cards/contact-form.json';
import helpTemplate from '../../cards/help.json';
import handoverTemplate from '../../cards/handover.json';
import memberRequestTemplate from '../../cards/member-request.json';
import openPersonalChatTemplate from '../../cards/open-personal-chat.json';
import reviewTemplate from '../../cards/review.json';
import sectionSummaryTemplate from '../../cards/section-summary.json';
import setupAccountTemplate from '../../cards/setup-account.json';
import setupProgressTemplate from '../../cards/setup-progress.json';
import verifyEmailTemplate from '../../cards/verify-email.json';
import welcomeTemplate from '../../cards/welcome.json';
import customerTemplate from '../../cards/customer.json';
import customerListTemplate from '../../cards/customer-list.json';
import type { CheckResult } from '../checks/run';
import type { Status } from '../checks/types';
import { LIMITS, type Company, type Contact } from '../domain/forms';
import { COUNTRIES, countryName } from '../domain/countries';
import { ENTRA_FIELDS, PC_FIELDS } from '../domain/credentials';
import { PREPARATION, prepDetail } from '../domain/preparation';
import { inert } from './inert-text';
import { Verbs, type Verb } from './verbs';

/**
 * Parsed templates, one per card file: parsing every `${…}` costs milliseconds a card, expanding
 * a parsed one a fraction of that. A Template is made to be bound to different data in turn, and
 * expand() is synchronous, so one instance serves every turn.
 */
const parsed = new WeakMap<object, Template>();

/** Expands a card template (a JSON file in /cards) with data into an Adaptive Card attachment. */
function render(template: object, data: object): Attachment {
  let compiled = parsed.get(template);
  if (!compiled) parsed.set(template, (compiled = new Template(template)));
  const card = compiled.expand({ $root: { ...data, verbs: Verbs, limits: LIMITS } }) as object;
  return CardFactory.adaptiveCard(card);
}

/**
 * Every field a form shows, as strings: the templating engine leaves `${x}` in the card when `x`
 * is missing, so absent values and errors are passed as ''.
 */
function allFields<K extends string>(keys: readonly K[], source: Partial<Record<string, unknown>> = {}): Record<K, string> {
  return Object.fromEntries(keys.map((k) => [k, source[k] === undefined || source[k] === null ? '' : String(source[k])])) as Record<K, string>;
}

/** A FactSet row. The value is plain text (often a partner's or Microsoft's): it is made inert when a card is rendered. */
export interface Fact { label: string; value: string }

/** Teams renders markdown in Fact values: every value is shown as itself. */
function shownFacts(facts: readonly Fact[]): Fact[] {
  return facts.map((f) => ({ label: f.label, value: inert(f.value) }));
}

export const COMPANY_FIELDS = ['legalName', 'country', 'street', 'city', 'postalCode', 'website', 'partnerId', 'vatId'] as const;
export const CONTACT_FIELDS = ['firstName', 'lastName', 'email', 'phone', 'role'] as const;

export function companyFacts(c: Company): Fact[] {
  return [
    { label: 'Legal name', value: c.legalName },
    { label: 'Address', value: `${c.street}, ${c.postalCode} ${c.city}, ${countryName(c.country)}` },
    { label: 'Website', value: c.website },
    { label: 'Partner ID', value: c.partnerId },
    { label: 'VAT ID', value: c.vatId ?? '—' },
  ];
}

export function contactFacts(c: Contact): Fact[] {
  return [
    { label: 'Name', value: `${c.firstName} ${c.lastName}` },
    { label: 'Email', value: c.email },
    { label: 'Phone', value: parsePhoneNumberFromString(c.phone)?.formatInternational() ?? c.phone },
    { label: 'Role', value: c.role ?? '—' },
  ];
}

export interface WelcomeCardData {
  /** First name of the person, when Teams told us (plain text). */
  userName?: string;
  platformName: string;
  minutes: number;
  steps: ReadonlyArray<{ number: number; text: string }>;
  prerequisites: readonly string[];
}

export function renderWelcomeCard(data: WelcomeCardData): Attachment {
  return render(welcomeTemplate, { ...data, userName: data.userName === undefined ? undefined : inert(data.userName) });
}

export interface HelpCardData {
  commands: ReadonlyArray<{ name: string; description: string }>;
}

export function renderHelpCard(data: HelpCardData): Attachment {
  return render(helpTemplate, data);
}

export interface FormCardData {
  cardId: string;
  stepLabel: string;
  /** What the user entered (kept when the card comes back with errors) or the saved values. */
  values?: Partial<Record<string, unknown>>;
  errors?: Partial<Record<string, string>>;
  /** A message about the whole card, e.g. an unexpected field. */
  formError?: string;
}

/**
 * The company form's country list, made once for every card: expanded through the template (a
 * `$data` over ~250 countries, two expressions each) it cost 0.9 ms a card, 14 times the contact
 * form. Frozen, since every company form shares it.
 */
const COUNTRY_CHOICES: ReadonlyArray<Readonly<{ title: string; value: string }>> = Object.freeze(COUNTRIES.map((c) => Object.freeze({ title: c.name, value: c.code })));

/** The card's element with this id (the company form's country list, filled after expansion). */
function elementById(node: unknown, id: string): Record<string, unknown> | undefined {
  if (Array.isArray(node)) {
    for (const item of node) {
      const found = elementById(item, id);
      if (found) return found;
    }
  } else if (node && typeof node === 'object') {
    const n = node as Record<string, unknown>;
    if (n.id === id) return n;
    for (const key of ['body', 'items', 'columns', 'actions', 'card']) {
      const found = n[key] === undefined ? undefined : elementById(n[key], id);
      if (found) return found;
    }
  }
  return undefined;
}

export function renderCompanyForm(data: FormCardData): Attachment {
  const attachment = render(companyFormTemplate, {
    cardId: data.cardId,
    stepLabel: data.stepLabel,
    values: allFields(COMPANY_FIELDS, data.values),
    errors: allFields(COMPANY_FIELDS, data.errors),
    formError: data.formError ?? '',
  });
  const country = elementById(attachment.content, 'country');
  if (!country) throw new Error('company form: no country list');
  country.choices = COUNTRY_CHOICES;
  return attachment;
}

export function renderContactForm(data: FormCardData & { section: 'primaryContact' | 'secondaryContact' }): Attachment {
  const primary = data.section === 'primaryContact';
  return render(contactFormTemplate, {
    cardId: data.cardId,
    stepLabel: data.stepLabel,
    section: data.section,
    title: primary ? 'Primary contact' : 'Secondary contact (optional)',
    subtitle: primary
      ? 'The person who gets every notification about your connection.'
      : 'Someone we can reach when the primary contact is away. You can skip this.',
    canSkip: !primary,
    values: allFields(CONTACT_FIELDS, data.values),
    errors: allFields(CONTACT_FIELDS, data.errors),
    formError: data.formError ?? '',
  });
}

/** A card replaced by what it saved. The title is plain text (it may name a person); the note is ours, in markdown. */
export function renderSectionSummary(data: { title: string; facts: Fact[]; note?: string }): Attachment {
  return render(sectionSummaryTemplate, { title: inert(data.title), facts: shownFacts(data.facts), note: data.note ?? '' });
}

export interface ReviewCardData {
  cardId: string;
  stepLabel: string;
  company: Company;
  primaryContact: Contact;
  secondaryContact?: Contact;
}

export function renderReviewCard(data: ReviewCardData): Attachment {
  return render(reviewTemplate, {
    cardId: data.cardId,
    stepLabel: data.stepLabel,
    company: shownFacts(companyFacts(data.company)),
    primaryContact: shownFacts(contactFacts(data.primaryContact)),
    secondaryContact: data.secondaryContact ? shownFacts(contactFacts(data.secondaryContact)) : [],
    secondaryEditTitle: data.secondaryContact ? 'Edit secondary contact' : 'Add a secondary contact',
  });
}

export interface ConfirmCardData {
  cardId: string;
  action: string;
  title: string;
  text: string;
  yesTitle: string;
  noTitle: string;
}

export function renderConfirmCard(data: ConfirmCardData): Attachment {
  return render(confirmTemplate, data);
}

export function renderVerifyEmailCard(data: { cardId: string; stepLabel: string; maskedEmail: string; error?: string }): Attachment {
  return render(verifyEmailTemplate, { ...data, maskedEmail: inert(data.maskedEmail), error: data.error ?? '' });
}

export function renderOpenPersonalChatCard(data: { chatUrl: string }): Attachment {
  return render(openPersonalChatTemplate, data);
}

/** The owner's card about a colleague asking to join: it carries only the request's id. The name is inert in text; a button title shows it as it is. */
export function renderMemberRequestCard(data: { cardId: string; requestId: string; name: string }): Attachment {
  return render(memberRequestTemplate, { ...data, name: inert(data.name), buttonName: data.name });
}

export function renderHandoverCard(data: { cardId: string; members: Array<{ id: string; name: string }> }): Attachment {
  return render(handoverTemplate, data);
}

/** `setupChoice`: offer "Set it up for me" (the operator's setup app is configured), with the partner's current choice. */
export function renderPrepareChecklist(data: { cardId: string; stepLabel: string; done: readonly string[]; publicBaseUrl: string; message?: string; setupChoice?: 'setup' | 'manual' }): Attachment {
  const done = new Set(data.done);
  // "Set it up for me" chosen: the app's items are the bot's, so they are said to be and not counted as the partner's.
  const forMe = data.setupChoice === 'setup';
  const groups = PREPARATION.map((g) => ({
    title: forMe && g.id === 'app' ? `${g.title}: I do these for you (you chose Set it up for me)` : g.title,
    mine: forMe && g.id === 'app',
    items: g.items.map((i) => ({ ...i, detail: prepDetail(i, data.publicBaseUrl), done: done.has(i.id) })),
  }));
  const theirs = groups.filter((g) => !g.mine);
  const total = theirs.reduce((n, g) => n + g.items.length, 0);
  const doneCount = theirs.reduce((n, g) => n + g.items.filter((i) => i.done).length, 0);
  return render(prepareChecklistTemplate, {
    cardId: data.cardId, stepLabel: data.stepLabel, groups, doneCount, totalCount: total, message: data.message ?? '',
    offerSetup: data.setupChoice !== undefined, setupChoice: data.setupChoice ?? 'manual',
  });
}

/** One line of the setup's progress card. */
export interface SetupLine { text: string; state: 'pending' | 'running' | 'waiting' | 'done' | 'failed' }

const SETUP_MARKS: Record<SetupLine['state'], { mark: string; detail: string; color: string }> = {
  pending: { mark: '▫️', detail: '', color: 'Default' },
  running: { mark: '⏳', detail: ' (now)', color: 'Default' },
  waiting: { mark: '⏳', detail: ' (waiting for Microsoft to replicate)', color: 'Default' },
  done: { mark: '✅', detail: '', color: 'Default' },
  failed: { mark: '❌', detail: ' (stopped here)', color: 'Attention' },
};

/** "Set it up for me": a line per step, each state in words as well as by its mark; "Try again from here" once it stopped. */
export function renderSetupProgress(data: { title: string; lines: readonly SetupLine[]; note: string; retry: boolean; retryVerb?: Verb }): Attachment {
  return render(setupProgressTemplate, {
    // "Try again from here": the setup's own step, or a new "Fix it for me" sign-in after onboarding.
    title: data.title, note: data.note, retry: data.retry, retryVerb: data.retryVerb ?? Verbs.setupRetry,
    lines: data.lines.map((l) => ({ ...SETUP_MARKS[l.state], text: l.text })),
  });
}

/** "Set it up for me": which account the platform works as, before the administrator signs in. */
export function renderSetupAccountCard(data: { cardId: string; stepLabel: string; serviceAccount?: string; error?: string }): Attachment {
  return render(setupAccountTemplate, { cardId: data.cardId, stepLabel: data.stepLabel, serviceAccount: data.serviceAccount ?? '', error: data.error ?? '' });
}

export interface CredentialFormData extends FormCardData {
  /** A secret is already stored: the field may stay empty to keep it. */
  secretStored?: boolean;
}

/** A credential card: secrets never go back into it, only the non-secret fields are echoed. */
function renderCredentialForm(template: object, fields: readonly string[], secretField: string, data: CredentialFormData): Attachment {
  return render(template, {
    cardId: data.cardId, stepLabel: data.stepLabel,
    values: allFields(fields, { ...data.values, [secretField]: '' }),
    errors: allFields(fields, data.errors),
    formError: data.formError ?? '',
    secretPlaceholder: data.secretStored ? 'Leave empty to keep the stored secret' : 'Paste the value',
    // Required until one is stored: then an empty field keeps it.
    secretRequired: !data.secretStored,
  });
}

export function renderEntraAppForm(data: CredentialFormData): Attachment {
  return renderCredentialForm(entraAppFormTemplate, ENTRA_FIELDS, 'appSecret', data);
}

export function renderPartnerCenterForm(data: CredentialFormData): Attachment {
  return renderCredentialForm(partnerCenterFormTemplate, PC_FIELDS, 'pcSecret', data);
}

export interface SignInCardData {
  cardId: string;
  stepLabel: string;
  title: string;
  text: string;
  facts?: Fact[];
  note: string;
  buttonTitle: string;
  url: string;
  message?: string;
}

/** A card whose button opens a sign-in (or admin consent) page in the browser. */
export function renderSignInCard(data: SignInCardData): Attachment {
  return render(signInTemplate, { ...data, facts: shownFacts(data.facts ?? []), message: data.message ?? '' });
}

/** `take over`: one button that opens the member's own sign-in (text and note are ours, names already inert). */
export function renderTakeOverCard(data: { title: string; text: string; note: string; buttonTitle: string; url: string }): Attachment {
  return render(takeOverTemplate, data);
}

/**
 * Each status in words as well as by its mark (never by emoji or colour alone). Only a failure is
 * coloured: Teams' yellow `Warning` text is hard to read on white, so a warning's mark carries it.
 */
export const STATUS_WORDS: Record<Status, { mark: string; color: 'Default' | 'Attention'; word: string; counted: string }> = {
  pass: { mark: '✅', color: 'Default', word: 'Passed', counted: 'passed' },
  warn: { mark: '⚠️', color: 'Default', word: 'Warning', counted: 'warning' },
  fail: { mark: '❌', color: 'Attention', word: 'Failed', counted: 'failed' },
  unknown: { mark: '❔', color: 'Default', word: 'Not visible yet', counted: 'not visible yet' },
};

/** "1 warning", "2 warnings", "3 failed", "1 not visible yet": the same words on every card and message. */
export function statusCount(status: Status, n: number): string {
  return status === 'warn' ? `${n} warning${n === 1 ? '' : 's'}` : `${n} ${STATUS_WORDS[status].counted}`;
}

/** The word for one result: a check Graph can never show is "Not visible" (no "yet" to wait for). */
export function statusWord(r: Pick<CheckResult, 'status' | 'lasting' | 'afterSignIn'>): string {
  return r.afterSignIn ? 'Needs sign-in' : r.status === 'unknown' && r.lasting ? 'Not visible' : STATUS_WORDS[r.status].word;
}

export interface ChecksCardData {
  title: string;
  subtitle: string;
  results: readonly CheckResult[];
  note: string;
  /** "Re-check in 15 minutes": a fix waits for Microsoft to apply it, or Microsoft did not answer. */
  offerLater?: boolean;
  /** "Ask support": something failed or could not be seen. */
  offerSupport?: boolean;
  /** "Fix it for me": an app check failed on the app the bot created (issue 30 item 5). */
  offerFix?: boolean;
  /** A line above the buttons, e.g. "Re-check scheduled for 10:42 UTC" (plain text: it may name an engineer). */
  status?: string;
}

/**
 * The checklist: grouped, one line of evidence each, the fix with its link for all but a pass;
 * "Re-run checks" updates it in place. Failures, warnings and what could not be seen stay open;
 * each group's passed checks fold into one line ("Service account: 5 passed — show",
 * `Action.ToggleVisibility`, Adaptive Cards 1.2+), and the pre-flight's checks that only the
 * sign-in can run fold into one line with their real count.
 * Evidence quotes Microsoft (tenant, app, policy and group names): it is shown as itself. Fix texts are ours, in markdown.
 */
export function renderChecksCard(data: ChecksCardData): Attachment {
  const groups: Array<{ title: string; open: object[]; passed: object[] }> = [];
  const later = data.results.filter((r) => r.afterSignIn);
  for (const r of data.results) {
    if (r.afterSignIn) continue;
    let group = groups.find((g) => g.title === inert(r.group));
    if (!group) groups.push((group = { title: inert(r.group), open: [], passed: [] }));
    const m = STATUS_WORDS[r.status];
    const line = {
      color: m.color, text: `${m.mark} ${statusWord(r)} · **${inert(r.title)}**: ${inert(r.evidence)}`,
      fix: r.status === 'pass' || !r.fix ? '' : `Fix: ${r.fix.text} [Open ↗](${r.fix.link})`,
    };
    (r.status === 'pass' ? group.passed : group.open).push(line);
  }
  const shown = groups.map((g, i) => {
    const n = g.passed.length;
    const head = g.open.length ? `${STATUS_WORDS.pass.mark} ${n === 1 ? '1 more check' : `${n} more checks`} passed` : `${STATUS_WORDS.pass.mark} **${g.title}**: ${n} passed`;
    return { ...g, showTitle: g.open.length > 0, passedCount: n, showLabel: `${head} — show`, hideLabel: `${head} — hide`, ids: toggleIds(`g${i}`) };
  });
  const judged = data.results.filter((r) => !r.afterSignIn);
  const tally = (pick: (r: CheckResult) => boolean, words: (n: number) => string, mark: string) => {
    const n = judged.filter(pick).length;
    return n > 0 ? [`${mark} ${words(n)}`] : [];
  };
  const counts = [
    ...tally((r) => r.status === 'fail', (n) => statusCount('fail', n), STATUS_WORDS.fail.mark),
    ...tally((r) => r.status === 'warn', (n) => statusCount('warn', n), STATUS_WORDS.warn.mark),
    ...tally((r) => r.status === 'unknown' && !r.lasting, (n) => statusCount('unknown', n), STATUS_WORDS.unknown.mark),
    ...tally((r) => r.status === 'unknown' && !!r.lasting, (n) => `${n} not visible`, STATUS_WORDS.unknown.mark),
    ...tally((r) => r.status === 'pass', (n) => statusCount('pass', n), STATUS_WORDS.pass.mark),
  ];
  const laterLine = later.length ? `🔑 ${later.length === 1 ? '1 check runs' : `${later.length} checks run`} after you sign in` : '';
  if (laterLine) counts.push(laterLine);
  return render(checksTemplate, {
    title: data.title, subtitle: data.subtitle, counts: counts.join(' · '), groups: shown, note: data.note, status: inert(data.status ?? ''),
    later: later.length ? {
      showLabel: `${laterLine}: ${andList([...new Set(later.map((r) => r.group))])} — show`,
      hideLabel: `${laterLine} — hide`,
      lines: later.map((r) => ({ text: `🔑 Needs sign-in · **${inert(r.title)}**` })),
      ids: toggleIds('later'),
    } : { showLabel: '', hideLabel: '', lines: [], ids: toggleIds('later') },
    hasLater: later.length > 0,
    offerLater: !!data.offerLater, offerSupport: !!data.offerSupport, offerFix: !!data.offerFix,
  });
}

/** "a, b and c". */
function andList(items: readonly string[]): string {
  return items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/** Element ids of a folded section: its lines, and the "— show" and "— hide" labels swapped by the toggle. */
function toggleIds(key: string): { lines: string; show: string; hide: string } {
  return { lines: `${key}-lines`, show: `${key}-show`, hide: `${key}-hide` };
}

export interface SyncCardData {
  title: string;
  subtitle: string;
  facts: Fact[];
  /** e.g. the not-manageable reasons, one line each. */
  linesTitle?: string;
  lines?: string[];
  note?: string;
  /** Offers "Cancel sync". */
  running: boolean;
}

/** The customer sync's card: progress while it runs (updated in place), then its final state; the summary uses it too. */
export function renderSyncCard(data: SyncCardData): Attachment {
  return render(syncTemplate, { ...data, facts: shownFacts(data.facts), linesTitle: data.linesTitle ?? '', lines: data.lines ?? [], note: data.note ?? '' });
}

export interface NoticeCardData {
  /** Markdown: the caller makes what it quotes (a company, a relationship's name) inert. */
  title: string;
  text: string;
  facts: Fact[];
  /** Attention for what is about to end, warning once it has. */
  severity: 'warning' | 'expired';
  /** The button that starts the fix; none on a copy to support. */
  buttonTitle?: string;
  buttonVerb?: Verb;
  /** A second way to the fix (the expiry of a secret the bot can replace: "Update credentials" beside "Rotate it for me"). */
  secondTitle?: string;
  secondVerb?: Verb;
}

/**
 * An expiry notice: what ends when, and the button that starts the fix. The title's mark carries
 * the warning (yellow text is hard to read on white); what has ended is red.
 */
export function renderNoticeCard(data: NoticeCardData): Attachment {
  const expired = data.severity === 'expired';
  return render(noticeTemplate, { ...data, title: `${expired ? '❌' : '⚠️'} ${data.title}`, facts: shownFacts(data.facts), color: expired ? 'Attention' : 'Default' });
}

export interface SupportCardData {
  /** Title, status, notice and issue lines are markdown: the caller makes the names and evidence it quotes inert. */
  title: string;
  statusText: string;
  statusColor: 'Accent' | 'Good' | 'Default';
  /** A line for the viewer only (an action refused, a race lost). */
  notice?: string;
  facts: Fact[];
  issuesTitle: string;
  issues: Array<{ line: string; color: 'Attention' | 'Default' }>;
  showClaim: boolean;
  showResolve: boolean;
  /** `8:orgid:<object id>` of the engineers (at most 60): Teams refreshes the card for them. */
  userIds: string[];
}

/** A partner's support case in the support channel: Universal Actions (Action.Execute), refreshed for the engineers. */
export function renderSupportCard(data: SupportCardData): Attachment {
  return render(supportCaseTemplate, { ...data, facts: shownFacts(data.facts) });
}

export interface CustomerCardData {
  /** Markdown lines (title, verdict, notice, fix, relationship titles): the caller makes the names it quotes inert. */
  title: string;
  verdictText: string;
  verdictColor: 'Good' | 'Attention' | 'Default';
  notice?: string;
  facts: Fact[];
  fix: string;
  /** The Partner Center page the fix happens on; '' for none. */
  fixUrl: string;
  evidenceTitle: string;
  relationships: Array<{ title: string; facts: Fact[] }>;
  customerTenantId: string;
}

/** One customer: its verdict in words, the fix, and each GDAP relationship as evidence; "Check again" (Action.Execute) updates it in place. */
export function renderCustomerCard(data: CustomerCardData): Attachment {
  return render(customerTemplate, {
    ...data, notice: data.notice ?? '', facts: shownFacts(data.facts),
    relationships: data.relationships.map((r) => ({ title: r.title, facts: shownFacts(r.facts) })),
  });
}

export interface CustomerListCardData {
  /** Markdown (title, text, item lines): the caller makes the names it quotes inert. */
  title: string;
  text: string;
  facts: Fact[];
  itemsTitle: string;
  /** `button` is a button title: plain text, shown as it is. */
  items: Array<{ line: string; button: string; customerTenantId: string }>;
  note: string;
  /** Paging (Action.Execute, in place); undefined: no such button. */
  previousPage?: number;
  nextPage?: number;
}

/** A list of customers, each with a button that opens its card; previous / next pages in place. */
export function renderCustomerListCard(data: CustomerListCardData): Attachment {
  return render(customerListTemplate, {
    ...data, facts: shownFacts(data.facts),
    hasPrevious: data.previousPage !== undefined, hasNext: data.nextPage !== undefined,
    previousPage: data.previousPage ?? 0, nextPage: data.nextPage ?? 0,
  });
}
