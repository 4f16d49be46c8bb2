import { renderHelpCard } from '../../cards/render';
import { Verbs } from '../../cards/verbs';
import type { Command } from '../routes';

/** `help`: the command list, from the registered commands themselves. */
export function helpCommand(commands: () => readonly Command[]): Command {
  return {
    name: 'help', aliases: ['?', 'commands', 'menu'], verb: Verbs.help, description: 'Show what I can do',
    handle: async (context) => {
      await context.sendActivity({ attachments: [renderHelpCard({ commands: commands().map((c) => ({ name: c.name, description: c.description })) })] });
    },
  };
}
