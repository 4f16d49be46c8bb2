import type { Attachment } from 'botbuilder';
import type { DialogContext, DialogTurnResult } from 'botbuilder-dialogs';
import { Dialog } from 'botbuilder-dialogs';
import type { z } from 'zod';
import {
  companyFacts, contactFacts, renderCompanyForm, renderContactForm, renderSectionSummary, type Fact, type FormCardData,
} from '../cards/render';
import { Verbs, type Verb } from '../cards/verbs';
import { CompanySchema, contactSchema, fieldErrors, type Company, type Contact } from '../domain/forms';
import type { Partner, Section } from '../domain/partner';
import { stepLabel } from '../domain/steps';
import { Messages } from '../onboarding/messages';
import type { Submission } from '../teams/submission';
import type { Turn } from '../teams/turn';
import { CardStepDialog, type CardStepState, type Opening } from './card-step-dialog';
import type { OnboardingServices } from './onboarding-services';

export const FORM_DIALOG_OF: Record<Section, string> = {
  company: 'companyForm',
  primaryContact: 'primaryContactForm',
  secondaryContact: 'secondaryContactForm',
};

interface FormSpec<T> {
  submitVerb: Verb;
  canSkip: boolean;
  schema(partner: Partner | undefined): z.ZodType<T, Record<string, unknown>>;
  render(data: FormCardData): Attachment;
  summary(value: T): { title: string; facts: Fact[] };
  current(partner: Partner | undefined): T | undefined;
}

const SPECS: Record<Section, FormSpec<Company> | FormSpec<Contact>> = {
  company: {
    submitVerb: Verbs.companySubmit, canSkip: false,
    schema: () => CompanySchema,
    render: renderCompanyForm,
    summary: (c: Company) => ({ title: 'Company details saved', facts: companyFacts(c) }),
    current: (p) => p?.company,
  } satisfies FormSpec<Company>,
  primaryContact: {
    submitVerb: Verbs.contactSubmit, canSkip: false,
    schema: (p) => contactSchema(p?.company?.country),
    render: (d) => renderContactForm({ ...d, section: 'primaryContact' }),
    summary: (c: Contact) => ({ title: 'Primary contact saved', facts: contactFacts(c) }),
    current: (p) => p?.primaryContact,
  } satisfies FormSpec<Contact>,
  secondaryContact: {
    submitVerb: Verbs.contactSubmit, canSkip: true,
    schema: (p) => contactSchema(p?.company?.country),
    render: (d) => renderContactForm({ ...d, section: 'secondaryContact' }),
    summary: (c: Contact) => ({ title: 'Secondary contact saved', facts: contactFacts(c) }),
    current: (p) => p?.secondaryContact,
  } satisfies FormSpec<Contact>,
};

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
export class CardFormDialog extends CardStepDialog {
  private readonly spec: FormSpec<object>;

  constructor(private readonly section: Section, services: OnboardingServices) {
    super(FORM_DIALOG_OF[section], section, services);
    this.spec = SPECS[section] as unknown as FormSpec<object>;
  }

  protected async open(turn: Turn, cardId: string): Promise<Opening<CardStepState>> {
    const values = this.spec.current(turn.partner) as Record<string, unknown> | undefined;
    return { card: this.spec.render({ cardId, stepLabel: stepLabel(this.section), values }) };
  }

  protected async submit(dc: DialogContext, turn: Turn, submission: Submission, state: CardStepState): Promise<DialogTurnResult> {
    const { context } = dc;
    const tenantId = turn.requireTenant();
    const sectionMatches = submission.section === undefined || submission.section === this.section;

    if (submission.verb === Verbs.contactSkip && this.spec.canSkip && sectionMatches) {
      const saved = await this.services.partners.skipSecondary(tenantId, turn.person.aadObjectId, state.cardId);
      if (!saved) return this.alreadySaved(context);
      turn.refresh(saved);
      return this.finish(dc, submission, state, renderSectionSummary({ title: 'No secondary contact', facts: [], note: 'You can add one later from the review.' }));
    }
    if (submission.verb !== this.spec.submitVerb || !sectionMatches) {
      await context.sendActivity(Messages.wrongSection);
      return Dialog.EndOfTurn;
    }

    const result = this.spec.schema(turn.partner).safeParse(submission.fields);
    if (!result.success) {
      const unexpected = result.error.issues.flatMap((i) => (i.code === 'unrecognized_keys' ? i.keys : []));
      const errors = fieldErrors(result.error);
      const formError = unexpected.length > 0 ? Messages.unexpectedFields(unexpected) : undefined;
      const card = this.spec.render({ cardId: state.cardId, stepLabel: stepLabel(this.section), values: echoValues(submission.fields), errors, formError });
      return this.again(dc, submission, state, card, formError ?? Messages.fixFields(Object.keys(errors).length));
    }
    const value = result.data as Company & Contact;
    const saved = await this.services.partners.saveSection(tenantId, this.section, value, turn.person.aadObjectId, state.cardId);
    if (!saved) return this.alreadySaved(context);
    turn.refresh(saved);
    return this.finish(dc, submission, state, renderSectionSummary(this.spec.summary(value)), value);
  }
}
