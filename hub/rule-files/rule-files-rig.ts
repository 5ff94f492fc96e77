import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryLogger, VirtualClock, type MqttMessage } from '../../kernel/index.js';
import {
  loadRuleDir,
  openRulesDb,
  payloadBytes,
  readerPages,
  rulesDbPath,
  type RuleLoadOptions,
  type RuleSet,
} from '../../rules/index.js';
import { EventStore, eventsDbPath, openEventReader, type EventReader } from '../store/index.js';
import { RuleFileVersions } from './rule-file-versions.js';
import { RuleFiles } from './rule-files.js';

/** For the rule-file tests: a rules directory, an event store with recorded events, the service over them. */

export const T0 = Date.UTC(2026, 2, 1, 8);

export const FAN = `rules:
  - id: fan
    when: { mqtt: sensors/+device/temperature }
    if: payload.value > 30
    then: [{ publish: { topic: "actuators/{{ device }}/fan", payload: { on: true } } }]
`;

export const HUMID = `rules:
  - id: humid
    when: { mqtt: sensors/+device/humidity }
    if: payload.value > 80
    then: [{ publish: { topic: "alerts/{{ device }}", payload: wet } }]
`;

export interface Recorded {
  /** ms after T0 */
  at: number;
  topic: string;
  payload: unknown;
  clientId?: string | null;
}

export const HISTORY: Recorded[] = [
  { at: 0, topic: 'sensors/gh-1/temperature', payload: { value: 22 } },
  { at: 60_000, topic: 'sensors/gh-1/temperature', payload: { value: 27 } },
  { at: 60_000, topic: 'sensors/gh-2/temperature', payload: { value: 28 } },
  { at: 120_000, topic: 'sensors/gh-1/temperature', payload: { value: 33 } },
  // What the rules in force published: not replayed.
  { at: 120_000, topic: 'actuators/gh-1/fan', payload: { on: true }, clientId: null },
  { at: 180_000, topic: 'sensors/gh-1/humidity', payload: { value: 85 } },
  { at: 240_000, topic: 'sensors/gh-1/temperature', payload: { value: 12 } },
];

export interface Rig {
  readonly root: string;
  readonly rulesDir: string;
  readonly dataDir: string;
  readonly clock: VirtualClock;
  readonly service: RuleFiles;
  /** The set in force (loaded from the directory at start, as the hub would). */
  inForce: RuleSet;
  cleanup(): Promise<void>;
}

export interface RigOptions {
  files?: Record<string, string>;
  history?: readonly Recorded[];
  keep?: number;
  load?: RuleLoadOptions;
  /** No rules directory configured. */
  noDir?: boolean;
  firingsListed?: number;
}

async function record(dataDir: string, events: readonly Recorded[]): Promise<void> {
  const store = new EventStore({
    file: eventsDbPath(dataDir),
    clock: new VirtualClock(T0),
    logger: new MemoryLogger(),
    options: {
      flushIntervalMs: 100,
      batchSize: 1000,
      retention: { maxAgeMs: 365 * 86_400_000, maxSizeBytes: 1 << 30, checkEveryMs: 3_600_000 },
    },
  });
  store.start();
  for (const e of events) {
    const message: MqttMessage = {
      topic: e.topic,
      payload: payloadBytes(e.payload),
      qos: 0,
      retain: false,
      clientId: e.clientId === undefined ? 'sensor' : e.clientId,
      receivedAt: T0 + e.at,
    };
    store.append(message);
  }
  await store.stop();
}

export async function makeRig(options: RigOptions = {}): Promise<Rig> {
  const root = mkdtempSync(join(tmpdir(), 'edgehub-rule-files-'));
  const rulesDir = join(root, 'rules');
  const dataDir = join(root, 'data');
  mkdirSync(rulesDir);
  mkdirSync(dataDir);
  for (const [name, text] of Object.entries(options.files ?? { 'fan.yaml': FAN, 'humid.yaml': HUMID }))
    writeFileSync(join(rulesDir, name), text);
  await record(dataDir, options.history ?? HISTORY);
  const reader: EventReader = openEventReader(eventsDbPath(dataDir));
  // The hub clock: three hours after the first recorded event, so the default 24 h window holds them all.
  const clock = new VirtualClock(T0 + 3 * 3_600_000);
  const load = options.load ?? {};
  const rig: Rig = {
    root,
    rulesDir,
    dataDir,
    clock,
    inForce: await loadRuleDir(rulesDir, load),
    service: new RuleFiles({
      dir: options.noDir === true ? undefined : rulesDir,
      clock,
      logger: new MemoryLogger(),
      versions: new RuleFileVersions({
        open: () => openRulesDb(rulesDbPath(dataDir)),
        keep: options.keep ?? 50,
      }),
      loadOptions: () => load,
      inForce: () => rig.inForce,
      events: () => readerPages(reader),
      ...(options.firingsListed !== undefined && { firingsListed: options.firingsListed }),
    }),
    async cleanup() {
      await rig.service.stop();
      reader.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
  rig.service.start();
  return rig;
}
