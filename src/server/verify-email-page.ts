import type { LinkResult } from '../onboarding/email-verification';

export interface Page {
  status: number;
  html: string;
}

function page(title: string, text: string): string {
  // Fixed text only: nothing from the request or the database is echoed into the page.
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer"><title>${title}</title>
<style>body{font-family:"Segoe UI",system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#242424}h1{font-size:1.4rem}</style>
</head><body><h1>${title}</h1><p>${text}</p></body></html>`;
}

/** The page the verification link lands on. */
export function verifyEmailPage(result: LinkResult): Page {
  if (result.ok) return { status: 200, html: page('Email verified', 'Thank you. You can close this page and go back to the chat in Microsoft Teams.') };
  switch (result.reason) {
    case 'used': return { status: 410, html: page('Link already used', 'This link was already used. If the chat still asks for verification, select "Send a new code" there.') };
    case 'expired': return { status: 410, html: page('Link expired', 'This link has expired (links are valid for 48 hours). Select "Send a new code" in the Teams chat.') };
    case 'unknown': return { status: 404, html: page('Link not recognised', 'This link is not valid. Check that it was copied completely, or ask for a new code in the Teams chat.') };
  }
}
