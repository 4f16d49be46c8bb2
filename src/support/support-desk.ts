import type { Attachment } from 'botbuilder';
import { inert } from '../cards/inert-text';
import { renderSupportCard, STATUS_WORDS, statusCount, statusWord, type SupportCardData } from '../cards/render';
import { summarize } from '../checks/run';
import type { Partner, Person } from '../domain/partner';
import { recipientsOf } from '../domain/partner';
import { currentStep, stepLabel } from '../domain/steps';
import type { Logger } from '../logger';
import type { CheckRun, CheckRunRepository } from '../store/check-runs';
import type { CooldownRepository } from '../store/cooldowns';
import type { CustomerSyncRepository } from '../store/customer-syncs';
import type { CustomerRecord, CustomerRepository } from '../store/customers';
import type { PartnerRepository } from '../store/partners';
import type { SupportCase, SupportChannel, SupportRepository } from '../store/support';
import { REASON_WORDS, type NotManageableReason } from '../sync/gdap';
import { syncStatusLine } from '../sync/progress';
import type { Notifier } from '../teams/notifier';
import type { CheckRunner } from '../verification/check-runner';
import { daysLeft, expiringItems, thresholdFor } from '../watch/expiry';

/** Teams refreshes a card automatically for at most 60 listed users. */
const MAX_REFRESH_USERS = 60;

export interface SupportDeskOptions {
  support: SupportRepository;
  partners: PartnerRepository;
  checkRuns: CheckRunRepository;
  syncs: CustomerSyncRepository;
  /** The partner's customers that cannot be managed, on the case card. */
  customers?: Pick<CustomerRepository, 'countsByVerdict' | 'unmanageable'>;
  checks: Pick<CheckRunner, 'run'>;
  /** How often a repeat escalation is passed on to the thread. */
  cooldowns: Pick<CooldownRepository, 'take'>;
  notifier: Notifier;
  /** Sends what the notices outbox holds now (the dispatcher), without waiting for it: a crash leaves it to the minute drain. */
  sendNotices(): void;
  /** Entra object ids of the support engineers (operator config `SUPPORT_ENGINEERS`). */
  engineers: readonly string[];
  /** The partner's checklist card, for a run made from the support card. */
  checklistCard(run: CheckRun, status: string): Attachment;
  /** What the partner is told in chat when support re-ran the checks (claimed and resolved are notices: watch/notices.ts words them). */
  messages: {
    rerun(engineer: string): string;
  };
  logger: Logger;
}

export type Escalation =
  | { kind: 'no-channel' }
  | { kind: 'opened' | 'reopened' | 'updated'; supportCase: SupportCase }
  /** Asked again within the cooldown while the case is open: counted, not posted again; `until`: when a repeat is passed on. */
  | { kind: 'folded'; supportCase: SupportCase; until: Date }
  | { kind: 'not-posted' };

/** Where a support card's action came from: the invoke's tenant, conversation and card. */
export interface ActionOrigin {
  tenantId: string | undefined;
  kind: 'personal' | 'groupChat' | 'channel';
  conversationId: string;
  /** The card's activity id (the invoke's replyToId), when Teams sends it. */
  cardActivityId: string | undefined;
}

/** `refused`: not an engineer, or not in a case's thread of the support channel. `no-case`: an engineer, in the channel, on a thread whose case is gone. */
export type SupportAnswer = { kind: 'card'; card: Attachment } | { kind: 'refused' } | { kind: 'no-case' };

export type SupportVerb = 'support.claim' | 'support.rerun' | 'support.resolve' | 'support.refresh';

const KNOWN_VERBS: ReadonlySet<string> = new Set<SupportVerb>(['support.claim', 'support.rerun', 'support.resolve', 'support.refresh']);
export const isSupportVerb = (v: unknown): v is SupportVerb => typeof v === 'string' && KNOWN_VERBS.has(v);

