import { fail, ok, reason, warn, type CheckResult } from './check-result.js';
import type { DoctorEnv } from './doctor-env.js';

/** The oldest Node.js edgehub runs on (package.json's engines). */
export const MIN_NODE: readonly [number, number] = [20, 19];

const NODE_FIX =
  'install Node.js 20.19 or later (22 LTS is fine); Debian and Raspberry Pi OS ship 18: use NodeSource (https://github.com/nodesource/distributions)';

export function nodeVersionCheck(env: Pick<DoctorEnv, 'nodeVersion'>): CheckResult {
  const [major = 0, minor = 0] = env.nodeVersion.split('.').map(Number);
  const [needMajor, needMinor] = MIN_NODE;
  const enough = major > needMajor || (major === needMajor && minor >= needMinor);
  const want = `${needMajor}.${needMinor}`;
  return enough
    ? ok('node.version', `Node.js ${env.nodeVersion} (edgehub needs ${want} or later)`)
    : fail('node.version', `Node.js ${env.nodeVersion} is older than ${want}`, NODE_FIX);
}

/** The two native addons: SQLite (every database) and serialport (serial and Firmata devices). */
export async function nativeModuleChecks(env: DoctorEnv): Promise<CheckResult[]> {
  const rebuild = (name: string) =>
    `reinstall edgehub with the Node.js that runs it (npm rebuild ${name}); its addon must be built for Node ${env.nodeVersion}`;
  const results: CheckResult[] = [];
  try {
    await env.openMemorySqlite();
    results.push(ok('native.better-sqlite3', 'better-sqlite3 loads and opens a database'));
  } catch (err) {
    results.push(
      fail(
        'native.better-sqlite3',
        `better-sqlite3 does not load: ${reason(err)}`,
        rebuild('better-sqlite3'),
      ),
    );
  }
  const serial = await env.listSerialPorts();
  if (!serial.loaded) {
    results.push(
      fail(
        'native.serialport',
        `serialport's bindings do not load: ${serial.error ?? 'unknown error'}`,
        rebuild('@serialport/bindings-cpp'),
      ),
    );
  } else if (serial.error !== undefined) {
    // On Linux, listing asks udevadm; without udev, configured paths still open.
    results.push(
      warn(
        'native.serialport',
        `serialport's bindings load, but listing ports failed: ${serial.error}`,
        'install udev (apt-get install udev) for port listing; configured paths open without it',
      ),
    );
  } else {
    results.push(
      ok('native.serialport', `serialport's bindings load (${serial.ports ?? 0} serial ports listed)`),
    );
  }
  return results;
}
