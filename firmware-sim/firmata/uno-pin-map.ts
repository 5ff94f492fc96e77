import { PIN_MODE, type PinCapabilities, type PinMode } from './firmata-protocol.js';

/** What a board offers: its pins' capabilities and analog channels. */
export interface BoardPinMap {
  readonly name: string;
  /** Capabilities of each pin, by pin number. */
  readonly pins: readonly PinCapabilities[];
  /** Analog channel of each pin, undefined for pins without one. */
  readonly analogChannels: readonly (number | undefined)[];
}

const PWM_PINS = new Set([3, 5, 6, 9, 10, 11]);
const I2C_PINS = new Set([18, 19]);
/** The Servo library drives at most 12 servos, on pins 2–13. */
const SERVO_PINS = { from: 2, to: 13 };

/**
 * An Arduino Uno (ATmega328P) as StandardFirmata describes it: pins 0 and 1 carry the serial link
 * and offer nothing; 2–19 are digital; PWM (8 bits) on 3, 5, 6, 9, 10, 11; A0–A5 are pins 14–19
 * with a 10-bit ADC; I2C on A4/A5.
 */
export function unoPinMap(): BoardPinMap {
  const pins: PinCapabilities[] = [];
  const analogChannels: (number | undefined)[] = [];
  for (let pin = 0; pin < 20; pin++) {
    const caps = new Map<PinMode, number>();
    if (pin >= 2) {
      caps.set(PIN_MODE.INPUT, 1);
      caps.set(PIN_MODE.OUTPUT, 1);
      caps.set(PIN_MODE.PULLUP, 1);
    }
    if (pin >= 14) caps.set(PIN_MODE.ANALOG, 10);
    if (PWM_PINS.has(pin)) caps.set(PIN_MODE.PWM, 8);
    if (pin >= SERVO_PINS.from && pin <= SERVO_PINS.to) caps.set(PIN_MODE.SERVO, 14);
    if (I2C_PINS.has(pin)) caps.set(PIN_MODE.I2C, 1);
    pins.push(caps);
    analogChannels.push(pin >= 14 ? pin - 14 : undefined);
  }
  return { name: 'Arduino Uno', pins, analogChannels };
}
