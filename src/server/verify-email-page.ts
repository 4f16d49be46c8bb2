import type { LinkFailure, LinkPreview, LinkResult } from '../onboarding/email-verification';
import { escapeHtml, html, para, type Page } from './page-html';

function failurePage(reason: LinkFailure): Page {
  switch (reason) {
    case 'used': return { status: 410, html: html('Link already used', para('This link was already used. If the chat still asks for verification, select "Send a new code" there.')) };
    case 'expired': return { status: 410, html: html('Link expired', para('This link has expired (links are valid for 48 hours). Select "Send a new code" in the Teams chat.')) };
    case 'denied': return { status: 410, html: html('Request cancelled', para('This request was cancelled from this link. Nothing was confirmed.')) };
    case 'stale': return { status: 410, html: html('Link no longer valid', para('The contact email was changed after this link was sent, so it no longer works. Use the latest mail instead.')) };
    case 'unknown': return { status: 404, html: html('Link not recognised', para('This link is not valid. Check that it was copied completely, or ask for a new code in the Teams chat.')) };
  }
}

/**
 * What the link in the mail opens: who asked, for which company, and two buttons that POST the
 * token back. Opening it (a mail scanner does) changes nothing.
 */
export function verifyEmailPreviewPage(preview: LinkPreview, token: string): Page {
  if (!preview.ok) return failurePage(preview.reason);
  const button = (decision: 'confirm' | 'deny', label: string, cls: string): string =>
    `<form method="post" action="/verify-email"><input type="hidden" name="token" value="${escapeHtml(token)}"><input type="hidden" name="decision" value="${decision}"><button type="submit" class="${cls}">${escapeHtml(label)}</button></form>`;
  return {
    status: 200,
    html: html('Confirm your email address', [
      para(`${preview.requestedBy} named ${preview.maskedEmail} as the primary contact for ${preview.companyName} in the partner onboarding chat in Microsoft Teams.`),
      para('Is this your address, and do you agree to receive onboarding notices for this company?'),
      button('confirm', 'Yes, confirm', 'primary'),
      button('deny', "This wasn't me", 'secondary'),
    ].join('\n')),
  };
}

/** After the person's choice. */
export function verifyEmailResultPage(result: LinkResult, decision: 'confirm' | 'deny'): Page {
  if (!result.ok) return failurePage(result.reason);
  return decision === 'confirm'
    ? { status: 200, html: html('Email verified', para('Thank you. You can close this page and go back to the chat in Microsoft Teams.')) }
    : { status: 200, html: html('Request cancelled', para('Thank you for telling us. Nothing was confirmed, and the person who asked has been told. You can close this page.')) };
}
