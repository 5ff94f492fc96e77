import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configSchema, Hub, ruleFilesRoutes } from '../hub/index.js';
import { writeFileAtomic } from '../hub/rule-files/index.js';
import type { EdgehubError } from '../kernel/index.js';
import { MemoryLogger } from '../kernel/index.js';
import { RuleDirWatcher, type RuleSet } from '../rules/index.js';
import { useHubKit } from './support/hub-kit.js';
import { nextMessage } from './support/mqtt-client.js';
import { SignallingClock } from './support/signalling-clock.js';

const { temp, pool, keep } = useHubKit();

const ALARM = `rules:
  - id: hot
    when: { mqtt: sensors/+device/temperature }
    if: payload.value > 30
    then: [{ publish: { topic: "alarm/{{ device }}", payload: "hot {{ payload.value }}" } }]
`;

async function startHub(files: Record<string, string>) {
  const root = temp.make('edgehub-rule-editor-');
  const rulesDir = join(root, 'rules');
  mkdirSync(rulesDir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(rulesDir, name), text);
  const config = configSchema.parse({
    hub: { data_dir: join(root, 'data'), rules_dir: rulesDir, log_level: 'error' },
    mqtt: { port: 0, ws_port: null },
    http: { port: null },
  });
  const hub = keep(new Hub({ config, logger: new MemoryLogger() }));
  await hub.start();
  const client = await pool.connect(`mqtt://127.0.0.1:${hub.broker.mqttAddress?.port ?? 0}`);
  return { hub, rulesDir, client };
}

describe('the rule editor on a running hub', () => {
  it('saves a rule that the hub loads at once and fires on the next message', async () => {
    const { hub, rulesDir, client } = await startHub({
      'log.yaml': 'rules:\n  - id: note\n    when: { mqtt: notes/# }\n    then: [{ log: "{{ payload }}" }]\n',
    });
    expect(hub.rules.ruleSet.rules.map((r) => r.id)).toEqual(['note']);

    const validation = await hub.ruleFiles.validate('alarm.yaml', ALARM.replace('if:', 'iff:'));
    expect(validation.problems[0]).toMatchObject({ file: 'alarm.yaml', line: 4, col: 5 });

    const saved = await hub.ruleFiles.save('alarm.yaml', ALARM);
    expect(saved).toMatchObject({ saved: true, version: null, status: { ok: true, rules: 2 } });
    expect(hub.rules.ruleSet.rules.map((r) => r.id).sort()).toEqual(['hot', 'note']);
    expect(readdirSync(rulesDir).sort()).toEqual(['alarm.yaml', 'log.yaml']);

    await client.subscribeAsync('alarm/#');
    const alarm = nextMessage(client, 'alarm/gh-1');
    await client.publishAsync('sensors/gh-1/temperature', JSON.stringify({ value: 35 }));
    expect((await alarm).payload.toString()).toBe('hot 35');

    // The preview replays what the hub stored: the reading (its own alarm is not replayed).
    await client.publishAsync('sensors/gh-2/temperature', JSON.stringify({ value: 25 }));
    await hub.rules.whenIdle();
    await hub.store?.flushed();
    const preview = await hub.ruleFiles.preview({
      name: 'alarm.yaml',
      text: ALARM.replace('> 30', '> 20'),
      since: '1h',
    });
    expect(preview).toMatchObject({
      ok: true,
      edited: { fired: 2, rules: 2 },
      inForce: { fired: 1, rules: 2 },
      diff: { added: [], removed: [], changed: ['hot'] },
    });
    expect(preview.edited.firings.map((f) => [f.device, f.readings])).toEqual([
      ['gh-1', { value: 35 }],
      ['gh-2', { value: 25 }],
    ]);

    // An edit that would break the directory changes nothing, and says why.
    const broken = hub.ruleFiles.save('alarm.yaml', ALARM.replace('id: hot', 'id: note'));
    await expect(broken).rejects.toMatchObject({ code: 'RULES_INVALID' });
    expect(hub.rules.ruleSet.rules.map((r) => r.id).sort()).toEqual(['hot', 'note']);
    expect(hub.ruleFiles.versions('alarm.yaml').versions).toEqual([]);
  });

  it('serves the editor routes from the hub for mounting', async () => {
    const { hub } = await startHub({ 'alarm.yaml': ALARM });
    const app = ruleFilesRoutes(hub.ruleFiles);
    const res = await app.request('/alarm.yaml/versions');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ versions: [] });
  });

  it('answers RULES_DIR_NONE on a hub without a rules directory', async () => {
    const root = temp.make('edgehub-rule-editor-');
    const config = configSchema.parse({
      hub: { data_dir: join(root, 'data'), log_level: 'error' },
      mqtt: { port: 0, ws_port: null },
      http: { port: null },
    });
    const hub = keep(new Hub({ config, logger: new MemoryLogger() }));
    await hub.start();
    await expect(hub.ruleFiles.list()).rejects.toMatchObject({ code: 'RULES_DIR_NONE' });
  });
});

describe("the rules watcher and the editor's atomic save", () => {
  it('sees a file renamed into place and loads it', async () => {
    const dir = temp.make('edgehub-rule-editor-watch-');
    writeFileSync(join(dir, 'a.yaml'), 'rules: []\n');
    const clock = new SignallingClock(0);
    const errors: EdgehubError[] = [];
    let onLoad: (set: RuleSet) => void = () => undefined;
    const watcher = new RuleDirWatcher({
      dir,
      clock,
      logger: new MemoryLogger(),
      onLoad: (set) => onLoad(set),
      onError: (e) => errors.push(...e),
    });
    await watcher.start();
    try {
      const next = new Promise<RuleSet>((resolve) => (onLoad = resolve));
      // The editor's save without the hub's direct reload: only fs.watch tells the watcher.
      const armed = clock.nextTimer('rules.reload-debounce');
      await writeFileAtomic(join(dir, 'a.yaml'), ALARM);
      await armed;
      clock.advance(1000);
      expect((await next).rules.map((r) => r.id)).toEqual(['hot']);
      expect(errors).toEqual([]);
    } finally {
      watcher.stop();
    }
  });
});
