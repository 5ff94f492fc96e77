import { utf8 } from '../../kernel/index.js';

/** What the `payload` and `latest.value` columns hold, turned back into what the publisher sent. */
export function decodeStored(value: unknown): unknown {
  if (typeof value === 'string') {
    try {
      return JSON.parse(value) as unknown;
    } catch {
      // Written by something other than the store; show it as it is.
      return value;
    }
  }
  if (Buffer.isBuffer(value)) return utf8(value) ?? value;
  return value;
}
