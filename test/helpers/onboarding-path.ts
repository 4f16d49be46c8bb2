import { randomUUID } from 'node:crypto';
import { COMPANY, PRIMARY, type BotUnderTest, type Chat } from './chat';

/** One person of `tenant` in their personal chat with the bot (Megan Bowen unless named). */
export function person(bot: BotUnderTest, tenant: string, user: { email?: string; userPrincipalName?: string; name?: string; aadObjectId?: string } = {}): Chat {
  return bot.chat({ tenantId: tenant, user: { name: 'Megan Bowen', aadObjectId: randomUUID(), ...user } });
}

/** Walks a fresh partner up to `step` (0 company … 4 verify) and returns the chat. */
export async function upTo(bot: BotUnderTest, step: number, user: { email?: string; userPrincipalName?: string } = {}): Promise<{ chat: Chat; tenant: string }> {
  const tenant = randomUUID();
  const chat = person(bot, tenant, user);
  await chat.say('start', 1);
  if (step >= 1) await chat.press('Save company details', COMPANY, { count: 1 });
  if (step >= 2) await chat.press('Save contact', PRIMARY, { count: 1 });
  if (step >= 3) await chat.press('Skip: no secondary contact', {}, { count: 1 });
  if (step >= 4) await chat.press('Confirm', {}, { count: 1 });
  return { chat, tenant };
}

/** The card ids on a card: what its buttons send back. */
export function cardIdOf(card: Record<string, unknown>): string {
  return JSON.stringify(card).match(/"cardId":"([0-9a-f-]{36})"/)![1]!;
}

/**
 * Walks a fresh partner through part one (the chatting user is the primary contact, so the email
 * is verified from their Teams sign-in) to the preparation checklist, and optionally past it.
 */
export async function toPreparation(bot: BotUnderTest, options: { skipChecklist?: boolean } = {}): Promise<{ chat: Chat; tenant: string }> {
  const { chat, tenant } = await upTo(bot, 3, { userPrincipalName: PRIMARY.email });
  await chat.press('Confirm', {}, { count: 2 });
  if (options.skipChecklist) await chat.press("I've done this", {}, { count: 1 });
  return { chat, tenant };
}
