import { inert } from '../cards/inert-text';
import { statusCount } from '../cards/render';
import type { Status } from '../checks/types';

/** "1 warning and 1 not visible": what is left on a passing run, in the checks card's words. */
function advisoryWords(results: ReadonlyArray<{ status: Status; lasting?: boolean }>): string {
  const n = (pick: (r: { status: Status; lasting?: boolean }) => boolean) => results.filter(pick).length;
  const parts = [
    ...(n((r) => r.status === 'fail') ? [statusCount('fail', n((r) => r.status === 'fail'))] : []),
    ...(n((r) => r.status === 'warn') ? [statusCount('warn', n((r) => r.status === 'warn'))] : []),
    ...(n((r) => r.status === 'unknown' && !r.lasting) ? [statusCount('unknown', n((r) => r.status === 'unknown' && !r.lasting))] : []),
    ...(n((r) => r.status === 'unknown' && !!r.lasting) ? [`${n((r) => r.status === 'unknown' && !!r.lasting)} not visible`] : []),
  ];
  return parts.length <= 1 ? parts.join('') : `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]}`;
}

/** When a request held back by its cooldown can be made again, in a person's words. */
export function againIn(until: Date, now = new Date()): string {
  const seconds = Math.max(1, Math.ceil((until.getTime() - now.getTime()) / 1000));
  if (seconds < 120) return `in ${seconds} ${seconds === 1 ? 'second' : 'seconds'}`;
  return `in ${Math.ceil(seconds / 60)} minutes (at ${until.toISOString().slice(11, 16)} UTC)`;
}

/** Said to a colleague who meets the owner's name on a refusal: the way forward when the owner is gone or wrong. */
const TAKE_OVER_HINT = ' If you are a Global Administrator (or Privileged Role Administrator) of this tenant, type **take over** to become the owner.';

/**
 * Everything the onboarding conversation says in plain text, in one place: tests assert these
 * exact strings, and a reviewer reads the bot's voice here. Teams renders these as markdown, so
 * every name, address or title a partner or Microsoft chose goes in through `inert()`.
 */
