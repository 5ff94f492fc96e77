import * as z from 'zod';
import { isDuration } from '../../kernel/index.js';
import { portPathSchema, reconnectSettingsSchema } from '../serial/serial-settings.js';

const duration = z
  .string()
  .refine(isDuration, { message: 'not a duration; write it like 500ms, 10s, 5m, 2h, 1d or 1h30m' });

const level = (what: string) =>
  z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/, `${what} use letters, digits, _ . and - only (they are MQTT topic levels)`);

/** An analog input by its channel: `A0`, `A1`, … */
const analogPin = z.string().regex(/^A\d{1,2}$/, 'an analog input is written A0, A1, …');
/** A digital pin by number, as printed on the board. */
const digitalPin = z.number().int().min(0).max(127);

const metric = level('metric names');
const actuator = level('actuator names');
/** Publish a reading only when it moved at least this much (in its own unit) since the last one. */
const minChange = z.number().nonnegative().default(0);

const analogInput = z
  .object({
    type: z.literal('analog'),
    pin: analogPin,
    metric,
    /** The reading is mapped linearly from `raw` to `scale`; default: the raw ADC value. */
    scale: z.tuple([z.number(), z.number()]).optional(),
    /** ADC values that map to `scale`'s ends; default the full 10-bit range. */
    raw: z.tuple([z.number(), z.number()]).default([0, 1023]),
    /** Decimal places the scaled value is rounded to. */
    decimals: z.number().int().min(0).max(6).default(2),
    min_change: minChange,
  })
  .strict()
  .refine((p) => p.raw[0] !== p.raw[1], { message: 'raw needs two different ends', path: ['raw'] });

const thermometer = z
  .object({
    type: z.literal('thermometer'),
    pin: analogPin,
    metric,
    /** LM35: 10 mV/°C from 0 °C; TMP36: 10 mV/°C with 500 mV at 0 °C. */
    model: z.enum(['LM35', 'TMP36']),
    /** The board's analog reference, V (5 on an Uno, 3.3 on 3.3 V boards). */
    aref: z.number().positive().default(5),
    /** Decimal places of the °C value. */
    decimals: z.number().int().min(0).max(3).default(1),
    min_change: minChange,
  })
  .strict();

const button = z
  .object({
    type: z.literal('button'),
    pin: digitalPin,
    metric,
    /** Use the board's pull-up: the button connects the pin to ground, so pressed reads low. */
    pullup: z.boolean().default(false),
  })
  .strict();

const led = z.object({ type: z.literal('led'), pin: digitalPin, actuator }).strict();
const pwm = z.object({ type: z.literal('pwm'), pin: digitalPin, actuator }).strict();
const relay = z
  .object({
    type: z.literal('relay'),
    pin: digitalPin,
    actuator,
    /** A normally-closed relay powers its load when the pin is low. */
    contacts: z.enum(['normally_open', 'normally_closed']).default('normally_open'),
  })
  .strict();

export const firmataPinSchema = z.discriminatedUnion('type', [
  analogInput,
  thermometer,
  button,
  led,
  pwm,
  relay,
]);

/** `firmata:` of a device with `adapter: firmata`: a board running StandardFirmata. */
export const firmataSettingsSchema = z
  .object({
    path: portPathSchema,
    /** Bits per second; StandardFirmata uses 57600. */
    baud: z.number().int().positive().default(57600),
    /** How often inputs are read. */
    sample_every: duration.default('1s'),
    /** A reading is published at least this often even when unchanged, so it never looks stale. */
    report_every: duration.default('1m'),
    /** A board that has not answered the Firmata handshake by then is closed and retried. */
    handshake_timeout: duration.default('10s'),
    reconnect: reconnectSettingsSchema.prefault({}),
    pins: z.array(firmataPinSchema).default([]),
  })
  .strict()
  .superRefine((s, ctx) => {
    const seen = new Map<string, number>();
    s.pins.forEach((p, i) => {
      const key = String(p.pin);
      if (seen.has(key))
        ctx.addIssue({ code: 'custom', path: ['pins', i, 'pin'], message: `pin ${key} is used twice` });
      seen.set(key, i);
    });
    const names = s.pins.map((p) => ('metric' in p ? `metric ${p.metric}` : `actuator ${p.actuator}`));
    names.forEach((n, i) => {
      if (names.indexOf(n) !== i)
        ctx.addIssue({ code: 'custom', path: ['pins', i], message: `${n} is declared twice` });
    });
  });

export type FirmataSettings = z.output<typeof firmataSettingsSchema>;
export type FirmataPin = z.output<typeof firmataPinSchema>;
export type FirmataSensorPin = Extract<FirmataPin, { metric: string }>;
export type FirmataActuatorPin = Extract<FirmataPin, { actuator: string }>;

/**
 * Problems between a board's pins and the rest of its definition: commands reach only actuators
 * the definition declares under `actuators:`, so an actuator pin naming an undeclared one would be dead.
 */
export function firmataPinIssues(
  settings: FirmataSettings,
  declaredActuators: readonly string[],
): { path: (string | number)[]; message: string }[] {
  return settings.pins.flatMap((pin, i) =>
    'actuator' in pin && !declaredActuators.includes(pin.actuator)
      ? [
          {
            path: ['pins', i, 'actuator'],
            message: `declare ${pin.actuator} under actuators: as well, or commands cannot reach it`,
          },
        ]
      : [],
  );
}
