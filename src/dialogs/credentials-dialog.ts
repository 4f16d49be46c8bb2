import type { Attachment } from 'botbuilder';
import { Dialog, type DialogContext, type DialogTurnResult } from 'botbuilder-dialogs';
import type { z } from 'zod';
import { renderChecksCard, renderEntraAppForm, renderPartnerCenterForm, renderSectionSummary, type CredentialFormData, type Fact } from '../cards/render';
import { Verbs, type Verb } from '../cards/verbs';
import type { Preflight } from '../credentials/credential-service';
import { PC_KEY_SHORT_DAYS } from '../checks/rules/secrets';
import { entraAppSchema, ENTRA_FIELDS, maskSecret, partnerCenterAppSchema, PC_FIELDS } from '../domain/credentials';
import { fieldErrors } from '../domain/forms';
import type { Partner } from '../domain/partner';
import { stepLabel } from '../domain/steps';
import { Messages } from '../onboarding/messages';
import type { PartnerRecord } from '../store/partners';
import { replaceCard } from '../teams/card-activity';
import type { Submission } from '../teams/submission';
import type { Turn } from '../teams/turn';
import { checksCardData } from '../verification/check-runner';
import { CardStepDialog, type CardStepState, type Opening } from './card-step-dialog';
import type { OnboardingServices } from './onboarding-services';

export type CredentialStep = 'entraApp' | 'partnerCenterApp';

export const CREDENTIAL_DIALOG_OF: Record<CredentialStep, string> = { entraApp: 'entraAppForm', partnerCenterApp: 'partnerCenterAppForm' };

const SECRET_FIELDS = new Set(['appSecret', 'pcSecret']);

/** What a re-shown card may echo: the non-secret fields, as strings. */
function echo(fields: Record<string, unknown>, keys: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of keys) {
    const v = fields[k];
    if (!SECRET_FIELDS.has(k) && (typeof v === 'string' || typeof v === 'number')) out[k] = String(v).slice(0, 300);
  }
  return out;
}

/** What each card shows prefilled: the ids entered before, never a secret. */
function currentValues(step: CredentialStep, partner: Partner | undefined): Record<string, string> {
  const c = partner?.connection;
  if (!c) return {};
  return step === 'entraApp'
    ? { tenant: c.partnerTenantId, serviceAccount: c.serviceAccountUpn, appId: c.appId }
    : { pcAppId: c.pcAppId ?? '', pcSecretExpires: partner?.credentials.pcSecret?.expiresAt?.slice(0, 10) ?? '' };
}

interface Spec {
  verb: Verb;
  fields: readonly string[];
  render(data: CredentialFormData): Attachment;
  secretStored(partner: Partner | undefined): boolean;
}

const SPECS: Record<CredentialStep, Spec> = {
  entraApp: { verb: Verbs.entraSubmit, fields: ENTRA_FIELDS, render: renderEntraAppForm, secretStored: (p) => !!p?.credentials.appSecret },
  partnerCenterApp: { verb: Verbs.pcSubmit, fields: PC_FIELDS, render: renderPartnerCenterForm, secretStored: (p) => !!p?.credentials.pcSecret },
};

/** Runs `then` with the parsed card, or hands back why the card is invalid. */
async function parsedThen<I, O>(parsed: z.ZodSafeParseResult<I>, then: (input: I) => Promise<O>): Promise<O | { invalid: z.ZodError }> {
  return parsed.success ? then(parsed.data) : { invalid: parsed.error };
}

/** The pre-flight's news about admin consent, in one line. */
function preflightMessage(preflight: Preflight): string {
  if (preflight.missingRoles.length === 0) return Messages.adminConsentDetected;
  if (preflight.roles.length === 0) return Messages.adminConsentPending;
  return Messages.adminConsentPartial(preflight.missingRoles);
}

function entraSummary(record: PartnerRecord): Fact[] {
  const c = record.connection!;
  const secret = record.credentials.appSecret;
  return [
    { label: 'Partner tenant', value: c.partnerTenantName ? `${c.partnerTenantName} (${c.partnerTenantId})` : c.partnerTenantId },
    { label: 'Service account', value: c.serviceAccountUpn },
    { label: 'App (client) ID', value: c.appId },
    { label: 'Client secret', value: secret ? `${maskSecret(secret.hint)}${secret.expiresAt ? ` · expires ${secret.expiresAt.slice(0, 10)}` : ''}` : '—' },
  ];
}

function pcSummary(record: PartnerRecord): Fact[] {
  const secret = record.credentials.pcSecret;
  return [
    { label: 'Web app ID', value: record.connection?.pcAppId ?? '—' },
    { label: 'Web app key', value: secret ? maskSecret(secret.hint) : '—' },
    { label: 'Key expires', value: secret?.expiresAt?.slice(0, 10) ?? '—' },
  ];
}