export const Messages = {
  alreadySaved: 'You already saved that card, so nothing changed. Carry on with the latest card.',
  staleCard: 'That card is out of date, so nothing changed. Please use the latest card.',
  noActiveCard: 'That card is no longer active. Type **start** to continue onboarding, or **help**.',
  wrongSection: "That button belongs to a different card, so nothing changed. Please use the buttons on the latest card.",
  unexpectedFields: (fields: string[]) => `This card sent ${fields.length === 1 ? 'a field' : 'fields'} I don't expect (${inert(fields.slice(0, 5).join(', '))}). Nothing was saved.`,
  notSaved: (why: string) => `Nothing was saved. ${why}`,
  fixFields: (n: number) => `Please fix the ${n === 1 ? 'field' : `${n} fields`} marked on the card. Nothing was saved yet.`,
  unknownText: "I didn't catch that. Type **start** to begin onboarding, or **help** to see what I can do.",
  hint: (step: string) => `I'm waiting for the **${step}** card above. Fill it in and select its button, or type **help** for commands.`,
  personalOnly: "Onboarding runs in a private chat with me, so it isn't available here. Select **Open a private chat** on the card.",
  notMember: (owner: string) => `Onboarding for your organization was started by ${inert(owner)}. I've asked them to add you; I'll tell you here when they do.${TAKE_OVER_HINT}`,
  notStarted: "Onboarding hasn't started for your organization yet. Type **start** to begin.",
  memberAdded: (owner: string) => `${inert(owner)} added you to your organization's onboarding. Type **start** to pick it up.`,
  memberAddedOwner: (name: string) => `Added ${inert(name)}. They can now work on onboarding with you.`,
  memberRequestIgnored: (name: string) => `OK, ${inert(name)} was not added.`,
  ownerOnly: (owner: string) => `Only ${inert(owner)}, who started onboarding for your organization, can delete its data.${TAKE_OVER_HINT}`,
  ownerOnlyAdd: (owner: string) => `Only ${inert(owner)}, who started onboarding for your organization, can add people.${TAKE_OVER_HINT}`,
  noIdentity: "I can't tell who you are from this message (Teams didn't say which work account sent it), so I can't act on it. Please message me from Microsoft Teams with your work account.",
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
  resent: (masked: string) => `I sent a new code to ${inert(masked)}. The old one no longer works.`,
  codeAlreadySent: (masked: string) => `I already sent a code to ${inert(masked)}; it still works. Enter it on the card, or select **Send a new code**.`,
  codeStale: 'The primary contact email changed after that code was sent, so it no longer works. Select **Send a new code**.',
  dailyLimit: "That's the most verification attempts I allow in a day, to protect the mailbox. Please try again tomorrow, or type **support** if you are stuck.",
  emailDenied: (masked: string) => `The person at ${inert(masked)} says they did not ask to be your primary contact, so the address is not verified and the code no longer works. Type **restart** to enter another contact, or check with them and select **Send a new code**.`,
  guestRefused: "Guests can't onboard an organization: onboarding needs an account of your organization's own tenant. Ask a colleague with a work account there to do it.",
  ownerOnlyRestart: (owner: string) => `Only ${inert(owner)}, who owns onboarding for your organization, can start it over.${TAKE_OVER_HINT}`,
  ownerOnlyHandover: (owner: string) => `Only ${inert(owner)}, who owns onboarding for your organization, can hand it over.${TAKE_OVER_HINT}`,
  handoverNoMembers: 'There is nobody to hand onboarding over to yet. When a colleague asks to join and you add them, you can hand it over to them.',
  handoverKept: 'OK, you remain the owner.',
  handoverDone: (name: string) => `Done: ${inert(name)} now owns onboarding for your organization. You stay on as a member.`,
  handoverReceived: (from: string) => `${inert(from)} handed onboarding for your organization over to you: you are now its owner.`,
  prepSaved: (done: number, total: number) => `Saved: ${done} of ${total} ticked. Come back to this card whenever you like, or select **I've done this** when you're ready.`,
  prepOpenItems: (open: number) => `${open} ${open === 1 ? 'item is' : 'items are'} not ticked: that's fine, I check every item myself once you have signed in and tell you exactly what's missing.`,
  secretRetrying: "Microsoft doesn't recognise that secret yet. A secret created in the last minute can take a moment to reach every Microsoft server, so I'll try once more in a few seconds…",
  trimmed: (labels: string[]) => `I removed spaces around the ${labels.join(' and the ')} (copy and paste often adds them).`,
  adminConsentDetected: '✓ Admin consent is already given: the app holds all four Microsoft Graph application permissions.',
  adminConsentPartial: (missing: string[]) => `The secret works. The app still lacks these Microsoft Graph application permissions: ${missing.join(', ')}. Add them on the app's **API permissions** page; I'll ask you to grant admin consent after sign-in.`,
  adminConsentPending: "✓ The secret works. The app's token carries no Microsoft Graph permissions yet: that's expected until admin consent is granted, which I'll ask for right after the service account signs in.",
  pcSaved: (expires: string) => `✓ Partner Center web app saved. I'll warn you well before its key expires on ${expires}.`,
  pcKeyShort: (months: number) => `That key ends in ${months < 1 ? 'less than a month' : `${months} ${months === 1 ? 'month' : 'months'}`}. Partner Center lets you choose **2 years** when you add a key (App management → Web app → Add key): a longer key means fewer rotations. You can add one now and enter it with **update credentials**.`,
  onboardingComplete:
    "**Onboarding is complete.** Your tenant is connected and verified and your customers are synced. From now on I sync them every night and warn you here before a secret or token expires. " +
    'Type **status** any time, **sync** for a sync now, **recheck** to run the checks.',
  syncStarting: (label: string) => `${label}: the connection is done and verified. Now your customers: I'm reading your GDAP relationships and Partner Center's customer list. The card below updates as it goes.`,
  syncAlreadyRunning: (at: string, doing: string, here: boolean) => `A customer sync is already running (started ${at} UTC, ${doing})${here ? ': its card above updates as it goes' : ''}. I'll post the summary when it ends.`,
  syncWaiting: (doing: string) => `The customer sync is running (${doing}): its card updates as it goes, and I'll post the summary here. Type **cancel sync** to stop it.`,
  syncNotRunning: 'No customer sync is running, and none has finished yet. Type **sync** to start one.',
  syncNeedsChecks: 'The customer sync starts once the checks pass: type **recheck** to run them, or **start** to carry on.',
  syncCancelling: 'Stopping the customer sync after the current page. What is synced so far stays.',
  syncNoneToCancel: 'No customer sync is running.',
  syncDone: (first: boolean) => first ? '**Your customers are in.**' : 'The customer sync is done.',
  checksRunning: (label: string) => `${label}: checking every prerequisite through Microsoft Graph and Partner Center, as your app and as the service account. This takes a few seconds.`,
  checksBlocked: (titles: string[]) =>
    `**Customer sync waits until ${titles.length === 1 ? 'this passes' : 'these pass'}:** ${inert(titles.join('; '))}. Each has its fix on the card; then select **Re-run checks** (or type **recheck**).`,
  checksIncomplete: (titles: string[]) =>
    `I couldn't see everything: ${inert(titles.join('; '))}. Nothing is marked as passed that I couldn't see. Select **Re-run checks** in a few minutes, or **Re-check in 15 minutes** and I'll post the result here.`,
  checksPassed: (advisories: ReadonlyArray<{ status: Status; lasting?: boolean }>) => advisories.length === 0
    ? '✓ Every check passes.'
    : `✓ Every blocking check passes. ${advisoryWords(advisories)} on the card: worth a look, but ${advisories.length === 1 ? 'it doesn\'t' : 'they don\'t'} hold up the customer sync.`,
  checksWaiting: 'The checks above are waiting on a fix. Make the change the card names, then select **Re-run checks** (or type **recheck**). **Re-check in 15 minutes** runs them for you later.',
  recheckScheduled: (at: string) => `OK: I'll run the checks again at ${at} UTC and post the result here (even if I restart meanwhile).`,
  recheckAlreadyScheduled: (at: string) => `A re-check is already scheduled for ${at} UTC; I'll post the result here.`,
  recheckNeedsConsent: 'A later re-check runs the full checks, which need the service account’s sign-in first. Type **start** to carry on.',
  followUpResult: (verdictLine: string) => `**Re-check done** (you asked for it 15 minutes ago). ${verdictLine}`,
  expiryReport: (lines: string[], due: number) => lines.length === 0
    ? 'Nothing I watch has an end date yet: secrets, the sign-in and GDAP relationships appear here once they are in.'
    : `**What ends** (read just now):\n\n${lines.join('\n')}${due > 0 ? `\n\n${due === 1 ? 'One warning is' : `${due} warnings are`} due now: on its way as a card.` : '\n\nNo new warning is due: I warn 60, 30, 14, 7, 3 and 1 days before each end, once each.'}`,
  recheckCooldown: (when: string) => `I ran the checks moments ago: the card above shows what they found. Microsoft takes a little while to apply a change anyway, so you can run them again ${when}.`,
  expiryCooldown: (when: string) => `I read what ends moments ago (the list above). You can ask again ${when}.`,
  supportFolded: (when: string) => `The support team already has your request, and I told them a moment ago that you asked again. You can nudge them once more ${when}.`,
  supportNoChannel: 'The support team has not picked its channel yet, so I can\'t pass your request on from here. Meanwhile **status** shows your last checks, and each failing check names its fix.',
  supportOpened: '✓ **Your request is with the support team.** They see your company, your step, your last checks and sync (never a secret). You\'ll hear here when an engineer takes it.',
  supportReopened: '✓ **Your support case is open again.** The support team sees your latest checks and sync. You\'ll hear here when an engineer takes it.',
  supportUpdated: '✓ The support team already has your case; I\'ve told them you asked again and updated what they see.',
  supportNotPosted: 'I couldn\'t reach the support channel just now, so your request is saved but not shown to the team yet. Please type **support** again in a few minutes.',
  supportClaimed: (engineer: string) => `**${inert(engineer)} from the support team took your case.** They'll get back to you here or by email.`,
  supportResolved: (engineer: string) => `**${inert(engineer)} marked your support case resolved.** If something is still wrong, type **support** to reopen it.`,
  supportRerun: (engineer: string) => `${inert(engineer)} from the support team ran your checks again: the checklist above shows the result.`,
  supportChannelSet: (channel: string) => `✓ **${inert(channel)} is now the support channel.** Each partner who asks for support gets one thread here with a status card; engineers can Claim, Re-run checks and Resolve from it.`,
  supportChannelOnlyInChannel: 'Type **set support channel** in the team channel where escalations should land, and @mention me there.',
  supportChannelRefused: 'Only the support engineers configured by the operator (SUPPORT_ENGINEERS) can choose the support channel. Nothing was changed.',
  supportActionRefused: 'Only the support engineers can act on support cases, and only from the case\'s thread in the support channel. Nothing was changed.',
  supportNoCaseHere: 'This thread has no support case any more (the partner may have deleted their data). Nothing was changed.',
  supportChannelHint: 'In this channel I only take **set support channel** (from a support engineer). Partners talk to me in personal chat.',
  credentialsUpdated: '✓ Credentials updated. Any new secret replaced the old one in the vault; the old value is gone.',
  noCredentialsYet: "There are no credentials to update yet: they're entered during onboarding. Type **start** to continue.",
  ownerOnlyCredentials: (owner: string) => `Only ${inert(owner)}, who owns onboarding for your organization, can change its credentials.${TAKE_OVER_HINT}`,
  ownerOnlyConsent: (owner: string) => `${inert(owner)}, who owns onboarding for your organization, connects the tenant: the sign-in links are made for them. Ask them to type **start**.${TAKE_OVER_HINT}`,
  checksNeedCredentials: "The checks run once your tenant and app credentials are in. Type **start** to carry on.",
  rechecked: (failed: number, warned: number) => failed + warned === 0
    ? 'Checked again: nothing failing among what I can see.'
    : `Checked again: ${failed} failing, ${warned} with a warning. Each has its fix on the card.`,
  newLink: 'Here is a fresh link; the one before no longer works.',
  /** Why a card payload was refused (teams/submission.ts gives the reason, this says it). */
  submission: {
    not_a_submission: "I couldn't read that card submission. Please use the buttons on the latest card.",
    too_large: 'That card sent more data than I accept. Nothing was saved; please fill in the latest card again.',
    unknown_verb: "That button isn't one I know. Nothing was saved.",
    bad_card_id: "That card doesn't say which card it is, so I can't use it. Nothing was saved.",
  },
} as const;
