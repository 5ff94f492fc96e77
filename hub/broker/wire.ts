import type { Client, PublishPacket } from 'aedes';
import { generate, type IPubackPacket, type IPubrecPacket, type Packet } from 'mqtt-packet';

/** MQTT 5 reason codes the broker's refusals use (MQTT 5.0 §2.4). */
export const ReasonCode = {
  unspecified: 0x80,
  notAuthorized: 0x87,
  receiveMaximumExceeded: 0x93,
  topicNameInvalid: 0x90,
  messageRateTooHigh: 0x96,
  quotaExceeded: 0x97,
} as const;

/** MQTT 3.1.1 CONNACK return code 3: the server is unavailable (the nearest to "quota exceeded"). */
export const CONNACK_SERVER_UNAVAILABLE = 3;

/** Writes one packet straight to a stream and calls back once it has been handed to the OS. */
export function writePacket(
  conn: NodeJS.WritableStream,
  packet: Packet,
  protocolVersion: number,
  done: () => void = () => {},
): void {
  const version = protocolVersion === 5 || protocolVersion === 3 ? protocolVersion : 4;
  let bytes: Buffer;
  try {
    bytes = generate(packet, { protocolVersion: version });
  } catch {
    done();
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

/**
 * Drops a client PUBLISH. MQTT 5 QoS 1/2 publishers get PUBACK/PUBREC with `reasonCode`; MQTT 3.1.1
 * ones get a plain acknowledgement (as Mosquitto does), so they do not resend a message that will
 * never be accepted; QoS 0 has nothing to answer.
 */
export function refusePublish(
  client: Client,
  packet: PublishPacket,
  reasonCode: number,
  done: () => void,
): void {
  (packet as RefusablePublish)._notAuthorized = true;
  if (packet.qos === 0 || packet.messageId === undefined) {
    done();
    return;
  }
  const cmd = packet.qos === 1 ? 'puback' : 'pubrec';
  const ack: IPubackPacket | IPubrecPacket =
    client.version === 5
      ? { cmd, messageId: packet.messageId, reasonCode }
      : { cmd, messageId: packet.messageId };
  writePacket(client.conn, ack, client.version, done);
}
