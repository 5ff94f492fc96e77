import type { Client, PublishPacket } from 'aedes';
import { generate, type IPubackPacket, type IPubrecPacket, type Packet } from 'mqtt-packet';

/** MQTT 5 reason codes the broker's refusals use (MQTT 5.0 §2.4). */
export const ReasonCode = {
  unspecified: 0x80,
  notAuthorized: 0x87,
  topicNameInvalid: 0x90,
  /** DISCONNECT only. */
  receiveMaximumExceeded: 0x93,
  /** DISCONNECT only: PUBACK/PUBREC cannot carry it, so an acknowledged message over the rate gets 0x97. */
  messageRateTooHigh: 0x96,
  quotaExceeded: 0x97,
  /** "The PUBLISH is valid but the receiver is not willing to accept it." */
  implementationSpecificError: 0x83,
} as const;

/** The reason codes MQTT 5 allows on PUBACK and PUBREC that signal a refusal (§3.4.2.1). */
export type PubackReasonCode = 0x80 | 0x83 | 0x87 | 0x90 | 0x91 | 0x97 | 0x99;

const PUBACK_CODES = new Set<number>([0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99]);

/** Whether `code` may go on a PUBACK/PUBREC as a refusal. */
export function isPubackReasonCode(code: unknown): code is PubackReasonCode {
  return typeof code === 'number' && PUBACK_CODES.has(code);
}

/** MQTT 3.1.1 CONNACK return code 3: the server is unavailable (the nearest to "quota exceeded"). */
export const CONNACK_SERVER_UNAVAILABLE = 3;

/**
 * Writes one packet straight to a stream; `done` runs once it has been handed to the OS, or with the
 * error when mqtt-packet cannot encode it.
 */
export function writePacket(
  conn: NodeJS.WritableStream,
  packet: Packet,
  protocolVersion: number,
  done: (err?: Error) => void = () => {},
): void {
  const version = protocolVersion === 5 || protocolVersion === 3 ? protocolVersion : 4;
  let bytes: Buffer;
  try {
    bytes = generate(packet, { protocolVersion: version });
  } catch (err) {
    done(err instanceof Error ? err : new Error(String(err)));
    return;
  }
  if (!conn.writable) {
    done();
    return;
  }
  conn.write(bytes, () => done());
}

/**
 * The field aedes reads (in its publish handler) to skip acknowledging and routing a PUBLISH that
 * authorisation turned down; setting it lets the broker answer with its own reason code instead.
 */
interface RefusablePublish extends PublishPacket {
  _notAuthorized?: boolean;
}

/** Makes aedes neither acknowledge nor route this PUBLISH. */
export function markRefused(packet: PublishPacket): void {
  (packet as RefusablePublish)._notAuthorized = true;
}

/**
 * Drops a client PUBLISH. MQTT 5 QoS 1/2 publishers get PUBACK/PUBREC with `reasonCode`; MQTT 3.1.1
 * ones get a plain acknowledgement (as Mosquitto does), so they do not resend a message that will
 * never be accepted; QoS 0 has nothing to answer.
 */
export function refusePublish(
  client: Client,
  packet: PublishPacket,
  reasonCode: PubackReasonCode,
  done: (err?: Error) => void,
  reasonString?: string,
): void {
  markRefused(packet);
  if (packet.qos === 0 || packet.messageId === undefined) {
    done();
    return;
  }
  const cmd = packet.qos === 1 ? 'puback' : 'pubrec';
  const ack: IPubackPacket | IPubrecPacket =
    client.version === 5
      ? {
          cmd,
          messageId: packet.messageId,
          reasonCode,
          ...(reasonString !== undefined && { properties: { reasonString } }),
        }
      : { cmd, messageId: packet.messageId };
  writePacket(client.conn, ack, client.version, done);
}
