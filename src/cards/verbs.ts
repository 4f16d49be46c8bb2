/** Card action verbs: the templates receive them as data and the handlers route on them, so the two cannot drift. */
export const Verbs = {
  help: 'help',
} as const;

export type Verb = (typeof Verbs)[keyof typeof Verbs];
