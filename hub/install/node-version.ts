import { EdgehubError } from '../../kernel/index.js';

/** The oldest Node.js edgehub runs on, as package.json's `engines` says. */
export const MIN_NODE = { major: 20, minor: 19 } as const;

/** True when `version` (`v20.19.0`, as `process.version`) is at least {@link MIN_NODE}. */
export function nodeIsRecentEnough(version: string): boolean {
  const m = /^v?(\d+)\.(\d+)/.exec(version);
  if (!m) return false;
  const major = Number(m[1]);
  const minor = Number(m[2]);
  return major > MIN_NODE.major || (major === MIN_NODE.major && minor >= MIN_NODE.minor);
}

/**
 * Refuses an older Node.js with what to do about it. Raspberry Pi OS Bookworm's (and Debian 12's)
 * own `nodejs` package is 18, so the message says where a newer one comes from, as Node-RED's and
 * zigbee2mqtt's install guides do.
 */
export function checkNodeVersion(version: string = process.version): void {
  if (nodeIsRecentEnough(version)) return;
  throw new EdgehubError(
    'NODE_TOO_OLD',
    `edgehub needs Node.js ${MIN_NODE.major}.${MIN_NODE.minor} or later; this is ${version}. ` +
      "Debian 12 and Raspberry Pi OS Bookworm ship Node.js 18 in their own 'nodejs' package. " +
      'Install Node.js 22 (or 20) from NodeSource: ' +
      'curl -fsSL https://deb.nodesource.com/setup_22.x | sudo -E bash - && sudo apt-get install -y nodejs',
  );
}
