/**
 * Headless Chromium for the report tests: Debian's `chromium` driven by playwright-core (no
 * browser download). Tests skip, saying so, only when Chromium is missing outside CI; under
 * CI=true a missing Chromium fails them.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const chromiumMissing = !existsSync(CHROMIUM);
/** Skip only outside CI; in CI the tests run and fail on the missing browser. */
export const skipWithoutChromium = chromiumMissing && process.env.CI !== 'true';
if (skipWithoutChromium) console.warn(`skipping headless-browser report tests: ${CHROMIUM} is missing (apt-get install chromium)`);

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchChromium(viewport = { width: 1280, height: 900 }): Promise<Browser> {
  if (chromiumMissing) throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (CI=true requires it)`);
  const profile = mkdtempSync(path.join(os.tmpdir(), 'researcher-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-quic',
      '--no-first-run',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Console errors and uncaught exceptions of a page, collected as they happen. */
export function collectPageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => errors.push(`exception: ${error.message}`));
  return errors;
}
