// Browser tests in a real headless Chromium: the system one (Debian's `chromium`, installed by
// `scripts/ensure-servers.mjs` like the servers), driven by playwright-core. No downloaded browsers.
import { accessSync, constants, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';

export type { Page } from 'playwright-core';

/** `CHROMIUM_PATH`, else `/usr/bin/chromium`. A missing browser fails the test (never a skip). */
export function chromiumPath(): string {
  const path = process.env['CHROMIUM_PATH'] || '/usr/bin/chromium';
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new Error(
      `no Chromium at ${path}: run \`node scripts/ensure-servers.mjs\` (as root it installs Debian's ` +
        '`chromium`), or set CHROMIUM_PATH',
    );
  }
  return path;
}

/**
 * Console messages that are not errors of the page: the console answers 401 (login) and 409
 * (CONFIRMATION_REQUIRED: the server's "are you sure?") by design, and Chromium logs every non-2xx
 * fetch as "Failed to load resource". Only those statuses on `/api/` URLs are ignored.
 */
const EXPECTED_API_STATUS = /Failed to load resource: the server responded with a status of (401|409)\b/;

export interface NewPageOptions {
  /** Page errors this page is expected to show (each pattern must match at least one error). */
  expectErrors?: readonly RegExp[];
}

export interface BrowserHarness {
  /** A page in a fresh context (no cookies shared with other pages), navigated to `url`. */
  newPage(url: string, options?: NewPageOptions): Promise<Page>;
  /** Unexpected errors collected so far (console errors, uncaught exceptions, error toasts). */
  errors(): readonly string[];
  /** Throws listing the unexpected page errors (and expected ones that never came); then resets. */
  assertNoPageErrors(): void;
  close(): Promise<void>;
}

/** Error toasts are the page's way to report a failed action: surface them as console errors. */
const REPORT_ERROR_TOASTS = `
  addEventListener('DOMContentLoaded', () => {
    const box = document.getElementById('toast');
    if (!box) return;
    new MutationObserver((records) => {
      for (const r of records) for (const n of r.addedNodes) {
        if (n instanceof HTMLElement && n.classList.contains('error')) console.error('[toast] ' + n.textContent);
      }
    }).observe(box, { childList: true });
  });
`;

/** One browser per test file; call `close()` in `afterAll`, `assertNoPageErrors()` in `afterEach`. */
export async function openBrowser(): Promise<BrowserHarness> {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const browser: Browser = await chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: [...(isRoot ? ['--no-sandbox'] : []), '--disable-dev-shm-usage', '--disable-gpu'],
  });
  const contexts = new Set<BrowserContext>();
  let unexpected: string[] = [];
  let expected: { pattern: RegExp; seen: boolean }[] = [];

  const note = (message: string) => {
    const hit = expected.find((e) => e.pattern.test(message));
    if (hit) hit.seen = true;
    else unexpected.push(message);
  };

  return {
    async newPage(url, options = {}) {
      const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
      contexts.add(context);
      // Generous for a loaded CI box; a passing wait returns as soon as its event happens.
      context.setDefaultTimeout(10_000);
      await context.addInitScript(REPORT_ERROR_TOASTS);
      for (const pattern of options.expectErrors ?? []) expected.push({ pattern, seen: false });
      const page = await context.newPage();
      page.on('console', (msg) => {
        if (msg.type() !== 'error') return;
        const text = msg.text();
        const from = msg.location().url;
        if (EXPECTED_API_STATUS.test(text) && /\/api\//.test(from)) return;
        // Chromium asks for /favicon.ico on its own; the console has none (not the page's error).
        if (/\/favicon\.ico$/.test(from)) return;
        note(`console.error: ${text} (${from})`);
      });
      page.on('pageerror', (error) => note(`uncaught: ${error.stack ?? error.message}`));
      page.on('crash', () => note('page crashed'));
      await page.goto(url);
      return page;
    },
    errors: () => unexpected,
    assertNoPageErrors() {
      const problems = [
        ...unexpected,
        ...expected.filter((e) => !e.seen).map((e) => `expected a page error matching ${e.pattern}`),
      ];
      unexpected = [];
      expected = [];
      if (problems.length > 0) throw new Error(`page errors:\n  ${problems.join('\n  ')}`);
    },
    async close() {
      for (const c of contexts) await c.close().catch(() => {});
      await browser.close();
    },
  };
}

const SCREENSHOTS = fileURLToPath(new URL('../test-artifacts/screenshots/', import.meta.url));

/** Text a page shows only by mistake (a `null` given to `replaceChildren`, a missing field…). */
const STRAY_TEXT = /\b(null|undefined|NaN)\b|\[object Object\]/;

/** Fails when the page body shows `null`, `undefined`, `NaN` or `[object Object]` as text. */
export async function assertNoStrayText(page: Page): Promise<void> {
  // biome-ignore lint/performance/useDomNodeTextContent: the rendered text, cells separated (textContent runs them together)
  const text = await page.locator('#main').innerText();
  const m = STRAY_TEXT.exec(text);
  if (m)
    throw new Error(`the page shows "${m[0]}": …${text.slice(Math.max(0, m.index - 60), m.index + 20)}…`);
}

/**
 * Saves a full-page PNG as `packages/console/test-artifacts/screenshots/<name>.png` (returns the
 * path), after checking the page shows no stray `null`/`undefined` text.
 */
export async function screenshot(page: Page, name: string): Promise<string> {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) throw new Error(`screenshot name ${name}: use [a-z0-9-]`);
  await assertNoStrayText(page);
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = `${SCREENSHOTS}${name}.png`;
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Logs in through the real login form (types the token, submits) and waits for the page tabs. */
export async function loginThroughForm(page: Page, token: string): Promise<void> {
  const input = page.locator('#login-token');
  await input.waitFor();
  await input.fill(token);
  await page.locator('#login button[type=submit]').click();
  await page.locator('#login').waitFor({ state: 'detached' });
  await page.locator('#tabs a').first().waitFor();
}
