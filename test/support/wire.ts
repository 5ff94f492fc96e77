import { PacketFramer } from '../../hub/broker/mqtt5/index.js';

/** The type of each whole MQTT packet in `bytes`, in order (the broker's own framer splits them). */
export function packetTypes(bytes: Buffer): number[] {
  const framer = new PacketFramer();
  framer.push(bytes);
  const types: number[] = [];
  for (let r = framer.shift(); r.kind === 'packet'; r = framer.shift()) types.push(r.packet.type);
  return types;
}
