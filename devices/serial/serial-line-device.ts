import { errorMessage, type CommandResult } from '../../kernel/index.js';
import type { ActuatorState, DeviceCommandSet } from '../adapter.js';
import type { BoardDevice, BoardDeviceDeps } from '../board-adapter.js';
import { BoardPort } from '../board-port.js';
import { LineFramer } from '../../kernel/index.js';
import type { SerialSettings } from './serial-settings.js';
import type { PortHandle } from './transport.js';

export interface SerialLineDeviceDeps extends BoardDeviceDeps {
  settings: SerialSettings;
  /** Every chunk read from the port, before framing (a test seam: wait until bytes have arrived). */
  onData?: (chunk: Buffer) => void;
}

/** Counters of one serial device since start, for diagnostics and tests. */
export interface SerialLineStats {
  /** Bytes read from the port. */
  bytes: number;
  /** Complete lines read. */
  lines: number;
  /** Lines that were not a JSON object. */
  malformed: number;
  /** Bytes of partial lines cut off by a lost port and dropped. */
  droppedPartialBytes: number;
  /** Bytes of over-long lines dropped. */
  overflowBytes: number;
}

/** A topic level: keys of a device's JSON become `sensors/<device>/<key>`. */
const TOPIC_LEVEL = /^[A-Za-z0-9_.-]+$/;

/**
 * One device speaking JSON lines on a serial port. Each line is an object: a key naming one of the
 * device's actuators is that actuator's state (`{"relay": true}`, or `{"lamp": {"on": true,
 * "brightness": 40}}`); any other key is a reading (`{"temperature": 21.5}`). Commands are written as
 * `{"set": {"relay": true}}`. The port is reopened with backoff when it goes away; the device is
 * reported offline meanwhile, and a line cut off by the loss is dropped, never glued to the next one.
 */
export class SerialLineDevice implements BoardDevice {
  readonly stats: SerialLineStats = {
    bytes: 0,
    lines: 0,
    malformed: 0,
    droppedPartialBytes: 0,
    overflowBytes: 0,
  };
  private readonly framer: LineFramer;
  private readonly port: BoardPort;
  private readonly actuators: ReadonlySet<string>;
  private warnedMalformed = false;

  constructor(private readonly deps: SerialLineDeviceDeps) {
    const { settings, definition } = deps;
    this.framer = new LineFramer(settings.max_line_bytes);
    this.actuators = new Set(definition.actuators.map((a) => a.name));
    this.port = new BoardPort({
      ...deps,
      kind: 'serial',
      onOpen: (handle) => this.attach(handle),
      onLost: () => this.dropPartial(),
    });
  }

  get id(): string {
    return this.deps.definition.id;
  }

  get isOpen(): boolean {
    return this.port.isOpen;
  }

  start(): Promise<void> {
    return this.port.start();
  }

  async stop(): Promise<void> {
    await this.port.stop();
    this.dropPartial();
  }

  /** Writes `{"set": {...}}`; resolves once the line is handed to the port. */
  async command(set: DeviceCommandSet): Promise<CommandResult> {
    const handle = this.port.current;
    if (!handle) return { accepted: false, reason: `${this.deps.settings.path} is not open` };
    const wire: Record<string, boolean | { on: boolean; brightness: number }> = {};
    for (const [name, c] of Object.entries(set))
      wire[name] = c.brightness === undefined ? c.on : { on: c.on, brightness: c.brightness };
    try {
      await writeLine(handle, JSON.stringify({ set: wire }));
      return { accepted: true };
    } catch (err) {
      return { accepted: false, reason: `write to ${this.deps.settings.path} failed: ${errorMessage(err)}` };
    }
  }

  private attach(handle: PortHandle): void {
    this.warnedMalformed = false;
    handle.stream.on('data', (chunk: Buffer) => {
      if (this.port.current === handle) this.receive(chunk);
    });
    this.deps.logger.info('serial device connected', { device: this.id, path: this.deps.settings.path });
    this.port.online();
  }

  private dropPartial(): void {
    const dropped = this.framer.reset();
    if (dropped === 0) return;
    this.stats.droppedPartialBytes += dropped;
    this.deps.logger.debug('partial line dropped with the lost port', { device: this.id, bytes: dropped });
  }

  private receive(chunk: Buffer): void {
    this.stats.bytes += chunk.length;
    this.deps.onData?.(chunk);
    const { lines, overflowBytes } = this.framer.push(chunk);
    if (overflowBytes > 0) {
      this.stats.overflowBytes += overflowBytes;
      this.deps.logger.warn('over-long line dropped; is the baud rate right?', {
        device: this.id,
        max_line_bytes: this.deps.settings.max_line_bytes,
      });
    }
    for (const line of lines) this.handleLine(line);
  }

  private handleLine(text: string): void {
    const line = text.trim();
    if (line === '') return;
    this.stats.lines++;
    const parsed = parseObject(line);
    if (!parsed) {
      this.stats.malformed++;
      // Once per connection at warn: a device printing debug text would otherwise flood the log.
      const level = this.warnedMalformed ? 'debug' : 'warn';
      this.warnedMalformed = true;
      this.deps.logger[level]('line is not a JSON object; ignored', {
        device: this.id,
        line: line.slice(0, 80),
      });
      return;
    }
    const at = this.deps.clock.now();
    for (const [key, value] of Object.entries(parsed)) {
      if (!TOPIC_LEVEL.test(key)) {
        this.deps.logger.debug('key is not a valid topic level; ignored', { device: this.id, key });
        continue;
      }
      if (this.actuators.has(key)) {
        const state = actuatorState(value);
        if (state) this.deps.sink.state(this.id, key, state, at);
        else this.deps.logger.debug('actuator state not understood', { device: this.id, key });
      } else if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'string') {
        if (typeof value !== 'number' || Number.isFinite(value))
          this.deps.sink.reading(this.id, key, value, at);
      }
    }
  }
}

function parseObject(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const value = JSON.parse(line) as unknown;
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** `true`, `{"on": true}` or `{"on": true, "brightness": 40}` (%). */
function actuatorState(value: unknown): ActuatorState | undefined {
  if (typeof value === 'boolean') return { on: value };
  if (value === null || typeof value !== 'object') return undefined;
  const { on, brightness } = value as { on?: unknown; brightness?: unknown };
  if (typeof on !== 'boolean') return undefined;
  return typeof brightness === 'number' && Number.isFinite(brightness)
    ? { on, brightness: Math.min(100, Math.max(0, brightness)) }
    : { on };
}

function writeLine(handle: PortHandle, line: string): Promise<void> {
  return new Promise((resolve, reject) => {
    handle.stream.write(`${line}\n`, (err) => (err ? reject(err) : resolve()));
  });
}
