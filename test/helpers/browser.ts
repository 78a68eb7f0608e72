/**
 * The real browser for the page tests: MTAREP_CHROMIUM or Debian's /usr/bin/chromium (scripts/test.sh
 * installs it), driven by playwright-core. A missing browser fails the run; MTAREP_SKIP_BROWSER=1 is
 * the explicit opt-out (the README says so).
 */
import fs from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

export const chromiumPath = process.env['MTAREP_CHROMIUM'] || '/usr/bin/chromium';
export const browserOptedOut = process.env['MTAREP_SKIP_BROWSER'] === '1';

export async function launchChromium(): Promise<Browser> {
  if (!fs.existsSync(chromiumPath)) {
    throw new Error(`no browser at ${chromiumPath}: install chromium (apt-get install chromium; npm test does it as root), point MTAREP_CHROMIUM at one, or skip this test explicitly with MTAREP_SKIP_BROWSER=1`);
  }
  return chromium.launch({
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Console errors and uncaught page errors of `page`, collected as they happen. */
export function pageProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(e.message));
  return problems;
}
