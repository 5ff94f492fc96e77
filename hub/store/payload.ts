import { utf8 } from '../../kernel/index.js';
import { readingValue } from '../../devices/index.js';

/**
 * The payload as JSON text when it is JSON by the same rule as the kernel's `decodePayload` (so the
 * store and the rules agree on what a payload is), else null: the caller stores the raw bytes.
 */
export function jsonText(payload: Buffer): string | null {
  if (payload.length === 0) return null;
  const first = payload[0] ?? 0;
  // Only bytes that can start JSON: { [ " - 0-9 t f n. Plain text such as "online" never reaches JSON.parse.
  const keyword = first === 0x74 || first === 0x66 || first === 0x6e;
  const candidate =
    keyword ||
    first === 0x7b ||
    first === 0x5b ||
    first === 0x22 ||
    first === 0x2d ||
    (first >= 0x30 && first <= 0x39);
  if (!candidate) return null;
  const text = utf8(payload);
  if (text === null) return null;
  if (keyword && text !== 'true' && text !== 'false' && text !== 'null') return null;
  try {
    JSON.parse(text);
    return text;
  } catch {
    return null;
  }
}

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

/**
 * The value kept in `latest` for an event: the reading's value (`{"value": 21.5}` → 21.5, `{"on": true}`
 * → true) as JSON text, the whole JSON payload when it has neither, or the raw bytes when it is not JSON.
 */
export function latestValue(json: string | null, payload: Buffer): string | Buffer {
  if (json === null) return payload;
  const value = readingValue(JSON.parse(json) as unknown);
  return value === undefined ? json : JSON.stringify(value);
}
