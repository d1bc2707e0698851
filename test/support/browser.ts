/**
 * Headless Chromium for the browser tests, through playwright-core and Debian's `chromium`
 * (`.ci/run` installs it). Where it is missing, CI (CI=true) fails; a local run skips with a message.
 */
import { existsSync } from 'node:fs';
import type { Browser } from 'playwright-core';

/** The browser's path: `CHROMIUM`, or Debian's. */
export const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';

/** Why the browser tests skip here, or undefined when they run. Throws in CI without a browser. */
export function browserSkipReason(): string | undefined {
  if (existsSync(chromiumPath)) return undefined;
  const why = `no Chromium at ${chromiumPath} (apt-get install chromium, or set CHROMIUM)`;
  if (process.env.CI === 'true') throw new Error(`The browser tests need a browser in CI: ${why}`);
  console.warn(`Skipping the browser tests: ${why}`);
  return why;
}

/** Launches headless Chromium. */
export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] });
}
