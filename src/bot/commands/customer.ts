import { CardFactory, type AdaptiveCardInvokeResponse, type AdaptiveCardInvokeValue, type Attachment, type MessagingExtensionQuery, type MessagingExtensionResponse, type TurnContext } from 'botbuilder';
import { renderCustomerCard, renderCustomerListCard } from '../../cards/render';
import { Verbs } from '../../cards/verbs';
import { isMember, type Partner } from '../../domain/partner';
import { inert } from '../../cards/inert-text';
import type { CustomerRecord, CustomerRepository } from '../../store/customers';
import type { CustomerRecheck } from '../../sync/customer-recheck';
import type { Turn } from '../../teams/turn';
import type { Membership } from '../membership';
import { commandText, type Command, type Route } from '../routes';
import { customerCardData, overviewData, PAGE_SIZE, pickListData, VERDICT_SHORT } from './customer-words';

/** What the customer commands read and do: the synced customers, and one customer's GDAP read again. */
export interface CustomerLookup {
  customers: Pick<CustomerRepository, 'find' | 'get' | 'countsByVerdict' | 'unmanageable'>;
  recheck: Pick<CustomerRecheck, 'recheck'>;
}

/** A pick list shows this many matches. */
const PICK = 6;

export const CustomerWords = {
  usage: 'Type **customer** and part of a customer\'s name or domain, for example **customer contoso**.',
  noneSynced: 'No customers are synced yet: type **sync** to read them from Partner Center.',
  noMatch: (text: string) => `No customer's name or domain contains “${inert(text)}”. Type **customers** to see those that cannot be managed.`,
  gone: 'That customer is no longer in your synced customers.',
  microsoftDown: 'Microsoft did not answer just now: this is what was read before. Try **Check again** in a minute.',
  checked: 'Read again from Microsoft just now.',
  opened: 'The customer\'s card is below.',
  unknownAction: 'This card action is not one I know.',
  notYours: 'Only members of this partner\'s onboarding can see its customers.',
} as const;

/** Invoke verbs of the customer cards (Action.Execute). */
export function isCustomerVerb(verb: unknown): boolean {
  return typeof verb === 'string' && verb.startsWith('customer.');
}

export function customerCard(c: CustomerRecord, notice?: string): Attachment {
  return renderCustomerCard(customerCardData(c, notice));
}

/** The first page of `customers`, or page `page`. */
async function overviewCard(lookup: CustomerLookup, tenantId: string, page: number): Promise<Attachment> {
  const counts = await lookup.customers.countsByVerdict(tenantId);
  const unmanageable = Object.entries(counts).reduce((n, [v, k]) => (v === 'manageable' ? n : n + k), 0);
  const last = Math.max(0, Math.ceil(unmanageable / PAGE_SIZE) - 1);
  const at = Math.min(Math.max(0, page), last);
  return renderCustomerListCard(overviewData(counts, at, await lookup.customers.unmanageable(tenantId, at * PAGE_SIZE, PAGE_SIZE)));
}

/** `customer <name or domain>`: one match answers with its card, several with a list to pick from. */
export function customerRoute(membership: Membership, lookup: CustomerLookup): Route {
  const selects = (text: string) => text === 'customer' || text.startsWith('customer ');
  return {
    select: (_turn, activity) => activity.type === 'message' && selects(commandText(activity)),
    handle: async (context, turn) => {
      const access = await membership.started(context, turn);
      if (!access) return;
      const text = commandText(context.activity).slice('customer'.length).trim();
      if (!text) {
        await context.sendActivity(CustomerWords.usage);
        return;
      }
      const found = await lookup.customers.find(access.tenantId, text, PICK + 1);
      if (found.length === 0) {
        const counts = await lookup.customers.countsByVerdict(access.tenantId);
        await context.sendActivity(Object.values(counts).some((n) => n > 0) ? CustomerWords.noMatch(text) : CustomerWords.noneSynced);
        return;
      }
      if (found.length === 1) {
        await context.sendActivity({ attachments: [customerCard(found[0]!)] });
        return;
      }
      await context.sendActivity({ attachments: [renderCustomerListCard(pickListData(text, found.slice(0, PICK), found.length > PICK))] });
    },
  };
}

/**
 * A card the person sent into the chat, such as a customer's from Find a customer: Teams (and the
 * Agents Playground) post it as a message with the card attached and only the inline card's markup
 * for text. It is shared for the chat to read, not a command: no answer, and the onboarding step
 * waiting for a card of ours is not told about it.
 */
export function sharedCardRoute(): Route {
  return {
    select: (_turn, activity) => activity.type === 'message' && activity.value === undefined
      && (activity.attachments ?? []).some((a) => a.contentType === 'application/vnd.microsoft.card.adaptive')
      && commandText(activity).replace(/<[^>]*>/g, '').trim() === '',
    handle: async () => undefined,
  };
}

/** `customers`: counts by verdict and the unmanageable, worst first, a page at a time. */
export function customersCommand(membership: Membership, lookup: CustomerLookup): Command {
  return {
    name: 'customers', aliases: ['my customers', 'unmanageable customers'],
    description: 'Which customers cannot be managed, and why (**customer** and a name or domain for one)',
    handle: async (context, turn) => {
      const access = await membership.started(context, turn);
      if (!access) return;
      await context.sendActivity({ attachments: [await overviewCard(lookup, access.tenantId, 0)] });
    },
  };
}

