/** The small HTML pages the bot answers browsers with (email verification, sign-in results). */

/** A small HTML page answered to a browser, or (302) a redirect to `location`. */
export interface Page {
  status: number;
  html: string;
  location?: string;
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Every value put into the page passes through escapeHtml; `body` is HTML we wrote. */
export function html(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer"><meta name="robots" content="noindex"><title>${escapeHtml(title)}</title>
<style>body{font-family:"Segoe UI",system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#242424}h1{font-size:1.4rem}
form{display:inline}button,a.button{font:inherit;display:inline-block;text-decoration:none;padding:.5rem 1rem;margin:.5rem .5rem 0 0;border-radius:4px;border:1px solid #5b5fc7;cursor:pointer}
.primary{background:#5b5fc7;color:#fff}.secondary{background:#fff;color:#5b5fc7}</style>
</head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
}

export const para = (text: string): string => `<p>${escapeHtml(text)}</p>`;
