import { resolve } from 'node:path';
import { inspectDataFolder } from '../upgrade/index.js';
import { fail, ok, warn, type CheckResult } from './check-result.js';

/**
 * `schema.<file>`: each hub database's schema version against this edgehub's. Older is a WARN (the
 * hub backs the folder up and migrates it at its next start); newer is a FAIL (the hub refuses to
 * start). An unreadable file is left to the `sqlite.*` check, which explains it.
 */
export function schemaChecks(dataDir: string): CheckResult[] {
  const out: CheckResult[] = [];
  for (const s of inspectDataFolder(resolve(dataDir))) {
    const check = `schema.${s.schema.file}`;
    const version = s.version ?? 0;
    switch (s.state) {
      case 'current':
        out.push(ok(check, `${s.path} has schema version ${version}, this edgehub's`));
        break;
      case 'older':
        out.push(
          warn(
            check,
            `${s.path} has schema version ${version}; this edgehub migrates it to ${s.current} at its next start`,
            `(re)start the hub to migrate it; it backs the data folder up into ${resolve(dataDir, 'backups')} first (keep a copy off the card with edgehub backup FILE)`,
          ),
        );
        break;
      case 'newer':
        out.push(
          fail(
            check,
            `${s.path} has schema version ${version}, newer than ${s.current}, the highest this edgehub knows: a newer edgehub wrote it, and this one will not start on it`,
            'install the newer edgehub again, or restore a backup made by this version (edgehub restore FILE)',
          ),
        );
        break;
      case 'unreadable':
        break;
    }
  }
  return out;
}
