import { spawnSync } from 'node:child_process';

export type SocatCheck = { ok: true } | { ok: false; reason: string };

let checked: SocatCheck | undefined;

/**
 * Makes sure Debian's socat is there for the pseudo-terminal tests: installs it with apt-get when
 * running as root (as CI does), else says why it cannot. `flock` keeps two test
 * files that start at once from fighting over dpkg's lock.
 */
export function ensureSocat(): SocatCheck {
  checked ??= check();
  return checked;
}

function check(): SocatCheck {
  if (socatAvailable()) return { ok: true };
  if (process.platform !== 'linux' || process.getuid?.() !== 0)
    return {
      ok: false,
      reason: 'socat is not installed and installing it needs root: apt-get install socat',
    };
  const script =
    'command -v socat >/dev/null || apt-get install -y -qq socat >/dev/null 2>&1 || ' +
    '(apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq socat >/dev/null 2>&1)';
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const run = spawnSync('flock', ['/tmp/edgehub-socat-install.lock', 'sh', '-c', script], {
    env,
    stdio: 'ignore',
  });
  if (run.error) spawnSync('sh', ['-c', script], { env, stdio: 'ignore' });
  return socatAvailable() ? { ok: true } : { ok: false, reason: 'apt-get install socat failed' };
}

/** True when socat can be run. */
function socatAvailable(): boolean {
  return spawnSync('socat', ['-V'], { stdio: 'ignore' }).status === 0;
}

/**
 * Throws, naming what to install, when socat is missing and cannot be installed: a missing tool
 * fails the pseudo-terminal tests, it never passes them by skipping.
 */
export function requireSocat(): void {
  const result = ensureSocat();
  if (!result.ok)
    throw new Error(`the pseudo-terminal tests need socat (apt-get install socat): ${result.reason}`);
}