const when = (d: Date) => `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;

/**
 * The support side: one channel (set by an engineer), one thread per partner there with a status
 * card (company, step, last checks with evidence, last sync, open expiries: never a secret) whose
 * Universal Actions only engineers may use. Each action changes the case in one conditional
 * UPDATE and answers the clicker with the new card; the posted card is updated for everyone else
 * after the answer. A claim or resolve records the partner's messages in the notices outbox in
 * the same transaction, and the dispatcher sends them: a slow or refusing Teams never holds the
 * click, and the partner is told once, also when this process dies in between.
 */
export class SupportDesk {
  private readonly engineers: ReadonlySet<string>;
  /** Posted cards being updated after the answer, one chain per case. */
  private readonly refreshing = new Map<string, Promise<void>>();

  constructor(private readonly o: SupportDeskOptions) {
    this.engineers = new Set(o.engineers.map((e) => e.toLowerCase()));
  }

  /**
   * An engineer: listed in the config, and (once a channel is set) in the channel's tenant: an
   * object id is only meaningful in its own tenant.
   */
  async isEngineer(person: Person, tenantId: string | undefined): Promise<boolean> {
    if (!this.listed(person)) return false;
    return this.engineerIn(await this.o.support.channel(), tenantId);
  }

  private listed(person: Person): boolean {
    return !!person.aadObjectId && this.engineers.has(person.aadObjectId.toLowerCase());
  }

  /** With the channel already read (a click reads it once). */
  private engineerIn(channel: SupportChannel | undefined, tenantId: string | undefined): boolean {
    return !channel || channel.tenantId === tenantId;
  }

  channel(): Promise<SupportChannel | undefined> {
    return this.o.support.channel();
  }

  async setChannel(c: Omit<SupportChannel, 'setAt'>): Promise<void> {
    await this.o.support.setChannel(c);
  }

  /** Its team or channel is gone: the support channel is unset (partners asking are told), true when it was. */
  channelGone(tenantId: string, scope: { teamId: string } | { channelId: string }): Promise<boolean> {
    return this.o.support.clearChannel(tenantId, scope);
  }

  /** The partner's thread in the support channel, when it has one there. */
  async threadOf(tenantId: string): Promise<{ tenantId: string; threadId: string } | undefined> {
    const [c, channel] = await Promise.all([this.o.support.get(tenantId), this.o.support.channel()]);
    if (!c?.threadId || !c.channelTenantId || !channel || c.channelId !== channel.channelId) return undefined;
    return { tenantId: c.channelTenantId, threadId: c.threadId };
  }

  /**
   * The partner asks for support: the case opens (or reopens), and its thread in the support
   * channel is started, or its card updated with a line in the thread so the team sees it again.
   */
  async escalate(partner: Partner, by: Person, conversationId: string, checklistActivityId?: string): Promise<Escalation> {
    const channel = await this.o.support.channel();
    if (!channel) return { kind: 'no-channel' };
    const { supportCase, fresh } = await this.o.support.open(partner.tenantId, by, conversationId,
      checklistActivityId ? { conversationId, activityId: checklistActivityId } : undefined);
    // Fifteen `support` in a row make one thread message: a repeat within the cooldown, while the
    // case is still open in its thread, is counted on the case and not posted again.
    const until = await this.o.cooldowns.take(partner.tenantId, 'support');
    if (!fresh && until && supportCase.threadId) return { kind: 'folded', supportCase, until };
    const card = await this.card(partner, supportCase);
    if (await this.o.support.claimThread(partner.tenantId, channel.channelId)) {
      const started = await this.o.notifier.startThread(channel.tenantId, channel.channelId, { attachments: [card] });
      if (!started) return { kind: 'not-posted' };
      await this.o.support.attachThread(partner.tenantId, { channelTenantId: channel.tenantId, channelId: channel.channelId, threadId: started.threadId, cardActivityId: started.activityId });
      return { kind: supportCase.escalations > 1 ? 'reopened' : 'opened', supportCase };
    }
    const current = (await this.o.support.get(partner.tenantId)) ?? supportCase;
    if (current.threadId && current.cardActivityId && current.channelTenantId) {
      await this.o.notifier.update(current.channelTenantId, current.threadId, current.cardActivityId, { attachments: [await this.card(partner, current)] });
      await this.o.notifier.send(current.channelTenantId, current.threadId, {
        text: fresh ? `**${inert(by.name)} asked for support again** (${stepText(partner)}).` : `${inert(by.name)} asked again (${stepText(partner)}).`,
      });
    }
    return { kind: fresh ? 'reopened' : 'updated', supportCase: current };
  }

  /**
   * An `Action.Execute` on a support card. The case is the one whose thread the click came from,
   * in the support channel's tenant, never one named by card data; the clicker must be an
   * engineer. Anything else is refused with one answer that says nothing about any partner, case
   * or no case. An engineer gets the card as it is now (after the action).
   */
  async act(verb: SupportVerb, where: ActionOrigin, who: Person): Promise<SupportAnswer> {
    const channel = await this.o.support.channel();
    const inChannel = !!channel && where.kind === 'channel' && where.tenantId === channel.tenantId
      && (where.conversationId === channel.channelId || where.conversationId.startsWith(`${channel.channelId};`));
    if (!channel || !inChannel || !this.listed(who) || !this.engineerIn(channel, where.tenantId)) return { kind: 'refused' };
    const before = await this.o.support.byThread(channel.tenantId, channel.channelId, where.conversationId, where.cardActivityId);
    const partner = before ? await this.o.partners.get(before.tenantId) : undefined;
    if (!before || !partner) return { kind: 'no-case' };
    const tenantId = before.tenantId;
    let after: SupportCase | undefined = before;
    let notice: string | undefined;
    if (verb === 'support.claim') {
      after = await this.o.support.claim(tenantId, who, partnerChats(partner, before));
      if (after) this.o.sendNotices();
      else notice = before.status === 'claimed' ? `Already claimed by ${before.claimedByName ?? 'someone'}.` : 'This case is resolved: nothing to claim.';
    } else if (verb === 'support.resolve') {
      after = await this.o.support.resolve(tenantId, who, partnerChats(partner, before));
      if (after) this.o.sendNotices();
      else notice = 'This case was already resolved.';
    } else if (verb === 'support.rerun' && !partner.connection) {
      notice = 'Nothing to check yet: the partner has not entered its tenant and app credentials.';
    } else if (verb === 'support.rerun') {
      const run = await this.o.checks.run(partner, who.aadObjectId);
      await this.updateChecklist(partner, before, run, who.name);
      after = await this.o.support.touch(tenantId);
    }
    const now = after ?? (await this.o.support.get(tenantId)) ?? before;
    // Claim and Resolve change the case, not the partner: read again only after checks ran.
    const fresh = verb === 'support.rerun' && partner.connection ? ((await this.o.partners.get(tenantId)) ?? partner) : partner;
    const card = await this.card(fresh, now, notice);
    // The clicker sees the invoke response; everyone else sees the posted card change, after it.
    // Without a notice it is the very card everyone else is shown, drawn from this click's reads.
    if (verb !== 'support.refresh') this.refreshPosted(tenantId, notice === undefined ? { card, supportCase: now } : undefined);
    return { kind: 'card', card };
  }

  /** Until the posted cards being updated are (a graceful stop; tests). */
  async settled(): Promise<void> {
    while (this.refreshing.size > 0) await Promise.allSettled([...this.refreshing.values()]);
  }

  /**
   * Updates the case's posted card for everyone, without holding the click: one update at a time
   * per case, each drawing the case as it is when it starts, so the last one shows the last change.
   * Lost with the process at worst: the engineers' cards refresh themselves (`refresh.userIds`).
   * `drawn`: the card the click just drew for the case as it left it, posted as it is when no
   * earlier update of the case is still under way (one that is would make it stale: drawn anew).
   */
  private refreshPosted(tenantId: string, drawn?: { card: Attachment; supportCase: SupportCase }): void {
    const pending = this.refreshing.get(tenantId);
    const next: Promise<void> = (pending ?? Promise.resolve())
      .then(async () => {
        if (drawn && !pending) {
          const c = drawn.supportCase;
          if (c.threadId && c.cardActivityId && c.channelTenantId) await this.o.notifier.update(c.channelTenantId, c.threadId, c.cardActivityId, { attachments: [drawn.card] });
          return;
        }
        const [c, partner] = await Promise.all([this.o.support.get(tenantId), this.o.partners.get(tenantId)]);
        if (!c?.threadId || !c.cardActivityId || !c.channelTenantId || !partner) return;
        await this.o.notifier.update(c.channelTenantId, c.threadId, c.cardActivityId, { attachments: [await this.card(partner, c)] });
      })
      .catch((err: unknown) => { this.o.logger.warn({ err, tenantId }, 'the posted support card could not be updated'); })
      .finally(() => { if (this.refreshing.get(tenantId) === next) this.refreshing.delete(tenantId); });
    this.refreshing.set(tenantId, next);
  }

  /** The status card of a case: never a secret (credentials by expiry only). */
  async card(partner: Partner, c: SupportCase, notice?: string): Promise<Attachment> {
    const [run, sync, customers] = await Promise.all([this.o.checkRuns.latest(partner.tenantId), this.o.syncs.latest(partner.tenantId), this.unmanageable(partner.tenantId)]);
    return renderSupportCard(cardData(partner, c, run, sync ? plain(syncStatusLine(sync)) : undefined, this.o.engineers, notice, customers));
  }

  /** How many customers cannot be managed, of how many, and the worst three. */
  private async unmanageable(tenantId: string): Promise<UnmanageableCustomers | undefined> {
    if (!this.o.customers) return undefined;
    const [counts, worst] = await Promise.all([this.o.customers.countsByVerdict(tenantId), this.o.customers.unmanageable(tenantId, 0, 3)]);
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    return { count: total - counts.manageable, total, worst };
  }

  /** The partner's checklist: the card "Ask support" was on, updated in place; else a new one, remembered. */
  private async updateChecklist(partner: Partner, c: SupportCase, run: CheckRun, engineer: string): Promise<void> {
    const card = this.o.checklistCard(run, `Re-run by ${engineer} (support), ${when(run.runAt)}.`);
    const target = c.checklistConversationId ?? c.openedConversationId;
    if (!target) return;
    const updated = c.checklistActivityId && c.checklistConversationId
      ? await this.o.notifier.update(partner.tenantId, c.checklistConversationId, c.checklistActivityId, { attachments: [card] })
      : false;
    if (!updated) {
      const id = await this.o.notifier.post(partner.tenantId, target, { attachments: [card] });
      if (id) await this.o.support.setChecklist(partner.tenantId, target, id);
    }
    await this.o.notifier.send(partner.tenantId, target, { text: this.o.messages.rerun(engineer) });
  }
}

/** Claimed and resolved are told to whoever asked and to the owner (and primary contact): each chat once. */
function partnerChats(partner: Partner, c: SupportCase): string[] {
  return [...new Set([c.openedConversationId, ...recipientsOf(partner).map((m) => m.conversationId)].filter((x): x is string => !!x))];
}

function stepText(partner: Partner): string {
  const step = currentStep(partner);
  return step ? `${stepLabel(step.id)}: ${step.name}` : 'onboarding complete';
}

/** Chat markdown out of a line meant for a FactSet, and the chat-only hint. */
function plain(line: string | undefined): string | undefined {
  return line?.replace(/\*\*/g, '').replace(/\s*Type .*$/, '');
}

/**
 * The case card's words. Names (company, who asked, who claimed) and check evidence come from the
 * partner, Teams and Microsoft: inert in the title, status and issue lines; `notice` is plain text;
 * fact values are made inert when the card is rendered.
 */
/** The partner's customers that cannot be managed: how many, and the worst three (sync order). */
export interface UnmanageableCustomers {
  count: number;
  total: number;
  worst: readonly Pick<CustomerRecord, 'companyName' | 'domain' | 'verdict'>[];
}

function unmanageableFacts(u: UnmanageableCustomers | undefined): Array<{ label: string; value: string }> {
  if (!u || u.total === 0) return [];
  const worst = u.worst.map((w) => `${w.companyName || w.domain || 'unnamed'} (${w.verdict === 'manageable' ? 'manageable' : REASON_WORDS[w.verdict as NotManageableReason]})`);
  return [
    { label: 'Unmanageable customers', value: `${u.count} of ${u.total}` },
    ...(worst.length > 0 ? [{ label: 'Worst three', value: worst.join('; ') }] : []),
  ];
}

export function cardData(partner: Partner, c: SupportCase, run: CheckRun | undefined, sync: string | undefined, engineers: readonly string[], notice?: string, customers?: UnmanageableCustomers): SupportCardData {
  const named = partner.company?.legalName ?? partner.connection?.partnerTenantName;
  // Before the company card, a tenant id as the title would read like an error (the tenant is in the facts).
  const company = named ?? 'a partner not named yet';
  const statusText = c.status === 'open' ? `Open: waiting for an engineer (asked by ${inert(c.openedByName)}, ${when(c.openedAt)})`
    : c.status === 'claimed' ? `Claimed by ${inert(c.claimedByName ?? 'an engineer')} (${when(c.claimedAt ?? c.openedAt)})`
      : `Resolved by ${inert(c.resolvedByName ?? 'an engineer')} (${when(c.resolvedAt ?? c.openedAt)})`;
  const facts = [
    { label: 'Company', value: named ?? 'not entered yet' },
    { label: 'Partner tenant', value: partner.tenantId },
    ...(partner.company?.partnerId ? [{ label: 'Partner ID', value: partner.company.partnerId }] : []),
    { label: 'Asked by', value: `${c.openedByName}${c.escalations > 1 ? ` (asked ${c.escalations} times)` : ''}` },
    { label: 'Journey', value: stepText(partner) },
    { label: 'Checks', value: run ? checksLine(run) : 'not run yet' },
    { label: 'Last sync', value: sync ?? 'none yet' },
    ...unmanageableFacts(customers),
    { label: 'Expiring', value: expiriesLine(partner) },
  ];
  const results = run?.results ?? [];
  const issues = results.filter((r) => r.status === 'fail' || r.status === 'warn' || r.status === 'unknown').map((r) => ({
    // The status in words beside its mark; only a failure is coloured (yellow text is hard to read on white).
    line: `${STATUS_WORDS[r.status].mark} ${statusWord(r)} · **${inert(r.title)}**: ${inert(r.evidence)}`,
    color: r.status === 'fail' ? 'Attention' as const : 'Default' as const,
  }));
  return {
    title: `Support case: ${inert(company)}`,
    statusText,
    // Open is news for the team, not an error: accent, not red.
    statusColor: c.status === 'open' ? 'Accent' : c.status === 'claimed' ? 'Default' : 'Good',
    ...(notice ? { notice: inert(notice) } : {}),
    facts,
    issuesTitle: run ? `Last checks (${run.kind === 'full' ? 'full run' : 'pre-flight'}, ${when(run.runAt)}): ${issues.length} to look at` : '',
    issues,
    showClaim: c.status === 'open',
    showResolve: c.status !== 'resolved',
    userIds: engineers.slice(0, MAX_REFRESH_USERS).map((id) => `8:orgid:${id}`),
  };
}

/** The last run in words: what it means for the journey, then the counts as the checks card words them. */
function checksLine(run: CheckRun): string {
  const s = summarize(run.results);
  const later = run.results.filter((r) => r.afterSignIn).length;
  const never = run.results.filter((r) => r.status === 'unknown' && r.lasting).length;
  const unseen = s.counts.unknown - later - never;
  const meaning = run.verdict === 'blocked' ? `Blocked: ${s.blockingFailures.length} blocking ${s.blockingFailures.length === 1 ? 'check fails' : 'checks fail'}`
    : run.verdict === 'incomplete' ? `Incomplete: ${s.blockingUnknown.length} blocking ${s.blockingUnknown.length === 1 ? 'check' : 'checks'} not visible yet`
      : run.verdict === 'passed' ? 'Passed: every check passes' : 'Passed: every blocking check passes';
  const counts = [
    ...(s.counts.fail ? [statusCount('fail', s.counts.fail)] : []),
    ...(s.counts.warn ? [statusCount('warn', s.counts.warn)] : []),
    ...(unseen ? [statusCount('unknown', unseen)] : []),
    ...(never ? [`${never} not visible`] : []),
    statusCount('pass', s.counts.pass),
    ...(later ? [`${later} to run after the sign-in`] : []),
  ];
  return `${meaning} (${counts.join(', ')}), ${run.kind === 'preflight' ? 'before the sign-in, ' : ''}${when(run.runAt)}`;
}

/** What ends within 60 days (as stored: no Graph call for a card), and a broken consent. */
function expiriesLine(partner: Partner): string {
  const now = new Date();
  const names = { 'app-secret': 'Entra app secret', 'pc-secret': 'Partner Center key', 'refresh-token': 'Sign-in (refresh token)', gdap: 'GDAP', consent: 'Consent' } as const;
  const items = expiringItems(partner, undefined).filter((e) => thresholdFor(daysLeft(e.expiresAt, now)) !== undefined)
    .map((e) => {
      const left = daysLeft(e.expiresAt, now);
      return `${names[e.item]} ${left <= 0 ? 'expired' : 'ends'} ${e.expiresAt.toISOString().slice(0, 10)}${left > 0 ? ` (in ${left} ${left === 1 ? 'day' : 'days'})` : ''}`;
    });
  if (partner.consent.brokenAt) items.unshift(`Consent broken since ${partner.consent.brokenAt.toISOString().slice(0, 10)}`);
  return items.length ? items.join('; ') : 'nothing within 60 days';
}
