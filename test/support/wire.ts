/** The type of each whole MQTT packet in `bytes`, in order. */
export function packetTypes(bytes: Buffer): number[] {
  const types: number[] = [];
  let i = 0;
  while (i < bytes.length) {
    types.push((bytes[i] ?? 0) >> 4);
    let remaining = 0;
    let shift = 0;
    let j = i + 1;
    for (;;) {
      const byte = bytes[j++] ?? 0;
      remaining += (byte & 0x7f) << shift;
      shift += 7;
      if ((byte & 0x80) === 0) break;
    }
    i = j + remaining;
  }
  return types;
}
