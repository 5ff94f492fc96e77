import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium; the tests never download a browser of their own. */
export const CHROMIUM = '/usr/bin/chromium';

/**
 * The flags Chromium needs on these machines (../shared/notes/platform.md): no sandbox (tests run as
 * root in a container), no GPU, and none of the background traffic to Google it would otherwise try.
 */
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Makes sure /usr/bin/chromium is there: as root, installs Debian's `chromium` (waiting up to 10 min
 * for an apt run already under way); otherwise fails saying what to install.
 */
export function ensureChromium(): string {
  if (existsSync(CHROMIUM)) return CHROMIUM;
  if (process.getuid?.() !== 0) {
    throw new Error(
      `${CHROMIUM} is missing: install Debian's Chromium with \`apt-get install chromium\` (as root)`,
    );
  }
  const install = spawnSync(
    'apt-get',
    ['-o', 'DPkg::Lock::Timeout=600', 'install', '-y', '--no-install-recommends', 'chromium'],
    {
      stdio: 'pipe',
      encoding: 'utf8',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      timeout: 900_000,
    },
  );
  if (install.status !== 0 || !existsSync(CHROMIUM)) {
    throw new Error(
      `\`apt-get install chromium\` failed (exit ${install.status}); install it by hand: ${install.stderr.slice(-2000)}`,
    );
  }
  return CHROMIUM;
}

/**
 * A headless Chromium as the issue asks: `chromium.launch()` with Debian's binary and the flags above.
 * playwright gives each launch a fresh temporary `--user-data-dir` of its own and removes it on close
 * (it refuses one passed in `args`), so no profile state leaks between runs.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: ensureChromium(), args: CHROMIUM_FLAGS, headless: true });
}
