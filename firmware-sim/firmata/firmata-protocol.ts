/**
 * The Firmata protocol (version 2.x) as a board speaks it: command bytes, pin modes and encoders for
 * the messages a board sends. Multi-byte values travel as 7-bit bytes, least significant first.
 */

export const CMD = {
  ANALOG_MESSAGE: 0xe0,
  DIGITAL_MESSAGE: 0x90,
  REPORT_ANALOG: 0xc0,
  REPORT_DIGITAL: 0xd0,
  START_SYSEX: 0xf0,
  SET_PIN_MODE: 0xf4,
  SET_DIGITAL_PIN_VALUE: 0xf5,
  END_SYSEX: 0xf7,
  REPORT_VERSION: 0xf9,
  SYSTEM_RESET: 0xff,
} as const;

export const SYSEX = {
  SERVO_CONFIG: 0x70,
  STRING_DATA: 0x71,
  ANALOG_MAPPING_QUERY: 0x69,
  ANALOG_MAPPING_RESPONSE: 0x6a,
  CAPABILITY_QUERY: 0x6b,
  CAPABILITY_RESPONSE: 0x6c,
  PIN_STATE_QUERY: 0x6d,
  PIN_STATE_RESPONSE: 0x6e,
  EXTENDED_ANALOG: 0x6f,
  QUERY_FIRMWARE: 0x79,
  SAMPLING_INTERVAL: 0x7a,
} as const;

/** Pin modes as numbered by the protocol. */
export const PIN_MODE = {
  INPUT: 0x00,
  OUTPUT: 0x01,
  ANALOG: 0x02,
  PWM: 0x03,
  SERVO: 0x04,
  I2C: 0x06,
  PULLUP: 0x0b,
} as const;

export type PinMode = (typeof PIN_MODE)[keyof typeof PIN_MODE];

/** Protocol version this simulator implements. */
export const PROTOCOL_VERSION = { major: 2, minor: 6 } as const;

/** The 7-bit bytes of a non-negative value, least significant first; at least `min` bytes. */
export function to7Bit(value: number, min = 2): number[] {
  const out: number[] = [];
  let rest = Math.max(0, Math.floor(value));
  do {
    out.push(rest & 0x7f);
    rest = Math.floor(rest / 128);
  } while (rest > 0 || out.length < min);
  return out;
}

/** The value of 7-bit bytes, least significant first. */
export function from7Bit(bytes: readonly number[]): number {
  return bytes.reduceRight((acc, b) => acc * 128 + (b & 0x7f), 0);
}

export function reportVersionMessage(): number[] {
  return [CMD.REPORT_VERSION, PROTOCOL_VERSION.major, PROTOCOL_VERSION.minor];
}

/** QUERY_FIRMWARE reply: version, then the name with each character as two 7-bit bytes. */
export function firmwareMessage(name: string, version: { major: number; minor: number }): number[] {
  const chars = [...Buffer.from(name, 'utf8')].flatMap((c) => [c & 0x7f, (c >> 7) & 0x7f]);
  return [CMD.START_SYSEX, SYSEX.QUERY_FIRMWARE, version.major, version.minor, ...chars, CMD.END_SYSEX];
}

/** A pin's supported modes with their resolution in bits. */
export type PinCapabilities = ReadonlyMap<PinMode, number>;

export function capabilityMessage(pins: readonly PinCapabilities[]): number[] {
  const body = pins.flatMap((caps) => [...[...caps].flatMap(([mode, bits]) => [mode, bits]), 0x7f]);
  return [CMD.START_SYSEX, SYSEX.CAPABILITY_RESPONSE, ...body, CMD.END_SYSEX];
}

/** Analog channel of each pin, 127 for a pin that has none. */
export function analogMappingMessage(channels: readonly (number | undefined)[]): number[] {
  return [CMD.START_SYSEX, SYSEX.ANALOG_MAPPING_RESPONSE, ...channels.map((c) => c ?? 0x7f), CMD.END_SYSEX];
}

export function pinStateMessage(pin: number, mode: number, state: number): number[] {
  return [CMD.START_SYSEX, SYSEX.PIN_STATE_RESPONSE, pin, mode, ...to7Bit(state, 1), CMD.END_SYSEX];
}

/** An analog reading of channel 0–15: 14 bits in two 7-bit bytes. */
export function analogMessage(channel: number, value: number): number[] {
  return [CMD.ANALOG_MESSAGE | (channel & 0x0f), value & 0x7f, (value >> 7) & 0x7f];
}

/** The input levels of the 8 pins of a port, as a bit mask. */
export function digitalMessage(port: number, mask: number): number[] {
  return [CMD.DIGITAL_MESSAGE | (port & 0x0f), mask & 0x7f, (mask >> 7) & 0x01];
}

export function stringMessage(text: string): number[] {
  const chars = [...Buffer.from(text, 'utf8')].flatMap((c) => [c & 0x7f, (c >> 7) & 0x7f]);
  return [CMD.START_SYSEX, SYSEX.STRING_DATA, ...chars, CMD.END_SYSEX];
}
