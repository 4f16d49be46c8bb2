import { createHash, X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core';

/**
 * Drives the Microsoft 365 Agents Playground (the Teams stand-in `npm run sandbox` starts) in
 * Debian's Chromium, the way a person would: open a chat, mock the install from the menu, type,
 * read the bot's Adaptive Cards, fill their inputs, press their buttons. Chromium reaches only
 * loopback: other hosts do not resolve and every such request is aborted and recorded.
 */

/** Debian's Chromium; CHROMIUM_PATH points elsewhere (another machine, or to see the skip). */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const RESULTS_DIR = join(__dirname, '..', '..', 'test-results');
/**
 * `SCREENSHOTS=docs npm test -- test/e2e/…`: the browser tests also save the main cards and the
 * sign-in page there (docs/welcome.png…), for the README. Unset: only test-results/ gets pictures.
 */
export const DOCS_SCREENSHOTS_DIR = process.env.SCREENSHOTS ? resolve(__dirname, '..', '..', process.env.SCREENSHOTS) : undefined;

/**
 * Saves `target` as <SCREENSHOTS>/<name>.png when SCREENSHOTS is set: a card alone, or a page at
 * a narrow width, whole. The window is resized for the picture and put back after it.
 */
export async function docScreenshot(name: string, target: Locator | Page): Promise<void> {
  if (!DOCS_SCREENSHOTS_DIR) return;
  await mkdir(DOCS_SCREENSHOTS_DIR, { recursive: true });
  const path = join(DOCS_SCREENSHOTS_DIR, `${name}.png`);
  const page = 'page' in target ? target.page() : target;
  const before = page.viewportSize() ?? { width: 1280, height: 900 };
  try {
    if ('page' in target) {
      // A card taller than the window is cut by the chat's scroll pane: the window grows to hold it.
      const box = await target.boundingBox();
      await page.setViewportSize({ width: before.width, height: Math.max(before.height, Math.ceil((box?.height ?? 0) + 300)) });
      await target.scrollIntoViewIfNeeded();
      await target.screenshot({ path, animations: 'disabled' });
    } else {
      await page.setViewportSize({ width: 900, height: 300 });
      await page.screenshot({ path, fullPage: true, animations: 'disabled' });
    }
  } finally {
    await page.setViewportSize(before);
  }
}

const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  // Belt to the request routing's braces: no name but localhost resolves at all.
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1',
];

/** Why browser tests cannot run here, or undefined when they can. */
export function chromiumMissing(): string | undefined {
  return existsSync(CHROMIUM_PATH) ? undefined : `${CHROMIUM_PATH} not found (apt-get install chromium, or set CHROMIUM_PATH)`;
}

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** Matches the whole text, give or take surrounding white space. */
const exactly = (text: string, suffix = ''): RegExp => new RegExp(`^\\s*${escapeRegExp(text)}${suffix}\\s*$`);

/** For a suite's `before`: skips it, saying why, when the browser is not installed. */
export function skipWithoutChromium(ctx: Mocha.Context): void {
  const missing = chromiumMissing();
  if (missing) {
    console.log(`      skipping the browser tests: ${missing}`);
    ctx.skip();
  }
}

/**
 * Every selector in one place (Playground 0.2.28: Fluent UI v9 around the Adaptive Cards JS
 * renderer). Roles and visible text first; CSS classes only where the Adaptive Cards renderer
 * itself defines them.
 */
