import type { Company, Contact } from './forms';

/** A Teams user as the partner record knows them. */
export interface Person {
  aadObjectId: string;
  name: string;
}

export interface Member extends Person {
  role: 'owner' | 'member';
  /** Their personal chat with the bot, when known. */
  conversationId?: string;
}

/** The partner's onboarding data, keyed by its Teams tenant. */
export interface Partner {
  tenantId: string;
  company?: Company;
  primaryContact?: Contact;
  secondaryContact?: Contact;
  secondarySkipped: boolean;
  confirmedAt?: Date;
  /** Set only while the verified address is still the primary contact's. */
  emailVerifiedAt?: Date;
  /** Who proved the primary contact's mailbox (their own sign-in name, or the code or link sent there): the contact's Teams identity. */
  emailVerifiedBy?: string;
  /** Preparation checklist: the items ticked, and when the partner said it was done. */
  preparation: { done: string[]; confirmedAt?: Date };
  /** The partner tenant and the app ids entered on the credential cards. */
  connection?: Connection;
  /** Metadata of the secrets kept in the secret store, by kind (never a value). */
  credentials: Partial<Record<CredentialKind, CredentialMeta>>;
  consent: ConsentState;
  /** The latest full run of the checks (after the consent); absent before the first. */
  checks?: { at: Date; verdict: ChecksVerdict };
  /** When a customer sync last succeeded. */
  syncedAt?: Date;
  members: Member[];
}

/**
 * A run's verdict: `blocked` (a blocking check failed: the journey stops before sync),
 * `incomplete` (a blocking check could not be seen), or passed (with or without advisories).
 */
export type ChecksVerdict = 'passed' | 'passed-with-advisories' | 'incomplete' | 'blocked';

/** The partner's Microsoft side, as entered (and resolved) on the credential cards. */
export interface Connection {
  /** The partner (CSP) tenant id, resolved from the GUID or domain entered. */
  partnerTenantId: string;
  /** Its display name as Microsoft reports it, when the bot could read it. */
  partnerTenantName?: string;
  serviceAccountUpn: string;
  /** The Entra app registration's client id. */
  appId: string;
  /** The Partner Center web app id. */
  pcAppId?: string;
  /** The app the bot created ("Set it up for me"): while it is `appId`, the Partner Center web app is optional. */
  botCreatedAppId?: string;
}

export type CredentialKind = 'appSecret' | 'pcSecret';

export interface CredentialMeta {
  /** The secret store entry that holds the value. */
  storeName: string;
  /** The first 3 characters: Graph's `hint` in passwordCredentials, so checks find the secret in use. */
  hint: string;
  /** ISO date; for the app secret read from Graph when the bot can, for the Partner Center secret as entered. */
  expiresAt?: string;
  setBy: string;
  setAt: string;
}

export interface ConsentState {
  /** When the service account last signed in and consented (MFA proven). */
  at?: Date;
  account?: string;
  /** Last time a token was really redeemed with the stored refresh token. */
  usedAt?: Date;
  /** Set when the refresh token stopped working; the reason is an AADSTS code or our own kind. */
  brokenAt?: Date;
  brokenReason?: string;
  /** The app's Graph application permissions are granted (admin consent given or detected). */
  adminConsentAt?: Date;
}

/** A colleague's request to join, as the owner's card refers to it (by id only). */
export interface JoinRequest {
  id: string;
  aadObjectId: string;
  name: string;
  conversationId?: string;
}

export type Section = 'company' | 'primaryContact' | 'secondaryContact';

/** Whether the bot created the app the connection uses ("Set it up for me"): it may repair it and replace its secret. */
export function botCreatedApp(partner: Pick<Partner, 'connection'> | undefined): boolean {
  const c = partner?.connection;
  return !!c?.botCreatedAppId && c.botCreatedAppId.toLowerCase() === c.appId.toLowerCase();
}

/** The person who started onboarding for the tenant (or was handed it). */
export function ownerOf(partner: Partner): Member | undefined {
  return partner.members.find((m) => m.role === 'owner');
}

/**
 * Who hears about the partner in personal chat: the owner, and the primary contact when the bot
 * knows their chat (the member who proved the contact's mailbox). Each conversation once.
 */
export function recipientsOf(partner: Partner): Member[] {
  const owner = ownerOf(partner);
  const contact = partner.emailVerifiedBy ? partner.members.find((m) => m.aadObjectId === partner.emailVerifiedBy) : undefined;
  const out: Member[] = [];
  for (const m of [owner, contact]) if (m?.conversationId && !out.some((o) => o.conversationId === m.conversationId)) out.push(m);
  return out;
}

export function isOwner(partner: Partner, person: Person): boolean {
  return ownerOf(partner)?.aadObjectId === person.aadObjectId;
}

export function isMember(partner: Partner, person: Person): boolean {
  return partner.members.some((m) => m.aadObjectId === person.aadObjectId);
}
