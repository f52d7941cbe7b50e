import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from '@jest/globals';
import { type BrowserContext, chromium, type Page } from 'playwright-core';

/** The Debian package's binary; Playwright cannot download browsers here. */
export const CHROMIUM = '/usr/bin/chromium';

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // Both the gateway and the page server use self-signed certificates.
  '--ignore-certificate-errors',
];

/**
 * `describe` when Chromium is installed. Without it the suite is skipped loudly outside CI
 * (a warning naming the fix) and fails in CI (CI=true), so a green CI run always means the
 * browser really ran.
 */
export function describeWithChromium(name: string, body: () => void): void {
  if (existsSync(CHROMIUM)) return describe(name, body);
  const fix = `${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`;
  if (process.env.CI === 'true') {
    return describe(name, () =>
      it('needs Chromium', () => {
        throw new Error(fix);
      }),
    );
  }
  console.warn(`SKIPPED "${name}": ${fix}`);
  describe.skip(name, body);
}

export interface Chromium {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Chromium with a fresh user-data-dir, removed on close. */
export async function launchChromium(): Promise<Chromium> {
  const userDataDir = await mkdtemp(path.join(os.tmpdir(), 'carecast-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    ignoreHTTPSErrors: true,
  });
  return {
    context,
    close: async () => {
      await context.close().catch(() => undefined);
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}

/** Runs `body`; when it fails, screenshots every open page to a temp dir and prints where. */
export async function screenshotsOnFailure(
  name: string,
  pages: () => Page[],
  body: () => Promise<void>,
): Promise<void> {
  try {
    await body();
  } catch (error) {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'carecast-browser-failure-'));
    const shots = await Promise.all(
      pages()
        .filter((p) => !p.isClosed())
        .map(async (page, i) => {
          const file = path.join(dir, `${name.replace(/\W+/g, '-')}-${i}.png`);
          await page.screenshot({ path: file, fullPage: true }).catch(() => undefined);
          return file;
        }),
    );
    console.error(`browser test "${name}" failed; screenshots: ${shots.join(', ') || 'none'}`);
    throw error;
  }
}
