import { generate, parser, type Packet, type Parser } from 'mqtt-packet';

/**
 * Decodes one whole packet at a time with mqtt-packet. The parser keeps the protocol version it
 * learnt from CONNECT, so one decoder serves one direction of one connection.
 */
export class PacketDecoder {
  private readonly parser: Parser;
  private result: Packet | Error | undefined;

  constructor(protocolVersion?: 3 | 4 | 5) {
    this.parser = parser(protocolVersion === undefined ? {} : { protocolVersion });
    this.parser.on('packet', (p: Packet) => (this.result = p));
    this.parser.on('error', (e: Error) => (this.result = e));
  }

  /** The packet in `bytes` (exactly one whole packet), or the parser's complaint. */
  decode(bytes: Buffer): Packet | Error {
    this.result = undefined;
    try {
      this.parser.parse(bytes);
    } catch (err) {
      // mqtt-packet reports most problems as 'error' events, but some inputs make it throw.
      return err instanceof Error ? err : new Error(String(err));
    }
    return this.result ?? new Error('packet ended early');
  }
}

/** Encodes a packet for an MQTT 5 connection. */
export function encode5(packet: Packet): Buffer {
  return generate(packet, { protocolVersion: 5 });
}
