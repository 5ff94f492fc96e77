import { CMD } from './firmata-protocol.js';

/** One message from the host, as bytes: the command byte first, then its data bytes. */
export type HostMessage =
  { kind: 'midi'; command: number; data: number[] } | { kind: 'sysex'; command: number; data: number[] };

/** Data bytes following each non-sysex command (the high nibble for channel commands). */
const DATA_LENGTH: Readonly<Record<number, number>> = {
  [CMD.ANALOG_MESSAGE]: 2,
  [CMD.DIGITAL_MESSAGE]: 2,
  [CMD.REPORT_ANALOG]: 1,
  [CMD.REPORT_DIGITAL]: 1,
  [CMD.SET_PIN_MODE]: 2,
  [CMD.SET_DIGITAL_PIN_VALUE]: 2,
  [CMD.REPORT_VERSION]: 0,
  [CMD.SYSTEM_RESET]: 0,
};

/** Commands 0x80–0xEF carry a channel (pin, port) in their low nibble. */
export function commandKey(command: number): number {
  return command < 0xf0 ? command & 0xf0 : command;
}

/**
 * Splits the host's byte stream into messages, as a board's firmware does: a byte with the high bit
 * set starts a message, data bytes follow; a sysex runs from START_SYSEX to END_SYSEX. A command byte
 * that arrives before the current message is complete abandons it, so the parser resynchronises after
 * noise or a cut-off message.
 */
export class FirmataParser {
  private command: number | undefined;
  private data: number[] = [];
  private inSysex = false;

  constructor(private readonly onMessage: (message: HostMessage) => void) {}

  push(chunk: Uint8Array): void {
    for (const byte of chunk) this.byte(byte);
  }

  private byte(byte: number): void {
    if (this.inSysex) {
      if (byte === CMD.END_SYSEX) {
        this.inSysex = false;
        const [command, ...data] = this.data;
        this.data = [];
        if (command !== undefined) this.onMessage({ kind: 'sysex', command, data });
        return;
      }
      if (byte < 0x80) {
        this.data.push(byte);
        return;
      }
      this.inSysex = false;
      this.data = [];
    }
    if (byte >= 0x80) {
      this.data = [];
      if (byte === CMD.START_SYSEX) {
        this.inSysex = true;
        this.command = undefined;
        return;
      }
      const length = DATA_LENGTH[commandKey(byte)];
      if (length === undefined) {
        this.command = undefined;
        return;
      }
      this.command = byte;
      this.complete(length);
      return;
    }
    if (this.command === undefined) return; // a data byte without a command: noise
    this.data.push(byte);
    this.complete(DATA_LENGTH[commandKey(this.command)] ?? 0);
  }

  private complete(length: number): void {
    if (this.command === undefined || this.data.length < length) return;
    const message: HostMessage = { kind: 'midi', command: this.command, data: this.data };
    this.command = undefined;
    this.data = [];
    this.onMessage(message);
  }
}
