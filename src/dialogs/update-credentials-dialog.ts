import { ComponentDialog, WaterfallDialog, type WaterfallStepContext } from 'botbuilder-dialogs';
import { consentComplete } from '../domain/steps';
import { Messages } from '../onboarding/messages';
import { turnOf } from '../teams/turn';
import { CREDENTIAL_DIALOG_OF, CredentialsDialog } from './credentials-dialog';
import { ONBOARDING_DIALOG } from './onboarding-dialog';
import type { OnboardingServices } from './onboarding-services';

export const UPDATE_CREDENTIALS_DIALOG = 'updateCredentials';
const STEPS = 'updateCredentialsSteps';

/**
 * `update credentials`: the same two cards, prefilled with the ids, every secret optional (empty
 * keeps the stored one). A new secret replaces the old one in the store; a new tenant, account or
 * app makes the consent due again, and the journey picks up there.
 */
export class UpdateCredentialsDialog extends ComponentDialog {
  constructor(services: OnboardingServices) {
    super(UPDATE_CREDENTIALS_DIALOG);
    this.addDialog(new CredentialsDialog('entraApp', services, 'Update credentials (1 of 2)'));
    this.addDialog(new CredentialsDialog('partnerCenterApp', services, 'Update credentials (2 of 2)'));
    this.addDialog(new WaterfallDialog(STEPS, [
      (wf) => wf.beginDialog(CREDENTIAL_DIALOG_OF.entraApp),
      (wf) => wf.beginDialog(CREDENTIAL_DIALOG_OF.partnerCenterApp),
      (wf) => this.done(wf),
      (wf) => wf.endDialog(),
    ]));
    this.initialDialogId = STEPS;
  }

  private async done(wf: WaterfallStepContext) {
    const partner = turnOf(wf.context).partner;
    await wf.context.sendActivity(Messages.credentialsUpdated);
    if (partner && consentComplete(partner)) return wf.endDialog();
    // The onboarding dialog lives in the parent set (begin searches there): the journey carries on
    // from its first open step, the sign-in.
    return wf.beginDialog(ONBOARDING_DIALOG);
  }
}
