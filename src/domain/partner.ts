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
  members: Member[];
}

/** A colleague's request to join, as the owner's card refers to it (by id only). */
export interface JoinRequest {
  id: string;
  aadObjectId: string;
  name: string;
  conversationId?: string;
}

export type Section = 'company' | 'primaryContact' | 'secondaryContact';

/** The person who started onboarding for the tenant (or was handed it). */
export function ownerOf(partner: Partner): Member | undefined {
  return partner.members.find((m) => m.role === 'owner');
}

export function isOwner(partner: Partner, person: Person): boolean {
  return ownerOf(partner)?.aadObjectId === person.aadObjectId;
}

export function isMember(partner: Partner, person: Person): boolean {
  return partner.members.some((m) => m.aadObjectId === person.aadObjectId);
}
