import { isUtf8 } from 'node:buffer';
import { PacketType, type RawPacket } from './frame.js';

/** MQTT 5 reason codes the connection layer sends in DISCONNECT (MQTT 5 §2.4). */
export const ReasonCode = {
  MALFORMED_PACKET: 0x81,
  PROTOCOL_ERROR: 0x82,
  TOPIC_FILTER_INVALID: 0x8f,
  TOPIC_NAME_INVALID: 0x90,
} as const;

/** Why a packet from a client breaks the protocol: the DISCONNECT reason code and a message for the log. */
export interface Violation {
  readonly code: number;
  readonly message: string;
}

export interface PublishHeader {
  readonly qos: number;
  readonly dup: boolean;
  readonly retain: boolean;
  /** Offsets of the topic name's bytes in the packet. */
  readonly topicStart: number;
  readonly topicEnd: number;
  /** 0 for QoS 0 (which has no packet identifier). */
  readonly messageId: number;
}

const PLUS = 0x2b;
const HASH = 0x23;
const NUL = 0x00;

const malformed = (message: string): Violation => ({ code: ReasonCode.MALFORMED_PACKET, message });
const protocolError = (message: string): Violation => ({ code: ReasonCode.PROTOCOL_ERROR, message });

/** Reads a PUBLISH's fixed and variable header without decoding its properties or payload. */
export function readPublishHeader(packet: RawPacket): PublishHeader | Violation {
  const { bytes, bodyStart, flags } = packet;
  const qos = (flags >> 1) & 0x03;
  if (qos === 3) return malformed('PUBLISH with both QoS bits set');
  if (bodyStart + 2 > bytes.length) return malformed('PUBLISH too short for its topic length');
  const topicStart = bodyStart + 2;
  const topicEnd = topicStart + bytes.readUInt16BE(bodyStart);
  if (topicEnd > bytes.length) return malformed('PUBLISH topic runs past the end of the packet');
  let messageId = 0;
  if (qos > 0) {
    if (topicEnd + 2 > bytes.length) return malformed('PUBLISH too short for its packet identifier');
    messageId = bytes.readUInt16BE(topicEnd);
    if (messageId === 0) return protocolError('PUBLISH with packet identifier 0');
  }
  return { qos, dup: (flags & 0x08) !== 0, retain: (flags & 0x01) !== 0, topicStart, topicEnd, messageId };
}

/**
 * Checks a PUBLISH topic name from a client: UTF-8 without U+0000 (MQTT §1.5.4) and no wildcard
 * (§3.3.2.1). An empty topic is left to the caller, since MQTT 5 allows it with a Topic Alias.
 */
export function checkTopicName(bytes: Buffer, start: number, end: number): Violation | undefined {
  const topic = bytes.subarray(start, end);
  if (!isUtf8(topic)) return malformed('topic name is not valid UTF-8');
  if (topic.includes(NUL)) return malformed('topic name contains U+0000');
  if (topic.includes(PLUS) || topic.includes(HASH)) {
    return { code: ReasonCode.TOPIC_NAME_INVALID, message: 'topic name contains a wildcard (+ or #)' };
  }
  return undefined;
}

/** Packet identifier and (MQTT 5) reason code of a PUBACK, PUBREC, PUBREL or PUBCOMP. */
export function readAck(packet: RawPacket): { messageId: number; reasonCode: number } | Violation {
  const { bytes, bodyStart } = packet;
  if (bodyStart + 2 > bytes.length) return malformed('acknowledgement too short for its packet identifier');
  // A two-byte body means reason code 0x00 Success (MQTT 5 §3.4.2.1).
  return { messageId: bytes.readUInt16BE(bodyStart), reasonCode: bytes[bodyStart + 2] ?? 0 };
}

/** The fixed-header flags MQTT requires per packet type; PUBLISH's carry QoS, DUP and RETAIN instead. */
export function checkFixedHeader(packet: RawPacket, version: number | undefined): Violation | undefined {
  const { type, flags } = packet;
  if (type === 0) return malformed('reserved packet type 0');
  if (type === PacketType.PUBLISH) return undefined;
  const required =
    type === PacketType.PUBREL || type === PacketType.SUBSCRIBE || type === PacketType.UNSUBSCRIBE ? 2 : 0;
  if (flags !== required) return malformed(`reserved flags of packet type ${type} are not ${required}`);
  switch (type) {
    case PacketType.CONNACK:
    case PacketType.SUBACK:
    case PacketType.UNSUBACK:
    case PacketType.PINGRESP:
      return protocolError(`a client may not send packet type ${type}`);
    case PacketType.AUTH:
      // edgehub offers no enhanced authentication, so an AUTH packet has nothing to continue.
      return version === 5
        ? protocolError('AUTH without enhanced authentication')
        : malformed('packet type 15');
    default:
      return undefined;
  }
}

/**
 * Walks the topic filters of a SUBSCRIBE or UNSUBSCRIBE, checking each is UTF-8 and follows the
 * wildcard rules, and returns them decoded. Properties (MQTT 5) are skipped, not read.
 */
export function readFilters(packet: RawPacket, version: number): string[] | Violation {
  const { bytes, bodyStart, type } = packet;
  let pos = bodyStart + 2;
  if (pos > bytes.length) return malformed('too short for its packet identifier');
  if (version === 5) {
    const props = readVarInt(bytes, pos);
    if (!props) return malformed('properties length is malformed');
    pos = props.next + props.value;
  }
  const filters: string[] = [];
  const subscribe = type === PacketType.SUBSCRIBE;
  while (pos < bytes.length) {
    if (pos + 2 > bytes.length) return malformed('topic filter length runs past the end');
    const end = pos + 2 + bytes.readUInt16BE(pos);
    if (end > bytes.length || (subscribe && end + 1 > bytes.length)) {
      return malformed('topic filter runs past the end');
    }
    const raw = bytes.subarray(pos + 2, end);
    if (!isUtf8(raw)) return malformed('topic filter is not valid UTF-8');
    if (raw.includes(NUL)) return malformed('topic filter contains U+0000');
    const filter = raw.toString('utf8');
    const invalid = filterProblem(filter);
    if (invalid) return { code: ReasonCode.TOPIC_FILTER_INVALID, message: invalid };
    filters.push(filter);
    pos = subscribe ? end + 1 : end;
  }
  if (filters.length === 0) return protocolError('no topic filter');
  return filters;
}

/** Why a topic filter breaks MQTT's wildcard rules, or undefined when it is valid. */
export function filterProblem(filter: string): string | undefined {
  if (filter.length === 0) return 'empty topic filter';
  const levels = filter.split('/');
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i] ?? '';
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1)) {
      return `topic filter "${filter}": # must be a whole level and the last one`;
    }
    if (level.includes('+') && level !== '+') return `topic filter "${filter}": + must be a whole level`;
  }
  return undefined;
}

/** A Variable Byte Integer (MQTT 5 §1.5.5) at `pos`, or undefined when malformed or cut short. */
export function readVarInt(bytes: Buffer, pos: number): { value: number; next: number } | undefined {
  let value = 0;
  let multiplier = 1;
  for (let i = 0; i < 4; i++) {
    const byte = bytes[pos + i];
    if (byte === undefined) return undefined;
    value += (byte & 0x7f) * multiplier;
    if ((byte & 0x80) === 0) return { value, next: pos + i + 1 };
    multiplier *= 128;
  }
  return undefined;
}

export function isViolation(value: unknown): value is Violation {
  return typeof value === 'object' && value !== null && 'code' in value && 'message' in value;
}
