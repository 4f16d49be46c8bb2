/** Card action verbs: the templates receive them as data and the handlers route on them, so the two cannot drift. */
export const Verbs = {
  help: 'help',
  start: 'onboarding.start',
  companySubmit: 'company.submit',
  contactSubmit: 'contact.submit',
  contactSkip: 'contact.skip',
  reviewEdit: 'review.edit',
  reviewConfirm: 'review.confirm',
  verifyCode: 'email.verify',
  verifyResend: 'email.resend',
  memberAdd: 'member.add',
  memberIgnore: 'member.ignore',
  confirmYes: 'confirm.yes',
  confirmNo: 'confirm.no',
  handoverSubmit: 'owner.handover',
  handoverCancel: 'owner.handover.cancel',
  prepSave: 'prep.save',
  prepDone: 'prep.done',
  setupAccount: 'setup.account',
  setupManual: 'setup.manual',
  setupRetry: 'setup.retry',
  setupRotate: 'setup.rotate',
  setupRepair: 'setup.repair',
  entraSubmit: 'credentials.entra',
  pcSubmit: 'credentials.partnerCenter',
  signInNewLink: 'signin.newLink',
  checksRerun: 'checks.rerun',
  checksLater: 'checks.later',
  supportAsk: 'support.ask',
  syncCancel: 'sync.cancel',
  credentialsUpdate: 'credentials.update',
  // Action.Execute (invokes) on the customer cards; all start with "customer.": the bot routes invokes by that prefix.
  customerOpen: 'customer.open',
  customerRecheck: 'customer.recheck',
  customersPage: 'customer.list.page',
} as const;

export type Verb = (typeof Verbs)[keyof typeof Verbs];

const ALL_VERBS: ReadonlySet<string> = new Set(Object.values(Verbs));

export function isVerb(value: unknown): value is Verb {
  return typeof value === 'string' && ALL_VERBS.has(value);
}
