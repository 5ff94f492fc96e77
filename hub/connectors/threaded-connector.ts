import type { Clock } from '../../kernel/index.js';
import type { ConnectorConfig } from './config-schema.js';
import type { ConnectorsThread } from './connectors-thread.js';
import type { BatchPreparer, PreparedBatch } from './prepared-batch.js';
import type { ConnectorTransport, InboundHandler, OutMessage, SendOutcome } from './transport.js';

/** Rows waiting from which a connector's batches are prepared (and, if it only sends, sent) on the connectors' thread. */
export const THREAD_AFTER_ROWS = 200;
/** A connector that only sends and sent this many messages within {@link BUSY_WINDOW_MS} moves to the thread. */
const BUSY_MESSAGES = 1000;
const BUSY_WINDOW_MS = 10_000;

/**
 * A connector that only sends. While little waits, its client lives on the main thread, where an
 * idle connector costs no second V8 isolate. Once {@link THREAD_AFTER_ROWS} rows wait (a backlog),
 * or it sent {@link BUSY_MESSAGES} within {@link BUSY_WINDOW_MS} (a busy site, whose batches stay
 * small as the remote keeps up), its client moves to the connectors' thread, once, between two
 * batches; one that connects with a backlog connects there at once. There its batches are prepared
 * and sent, so the broker and the rules never wait on a client library's encoding or its garbage,
 * and the runner on the main thread only hears which rows the remote confirmed. When the thread
 * cannot be used (it failed), the next connection is made on the main thread again.
 */
export class ThreadedConnector implements ConnectorTransport, BatchPreparer {
  private local: ConnectorTransport | undefined;
  /** Where the current connection lives; batches are prepared to match. */
  private onThread = false;
  /** Set once a backlog or a busy spell called for the thread: every later connection is made there. */
  private wantThread = false;
  /** Settles when the main thread's client has sent its batch in flight, or was closed. */
  private sending: Promise<void> = Promise.resolve();
  private sent: (() => void) | undefined;
  /** Bumped by every close, so a move the runner overtook (a failure, a stop) connects nothing. */
  private closes = 0;
  private lost: ((err: Error) => void) | undefined;
  /** Messages the main thread's client sent since `windowStart` (epoch ms, the hub's clock). */
  private windowSent = 0;
  private windowStart = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly config: ConnectorConfig,
    private readonly clock: Clock,
    private readonly thread: ConnectorsThread,
    private readonly here: (afterId: number) => PreparedBatch,
    private readonly makeLocal: () => Promise<ConnectorTransport>,
    /** How many rows wait now: a connector that (re)connects with a backlog connects on the thread at once. */
    private readonly waiting: () => number,
  ) {}

  onLost(listener: (err: Error) => void): void {
    this.lost = listener;
  }

  async connect(inbound: InboundHandler): Promise<void> {
    if (!this.wantThread && this.waiting() >= THREAD_AFTER_ROWS) this.wantThread = true;
    if (this.wantThread && this.thread.usable) {
      try {
        await this.connectOnThread();
        return;
      } catch (err) {
        // The remote refused: the runner retries. The thread itself ended: connect here instead.
        if (this.thread.usable) throw err;
      }
    }
    this.onThread = false;
    let local = this.local;
    if (!local) {
      const made = await this.makeLocal();
      made.onLost((err) => {
        if (this.local === made) this.lost?.(err);
      });
      this.local = local = made;
    }
    await local.connect(inbound);
  }

  async prepare(afterId: number, waiting: number): Promise<PreparedBatch> {
    const busy =
      waiting >= THREAD_AFTER_ROWS ||
      (this.windowSent >= BUSY_MESSAGES && this.clock.now() - this.windowStart < BUSY_WINDOW_MS);
    if (!this.onThread && busy && this.thread.usable && !(await this.moveToThread()))
      return { rowIds: [], messages: [], gone: [], last: afterId };
    if (this.onThread) return this.thread.prepare(this.config, afterId, true);
    return this.here(afterId);
  }

  send(batch: readonly OutMessage[]): Promise<SendOutcome[]> {
    if (this.onThread) return this.thread.send(this.config, batch);
    if (!this.local) return Promise.reject(new Error('not connected'));
    const now = this.clock.now();
    if (now - this.windowStart >= BUSY_WINDOW_MS) {
      this.windowStart = now;
      this.windowSent = 0;
    }
    this.windowSent += batch.length;
    const sending = this.local.send(batch);
    this.sending = new Promise<void>((resolve) => {
      this.sent = resolve;
      sending.then(
        () => resolve(),
        () => resolve(),
      );
    });
    return sending;
  }

  async close(): Promise<void> {
    this.closes++;
    // A client closed mid-send may never settle that send (the runner abandoned it already).
    this.sent?.();
    await Promise.all([this.onThread ? this.thread.close(this.config) : undefined, this.local?.close()]);
  }

  /**
   * Ends the main thread's connection once its batch in flight is settled, and connects on the
   * thread. False when it did not: the runner closed the connection meanwhile (a failure, a stop),
   * or the thread's connection failed, which is reported as the connection lost, so the runner
   * retries (on the thread) as after any other loss.
   */
  private async moveToThread(): Promise<boolean> {
    this.wantThread = true;
    const closes = this.closes;
    await this.sending;
    if (this.closes !== closes) return false;
    const local = this.local;
    // Dropped first, so the end of its connection is not reported as a loss.
    this.local = undefined;
    // Closed before the thread connects: an upstream MQTT broker would end the older of two
    // connections with one client id, a persistent session's.
    await local?.close();
    if (this.closes !== closes) return false;
    try {
      await this.connectOnThread();
      return true;
    } catch (err) {
      this.lost?.(err instanceof Error ? err : new Error(String(err)));
      return false;
    }
  }

  private async connectOnThread(): Promise<void> {
    this.onThread = true;
    this.thread.attach(this.config);
    await this.thread.connect(this.config, (err) => this.lost?.(err));
  }
}
