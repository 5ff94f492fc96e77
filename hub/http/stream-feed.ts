import {
  decodeMessage,
  parseDeviceTopic,
  type Clock,
  type MessageSource,
  type MqttMessage,
  type TimerHandle,
} from '../../kernel/index.js';
import type { HubBus } from '../events.js';
import type { LiveStream } from './live-stream.js';

/** Alerts are published retained under this prefix on every change (raised, acknowledged, cleared). */
const ALERT_PREFIX = 'edgehub/alerts/';
/**
 * A device's changes within this long go out as one `device` message of its state at the end, ms: a
 * gateway's device reporting 300 times a second is still shown at four updates a second, and the hub
 * builds its view four times, not 300.
 */
export const DEVICE_COALESCE_MS = 250;

export interface StreamFeedDeps {
  stream: LiveStream;
  bus: HubBus;
  /** Every message the broker routes. */
  messages: MessageSource;
  /** The device as the API shows it (`Device`), made only when a client wants it. */
  device(id: string): unknown;
  /** The hub clock: what device changes are coalesced on. */
  clock: Clock;
}

/**
 * Feeds the live stream from the hub: broker messages as `event`s (and alert topics as `alert`s),
 * the registry's readings and availability changes as `device`s (coalesced per DEVICE_COALESCE_MS), rule runs as `rule`s. Each is
 * turned into JSON only when a client takes that type. Returns the function that stops the feed.
 */
export function feedLiveStream(deps: StreamFeedDeps): () => void {
  const { stream, bus, messages } = deps;
  const owner = { name: 'live stream' };
  messages.onMessage(owner, (m) => {
    if (m.topic.startsWith(ALERT_PREFIX)) {
      if (stream.wants('alert') && m.payload.length > 0)
        stream.publish({ type: 'alert', topic: m.topic, json: () => decodeMessage(m).json ?? 'null' });
    }
    if (!stream.wants('event')) return;
    const parsed = parseDeviceTopic(m.topic);
    stream.publish({
      type: 'event',
      topic: m.topic,
      device: parsed?.deviceId ?? null,
      json: () => eventJson(m),
    });
  });
  const changed = new Set<string>();
  let flush: TimerHandle | undefined;
  const publishChanged = (): void => {
    flush = undefined;
    for (const deviceId of changed)
      stream.publish({ type: 'device', device: deviceId, json: () => JSON.stringify(deps.device(deviceId)) });
    changed.clear();
  };
  const device = (deviceId: string): void => {
    if (!stream.wants('device')) return;
    changed.add(deviceId);
    flush ??= deps.clock.setTimer('http.stream-devices', DEVICE_COALESCE_MS, publishChanged);
  };
  bus.on(owner, 'device.reading', (r) => device(r.deviceId));
  bus.on(owner, 'device.status', (c) => device(c.deviceId));
  bus.on(owner, 'rule.run', (run) => {
    if (stream.wants('rule')) stream.publish({ type: 'rule', json: () => JSON.stringify(run) });
  });
  return () => {
    messages.offOwner(owner);
    bus.offOwner(owner);
    deps.clock.clearTimer(flush);
  };
}

/** An `Event` without id (not stored yet); the payload's JSON text is used as it came. */
function eventJson(m: MqttMessage): string {
  const parsed = parseDeviceTopic(m.topic);
  const decoded = decodeMessage(m);
  const payload =
    decoded.json ??
    (decoded.value === null
      ? JSON.stringify({ base64: m.payload.toString('base64') })
      : JSON.stringify(decoded.value));
  return (
    `{"time":${m.receivedAt},"topic":${JSON.stringify(m.topic)},` +
    `"device":${JSON.stringify(parsed?.deviceId ?? null)},"metric":${JSON.stringify(parsed?.name ?? null)},` +
    `"payload":${payload},"qos":${m.qos},"retain":${m.retain},"clientId":${JSON.stringify(m.clientId)}}`
  );
}
