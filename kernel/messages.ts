/** QoS levels of MQTT. */
export type QoS = 0 | 1 | 2;

/** One message published through the embedded broker, as every consumer sees it. */
export interface MqttMessage {
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  /** The publishing MQTT client, or null when the hub itself published (a rule, a bridge). */
  clientId: string | null;
  /** Epoch ms on the hub clock when the broker accepted the message. */
  receivedAt: number;
  /** The rule runs that led to it, when a rule's action published it. */
  cause?: Cause | undefined;
}

/** One rule run in a causal chain: the rule and the key it ran for. */
export interface CauseLink {
  readonly rule: string;
  readonly key: string;
}

/**
 * The chain of rule runs that led to a message, the first run first: a run triggered by a message
 * from outside has none; each run's actions publish with its input's chain plus itself. How the
 * rules engine tells a loop (a rule caused, through rules, by itself for the same key) from a busy
 * sensor.
 */
export type Cause = readonly CauseLink[];

/** A message a consumer asks the broker to publish. */
export interface OutgoingMessage {
  topic: string;
  payload: Buffer | string;
  qos?: QoS;
  retain?: boolean;
  /** Carried to the {@link MqttMessage} every consumer sees; see {@link Cause}. */
  cause?: Cause;
}

/** Where consumers get messages from; listeners are owned and removed with their owner. */
export interface MessageSource {
  onMessage(owner: object, fn: (message: MqttMessage) => void): void;
  offOwner(owner: object): void;
}

/** Publishes through the embedded broker. */
export interface Publisher {
  /**
   * Settles once the broker has accepted the message: rejects when it refused it. A QoS 0 message
   * that is not retained is accepted when handed over; the others once stored and routed.
   */
  publish(message: OutgoingMessage): Promise<void>;
  /**
   * Optional: hands over a QoS 0 message that is not retained, which the broker accepts or refuses
   * at once; throws when it refuses it. A caller that can finish without waiting uses it when present.
   */
  publishNow?(message: OutgoingMessage): void;
}

/** Reads what the broker keeps retained. */
export interface RetainedReader {
  /** The retained messages on topics matching the MQTT topic filter `filter`. */
  retained(filter: string): Promise<MqttMessage[]>;
}

/**
 * Decodes a payload for rules and displays: JSON when it parses, else the UTF-8 text, else null
 * (binary that is not valid UTF-8).
 */
export function decodePayload(payload: Buffer): unknown {
  return decodeBuffer(payload).value;
}

/** A payload decoded once per message, shared by every consumer (store, registry, rules). */
export interface DecodedPayload {
  /** Parsed JSON, else the UTF-8 text, else null for binary that is not UTF-8. */
  readonly value: unknown;
  /** The payload's text when it parsed as JSON, else null. */
  readonly json: string | null;
}

/** The last message decoded and its result. */
let lastMessage: MqttMessage | undefined;
let lastDecoded: DecodedPayload | undefined;

/**
 * Decodes a message's payload once, however many consumers ask: the store, the registry and the
 * rules each read every message while the broker hands it out, and parsing JSON three times was a
 * third of their cost. One entry is enough for that, and unlike a map keyed by message it keeps
 * nothing alive after the hand-out (decoding again later is only slower, never different).
 */
export function decodeMessage(message: MqttMessage): DecodedPayload {
  if (message !== lastMessage || lastDecoded === undefined) {
    lastDecoded = decodeBuffer(message.payload);
    lastMessage = message;
  }
  return lastDecoded;
}

function decodeBuffer(payload: Buffer): DecodedPayload {
  if (payload.length === 0) return { value: '', json: null };
  const text = utf8(payload);
  if (text === null) return { value: null, json: null };
  if (!mayBeJson(text)) return { value: text, json: null };
  if (text.length > 2 * MAX_JSON_DEPTH && nestedDeeperThan(text, MAX_JSON_DEPTH))
    return { value: text, json: null };
  try {
    return { value: JSON.parse(text) as unknown, json: text };
  } catch {
    // A SyntaxError, or a RangeError should a parser run out of stack: either way it is text.
    return { value: text, json: null };
  }
}

/**
 * Levels of `[`/`{` beyond which a payload is text, not JSON. V8 parses any depth, but consumers
 * walk values recursively (JSON.stringify in the store, equality in rules), and a payload such as
 * 100,000 nested arrays would overflow their stack; no device reading comes close to this.
 */
const MAX_JSON_DEPTH = 256;

/** Scans JSON text (outside strings) for nesting deeper than `limit`, without recursion. */
function nestedDeeperThan(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/** Only text that can start JSON is parsed, so plain text such as "online" stays text cheaply. */
function mayBeJson(text: string): boolean {
  const first = text.charCodeAt(0);
  return (
    first === 0x7b ||
    first === 0x5b ||
    first === 0x22 ||
    first === 0x2d ||
    (first >= 0x30 && first <= 0x39) ||
    text === 'true' ||
    text === 'false' ||
    text === 'null'
  );
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/** The payload as text, or null when it is not valid UTF-8. */
export function utf8(payload: Buffer): string | null {
  try {
    return decoder.decode(payload);
  } catch {
    return null;
  }
}
