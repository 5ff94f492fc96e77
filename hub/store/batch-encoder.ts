import { parseDeviceTopic, readingValue } from '../../devices/index.js';
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

/**
 * Turns buffered messages into one {@link BatchMessage} on the broker's thread. The JSON decision
 * comes from `decodeMessage`, which the registry and the rules have usually made already for the
 * same message, so the store parses nothing itself.
 */
export class BatchEncoder {
  private readonly topicInfo = new Map<string, TopicInfo>();
  // Per-batch string tables, reused: a batch names a few dozen topics and clients thousands of times.
  private readonly topicIndex = new Map<string, number>();
  private readonly clientIndex = new Map<string, number>();
  private readonly latestRow = new Map<string, number>();

  /** Encodes `messages[start .. start + count)`; returns the message and what to transfer. */
  encode(
    seq: number,
    messages: readonly MqttMessage[],
    start: number,
    count: number,
  ): { batch: BatchMessage; transfer: ArrayBuffer[] } {
    let bytes = 0;
    for (let i = start; i < start + count; i++) bytes += messages[i]?.payload.length ?? 0;
    // Not from Buffer's shared pool: a pooled slice cannot be transferred without taking the pool along.
    const payload = new Uint8Array(new ArrayBuffer(bytes));
    const times = new Float64Array(count);
    const flags = new Uint8Array(count);
    const topic = new Uint32Array(count);
    const client = new Int32Array(count);
    const ends = new Uint32Array(count);
    const topics: string[] = [];
    const devices: (string | null)[] = [];
    const metrics: (string | null)[] = [];
    const clients: string[] = [];
    this.topicIndex.clear();
    this.clientIndex.clear();
    this.latestRow.clear();
    let offset = 0;
    for (let row = 0; row < count; row++) {
      const m = messages[start + row];
      if (m === undefined) throw new RangeError(`no message at ${start + row}`);
      times[row] = m.receivedAt;
      const json = decodeMessage(m).json !== null;
      flags[row] = m.qos | (m.retain ? FLAG_RETAIN : 0) | (json ? FLAG_JSON : 0);
      topic[row] = this.topicSlot(m.topic, topics, devices, metrics);
      client[row] = m.clientId === null ? -1 : this.clientSlot(m.clientId, clients);
      payload.set(m.payload, offset);
      offset += m.payload.length;
      ends[row] = offset;
      const key = this.info(m.topic).latestKey;
      // Later events in the batch overwrite earlier ones: one upsert per (device, metric) per batch.
      if (key !== null) this.latestRow.set(key, row);
    }
    const latestRows = new Uint32Array(this.latestRow.size);
    const latestValues: (string | null)[] = [];
    let j = 0;
    for (const row of this.latestRow.values()) {
      latestRows[j++] = row;
      latestValues.push(this.latestValue(messages[start + row]));
    }
    const batch: BatchMessage = {
      t: 'batch',
      seq,
      count,
      times,
      flags,
      topic,
      client,
      topics,
      devices,
      metrics,
      clients,
      payload,
      ends,
      latestRows,
      latestValues,
    };
    const transfer = [times, flags, topic, client, payload, ends, latestRows].map((a) => a.buffer);
    return { batch, transfer };
  }

  /**
   * The reading's value (`{"value": 21.5}` → `21.5`, `{"on": true}` → `true`) as JSON text, or null
   * when `latest.value` is the payload column itself (JSON without either key, or not JSON at all).
   */
  private latestValue(m: MqttMessage | undefined): string | null {
    if (m === undefined) return null;
    const decoded = decodeMessage(m);
    if (decoded.json === null) return null;
    const value = readingValue(decoded.value);
    return value === undefined ? null : JSON.stringify(value);
  }

  private topicSlot(
    name: string,
    topics: string[],
    devices: (string | null)[],
    metrics: (string | null)[],
  ): number {
    let slot = this.topicIndex.get(name);
    if (slot === undefined) {
      slot = topics.length;
      const info = this.info(name);
      topics.push(name);
      devices.push(info.deviceId);
      metrics.push(info.metric);
      this.topicIndex.set(name, slot);
    }
    return slot;
  }

  private clientSlot(id: string, clients: string[]): number {
    let slot = this.clientIndex.get(id);
    if (slot === undefined) {
      slot = clients.length;
      clients.push(id);
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
