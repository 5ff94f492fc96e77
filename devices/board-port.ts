import type { AdapterKind } from './adapter.js';
import type { BoardDeviceDeps } from './board-adapter.js';
import { ReconnectingPort } from './serial/reconnecting-port.js';
import { reconnectOptions, type ReconnectSettings } from './serial/serial-settings.js';
import type { PortHandle } from './serial/transport.js';

/** The port part of a board's settings (`serial:`, `firmata:`). */
export interface BoardPortSettings {
  path: string;
  /** Bits per second. */
  baud: number;
  reconnect: ReconnectSettings;
}

export interface BoardPortDeps extends BoardDeviceDeps {
  settings: BoardPortSettings;
  /** Names the port's timers: `<kind>:<device>:reopen`. */
  kind: AdapterKind;
  /** The port is open: wire its stream, and call `online()` once the device answers. */
  onOpen(handle: PortHandle): void;
  /** The open port went away: drop what belonged to it. The device is reported offline after. */
  onLost(reason: string): void;
}

/**
 * A board's port, kept open with backoff, and the board's availability: offline while the port
 * cannot be opened, after it is lost and once stopped; online when the device says so. The sink
 * hears each change once.
 */
export class BoardPort {
  private readonly port: ReconnectingPort;
  private status: 'online' | 'offline' | undefined;

  constructor(private readonly deps: BoardPortDeps) {
    const { settings, definition } = deps;
    this.port = new ReconnectingPort({
      clock: deps.clock,
      logger: deps.logger,
      factory: deps.factory,
      port: { path: settings.path, baudRate: settings.baud },
      reconnect: reconnectOptions(settings.reconnect),
      name: `${deps.kind}:${definition.id}`,
      onOpen: (handle) => deps.onOpen(handle),
      onLost: (reason) => {
        deps.onLost(reason);
        this.report('offline');
      },
      onOpenFailed: () => this.report('offline'),
    });
  }

  get isOpen(): boolean {
    return this.port.isOpen;
  }

  /** The open port, if any. */
  get current(): PortHandle | undefined {
    return this.port.current;
  }

  start(): Promise<void> {
    return this.port.start();
  }

  /** Closes the port, stops retrying and reports the device offline; idempotent. */
  async stop(): Promise<void> {
    await this.port.stop();
    this.report('offline');
  }

  /** Closes the open port (the device never answered) and retries after the backoff. */
  drop(reason: string): void {
    this.port.drop(reason);
  }

  /** The device answers on the open port. */
  online(): void {
    this.report('online');
  }

  private report(status: 'online' | 'offline'): void {
    if (this.status === status) return;
    this.status = status;
    this.deps.sink.status(this.deps.definition.id, status, this.deps.clock.now());
  }
}
