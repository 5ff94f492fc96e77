import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Hub, loadConfig } from '../hub/index.js';
import { EdgehubErrors, MemoryLogger } from '../kernel/index.js';
import { TempDirs, writeFiles } from './support/temp.js';

const temp = new TempDirs();
let hub: Hub | undefined;

afterEach(async () => {
  await hub?.stop();
  temp.cleanup();
});

function rule(device: string): string {
  return `rules:
  - id: hot
    when:
      device: ${device}
      metric: temperature
      above: 30
    then:
      - log: hot
`;
}

async function hubWith(rulesDir: string): Promise<Hub> {
  const dir = temp.make();
  writeFiles(dir, { 'edgehub.yaml': 'devices:\n  - id: gh-1\n    name: Greenhouse 1\n' });
  const config = loadConfig(join(dir, 'edgehub.yaml'), {
    mqttPort: 0,
    wsPort: null,
    dataDir: temp.make(),
    rulesDir,
    demo: false,
  });
  hub = new Hub({ config, logger: new MemoryLogger() });
  await hub.start();
  return hub;
}

describe('rules loaded by the hub are checked against its declared devices', () => {
  it('refuses to start with a rule naming an undeclared device, with file:line:col', async () => {
    const rules = temp.make();
    writeFiles(rules, { 'hot.yaml': rule('gh-9') });
    const err = (await hubWith(rules).catch((e: unknown) => e)) as EdgehubErrors;
    expect(err).toBeInstanceOf(EdgehubErrors);
    expect(err.errors[0]).toMatchObject({ code: 'RULE_UNKNOWN_DEVICE' });
    expect(err.errors[0]?.message).toContain(`${join(rules, 'hot.yaml')}:4:`);
  });

  it('loads a rule naming a declared device', async () => {
    const rules = temp.make();
    writeFiles(rules, { 'hot.yaml': rule('gh-1') });
    const running = await hubWith(rules);
    expect(running.rules.ruleSet.rules.map((r) => r.id)).toEqual(['hot']);
  });
});
