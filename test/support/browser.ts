/**
 * The Chromium the browser tests drive through playwright-core: Debian's package `chromium`, never a
 * downloaded browser. `npm test` checks for it first (`scripts/check-chromium.mjs`); a test started
 * directly fails with the same one-line instruction.
 */
import { existsSync } from "node:fs";
import { chromium, type Browser } from "playwright-core";

/** Where Debian's `chromium` package installs the browser. */
export const CHROMIUM_PATH = "/usr/bin/chromium";

/** What starting Chromium may take on a loaded machine (it takes 1–3 s). */
export const BROWSER_START_BUDGET_MS = 30_000;

/** Starts headless Chromium; without it, fails saying what to install. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`The browser tests need Chromium at ${CHROMIUM_PATH}: install it with \`sudo apt-get install -y chromium\` (Debian/Ubuntu).`);
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
}
