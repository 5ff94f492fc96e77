import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryLogger, VirtualClock } from '../../kernel/index.js';
import { EventStore } from './event-store.js';
import type { EventsCommandOptions } from './events-command.js';
import { runEventsCommand } from './events-command.js';
import { eventsDbPath } from './schema.js';

const T0 = Date.UTC(2026, 2, 1, 8, 0, 0);
const MIN = 60_000;

let dir: string;
let clock: VirtualClock;
let store: EventStore;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'edgehub-events-cmd-'));
  clock = new VirtualClock(T0);
  store = new EventStore({
    file: eventsDbPath(dir),
    clock,
    logger: new MemoryLogger(),
    options: {
      flushIntervalMs: 100,
      batchSize: 100,
      retention: { maxAgeMs: 365 * 86_400_000, maxSizeBytes: 1e12, checkEveryMs: 3_600_000 },
    },
  });
  store.start();
  const publish = (topic: string, payload: string | Buffer, at: number, clientId: string | null = 'sim-1') =>
    store.append({
      topic,
      payload: Buffer.from(payload),
      qos: 1,
      retain: topic.startsWith('devices/'),
      clientId,
      receivedAt: at,
    });
  publish('sensors/gh-1/temperature', '{"value":21.5}', T0);
  publish('devices/gh-1/availability', 'online', T0 + MIN);
  publish('sensors/gh-2/temperature', '{"value":30}', T0 + 2 * MIN, 'sim-2');
  publish('raw/gh-2', Buffer.from([0xde, 0xad, 0xbe, 0xef]), T0 + 3 * MIN, null);
  // The hub keeps running: the command reads what has been committed.
  store.flush();
  clock.advanceTo(T0 + 4 * MIN);
});

afterEach(async () => {
  await store.stop();
  rmSync(dir, { recursive: true, force: true });
});

function run(opts: Partial<EventsCommandOptions> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = runEventsCommand({ dataDir: dir, ...opts }, (l) => out.push(l), {
    err: (l) => err.push(l),
    clock,
  });
  return { code, out, err };
}

describe('edgehub events', () => {
  it('prints a table, newest first, while the hub has the database open', () => {
    const { code, out } = run();
    expect(code).toBe(0);
    expect(out[0]).toMatch(/^TIME\s+CLIENT\s+TOPIC\s+PAYLOAD$/);
    expect(out.slice(1)).toEqual([
      expect.stringMatching(/^2026-03-01T08:03:00\.000Z\s+\(hub\)\s+raw\/gh-2\s+<4 bytes binary: deadbeef>$/),
      expect.stringMatching(
        /^2026-03-01T08:02:00\.000Z\s+sim-2\s+sensors\/gh-2\/temperature\s+\{"value":30\}$/,
      ),
      expect.stringMatching(
        /^2026-03-01T08:01:00\.000Z\s+sim-1\s+devices\/gh-1\/availability \(retained\)\s+online$/,
      ),
      expect.stringMatching(
        /^2026-03-01T08:00:00\.000Z\s+sim-1\s+sensors\/gh-1\/temperature\s+\{"value":21\.5\}$/,
      ),
    ]);
    // Columns line up: every payload starts at the same offset.
    const at = out.map((l) => l.search(/PAYLOAD|<4|\{"value|online/));
    expect(new Set(at).size).toBe(1);
  });

  it('prints one JSON object per line with --json, binary payloads as base64', () => {
    const { code, out } = run({ json: true, limit: 2 });
    expect(code).toBe(0);
    expect(out.map((l) => JSON.parse(l) as unknown)).toEqual([
      expect.objectContaining({
        topic: 'raw/gh-2',
        clientId: null,
        payload: null,
        payloadBase64: Buffer.from([0xde, 0xad, 0xbe, 0xef]).toString('base64'),
      }),
      expect.objectContaining({
        time: T0 + 2 * MIN,
        isoTime: '2026-03-01T08:02:00.000Z',
        topic: 'sensors/gh-2/temperature',
        deviceId: 'gh-2',
        metric: 'temperature',
        payload: { value: 30 },
        qos: 1,
        retain: false,
      }),
    ]);
  });

  it('filters by device, topic filter and --since', () => {
    const topics = (opts: Partial<EventsCommandOptions>) =>
      run({ ...opts, json: true }).out.map((l) => (JSON.parse(l) as { topic: string }).topic);
    expect(topics({ device: 'gh-1' })).toEqual(['devices/gh-1/availability', 'sensors/gh-1/temperature']);
    expect(topics({ topic: 'sensors/+/temperature' })).toEqual([
      'sensors/gh-2/temperature',
      'sensors/gh-1/temperature',
    ]);
    // now is 08:04, so 2m30s reaches back to 08:01:30.
    expect(topics({ since: '2m30s' })).toEqual(['raw/gh-2', 'sensors/gh-2/temperature']);
  });

  it('says when more events exist than were shown', () => {
    const { out } = run({ limit: 3 });
    expect(out).toHaveLength(5);
    expect(out.at(-1)).toContain('newest 3');
    expect(run({ limit: 4 }).out).toHaveLength(5);
  });

  it('says so when nothing matches', () => {
    expect(run({ device: 'nobody' }).out).toEqual(['no events match']);
    expect(run({ device: 'nobody', json: true }).out).toEqual([]);
  });

  it('names the missing database and exits 1', () => {
    const missing = join(dir, 'elsewhere');
    const { code, out, err } = run({ dataDir: missing });
    expect(code).toBe(1);
    expect(out).toEqual([]);
    expect(err.join('\n')).toContain(eventsDbPath(missing));
  });

  it('rejects a bad duration, topic filter or limit with exit code 2', () => {
    expect(run({ since: 'yesterday' })).toMatchObject({
      code: 2,
      err: [expect.stringContaining('yesterday')],
    });
    expect(run({ topic: 'sensors/#/x' }).code).toBe(2);
    expect(run({ limit: 0 }).code).toBe(2);
  });
});
