import { afterEach, describe, expect, it } from 'vitest';
import { Hub, loadConfig } from '../hub/index.js';
import { MemoryLogger } from '../kernel/index.js';
import { TempDirs, writeFiles } from './support/temp.js';

const temp = new TempDirs();
afterEach(() => temp.cleanup());

describe('a hub stopped right after it started', () => {
  it('stops without warnings (the retained rules status may still be on its way)', async () => {
    // A few rounds: whether the status is still being stored at stop depends on timing.
    for (let round = 0; round < 5; round++) {
      const rulesDir = temp.make('edgehub-rules-');
      writeFiles(rulesDir, {
        'r.yaml': 'rules:\n  - id: r\n    when:\n      mqtt: a/b\n    then:\n      - log: hi\n',
      });
      const config = loadConfig(undefined, {
        mqttPort: 0,
        wsPort: null,
        dataDir: temp.make('edgehub-data-'),
        rulesDir,
        demo: false,
      });
      const logger = new MemoryLogger();
      const hub = new Hub({ config: { ...config, http: { ...config.http, port: null } }, logger });
      await hub.start();
      await hub.stop();
      // One more turn for a publish that fails once the broker has closed.
      await new Promise((resolve) => setImmediate(resolve));
      const complaints = logger.entries.filter((e) => e.level === 'warn' || e.level === 'error');
      expect(complaints.map((e) => e.msg)).toEqual([]);
    }
  });
});