/**
 * Journey step 6: the credential cards (tenant + Entra app, then the Partner Center web app). A
 * submit is checked in full before anything is kept — format, tenant, the account's domain, and the
 * secret with Microsoft (pre-flight) — then the secret goes to the secret store and the card is
 * replaced by a masked summary at once. Secrets never go back into a card or a message.
 */
export class CredentialsDialog extends CardStepDialog {
  private readonly spec: Spec;

  /** `label`: the card's heading instead of the journey's "Step n of N" (a rotation after onboarding is not a journey step). */
  constructor(private readonly credentialStep: CredentialStep, services: OnboardingServices, private readonly label?: string) {
    super(CREDENTIAL_DIALOG_OF[credentialStep], credentialStep, services);
    this.spec = SPECS[credentialStep];
  }

  private card(cardId: string, partner: Partner | PartnerRecord | undefined, values: Record<string, string>, errors?: Record<string, string>, formError?: string): Attachment {
    return this.spec.render({
      cardId, stepLabel: this.label ?? stepLabel(this.credentialStep), values, errors, formError,
      secretStored: this.spec.secretStored(partner as Partner | undefined),
    });
  }

  protected async open(turn: Turn, cardId: string): Promise<Opening<CardStepState>> {
    return { card: this.card(cardId, turn.partner, currentValues(this.credentialStep, turn.partner)) };
  }

  protected async submit(dc: DialogContext, turn: Turn, submission: Submission, state: CardStepState): Promise<DialogTurnResult> {
    const { context } = dc;
    if (submission.verb !== this.spec.verb) {
      await context.sendActivity(Messages.wrongSection);
      return Dialog.EndOfTurn;
    }
    const partner = turn.partner;
    if (!partner) return dc.endDialog({ incomplete: true });
    const tenantId = turn.requireTenant();
    const actor = turn.person.aadObjectId;
    const values = echo(submission.fields, this.spec.fields);
    const notes = new Set<string>();
    const stored = this.spec.secretStored(partner);
    const retry = async (): Promise<void> => { await context.sendActivity(Messages.secretRetrying); };
    // Each card's own schema, then its own save: the format first, Microsoft only for a well-formed card.
    const outcome = this.credentialStep === 'entraApp'
      ? await parsedThen(entraAppSchema(stored, notes).safeParse(submission.fields),
        (input) => this.services.credentials.saveEntraApp(tenantId, partner, input, actor, state.cardId, retry))
      : await parsedThen(partnerCenterAppSchema(stored, notes).safeParse(submission.fields),
        (input) => this.services.credentials.savePartnerCenterApp(tenantId, partner, input, actor, state.cardId));
    if ('invalid' in outcome) {
      const unexpected = outcome.invalid.issues.flatMap((i) => (i.code === 'unrecognized_keys' ? i.keys : []));
      const errors = fieldErrors(outcome.invalid);
      const formError = unexpected.length > 0 ? Messages.unexpectedFields(unexpected) : undefined;
      return this.again(dc, submission, state, this.card(state.cardId, partner, values, errors, formError), formError ?? Messages.fixFields(Object.keys(errors).length));
    }
    if (!outcome.ok) {
      if ('alreadySaved' in outcome) return this.alreadySaved(context);
      const errors = { [outcome.field]: outcome.message };
      return this.again(dc, submission, state, this.card(state.cardId, partner, values, errors), Messages.notSaved(outcome.message));
    }
    turn.refresh(outcome.record);
    const summary = this.credentialStep === 'entraApp'
      ? renderSectionSummary({ title: 'Tenant and Entra app saved', facts: entraSummary(outcome.record), note: 'The secret is in the encrypted vault; only its first 3 characters are shown, as in the Azure portal.' })
      : renderSectionSummary({ title: 'Partner Center web app saved', facts: pcSummary(outcome.record) });
    // The summary replaces the card at once; what the checks said comes before the next step's card.
    await replaceCard(context, this.cardMessage(submission, state), summary);
    if (notes.size > 0) await context.sendActivity(Messages.trimmed([...notes]));
    if (outcome.preflight) await context.sendActivity(preflightMessage(outcome.preflight));
    else {
      const expiresAt = outcome.record.credentials.pcSecret?.expiresAt;
      await context.sendActivity(Messages.pcSaved(expiresAt?.slice(0, 10) ?? '—'));
      // The guide asks for a key valid 2 years; one entered with under a year is said once, here (the checks warn too).
      const days = expiresAt ? Math.ceil((Date.parse(expiresAt) - Date.now()) / 86_400_000) : Number.NaN;
      if (days < PC_KEY_SHORT_DAYS) await context.sendActivity(Messages.pcKeyShort(Math.max(0, Math.floor(days / 30.44))));
      // Both apps are in: what the partner's app can already see, before the sign-in.
      const run = await this.services.checks.preflight(outcome.record, actor);
      await context.sendActivity({ attachments: [renderChecksCard(checksCardData(run))] });
    }
    return dc.endDialog({ saved: true });
  }
}
