import { z } from 'zod';
import { looksLikeSecretId } from '../microsoft/sign-in-errors';

/**
 * What the credential cards accept (journey step 6). The seeds' worst tickets start here: secrets
 * pasted with spaces, the secret's ID pasted instead of its value, the customer's tenant instead
 * of the partner's. Values are trimmed (and the person told), format-checked, and a GUID in a
 * secret field is refused with the reason.
 */

export const ENTRA_FIELDS = ['tenant', 'serviceAccount', 'appId', 'appSecret'] as const;
export const PC_FIELDS = ['pcAppId', 'pcSecret', 'pcSecretExpires'] as const;

export const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DOMAIN = /^(?=.{4,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const UPN = /^[a-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63})$/;

export const SECRET_MIN = 16;
export const SECRET_MAX = 64;

export const CredentialMessages = {
  secretIsId: "That looks like the secret's ID, not its value. In Certificates & secrets, copy the **Value** column (shown only right after you create the secret).",
  secretWhitespace: "A secret never contains spaces or line breaks: this looks like more than the secret was copied. Paste only the value.",
  secretLength: `A secret is ${SECRET_MIN} to ${SECRET_MAX} characters long; this one isn't. Copy the whole value again.`,
  secretMissing: 'Paste the secret value',
} as const;

/** Whitespace removed from the ends of a value, with a note of which fields had some. */
function trimmedField(label: string, notes: Set<string>) {
  return z.preprocess((v) => (v === undefined || v === null ? '' : v), z.string({ error: `${label} must be text` }))
    .transform((v) => {
      const t = v.trim();
      if (t !== v && t !== '') notes.add(label);
      return t;
    });
}

function guidField(label: string, notes: Set<string>) {
  return trimmedField(label, notes)
    .refine((v) => v !== '', `Enter the ${label}`)
    .refine((v) => v === '' || GUID.test(v), `The ${label} is a GUID like 00000000-0000-0000-0000-000000000000`)
    .transform((v) => v.toLowerCase());
}

/** A secret value: empty means "keep the stored one" when `optional`. */
function secretField(label: string, notes: Set<string>, optional: boolean) {
  return trimmedField(label, notes)
    .superRefine((v, ctx) => {
      if (v === '') {
        if (!optional) ctx.addIssue({ code: 'custom', message: CredentialMessages.secretMissing });
        return;
      }
      if (looksLikeSecretId(v)) ctx.addIssue({ code: 'custom', message: CredentialMessages.secretIsId });
      else if (/\s/.test(v)) ctx.addIssue({ code: 'custom', message: CredentialMessages.secretWhitespace });
      else if (v.length < SECRET_MIN || v.length > SECRET_MAX) ctx.addIssue({ code: 'custom', message: CredentialMessages.secretLength });
    })
    .transform((v) => (v === '' ? undefined : v));
}

export type TenantInput = { kind: 'id'; tenantId: string } | { kind: 'domain'; domain: string };

export interface EntraAppInput {
  tenant: TenantInput;
  serviceAccount: string;
  /** The domain part of the service account, to resolve against the tenant. */
  serviceAccountDomain: string;
  appId: string;
  /** Undefined: keep the stored secret. */
  appSecret?: string;
}

export function entraAppSchema(secretStored: boolean, notes: Set<string>) {
  return z.strictObject({
    tenant: trimmedField('Partner tenant', notes)
      .transform((v) => v.toLowerCase().replace(/^https?:\/\//, '').replace(/\/.*$/, ''))
      .superRefine((v, ctx) => {
        if (v === '') ctx.addIssue({ code: 'custom', message: 'Enter your partner tenant ID or one of its domains' });
        else if (!GUID.test(v) && !DOMAIN.test(v)) ctx.addIssue({ code: 'custom', message: 'Enter a tenant ID (a GUID) or a domain like contoso.onmicrosoft.com' });
      })
      .transform((v): TenantInput => (GUID.test(v) ? { kind: 'id', tenantId: v } : { kind: 'domain', domain: v })),
    serviceAccount: trimmedField('Service account', notes)
      .transform((v) => v.toLowerCase())
      .refine((v) => v !== '', 'Enter the service account’s sign-in name')
      .refine((v) => v === '' || UPN.test(v), 'Enter a sign-in name like onboarding@contoso.onmicrosoft.com'),
    appId: guidField('Application (client) ID', notes),
    appSecret: secretField('Client secret', notes, secretStored),
  }).transform((v): EntraAppInput => ({
    tenant: v.tenant,
    serviceAccount: v.serviceAccount,
    serviceAccountDomain: UPN.exec(v.serviceAccount)?.[1] ?? '',
    appId: v.appId,
    appSecret: v.appSecret,
  }));
}

export interface PartnerCenterAppInput {
  pcAppId: string;
  pcSecret?: string;
  /** YYYY-MM-DD. */
  pcSecretExpires: string;
}

export function partnerCenterAppSchema(secretStored: boolean, notes: Set<string>, today: Date = new Date()) {
  const todayIso = today.toISOString().slice(0, 10);
  const latest = new Date(today.getTime() + 10 * 366 * 86_400_000).toISOString().slice(0, 10);
  return z.strictObject({
    pcAppId: guidField('Web app ID', notes),
    pcSecret: secretField('Web app key', notes, secretStored),
    // Teams' date picker sends YYYY-MM-DD; a client without one lets the partner type: YYYY-MM-DD
    // is accepted (single-digit month or day too), anything else is named, never guessed (06/07 is two dates).
    pcSecretExpires: trimmedField('Expiry date', notes)
      .transform((v) => v.replace(/^(\d{4})-(\d{1,2})-(\d{1,2})$/, (_m, y: string, mo: string, d: string) => `${y}-${mo.padStart(2, '0')}-${d.padStart(2, '0')}`))
      .superRefine((v, ctx) => {
        if (v === '') return void ctx.addIssue({ code: 'custom', message: 'Enter the date the key expires (shown next to it in App management), as YYYY-MM-DD' });
        if (!/^\d{4}-\d{2}-\d{2}$/.test(v)) return void ctx.addIssue({ code: 'custom', message: 'Enter the date as YYYY-MM-DD (year, month, day), for example 2027-06-30' });
        const valid = !Number.isNaN(Date.parse(`${v}T00:00:00Z`)) && new Date(`${v}T00:00:00Z`).toISOString().slice(0, 10) === v;
        if (!valid) return void ctx.addIssue({ code: 'custom', message: `There is no ${v}: enter a real date as YYYY-MM-DD, for example 2027-06-30` });
        if (v <= todayIso) return void ctx.addIssue({ code: 'custom', message: 'That date has passed, so the key has expired. Add a new key in App management and paste it here.' });
        if (v > latest) ctx.addIssue({ code: 'custom', message: 'That date is more than 10 years away; check it against App management.' });
      }),
  });
}

/** The first 3 characters of a secret: what Graph shows as `hint` in passwordCredentials. */
export function secretHint(secret: string): string {
  return secret.slice(0, 3);
}

/** "Qd7•••••••" — what the masked summary shows of a secret. */
export function maskSecret(hint: string): string {
  return `${hint}${'•'.repeat(8)}`;
}
