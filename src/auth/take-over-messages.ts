import { inert } from '../cards/inert-text';
import type { SignInExplanation } from '../microsoft/sign-in-errors';

/** What `take over` and its sign-in say, in chat and on the result page. Chat text is Teams markdown. */

/** The roles that let a member take onboarding over, as the Entra admin center names them. */
export const TAKE_OVER_ROLE_NAMES = 'Global Administrator or Privileged Role Administrator';

const ROLES_NEEDED = `an active **${TAKE_OVER_ROLE_NAMES}** role in your organization's Microsoft Entra tenant`;

/** A refusal of the take-over sign-in: told to the chat and shown on the page. Nothing changed. */
const refusal = (code: string, e: Omit<SignInExplanation, 'code'>): SignInExplanation => ({ code, ...e });

export const TakeOverMessages = {
  card: {
    title: 'Take over onboarding',
    text: (owner: string) =>
      `Onboarding for your organization is owned by ${inert(owner)}. To become its owner, select **Sign in** and sign in as yourself: ` +
      `I check that your account holds ${ROLES_NEEDED}. ${inert(owner)} stays on as a member and is told.`,
    note: 'The link works once, for 10 minutes, and only for you. It opens a fresh sign-in (no saved account is picked silently). Your sign-in is used once to read your roles, and kept nowhere.',
    button: 'Sign in',
  },
  alreadyOwner: 'You already own onboarding for your organization: there is nothing to take over.',
  cantVerifyYet: (owner: string) =>
    `I can't check who is an administrator of your organization yet, so I can't hand onboarding over this way. ` +
    `Ask ${inert(owner)} to type **hand over** and choose you (they can add you first), or ask the platform's operator to set up its sign-in app for administrators.`,
  /** To the new owner, after the sign-in proved the role. */
  tookOver: (previousOwner: string | undefined, role: string) =>
    `**You now own onboarding for your organization.** Your sign-in showed your active **${role}** role.` +
    (previousOwner ? ` ${inert(previousOwner)} stays on as a member.` : '') + ' Type **start** to carry on.',
  /** To the previous owner, in their own chat. */
  lostOwnership: (newOwner: string) =>
    `${inert(newOwner)}, an administrator of your organization, took over onboarding: they own it now. You stay on as a member and can keep helping.`,

  notSamePerson: refusal('takeover_other_account', {
    title: 'That was a different account',
    what: 'The account that signed in is not the one you use in Microsoft Teams, so nothing changed.',
    why: 'Only the person who typed **take over** can prove their own role: a colleague’s sign-in doesn’t count, and neither does a second account of yours.',
    fix: 'Type **take over** again and sign in with the same work account you use in Teams.',
    retry: 'now',
  }),
  notAdmin: refusal('takeover_not_admin', {
    title: 'That account isn’t an administrator here',
    what: `You signed in, but your account doesn’t hold ${ROLES_NEEDED}, so nothing changed.`,
    why: 'Taking over someone else’s onboarding needs one of those roles, active now. A role you are only eligible for in Privileged Identity Management counts once you activate it.',
    fix: `Activate your role (or ask a Global Administrator to assign it), then type **take over** again. Otherwise ask the current owner to type **hand over**.`,
    retry: 'after-fix',
  }),
  wrongTenant: refusal('takeover_wrong_tenant', {
    title: 'That account is in another organization',
    what: 'The account that signed in belongs to a different Microsoft Entra tenant than this Teams chat, so nothing changed.',
    why: 'Only an administrator of your own organization can take its onboarding over.',
    fix: 'Type **take over** again and sign in with your work account in this organization.',
    retry: 'now',
  }),
  rolesUnavailable: refusal('takeover_roles_unavailable', {
    title: 'I couldn’t read your roles just now',
    what: 'You signed in, but Microsoft Graph didn’t tell me your roles, so nothing changed.',
    why: 'Microsoft’s service was busy or briefly unavailable.',
    fix: 'Wait a minute, then type **take over** again.',
    retry: 'wait',
  }),
  stale: refusal('takeover_stale', {
    title: 'That sign-in link is out of date',
    what: 'The way administrators are verified changed since that link was made, so I ignored it and nothing changed.',
    why: 'A take-over link is made for one sign-in app; it was replaced in the meantime.',
    fix: 'Type **take over** again for a fresh link.',
    retry: 'now',
  }),
};
