/**
 * Chromium for the browser tests: Debian's package driven by playwright-core
 * (no downloaded browser builds), with the flags this machine needs, and a
 * page that records what the tests check on every page — requests that
 * leave the headend, and errors.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
/** No sandbox as root, and no background traffic to Google (the network is closed). */
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export interface WatchedPage {
  browser: Browser;
  context: BrowserContext;
  page: Page;
  /** Requests to anywhere but `base` (blob: and data: aside). */
  foreign: string[];
  /** Uncaught exceptions and console errors, less the 4xx answers the page handles. */
  pageErrors: string[];
}

export async function openPage(base: string, t: { teardown(fn: () => unknown): void }, o: { handled?: RegExp } = {}): Promise<WatchedPage> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (.ci/run does)`);
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 30_000 });
  t.teardown(() => browser.close());
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 }, acceptDownloads: true });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const foreign: string[] = [];
  const pageErrors: string[] = [];
  const handled = o.handled ?? /^Failed to load resource: the server responded with a status of (400|401|404)/;
  page.on('request', (r) => {
    const u = r.url();
    if (!u.startsWith(`${base}/`) && !u.startsWith('blob:') && !u.startsWith('data:')) foreign.push(u);
  });
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error' && !handled.test(m.text())) pageErrors.push(m.text());
  });
  return { browser, context, page, foreign, pageErrors };
}
