import { numberOfReading, parseDeviceTopic, readingValue } from '../../kernel/index.js';
import type { MqttMessage } from '../../kernel/index.js';
import { decodeMessage } from '../../kernel/index.js';
import type { BatchMessage } from './writer-protocol.js';
import { FLAG_JSON, FLAG_RETAIN } from './writer-protocol.js';

/** What a topic means for the store; cached because a fleet publishes the same topics over and over. */
interface TopicInfo {
  deviceId: string | null;
  metric: string | null;
  /** Key into `latest` for readings and actuator states; null for commands and other topics. */
  latestKey: string | null;
}

/** Distinct topics remembered; past it the cache starts over rather than grow without bound. */
const TOPIC_CACHE_SIZE = 10_000;

/** Rows and payload bytes a batch starts with room for; both double as needed. */
const INITIAL_ROWS = 64;
const INITIAL_BYTES = 4096;

/**
 * Builds one {@link BatchMessage} on the broker's thread, a message at a time as it arrives, so a
 * buffered event is a few bytes in column arrays rather than a message object kept alive until the
 * flush (which the garbage collector had to copy and promote, then collect from the old generation).
 * The JSON decision comes from `decodeMessage`, which the registry and the rules make for the same
 * message while the broker hands it out, so the store parses nothing itself.
 */
export class BatchEncoder {
  private readonly topicInfo = new Map<string, TopicInfo>();
  private rows = 0;
  private bytes = 0;
  private times = new Float64Array(INITIAL_ROWS);
  private values = new Float64Array(INITIAL_ROWS);
  private flags = new Uint8Array(INITIAL_ROWS);
  private topic = new Uint32Array(INITIAL_ROWS);
  private client = new Int32Array(INITIAL_ROWS);
  private ends = new Uint32Array(INITIAL_ROWS);
  private payload = new Uint8Array(INITIAL_BYTES);
  // Per-batch string tables: a batch names a few dozen topics and clients thousands of times.
  private topics: string[] = [];
  private devices: (string | null)[] = [];
  private metrics: (string | null)[] = [];
  private clients: string[] = [];
  private readonly topicIndex = new Map<string, number>();
  private readonly clientIndex = new Map<string, number>();
  /** Per (device, metric): the last row of the batch and its reading's value (undefined: none). */
  private readonly latest = new Map<string, { row: number; value: unknown }>();
  /** Outbox entries: row and route index, in row order. */
  private outRows: number[] = [];
  private outRoutes: number[] = [];

  /** Rows added since the last {@link seal}. */
  get size(): number {
    return this.rows;
  }

  /** Adds one message; `routes` are the indices of the `out` routes whose outbox it goes to. */
  add(m: MqttMessage, routes?: readonly number[]): void {
    const row = this.rows;
    if (routes !== undefined) {
      for (const route of routes) {
        this.outRows.push(row);
        this.outRoutes.push(route);
      }
    }
    if (row === this.times.length) this.growRows();
    const length = m.payload.length;
    if (this.bytes + length > this.payload.length) this.growBytes(this.bytes + length);
    const decoded = decodeMessage(m);
    this.times[row] = m.receivedAt;
    this.flags[row] = m.qos | (m.retain ? FLAG_RETAIN : 0) | (decoded.json !== null ? FLAG_JSON : 0);
    this.topic[row] = this.topicSlot(m.topic);
    this.client[row] = m.clientId === null ? -1 : this.clientSlot(m.clientId);
    this.payload.set(m.payload, this.bytes);
    this.bytes += length;
    this.ends[row] = this.bytes;
    this.rows = row + 1;
    const key = this.info(m.topic).latestKey;
    if (key === null) {
      this.values[row] = NaN;
      return;
    }
    const value = decoded.json === null ? undefined : readingValue(decoded.value);
    this.values[row] = numberOfReading(value) ?? NaN;
    // Later events in the batch overwrite earlier ones: one upsert per (device, metric) per batch.
    const entry = this.latest.get(key);
    if (entry) {
      entry.row = row;
      entry.value = value;
    } else this.latest.set(key, { row, value });
  }

