/**
 * Everything the onboarding conversation says in plain text, in one place: tests assert these
 * exact strings, and a reviewer reads the bot's voice here.
 */
export const Messages = {
  notASubmission: "I couldn't read that card submission. Please use the buttons on the latest card.",
  tooLarge: 'That card sent more data than I accept. Nothing was saved; please fill in the latest card again.',
  unknownVerb: "That button isn't one I know. Nothing was saved.",
  missingCardId: "That card doesn't say which card it is, so I can't use it. Nothing was saved.",
  alreadySaved: 'You already saved that card, so nothing changed. Carry on with the latest card.',
  staleCard: 'That card is out of date, so nothing changed. Please use the latest card.',
  noActiveCard: 'That card is no longer active. Type **start** to continue onboarding, or **help**.',
  wrongSection: "That button belongs to a different card, so nothing changed. Please use the buttons on the latest card.",
  unexpectedFields: (fields: string[]) => `This card sent ${fields.length === 1 ? 'a field' : 'fields'} I don't expect (${fields.slice(0, 5).join(', ')}). Nothing was saved.`,
  fixFields: (n: number) => `Please fix the ${n === 1 ? 'field' : `${n} fields`} marked on the card. Nothing was saved yet.`,
  unknownText: "I didn't catch that. Type **start** to begin onboarding, or **help** to see what I can do.",
  hint: (step: string) => `I'm waiting for the **${step}** card above. Fill it in and select its button, or type **help** for commands.`,
  personalOnly: "Onboarding runs in a private chat with me, so it isn't available here. Select **Open a private chat** on the card.",
  notMember: (owner: string) => `Onboarding for your organization was started by ${owner}. Ask them to add you, then try again.`,
  ownerOnly: (owner: string) => `Only ${owner}, who started onboarding for your organization, can delete its data.`,
  noTenant: "I can't tell which organization this chat belongs to, so I can't start onboarding here.",
  resumed: 'Welcome back! Here is where we left off.',
  restartKept: "OK, I kept everything. Carrying on where you were.",
  restarted: 'Starting over: I cleared the details you entered.',
  deleteKept: "OK, I didn't delete anything.",
  deleted: "Done: I deleted your organization's onboarding data (company, contacts, credentials and where I can reach you). An audit record that it was deleted remains. Type **start** whenever you want to begin again.",
  nothingToDelete: "There's no onboarding data for your organization, so there's nothing to delete.",
  emailVerifiedByTeams: "✓ The contact email is yours: I confirmed it from your Teams sign-in, so there's no mail to check.",
  emailVerifiedByLink: '✓ The contact email is verified (the link in the mail was used).',
  codeMalformed: 'Enter the 6-digit code from the mail.',
  codeWrong: (left: number) => `That code isn't right. ${left} ${left === 1 ? 'try' : 'tries'} left before a 15-minute pause.`,
  codeLocked: (minutes: number) => `Too many wrong codes. Please wait ${minutes} ${minutes === 1 ? 'minute' : 'minutes'}, then try again or ask for a new code.`,
  codeExpired: 'That code has expired. Select **Send a new code** to get a fresh one.',
  codeUsed: 'That code was already used. Select **Send a new code** if you still need to verify.',
  resendTooSoon: (seconds: number) => `I just sent a code. You can ask for a new one in ${seconds} ${seconds === 1 ? 'second' : 'seconds'}.`,
  resent: (masked: string) => `I sent a new code to ${masked}. The old one no longer works.`,
  partOneDone:
    "That's the first part done: your company and contacts are saved and the contact email is verified. " +
    "Next comes preparing your tenant (service account, app registration, Partner Center secret). That part of the journey isn't switched on yet; I'll message you here when it is. Type **status** any time.",
} as const;
