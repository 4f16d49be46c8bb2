import { CardFactory, type Attachment } from 'botbuilder';
import { Template } from 'adaptivecards-templating';
import helpTemplate from '../../cards/help.json';
import welcomeTemplate from '../../cards/welcome.json';
import { Verbs } from './verbs';

/** Expands a card template (a JSON file in /cards) with data into an Adaptive Card attachment. */
function render(template: object, data: object): Attachment {
  const card = new Template(template).expand({ $root: { ...data, verbs: Verbs } }) as object;
  return CardFactory.adaptiveCard(card);
}

export interface WelcomeCardData {
  /** First name of the person, when Teams told us. */
  userName?: string;
  platformName: string;
  minutes: number;
  steps: ReadonlyArray<{ number: number; text: string }>;
  prerequisites: readonly string[];
}

export function renderWelcomeCard(data: WelcomeCardData): Attachment {
  return render(welcomeTemplate, data);
}

export interface HelpCardData {
  commands: ReadonlyArray<{ name: string; description: string }>;
}

export function renderHelpCard(data: HelpCardData): Attachment {
  return render(helpTemplate, data);
}
