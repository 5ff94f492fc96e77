import type { ConnectorConfig } from './config-schema.js';
import type { ConnectorsThread } from './connectors-thread.js';
import type { BatchPreparer, PreparedBatch } from './prepared-batch.js';
import type { ConnectorTransport, InboundHandler, OutMessage, SendOutcome } from './transport.js';

/**
 * A connector that only sends, run on the connectors' thread: its batches are prepared and sent
 * there, and the runner on the main thread hears which rows the remote confirmed. It is both the
 * runner's transport and its preparer, since a batch held on the thread is sent from there. When
 * the thread cannot be used (it failed), the next connection is made on the main thread instead,
 * with the client and the preparing done here.
 */
export class ThreadedConnector implements ConnectorTransport, BatchPreparer {
  private local: ConnectorTransport | undefined;
  /** Where the current connection lives; batches are prepared to match. */
  private onThread = true;
  private lost: ((err: Error) => void) | undefined;

  constructor(
    private readonly config: ConnectorConfig,
    private readonly thread: ConnectorsThread,
    private readonly here: (afterId: number) => PreparedBatch,
    private readonly makeLocal: () => Promise<ConnectorTransport>,
  ) {
    thread.attach(config);
  }

  onLost(listener: (err: Error) => void): void {
    this.lost = listener;
  }

  async connect(inbound: InboundHandler): Promise<void> {
    if (this.thread.usable) {
      this.onThread = true;
      try {
        await this.thread.connect(this.config, (err) => this.lost?.(err));
        return;
      } catch (err) {
        // The remote refused: the runner retries. The thread itself ended: connect here instead.
        if (this.thread.usable) throw err;
      }
    }
    this.onThread = false;
    if (!this.local) {
      this.local = await this.makeLocal();
      this.local.onLost((err) => this.lost?.(err));
    }
    await this.local.connect(inbound);
  }

  prepare(afterId: number): Promise<PreparedBatch> {
    if (this.onThread) return this.thread.prepare(this.config, afterId, true);
    return Promise.resolve(this.here(afterId));
  }

  send(batch: readonly OutMessage[]): Promise<SendOutcome[]> {
    if (this.onThread) return this.thread.send(this.config, batch);
    if (!this.local) return Promise.reject(new Error('not connected'));
    return this.local.send(batch);
  }

  async close(): Promise<void> {
    await Promise.all([this.onThread ? this.thread.close(this.config) : undefined, this.local?.close()]);
  }
}