export const UI = {
  /** Left rail entry opening a conversation: "Personal Chat", "Group Chat", or a channel name. */
  conversation: (page: Page, name: string) => page.getByRole('treeitem', { name, exact: true }),
  /** A team channel in the left rail: its entry shows the channel's name, then the team's. */
  channel: (page: Page, name: string) => page.getByRole('treeitem').filter({ hasText: new RegExp(`^${name}`) }).first(),
  /** Top menu bar button that opens the "Mock an Activity" menu. */
  mockActivityButton: (page: Page) => page.getByRole('button', { name: 'Mock an Activity' }),
  /** An entry of that menu, by visible text ("Install application"…); its accessible name is a handler tooltip. */
  mockActivityItem: (page: Page, text: string) => page.getByRole('menuitem').filter({ hasText: exactly(text) }),
  /** The dialog showing the mock activity's JSON before it is sent. */
  activityDialog: (page: Page) => page.getByRole('dialog'),
  /** Its "Send activity" button. */
  sendActivityButton: (dialog: Locator) => dialog.getByRole('button', { name: 'Send activity' }),
  /** The compose box: a Lexical contenteditable with the "Type a message..." placeholder. */
  composeBox: (page: Page) => page.locator('[data-lexical-editor="true"][role="textbox"]'),
  /** A channel's "Start a new post" box (the first editor of the channel view). */
  newPostBox: (page: Page) => page.locator('[data-lexical-editor="true"][role="textbox"]').first(),
  /** An entry of the @mention list that opens in the compose box. */
  mentionOption: (page: Page, name: string) => page.getByRole('menuitem').filter({ has: page.getByText(name, { exact: true }) }),
  /** Its "Post" button. */
  postButton: (page: Page) => page.getByRole('button', { name: 'Post', exact: true }),
  /** The paper-plane button beside it. */
  sendButton: (page: Page) => page.getByRole('button', { name: 'Send Message' }),
  /** Every rendered Adaptive Card, oldest first (the renderer's root element). */
  cards: (page: Page) => page.locator('.ac-adaptiveCard'),
  /** A card's action button: the renderer gives it the action's title as aria-label and title. */
  cardButton: (card: Locator, title: string) => card.getByRole('button', { name: title, exact: true }),
  /** A card's Action.OpenUrl button: rendered with role "link". */
  cardLink: (card: Locator, title: string) => card.getByRole('link', { name: title, exact: true }),
  /** A card input's label (`label` of an Input.*, with " *" when required); its `for` names the input. */
  cardLabel: (card: Locator, label: string) => card.locator('label').filter({ hasText: exactly(label, '(\\s*\\*)?') }),
  /** An option of a filtered Input.ChoiceSet (combobox): the list opens in a popup outside the card. */
  option: (page: Page, text: string) => page.getByRole('option', { name: text, exact: true }),
  /** The log panel line the Playground writes once it reached the bot's endpoint. */
  connected: (page: Page) => page.getByText(exactly('Connected.')),
} as const;

export interface BrowserRequest {
  url: string;
  host: string;
  loopback: boolean;
  /** `blocked`: aborted by the harness (not loopback); `failed`/`finished`: what the network said. */
  outcome: 'pending' | 'blocked' | 'failed' | 'finished';
  /** A response came back (`outcome === 'finished'`). */
  finished: boolean;
}

function hostOf(url: string): { host: string; loopback: boolean } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { host: '', loopback: true };
  }
  // data:, blob:, about: never touch the network.
  if (!['http:', 'https:', 'ws:', 'wss:'].includes(u.protocol)) return { host: '', loopback: true };
  const h = u.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const loopback = h === 'localhost' || h.endsWith('.localhost') || /^127\.\d+\.\d+\.\d+$/.test(h) || h === '::1';
  return { host: h, loopback };
}

export interface OpenOptions {
  /** Screenshot file names start with it. */
  name?: string;
  viewport?: { width: number; height: number };
  /** Per-step wait (ms). */
  timeoutMs?: number;
  /**
   * PEM certificates whose keys Chromium accepts although no public CA signed them (the simulator's
   * server certificate): pinned by SPKI hash, so every other certificate is still checked.
   */
  trustCertificates?: string[];
}

/** base64 SHA-256 of a certificate's SubjectPublicKeyInfo: what --ignore-certificate-errors-spki-list takes. */
export function spkiHash(pem: string): string {
  const der = new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('base64');
}

export class PlaygroundSession {
  /** Every request Chromium made, in order. */
  readonly requests: BrowserRequest[] = [];

  private constructor(
    readonly page: Page,
    private readonly context: BrowserContext,
    private readonly profileDir: string,
    private readonly name: string,
    private readonly timeoutMs: number,
  ) {}