  /** The rows added so far as one batch, with the buffers to transfer; the encoder starts afresh. */
  seal(seq: number): { batch: BatchMessage; transfer: ArrayBuffer[] } {
    const count = this.rows;
    const latestRows = new Uint32Array(this.latest.size);
    // null: `latest.value` is the payload column itself (JSON without `value`/`on`, or not JSON).
    const latestValues: (string | null)[] = [];
    let j = 0;
    for (const { row, value } of this.latest.values()) {
      latestRows[j++] = row;
      latestValues.push(value === undefined ? null : JSON.stringify(value));
    }
    const outRows = new Uint32Array(this.outRows);
    const outRoutes = new Uint16Array(this.outRoutes);
    const batch: BatchMessage = {
      t: 'batch',
      seq,
      count,
      times: this.times.subarray(0, count),
      values: this.values.subarray(0, count),
      flags: this.flags.subarray(0, count),
      topic: this.topic.subarray(0, count),
      client: this.client.subarray(0, count),
      topics: this.topics,
      devices: this.devices,
      metrics: this.metrics,
      clients: this.clients,
      payload: this.payload.subarray(0, this.bytes),
      ends: this.ends.subarray(0, count),
      latestRows,
      latestValues,
      outRows,
      outRoutes,
    };
    const transfer = [
      this.times.buffer,
      this.values.buffer,
      this.flags.buffer,
      this.topic.buffer,
      this.client.buffer,
      this.payload.buffer,
      this.ends.buffer,
      latestRows.buffer,
      outRows.buffer,
      outRoutes.buffer,
    ];
    this.reset();
    return { batch, transfer };
  }

  /** Forgets the rows added since the last seal. */
  reset(): void {
    this.rows = 0;
    this.bytes = 0;
    // The sealed arrays were transferred (or are being dropped); a new batch gets its own.
    this.times = new Float64Array(INITIAL_ROWS);
    this.values = new Float64Array(INITIAL_ROWS);
    this.flags = new Uint8Array(INITIAL_ROWS);
    this.topic = new Uint32Array(INITIAL_ROWS);
    this.client = new Int32Array(INITIAL_ROWS);
    this.ends = new Uint32Array(INITIAL_ROWS);
    this.payload = new Uint8Array(INITIAL_BYTES);
    this.topics = [];
    this.devices = [];
    this.metrics = [];
    this.clients = [];
    this.topicIndex.clear();
    this.clientIndex.clear();
    this.latest.clear();
    this.outRows = [];
    this.outRoutes = [];
  }

  private growRows(): void {
    const rows = this.times.length * 2;
    this.times = grown(this.times, new Float64Array(rows));
    this.values = grown(this.values, new Float64Array(rows));
    this.flags = grown(this.flags, new Uint8Array(rows));
    this.topic = grown(this.topic, new Uint32Array(rows));
    this.client = grown(this.client, new Int32Array(rows));
    this.ends = grown(this.ends, new Uint32Array(rows));
  }

  private growBytes(needed: number): void {
    let size = this.payload.length * 2;
    while (size < needed) size *= 2;
    // Not from Buffer's shared pool: a pooled slice cannot be transferred without taking the pool along.
    this.payload = grown(this.payload, new Uint8Array(new ArrayBuffer(size)));
  }

  private topicSlot(name: string): number {
    let slot = this.topicIndex.get(name);
    if (slot === undefined) {
      slot = this.topics.length;
      const info = this.info(name);
      this.topics.push(name);
      this.devices.push(info.deviceId);
      this.metrics.push(info.metric);
      this.topicIndex.set(name, slot);
    }
    return slot;
  }

  private clientSlot(id: string): number {
    let slot = this.clientIndex.get(id);
    if (slot === undefined) {
      slot = this.clients.length;
      this.clients.push(id);
      this.clientIndex.set(id, slot);
    }
    return slot;
  }

  private info(topic: string): TopicInfo {
    let info = this.topicInfo.get(topic);
    if (!info) {
      const parsed = parseDeviceTopic(topic);
      const metric = parsed?.name ?? null;
      // A command is what someone asked for, not a value the device has, so it never becomes "latest".
      const tracked =
        parsed !== null && metric !== null && (parsed.kind === 'reading' || parsed.kind === 'state');
      info = {
        deviceId: parsed?.deviceId ?? null,
        metric,
        latestKey: tracked ? `${parsed.deviceId}\u0000${metric}` : null,
      };
      if (this.topicInfo.size >= TOPIC_CACHE_SIZE) this.topicInfo.clear();
      this.topicInfo.set(topic, info);
    }
    return info;
  }
}

/** `to` with `from` copied into its start. */
function grown<T extends Float64Array | Uint8Array | Uint32Array | Int32Array>(from: T, to: T): T {
  to.set(from);
  return to;
}
