import {
  BackoffTimer,
  EdgehubError,
  errorMessage,
  type BackoffOptions,
  type Clock,
  type Logger,
} from '../../kernel/index.js';
import { portOpenError } from './port-errors.js';
import type { PortFactory, PortHandle, PortOpenOptions } from './transport.js';

/**
 * 500 ms doubling to 30 s: quick after a loose cable, gentle on a board that stays unplugged. No
 * jitter: a port is local, there is no server for many clients to stampede.
 */
export const DEFAULT_RECONNECT: Readonly<BackoffOptions> = Object.freeze({
  initialMs: 500,
  maxMs: 30_000,
  factor: 2,
  jitter: 0,
});

export interface ReconnectingPortDeps {
  clock: Clock;
  logger: Logger;
  factory: PortFactory;
  port: PortOpenOptions;
  reconnect: Readonly<BackoffOptions>;
  /** Prefix of timer names, e.g. `serial:gh-1`. */
  name: string;
  /** The port is open: wire its stream. A throw closes it and schedules a retry. */
  onOpen(handle: PortHandle): void;
  /** The open port went away (unplugged, I/O error, dropped); not called by `stop()`. */
  onLost(reason: string): void;
  /** An open attempt failed; `attempt` counts from 0 since the last successful open. */
  onOpenFailed?(error: EdgehubError, attempt: number): void;
}

/**
 * Keeps one port open: a port that closes or fails to open is retried with exponential backoff on
 * the clock, for as long as it takes. An open failure is logged once per outage, with the message
 * that names the path and the fix, and again only if the reason changes.
 */
export class ReconnectingPort {
  private handle: PortHandle | undefined;
  private readonly retries: BackoffTimer;
  private opening: Promise<void> | undefined;
  private running = false;
  private loggedError: string | undefined;
  /** Why the last open failed; undefined while the port is open. */
  lastError: EdgehubError | undefined;

  constructor(private readonly deps: ReconnectingPortDeps) {
    this.retries = new BackoffTimer({
      clock: deps.clock,
      name: `${deps.name}:reopen`,
      options: deps.reconnect,
    });
  }

  get isOpen(): boolean {
    return this.handle !== undefined;
  }

  /** Current open port, if any. */
  get current(): PortHandle | undefined {
    return this.handle;
  }

  /** Makes the first attempt; resolves once it succeeded or failed (retries go on in the background). */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await this.openNow();
  }

  /** Closes the open port (e.g. the device never answered) and retries after the backoff. */
  drop(reason: string): void {
    if (this.handle) this.lost(this.handle, reason);
  }

  /** Stops retrying and closes the port; idempotent. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.retries.cancel();
    await this.opening;
    const handle = this.handle;
    this.handle = undefined;
    if (handle) await handle.close().catch(() => undefined);
  }

  private openNow(): Promise<void> {
    this.opening = this.open().finally(() => (this.opening = undefined));
    return this.opening;
  }

  private async open(): Promise<void> {
    const { factory, port, logger } = this.deps;
    let handle: PortHandle;
    try {
      handle = await factory(port);
    } catch (err) {
      if (!this.running) return;
      const error = err instanceof EdgehubError ? err : portOpenError(port.path, err);
      this.lastError = error;
      if (error.message !== this.loggedError) {
        logger.error(error.message, { code: error.code, retry: 'with backoff' });
        this.loggedError = error.message;
      } else {
        logger.debug('port still cannot be opened', { path: port.path, attempt: this.retries.attempts });
      }
      this.deps.onOpenFailed?.(error, this.retries.attempts);
      this.schedule();
      return;
    }
    if (!this.running) {
      await handle.close().catch(() => undefined);
      return;
    }
    this.handle = handle;
    this.lastError = undefined;
    if (this.loggedError !== undefined) logger.info('port open again', { path: port.path });
    this.loggedError = undefined;
    this.retries.reset();
    const { stream } = handle;
    stream.once('close', () => this.lost(handle, 'the port closed'));
    // Kept attached even after the port is lost, so a late error never goes unhandled.
    stream.on('error', (err: unknown) => this.lost(handle, errorMessage(err)));
    try {
      this.deps.onOpen(handle);
    } catch (err) {
      this.lost(handle, errorMessage(err));
    }
  }

  private lost(handle: PortHandle, reason: string): void {
    if (this.handle !== handle) return;
    this.handle = undefined;
    handle.close().catch(() => undefined);
    if (!this.running) return;
    this.deps.logger.warn('port lost; reopening with backoff', { path: this.deps.port.path, reason });
    this.deps.onLost(reason);
    this.schedule();
  }

  private schedule(): void {
    if (!this.running) return;
    this.retries.schedule(() => void this.openNow());
  }
}