  /** Starts Chromium with a fresh profile and opens the Playground at `url`. */
  static async open(url: string, options: OpenOptions = {}): Promise<PlaygroundSession> {
    const missing = chromiumMissing();
    if (missing) throw new Error(missing);
    const profileDir = await mkdtemp(join(tmpdir(), 'playground-chromium-'));
    let context: BrowserContext;
    try {
      context = await chromium.launchPersistentContext(profileDir, {
        executablePath: CHROMIUM_PATH,
        headless: true,
        args: options.trustCertificates?.length
          ? [...CHROMIUM_ARGS, `--ignore-certificate-errors-spki-list=${options.trustCertificates.map(spkiHash).join(',')}`]
          : CHROMIUM_ARGS,
        viewport: options.viewport ?? { width: 1280, height: 900 },
        timeout: 30_000,
      });
    } catch (err) {
      await rm(profileDir, { recursive: true, force: true });
      throw err;
    }
    const timeoutMs = options.timeoutMs ?? 15_000;
    const page = context.pages()[0] ?? (await context.newPage());
    const session = new PlaygroundSession(page, context, profileDir, options.name ?? 'playground', timeoutMs);
    try {
      await session.guardNetwork();
      page.setDefaultTimeout(timeoutMs);
      await page.goto(url);
      // Its log panel says so once it reached the bot; only then does it install the app.
      await UI.connected(page).waitFor({ state: 'attached' });
    } catch (err) {
      await session.close();
      throw err;
    }
    return session;
  }

  /** Requests to other hosts are aborted before they leave; all of them are recorded. */
  private async guardNetwork(): Promise<void> {
    const byRequest = new Map<object, BrowserRequest>();
    this.context.on('request', (req) => {
      const entry: BrowserRequest = { url: req.url(), ...hostOf(req.url()), outcome: 'pending', finished: false };
      byRequest.set(req, entry);
      this.requests.push(entry);
    });
    this.context.on('requestfinished', (req) => {
      const e = byRequest.get(req);
      if (e) {
        e.outcome = 'finished';
        e.finished = true;
      }
    });
    this.context.on('requestfailed', (req) => {
      const e = byRequest.get(req);
      if (e && e.outcome !== 'blocked') e.outcome = 'failed';
    });
    await this.context.route('**/*', async (route) => {
      const req = route.request();
      if (hostOf(req.url()).loopback) return route.continue();
      const e = byRequest.get(req);
      if (e) e.outcome = 'blocked';
      return route.abort('blockedbyclient');
    });
    // WebSockets bypass route(): refuse non-loopback ones too.
    await this.context.routeWebSocket((url) => !hostOf(url.toString()).loopback, (ws) => ws.close());
  }

  /** Requests to a non-loopback host: the harness blocks them, so none should be `finished`. */
  nonLoopbackRequests(): BrowserRequest[] {
    return this.requests.filter((r) => !r.loopback);
  }

  /** Opens a conversation from the left rail. */
  async openChat(name = 'Personal Chat'): Promise<void> {
    await UI.conversation(this.page, name).click();
  }

  /** Opens a team channel from the left rail (its entry reads "<channel> <team>"). */
  async openChannel(name = 'General'): Promise<void> {
    await UI.channel(this.page, name).click();
  }

  /** "Mock an Activity" > `item` > "Send activity": what a person does to fake Teams events. */
  async mockActivity(item: 'Install application' | 'Uninstall application' | 'Add user' | 'Add application' | 'Remove user' | 'Remove application'): Promise<void> {
    await UI.mockActivityButton(this.page).click();
    await UI.mockActivityItem(this.page, item).click();
    const dialog = UI.activityDialog(this.page);
    await UI.sendActivityButton(dialog).click();
    await dialog.waitFor({ state: 'detached' });
  }

  /** Mocks the app being installed (Teams sends installationUpdate "add"). */
  install(): Promise<void> {
    return this.mockActivity('Install application');
  }

  uninstall(): Promise<void> {
    return this.mockActivity('Uninstall application');
  }