const cardAnswer = (card: Attachment): AdaptiveCardInvokeResponse => ({ statusCode: 200, type: 'application/vnd.microsoft.card.adaptive', value: card.content as never });
// Teams shows a message answer to the clicker and keeps the card as it is.
const messageAnswer = (text: string): AdaptiveCardInvokeResponse => ({ statusCode: 200, type: 'application/vnd.microsoft.activity.message', value: text as never });

/**
 * The customer cards' `Action.Execute` invokes: open a customer from a list (its card is posted
 * below, the list stays), Check again and the list's pages (the card is answered in place, and the
 * posted message updated so the chat shows it when opened again). Members only.
 */
export async function customerInvoke(context: TurnContext, turn: Turn, value: AdaptiveCardInvokeValue, membership: Membership, lookup: CustomerLookup): Promise<AdaptiveCardInvokeResponse> {
  const verb = value?.action?.verb;
  const data = (value?.action?.data ?? {}) as Record<string, unknown>;
  const access = await membership.access(context, turn, false);
  if (!access?.partner) return messageAnswer(access ? CustomerWords.noneSynced : CustomerWords.notYours);
  const partner: Partner = access.partner;
  const replyToId = context.activity.replyToId;
  const inPlace = async (card: Attachment) => {
    if (replyToId) {
      // The posted message too: the invoke answer changes only what the clicker sees now.
      await context.updateActivity({ id: replyToId, type: 'message', attachments: [card] }).catch(() => undefined);
    }
    return cardAnswer(card);
  };
  if (verb === Verbs.customersPage) {
    const page = Number(data.page);
    return inPlace(await overviewCard(lookup, partner.tenantId, Number.isInteger(page) ? page : 0));
  }
  const customerTenantId = typeof data.customerTenantId === 'string' && /^[0-9a-f-]{36}$/i.test(data.customerTenantId) ? data.customerTenantId : undefined;
  if (!customerTenantId) return { statusCode: 400, type: 'application/vnd.microsoft.error', value: { code: 'BadRequest', message: CustomerWords.unknownAction } as never };
  if (verb === Verbs.customerOpen) {
    const customer = await lookup.customers.get(partner.tenantId, customerTenantId);
    if (!customer) return messageAnswer(CustomerWords.gone);
    await context.sendActivity({ attachments: [customerCard(customer)] });
    return messageAnswer(CustomerWords.opened);
  }
  if (verb === Verbs.customerRecheck) {
    const outcome = await lookup.recheck.recheck(partner, customerTenantId);
    if (outcome.ok) return inPlace(customerCard(outcome.customer, CustomerWords.checked));
    const before = await lookup.customers.get(partner.tenantId, customerTenantId);
    if (!before || outcome.reason === 'gone') return messageAnswer(CustomerWords.gone);
    return inPlace(customerCard(before, CustomerWords.microsoftDown));
  }
  return { statusCode: 400, type: 'application/vnd.microsoft.error', value: { code: 'BadRequest', message: CustomerWords.unknownAction } as never };
}

/** Whether the turn's person may read the partner's customers, without a word said (the message extension). */
export function readsCustomers(turn: Turn): Partner | undefined {
  const partner = turn.partner;
  return partner && turn.tenantId && partner.tenantId === turn.tenantId && turn.person.aadObjectId && isMember(partner, turn.person) ? partner : undefined;
}

/** Message extension results: at most this many (Teams lists them under the compose box). */
const SEARCH_RESULTS = 10;
const emptyResult = (): MessagingExtensionResponse => ({ composeExtension: { type: 'result', attachmentLayout: 'list', attachments: [] } });

/**
 * "Find a customer" (search message extension, `composeExtension/query`): the partner's customers
 * whose name or domain contains the text typed, each with its verdict; picking one inserts its card.
 * Only the partner's own members get results; anyone else (another tenant, a colleague not added,
 * a guest) gets an empty list and no word that the partner exists.
 * https://learn.microsoft.com/en-us/microsoftteams/platform/messaging-extensions/how-to/search-commands/respond-to-search
 */
export async function customerSearch(turn: Turn, query: MessagingExtensionQuery, lookup: CustomerLookup): Promise<MessagingExtensionResponse> {
  const partner = readsCustomers(turn);
  if (!partner) return emptyResult();
  const text = query.parameters?.find((p) => p.name === SEARCH_PARAMETER)?.value;
  if (typeof text !== 'string' || !text.trim()) return emptyResult();
  const found = await lookup.customers.find(partner.tenantId, text.slice(0, 100), SEARCH_RESULTS);
  return {
    composeExtension: {
      type: 'result', attachmentLayout: 'list',
      attachments: found.map((c) => ({
        ...customerCard(c),
        // The verdict first: a narrow list cuts the line's end (the Agents Playground's at about 30 characters).
        preview: CardFactory.thumbnailCard(inert(c.companyName || c.customerTenantId), `${VERDICT_SHORT[c.verdict]}${c.domain ? ` · ${inert(c.domain)}` : ''}`),
      })),
    },
  };
}

/** The search command's parameter (manifest/manifest.json, composeExtensions). */
export const SEARCH_PARAMETER = 'customer';
