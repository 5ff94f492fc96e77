import { afterEach } from 'vitest';
import type { Hub } from '../../hub/index.js';
import { ClientPool } from './mqtt-client.js';
import { TempDirs } from './temp.js';

/**
 * What a test file that starts hubs needs, cleaned up after each test in the right order: clients
 * first, then the hubs they talk to, then the folders the hubs wrote. Call once at the top level.
 */
export function useHubKit(): { temp: TempDirs; pool: ClientPool; keep: (hub: Hub) => Hub } {
  const temp = new TempDirs();
  const pool = new ClientPool();
  const hubs: Hub[] = [];
  afterEach(async () => {
    await pool.closeAll();
    for (const hub of hubs.splice(0)) await hub.stop();
    temp.cleanup();
  });
  return {
    temp,
    pool,
    keep: (hub) => {
      hubs.push(hub);
      return hub;
    },
  };
}