  /** Types `text` into the compose box and sends it with the send button. */
  async send(text: string): Promise<void> {
    const box = UI.composeBox(this.page);
    await box.click();
    await this.page.keyboard.type(text);
    await UI.sendButton(this.page).click();
  }

  /**
   * In a channel: starts a new post @mentioning the bot (a bot gets channel messages only when
   * mentioned): "@", the bot picked from the list, then `text`, then Post.
   */
  async post(text: string, botName = 'Partner Onboarding'): Promise<void> {
    const box = UI.newPostBox(this.page);
    await box.click();
    await this.page.keyboard.type(`@${botName}`);
    await UI.mentionOption(this.page, botName).click();
    await this.page.keyboard.type(` ${text}`);
    await UI.postButton(this.page).click();
  }

  /**
   * From now on, keeps the text of every Adaptive Card the page ever renders, each version of an
   * updated card included (a MutationObserver in the page): what a person could have seen, even
   * for a moment. Read it with `renderedCardTexts()`.
   */
  async recordCardRenders(): Promise<void> {
    // A script as text: it runs in the page (no DOM types here, and no bundler helpers there).
    await this.page.evaluate(`(() => {
      if (window.__cards) return;
      const seen = (window.__cards = []);
      const take = () => {
        for (const el of document.querySelectorAll('.ac-adaptiveCard')) {
          const text = el.innerText;
          if (text && !seen.includes(text)) seen.push(text);
        }
      };
      new MutationObserver(take).observe(document.body, { subtree: true, childList: true, characterData: true });
      take();
    })()`);
  }

  async renderedCardTexts(): Promise<string[]> {
    return ((await this.page.evaluate('window.__cards || []')) as string[]).map(normalize);
  }

  async cardCount(): Promise<number> {
    return UI.cards(this.page).count();
  }

  /** The visible text of every card, oldest first (`last` = only that many of the newest). */
  async cardTexts(last?: number): Promise<string[]> {
    const texts = await UI.cards(this.page).allInnerTexts();
    return (last === undefined ? texts : texts.slice(-last)).map(normalize);
  }

  async lastCardText(): Promise<string> {
    return normalize(await UI.cards(this.page).last().innerText());
  }

  /**
   * Waits for a card that came after the first `after` cards (take `cardCount()` before acting)
   * and whose text contains `containing`; returns it.
   */
  async waitForCard(options: { after?: number; containing?: string | RegExp; timeoutMs?: number } = {}): Promise<Locator> {
    const { after = 0, containing } = options;
    const deadline = Date.now() + (options.timeoutMs ?? this.timeoutMs);
    const matches = (t: string): boolean => containing === undefined || (typeof containing === 'string' ? t.includes(containing) : containing.test(t));
    let seen: string[] = [];
    while (Date.now() < deadline) {
      seen = (await this.cardTexts()).slice(after);
      const i = seen.findIndex(matches);
      if (i >= 0) return UI.cards(this.page).nth(after + i);
      await this.page.waitForTimeout(100);
    }
    throw new Error(`no new card${containing ? ` containing ${String(containing)}` : ''} within ${options.timeoutMs ?? this.timeoutMs}ms; new cards: ${seen.length === 0 ? 'none' : seen.map((t) => JSON.stringify(t.slice(0, 120))).join(', ')}`);
  }

  /** The input labelled `label` in `card` (default: the newest card). */
  async input(label: string, card?: Locator): Promise<Locator> {
    const c = card ?? UI.cards(this.page).last();
    const labelEl = UI.cardLabel(c, label);
    const id = await labelEl.getAttribute('for');
    if (!id) throw new Error(`card input "${label}" has no label[for]`);
    return c.locator(`[id="${id}"]`);
  }

  /** Types into a text, number, date or multi-line input. */
  async fillInput(label: string, value: string, card?: Locator): Promise<void> {
    await (await this.input(label, card)).fill(value);
  }

