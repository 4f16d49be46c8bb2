import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import { z } from 'zod';
import { COUNTRY_CODES } from './countries';

/**
 * The data each onboarding card collects, as zod schemas shared by the card (field limits) and
 * its handler (validation). Inputs are trimmed; every message is written for the person filling
 * the card, under the field it is about.
 */

/** Limits shown on the card (maxLength) and enforced here. */
export const LIMITS = {
  legalName: 200, street: 200, city: 100, postalCode: 20, website: 253, partnerId: 10, vatId: 20,
  firstName: 100, lastName: 100, email: 254, phone: 32, role: 100,
} as const;

const MARKUP = /[<>]/;
// Control characters other than ordinary spaces are never legitimate in these fields.
const CONTROL = /[\u0000-\u001f\u007f]/;

/** A field the card did not send at all reads as empty: the person sees "Enter the …", not a type error. */
const absentAsEmpty = (v: unknown): unknown => (v === undefined || v === null ? '' : v);

function cleanText(label: string, max: number) {
  return z.preprocess(absentAsEmpty, z.string({ error: `${label} must be text` }))
    .transform((v) => v.trim().replace(/\s+/g, ' '))
    .refine((v) => v.length <= max, `${label} can be at most ${max} characters`)
    .refine((v) => !MARKUP.test(v), `${label} can't contain < or >`)
    .refine((v) => !CONTROL.test(v), `${label} contains characters that aren't allowed`);
}

function text(label: string, max: number) {
  return cleanText(label, max).refine((v) => v.length > 0, `Enter the ${label.toLowerCase()}`);
}

function optionalText(label: string, max: number) {
  return cleanText(label, max).optional().transform((v) => (v === undefined || v === '' ? undefined : v));
}

const HOSTNAME = /^(?=.{4,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

const website = z.string({ error: 'Website must be text' })
  .transform((v) => v.trim().toLowerCase())
  .refine((v) => v.length > 0, 'Enter your website or primary domain')
  .refine((v) => v.length <= LIMITS.website, `Website can be at most ${LIMITS.website} characters`)
  .transform((v) => v.replace(/^https?:\/\//, '').replace(/\/.*$/, '').replace(/^www\./, ''))
  .refine((v) => HOSTNAME.test(v), 'Enter a domain like contoso.com (or a website like https://www.contoso.com)');

export const CompanySchema = z.strictObject({
  legalName: text('Legal name', LIMITS.legalName).refine((v) => v.length === 0 || v.length >= 2, 'Legal name needs at least 2 characters'),
  country: z.preprocess(absentAsEmpty, z.string({ error: 'Choose a country' }))
    .transform((v) => v.trim().toUpperCase())
    .refine((v) => v.length > 0, 'Choose a country')
    .refine((v) => COUNTRY_CODES.has(v), 'Choose a country from the list'),
  street: text('Street', LIMITS.street),
  city: text('City', LIMITS.city),
  postalCode: text('Postal code', LIMITS.postalCode)
    .refine((v) => v.length === 0 || /^[A-Za-z0-9][A-Za-z0-9 -]*$/.test(v), 'Postal code can only have letters, digits, spaces and dashes'),
  website: z.preprocess(absentAsEmpty, website),
  partnerId: z.preprocess(absentAsEmpty, z.string({ error: 'Partner ID must be text' }))
    .transform((v) => v.replace(/\s+/g, ''))
    .refine((v) => v.length > 0, 'Enter your Partner ID (MPN ID)')
    .refine((v) => /^\d+$/.test(v), 'Partner ID is digits only, like 1234567')
    .refine((v) => !/^\d+$/.test(v) || (v.length >= 6 && v.length <= LIMITS.partnerId), 'Partner ID has 6 to 10 digits'),
  vatId: z.string({ error: 'VAT ID must be text' })
    .transform((v) => v.replace(/[\s.-]+/g, '').toUpperCase())
    .refine((v) => v === '' || /^[A-Z0-9]{2,20}$/.test(v), 'VAT ID is 2 to 20 letters and digits, like DE123456789')
    .optional()
    .transform((v) => (v ? v : undefined)),
});

export type Company = z.output<typeof CompanySchema>;

/** Made once: a zod schema costs far more to build than to use. */
const EMAIL = z.email();

/**
 * The contact schema for each company country, built once (building one took about 1 ms, using it
 * 0.1 ms: it was built on every contact submit). Only the known countries are kept (fewer than 300).
 */
const contactSchemas = new Map<string | undefined, ReturnType<typeof buildContactSchema>>();

/** Contacts: the phone number is read in the company's country unless it starts with +. */
export function contactSchema(defaultCountry: string | undefined): ReturnType<typeof buildContactSchema> {
  let schema = contactSchemas.get(defaultCountry);
  if (!schema) {
    schema = buildContactSchema(defaultCountry);
    if (defaultCountry === undefined || COUNTRY_CODES.has(defaultCountry)) contactSchemas.set(defaultCountry, schema);
  }
  return schema;
}

function buildContactSchema(defaultCountry: string | undefined) {
  return z.strictObject({
    firstName: text('First name', LIMITS.firstName),
    lastName: text('Last name', LIMITS.lastName),
    email: z.preprocess(absentAsEmpty, z.string({ error: 'Email must be text' }))
      .transform((v) => v.trim().toLowerCase())
      .refine((v) => v.length > 0, 'Enter an email address')
      .refine((v) => v.length <= LIMITS.email, `Email can be at most ${LIMITS.email} characters`)
      .refine((v) => EMAIL.safeParse(v).success, 'Enter an email address like name@contoso.com'),
    phone: z.preprocess(absentAsEmpty, z.string({ error: 'Phone must be text' }))
      .transform((v) => v.trim())
      .refine((v) => v.length > 0, 'Enter a phone number')
      .refine((v) => v.length <= LIMITS.phone, `Phone can be at most ${LIMITS.phone} characters`)
      .transform((v, ctx) => {
        const parsed = parsePhoneNumberFromString(v.replace(/^00/, '+'), defaultCountry as CountryCode | undefined);
        if (!parsed?.isValid()) {
          ctx.addIssue({ code: 'custom', message: 'Enter a valid phone number, with the country code (like +49 30 1234567) if it is abroad' });
          return z.NEVER;
        }
        return parsed.number;
      }),
    role: optionalText('Role', LIMITS.role),
  });
}

export type Contact = z.output<ReturnType<typeof buildContactSchema>>;

/** Field → first message, for showing under each field on the card. */
export function fieldErrors(error: z.ZodError): Record<string, string> {
  const out: Record<string, string> = {};
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') continue;
    const key = String(issue.path[0] ?? '_form');
    out[key] ??= issue.message;
  }
  return out;
}
