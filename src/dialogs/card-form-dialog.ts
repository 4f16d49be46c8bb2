import { randomUUID } from 'node:crypto';
import { Dialog, type DialogContext, type DialogTurnResult } from 'botbuilder-dialogs';
import type { z } from 'zod';
import {
  companyFacts, contactFacts, renderCompanyForm, renderContactForm, renderSectionSummary, type Fact, type FormCardData,
} from '../cards/render';
import { Verbs, type Verb } from '../cards/verbs';
import { CompanySchema, contactSchema, fieldErrors, type Company, type Contact } from '../onboarding/forms';
import { Messages } from '../onboarding/messages';
import type { Partner, Section } from '../store/partners';
import type { Attachment } from 'botbuilder';
import { replaceCard, sendCard, submissionFor } from './cards';
import { personOf, requireTenant, stepLabel, type OnboardingServices, type StepName } from './services';

export const COMPANY_FORM_DIALOG = 'companyForm';
export const PRIMARY_CONTACT_FORM_DIALOG = 'primaryContactForm';
export const SECONDARY_CONTACT_FORM_DIALOG = 'secondaryContactForm';

export const FORM_DIALOG_OF: Record<Section, string> = {
  company: COMPANY_FORM_DIALOG,
  primaryContact: PRIMARY_CONTACT_FORM_DIALOG,
  secondaryContact: SECONDARY_CONTACT_FORM_DIALOG,
};

interface FormSpec<T> {
  section: Section;
  step: StepName;
  submitVerb: Verb;
  canSkip: boolean;
  schema(partner: Partner | undefined): z.ZodType<T, Record<string, unknown>>;
  render(data: FormCardData): Attachment;
  summary(value: T): { title: string; facts: Fact[] };
  current(partner: Partner | undefined): T | undefined;
}

const SPECS: Record<Section, FormSpec<Company> | FormSpec<Contact>> = {
  company: {
    section: 'company', step: 'Company details', submitVerb: Verbs.companySubmit, canSkip: false,
    schema: () => CompanySchema,
    render: renderCompanyForm,
    summary: (c: Company) => ({ title: 'Company details saved', facts: companyFacts(c) }),
    current: (p) => p?.company,
  } satisfies FormSpec<Company>,
  primaryContact: {
    section: 'primaryContact', step: 'Primary contact', submitVerb: Verbs.contactSubmit, canSkip: false,
    schema: (p) => contactSchema(p?.company?.country),
    render: (d) => renderContactForm({ ...d, section: 'primaryContact' }),
    summary: (c: Contact) => ({ title: 'Primary contact saved', facts: contactFacts(c) }),
    current: (p) => p?.primaryContact,
  } satisfies FormSpec<Contact>,
  secondaryContact: {
    section: 'secondaryContact', step: 'Secondary contact', submitVerb: Verbs.contactSubmit, canSkip: true,
    schema: (p) => contactSchema(p?.company?.country),
    render: (d) => renderContactForm({ ...d, section: 'secondaryContact' }),
    summary: (c: Contact) => ({ title: 'Secondary contact saved', facts: contactFacts(c) }),
    current: (p) => p?.secondaryContact,
  } satisfies FormSpec<Contact>,
};

interface FormState {
  cardId: string;
  activityId?: string;
}

/** Values as they go back into the card's inputs: strings only, whatever the client sent. */
function echoValues(fields: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(fields)) if (typeof v === 'string' || typeof v === 'number') out[k] = String(v).slice(0, 300);
  return out;
}

/**
 * One form card (company, primary or secondary contact): shows it, waits for a valid submit,
 * saves it, and replaces the card with a read-only summary. An invalid submit re-renders the same
 * card in place with the values kept and a message under each bad field; nothing is saved.
 */
export class CardFormDialog extends Dialog {
  private readonly spec: FormSpec<Company> | FormSpec<Contact>;

  constructor(section: Section, private readonly services: OnboardingServices) {
    super(FORM_DIALOG_OF[section]);
    this.spec = SPECS[section];
  }

  override async beginDialog(dc: DialogContext): Promise<DialogTurnResult> {
    const partner = await this.services.partners.get(requireTenant(dc.context));
    const current = (this.spec.current as (p: Partner | undefined) => object | undefined)(partner);
    const cardId = randomUUID();
    const activityId = await sendCard(dc.context, this.spec.render({ cardId, stepLabel: stepLabel(this.spec.step), values: current as Record<string, unknown> | undefined }));
    const state: FormState = { cardId, activityId };
    dc.activeDialog!.state = state;
    return Dialog.EndOfTurn;
  }

  override async continueDialog(dc: DialogContext): Promise<DialogTurnResult> {
    const { context } = dc;
    const state = dc.activeDialog!.state as FormState;
    const tenantId = requireTenant(context);
    const submission = await submissionFor(context, this.services.partners, tenantId, state.cardId, Messages.hint(this.spec.step));
    if (!submission || submission === 'text') return Dialog.EndOfTurn;
    const actor = personOf(context).aadObjectId;
    const activityId = submission.replyToId ?? state.activityId;
    const sectionMatches = submission.section === undefined || submission.section === this.spec.section;

    if (submission.verb === Verbs.contactSkip && this.spec.canSkip && sectionMatches) {
      if ((await this.services.partners.skipSecondary(tenantId, actor, state.cardId)) === 'already-saved') {
        await context.sendActivity(Messages.alreadySaved);
        return Dialog.EndOfTurn;
      }
      await replaceCard(context, activityId, renderSectionSummary({ title: 'No secondary contact', facts: [], note: 'You can add one later from the review.' }));
      return dc.endDialog();
    }
    if (submission.verb !== this.spec.submitVerb || !sectionMatches) {
      await context.sendActivity(Messages.wrongSection);
      return Dialog.EndOfTurn;
    }

    const partner = await this.services.partners.get(tenantId);
    const result = (this.spec.schema as (p: Partner | undefined) => z.ZodType<object, Record<string, unknown>>)(partner).safeParse(submission.fields);
    if (!result.success) {
      const unexpected = result.error.issues.flatMap((i) => (i.code === 'unrecognized_keys' ? i.keys : []));
      const errors = fieldErrors(result.error);
      const formError = unexpected.length > 0 ? Messages.unexpectedFields(unexpected) : undefined;
      await replaceCard(context, activityId, this.spec.render({
        cardId: state.cardId, stepLabel: stepLabel(this.spec.step), values: echoValues(submission.fields), errors, formError,
      }));
      await context.sendActivity(formError ?? Messages.fixFields(Object.keys(errors).length));
      return Dialog.EndOfTurn;
    }
    const value = result.data as Company & Contact;
    if ((await this.services.partners.saveSection(tenantId, this.spec.section, value, actor, state.cardId)) === 'already-saved') {
      await context.sendActivity(Messages.alreadySaved);
      return Dialog.EndOfTurn;
    }
    await replaceCard(context, activityId, renderSectionSummary((this.spec.summary as (v: object) => { title: string; facts: Fact[] })(value)));
    return dc.endDialog(value);
  }
}