  /** Picks `choice` in an Input.ChoiceSet: a combobox (filtered), a select (compact) or radios/checkboxes (expanded). */
  async choose(label: string, choice: string, card?: Locator): Promise<void> {
    const input = await this.input(label, card);
    const kind = await input.evaluate((el) => `${el.tagName.toLowerCase()}:${el.getAttribute('role') ?? el.getAttribute('type') ?? ''}`);
    if (kind.startsWith('select')) {
      await input.selectOption({ label: choice });
    } else if (kind.endsWith(':combobox')) {
      await input.click();
      await input.fill(choice);
      await UI.option(this.page, choice).click();
    } else {
      await (card ?? UI.cards(this.page).last()).getByLabel(choice, { exact: true }).check();
    }
  }

  /** Presses the card button titled `title` (default: on the newest card that has one). */
  async clickCardButton(title: string, card?: Locator): Promise<void> {
    const button = card ? UI.cardButton(card, title) : UI.cardButton(UI.cards(this.page), title).last();
    await button.click();
  }

  /** Fills the company card as a person would (the country picked from its list). */
  async fillCompanyCard(card: Locator, company: { legalName: string; street: string; postalCode: string; city: string; website: string; partnerId: string }, countryName: string): Promise<void> {
    await this.fillInput('Company legal name', company.legalName, card);
    await this.choose('Country', countryName, card);
    await this.fillInput('Street and number', company.street, card);
    await this.fillInput('Postal code', company.postalCode, card);
    await this.fillInput('City', company.city, card);
    await this.fillInput('Website or primary domain', company.website, card);
    await this.fillInput('Partner ID (MPN ID)', company.partnerId, card);
  }

  /**
   * Every card in the chat, oldest first: its text and the titles of the actions a person can
   * still press (buttons and links the renderer has not disabled).
   */
  async cardsWithActions(): Promise<Array<{ text: string; actions: string[] }>> {
    // Read in one pass inside the page: a card updated in place between two reads would leave a
    // locator pointing at nothing (and a 20-second wait).
    type El = { innerText: string; hasAttribute(name: string): boolean; getAttribute(name: string): string | null; querySelectorAll(selector: string): ArrayLike<El> };
    const raw = await UI.cards(this.page).evaluateAll((cards) => (cards as unknown as El[]).map((card) => {
      const actions: string[] = [];
      for (const action of Array.from(card.querySelectorAll('.ac-actionSet [role="button"], .ac-actionSet [role="link"], .ac-actionSet button'))) {
        if (action.hasAttribute('disabled') || action.getAttribute('aria-disabled') === 'true') continue;
        const title = action.getAttribute('aria-label') ?? action.innerText;
        if (!actions.includes(title)) actions.push(title);
      }
      return { text: card.innerText, actions };
    }));
    return raw.map((c) => ({ text: normalize(c.text), actions: c.actions.map(normalize) }));
  }

  /** Opens `url` in a new tab of this browser (a link from a mail), loaded. */
  async openPage(url: string): Promise<Page> {
    const page = await this.context.newPage();
    page.setDefaultTimeout(this.timeoutMs);
    await page.goto(url);
    return page;
  }

  /** Presses a card button that opens a page (Action.OpenUrl) and returns that page, loaded. */
  async clickCardButtonOpeningPage(title: string, card?: Locator): Promise<Page> {
    // The renderer gives an Action.OpenUrl button the role "link"; the Playground window.open()s its URL.
    const link = UI.cardLink(card ?? UI.cards(this.page).last(), title);
    const [opened] = await Promise.all([this.context.waitForEvent('page', { timeout: this.timeoutMs }), link.click()]);
    opened.setDefaultTimeout(this.timeoutMs);
    await opened.waitForLoadState('domcontentloaded');
    return opened;
  }

  /** Saves a full-page PNG as test-results/<name>-<step>.png and returns its path. */
  async screenshot(step: string): Promise<string> {
    await mkdir(RESULTS_DIR, { recursive: true });
    const path = join(RESULTS_DIR, `${this.name}-${step}.png`);
    await this.page.screenshot({ path, fullPage: true });
    return path;
  }

  async close(): Promise<void> {
    try {
      await this.context.close();
    } finally {
      await rm(this.profileDir, { recursive: true, force: true });
    }
  }
}

function normalize(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
