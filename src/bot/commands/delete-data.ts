import { partnerSecretPrefix } from '../../credentials/credential-service';
import { Messages } from '../../onboarding/messages';
import type { PartnerRepository } from '../../store/partners';
import type { SecretStore } from '../../store/secrets/secret-store';
import { confirmedCommand, type ConfirmedAction } from '../confirmations';
import type { Membership } from '../membership';
import type { OnboardingRunner } from '../onboarding-runner';
import type { Command } from '../routes';

/** `delete my data`: the owner deletes everything kept about the partner (asked first). */
export function deleteAction(partners: PartnerRepository, secrets: SecretStore, onboarding: OnboardingRunner): ConfirmedAction {
  return {
    action: 'delete',
    refusal: Messages.ownerOnly,
    card: {
      title: "Delete your organization's data?",
      text: 'This deletes the company and contact details, any credentials you gave me and where I can reach you. It cannot be undone. An audit record of the deletion is kept.',
      yesTitle: 'Yes, delete everything', noTitle: 'No, keep it',
    },
    yesSummary: 'Data deleted', noSummary: 'Nothing deleted', noMessage: Messages.deleteKept,
    onYes: async (context, turn, owned) => {
      for (const name of await secrets.list(partnerSecretPrefix(owned.tenantId))) await secrets.delete(name);
      await partners.delete(owned.tenantId, turn.person.aadObjectId);
      turn.refresh(undefined);
      await onboarding.forget(context);
      await context.sendActivity(Messages.deleted);
    },
  };
}

export function deleteCommand(membership: Membership, action: ConfirmedAction): Command {
  return confirmedCommand(
    membership, action,
    { name: 'delete my data', aliases: ['delete data', 'forget me'], description: "Delete your organization's onboarding data (owner only, asks first)" },
    async (context) => { await context.sendActivity(Messages.nothingToDelete); },
  );
}
