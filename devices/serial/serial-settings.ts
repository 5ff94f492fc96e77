import * as z from 'zod';
import { EdgehubError, isDuration, parseDuration, type BackoffOptions } from '../../kernel/index.js';

const duration = z
  .string()
  .refine(isDuration, { message: 'not a duration; write it like 500ms, 10s, 5m, 2h, 1d or 1h30m' });

/** How a lost port is reopened; shared by the serial and Firmata settings. */
export const reconnectSettingsSchema = z
  .object({
    /** Delay before the first retry. */
    initial: duration.default('500ms'),
    /** The delay doubles per failed attempt up to this. */
    max: duration.default('30s'),
  })
  .strict();

/** The port path, with a hint for the paths that change between boots. */
export const portPathSchema = z
  .string()
  .min(1, 'the serial port path, e.g. /dev/serial/by-id/usb-Arduino_Uno_1234-if00');

/** `serial:` of a device with `adapter: serial`: a device speaking JSON lines on a serial port. */
export const serialSettingsSchema = z
  .object({
    path: portPathSchema,
    /** Bits per second; must match the device's firmware. */
    baud: z.number().int().positive().default(9600),
    reconnect: reconnectSettingsSchema.prefault({}),
    /** Longest line accepted, bytes; a longer one is dropped up to its newline. */
    max_line_bytes: z.number().int().positive().default(4096),
  })
  .strict();

export type SerialSettings = z.output<typeof serialSettingsSchema>;
export type ReconnectSettings = z.output<typeof reconnectSettingsSchema>;

export function reconnectOptions(settings: ReconnectSettings): BackoffOptions {
  return {
    initialMs: parseDuration(settings.initial),
    maxMs: parseDuration(settings.max),
    factor: 2,
    jitter: 0,
  };
}

/**
 * Validates an adapter's settings block of one device. Until the block is part of the device schema
 * it arrives unchecked, so the adapter checks it itself and names the device and key path.
 */
export function parseAdapterSettings<S extends z.ZodType>(
  schema: S,
  deviceId: string,
  key: string,
  value: unknown,
): z.output<S> {
  if (value === undefined)
    throw new EdgehubError(
      'CONFIG_INVALID',
      `device ${deviceId}: ${key}: missing; the ${key} adapter needs it`,
    );
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.map((i) => {
    const path = [key, ...i.path.map(String)].join('.');
    return `device ${deviceId}: ${path}: ${i.message}`;
  });
  throw new EdgehubError('CONFIG_INVALID', issues.join('\n'));
}
