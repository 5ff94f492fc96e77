import {
  BackoffTimer,
  errorMessage,
  parseDuration,
  type Clock,
  type Logger,
  type TimerHandle,
} from '../../kernel/index.js';
import type { Outbox } from '../store/index.js';
import type { ConnectorConfig } from './config-schema.js';
import type { BatchPreparer, PreparedBatch } from './prepared-batch.js';
import type { ConnectorTransport, InboundHandler } from './transport.js';

/**
 * `connecting` until the first connection; `connected`; `retrying` after a failure, with the next
 * attempt's time; `failing` once three attempts in a row failed; `stopped`.
 */
export type ConnectorState = 'connecting' | 'connected' | 'retrying' | 'failing' | 'stopped';

/** The longest the transport may take to confirm or refuse a batch, ms. */
const SEND_TIMEOUT_MS = 60_000;

/** Consecutive failed attempts after which a connector counts as failing, not just retrying. */
const FAILING_AFTER = 3;

/**
 * A connector's figures since the hub started. They add up:
 * matched = delivered + inFlight + backlog + dropped + deadLettered, where `matched` starts at
 * the backlog the outbox held at start.
 */
export interface ConnectorCounters {
  matched: number;
  delivered: number;
  inFlight: number;
  backlog: number;
  /** Dropped at a backlog bound, or gone from the store (retention) before they left. */
  dropped: number;
  /** Refused by the remote for good, into the dead letters. */
  deadLettered: number;
  /** Messages sent again after a failed attempt: what a consumer may see twice. */
  resent: number;
}

export interface ConnectorRunnerStatus {
  state: ConnectorState;
  /** Epoch ms the state was entered. */
  since: number;
  lastError: string | null;
  /** Epoch ms of the next connection attempt while retrying or failing. */
  nextAttemptAt: number | null;
  counters: ConnectorCounters;
}

export interface ConnectorRunnerDeps {
  config: ConnectorConfig;
  transport: ConnectorTransport;
  /** Backlog figures, trims and settles; batches are read through `preparer`. */
  outbox: Outbox;
  preparer: BatchPreparer;
  clock: Clock;
  logger: Logger;
  inbound: InboundHandler;
  /** The state changed (connected, lost, failing, stopped). */
  onState(status: ConnectorRunnerStatus): void;
  /** Rows were dropped at a backlog bound. */
  onDropped(dropped: number, status: ConnectorRunnerStatus): void;
}

/**
 * Drains one connector's outbox: reads a batch after its cursor, hands it to the transport, and
 * settles what the remote confirmed (or refused for good) in the outbox. One batch is in flight at
 * a time, so the messages of one key arrive in the order they were stored; when the remote fails,
 * the unconfirmed rest is sent again after a backoff on the hub's clock. Nothing is deleted before
 * the remote confirmed it: after a crash, what was in flight is sent again.
 */
export class ConnectorRunner {
  private state: ConnectorState = 'connecting';
  private since: number;
  private lastError: string | null = null;
  private nextAttemptAt: number | null = null;
  private readonly retry: BackoffTimer;
  /** The last row handed to the transport; rows after it wait. */
  private cursor = 0;
  /** Through this row, rows are in flight or settling, and never dropped. */
  private inFlightThrough = 0;
  /** The last row of the batch read ahead while the one before is in flight; 0 when none. */
  private readAheadThrough = 0;
  private pumping = false;
  /** Batches being read (on the prepare thread, possibly): trims spare everything meanwhile. */
  private reading = 0;
  /** Bumped by every failure: a send of an earlier generation is abandoned, its result ignored. */
  private generation = 0;
  /** The batch the transport holds now: rows and messages, to count back if it is abandoned. */
  private inFlightBatch: { rows: number; messages: number } | undefined;
  private sendTimer: TimerHandle | undefined;
  /** Settles on their way to the writer thread, one after another. */
  private settling: Promise<void> = Promise.resolve();
  private stopped = false;
  private readonly counters: ConnectorCounters = {
    matched: 0,
    delivered: 0,
    inFlight: 0,
    backlog: 0,
    dropped: 0,
    deadLettered: 0,
    resent: 0,
  };
  private readonly maxAgeMs: number;

  constructor(private readonly deps: ConnectorRunnerDeps) {
    this.since = deps.clock.now();
    this.retry = new BackoffTimer({
      clock: deps.clock,
      name: `connector:${deps.config.id}:retry`,
      options: {
        initialMs: parseDuration(deps.config.retry.initial),
        maxMs: parseDuration(deps.config.retry.max),
        factor: 2,
        jitter: 0.2,
      },
    });
    this.maxAgeMs = parseDuration(deps.config.backlog.max_age);
  }

  get id(): string {
    return this.deps.config.id;
  }

  /** Counts what waited in the outbox from before, and connects. */
  start(): void {
    this.counters.matched = this.deps.outbox.backlog(this.id).count;
    this.counters.backlog = this.counters.matched;
    this.deps.transport.onLost((err) => this.fail(err, 'connection lost'));
    void this.connect();
  }

  /** `rows` more were committed to the outbox (events, a forward, a replay, revived dead letters). */
  added(rows: number): void {
    this.counters.matched += rows;
    this.counters.backlog += rows;
    this.pump();
  }

  status(): ConnectorRunnerStatus {
    return {
      state: this.state,
      since: this.since,
      lastError: this.lastError,
      nextAttemptAt: this.nextAttemptAt,
      counters: { ...this.counters },
    };
  }

  /**
   * Drops what is beyond the backlog bounds, oldest first, sparing what is in flight; counted and
   * reported. Cheap when nothing is beyond them: the counters and one indexed lookup decide.
   */
  async trim(): Promise<number> {
    const { max_events: maxEvents } = this.deps.config.backlog;
    const overCount = maxEvents > 0 && this.counters.backlog > maxEvents;
    const oldest = this.maxAgeMs > 0 ? this.deps.outbox.oldest(this.id) : null;
    const overAge = oldest !== null && oldest < this.deps.clock.now() - this.maxAgeMs;
    if (!overCount && !overAge) return 0;
    const dropped =
      (
        await this.deps.outbox.trim([
          {
            connector: this.id,
            maxEvents,
            maxAgeMs: this.maxAgeMs,
            // While a batch is being read its rows are not known yet: none after the cursor may go.
            keepThrough: this.reading > 0 ? Number.MAX_SAFE_INTEGER : this.inFlightThrough,
          },
        ])
      )[this.id] ?? 0;
    if (dropped > 0) {
      this.counters.dropped += dropped;
      this.counters.backlog -= dropped;
      this.deps.logger.warn('backlog over its bound: the oldest messages were dropped', {
        connector: this.id,
        dropped,
        backlog: this.counters.backlog,
        maxEvents,
        maxAge: this.deps.config.backlog.max_age,
      });
      this.deps.onDropped(dropped, this.status());
    }
    return dropped;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.retry.cancel();
    this.deps.clock.clearTimer(this.sendTimer);
    this.enter('stopped', null);
    await this.deps.transport.close();
    await this.settling;
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    try {
      await this.deps.transport.connect(this.deps.inbound);
    } catch (err) {
      this.fail(err, 'cannot connect');
      return;
    }
    if (this.stopped) return;
    this.retry.reset();
    this.nextAttemptAt = null;
    this.enter('connected', null);
    this.deps.logger.info('connected', { connector: this.id });
    this.pump();
  }

  /** Sends batch after batch while the remote keeps up and there is something to send. */
  private pump(): void {
    if (this.pumping || this.stopped || this.state !== 'connected') return;
    this.pumping = true;
    const generation = this.generation;
    void this.drain(generation).finally(() => {
      if (this.generation === generation) this.pumping = false;
    });
  }

  private async drain(generation: number): Promise<void> {
    const alive = (): boolean =>
      !this.stopped && this.state === 'connected' && this.generation === generation;
    try {
      let next = await this.prepare(this.cursor);
      while (alive()) {
        if (next.rowIds.length === 0) return;
        const sending = this.sendBatch(next, generation);
        // The next batch is read and formatted while the remote works on this one (it is still sent
        // only after this one is confirmed). A turn first, so this one's bytes are on the socket.
        await new Promise<void>((resolve) => setImmediate(resolve));
        let following: Promise<PreparedBatch> | undefined;
        if (alive()) following = this.prepare(next.last);
        const [ok, ahead] = await Promise.all([sending, following]);
        if (this.generation !== generation) return;
        if (ahead) this.readAheadThrough = ahead.last;
        this.inFlightThrough = Math.max(this.cursor, this.readAheadThrough);
        if (!ok || !ahead) break;
        // Read ahead before more came in: look again, now that this batch is done.
        next = ahead.rowIds.length > 0 ? ahead : await this.prepare(this.cursor);
      }
    } catch (err) {
      if (this.generation === generation) this.fail(err, 'reading the outbox failed');
      return;
    }
    if (this.generation !== generation) return;
    this.readAheadThrough = 0;
    this.inFlightThrough = this.cursor;
  }

  /** The rows after `afterId`, formatted; rows whose event is gone are set apart. */
  private async prepare(afterId: number): Promise<PreparedBatch> {
    this.reading++;
    try {
      return await this.deps.preparer.prepare(afterId, this.counters.backlog);
    } finally {
      this.reading--;
    }
  }

  /** One batch: sent, then settled as far as the remote confirmed it. False when it failed. */
  private async sendBatch(batch: PreparedBatch, generation: number): Promise<boolean> {
    const { rowIds, messages, gone, last } = batch;
    this.inFlightThrough = Math.max(this.inFlightThrough, last);
    this.counters.inFlight = messages.length;
    this.counters.backlog -= rowIds.length;
    this.inFlightBatch = { rows: rowIds.length, messages: messages.length };
    // A remote that neither confirms nor fails (a half-open connection) is given up on in time.
    this.sendTimer = this.deps.clock.setTimer(`connector:${this.id}:send-timeout`, SEND_TIMEOUT_MS, () =>
      this.fail(
        new Error(`the remote confirmed nothing within ${SEND_TIMEOUT_MS / 1000} s`),
        'sending stalled',
      ),
    );
    let outcomes;
    try {
      outcomes = messages.length > 0 ? await this.deps.transport.send(messages) : [];
    } catch (err) {
      if (this.generation !== generation) return false;
      this.fail(err, 'sending failed');
      return false;
    } finally {
      if (this.generation === generation) this.deps.clock.clearTimer(this.sendTimer);
    }
    // Abandoned meanwhile (the connection was lost): counted back already, sent again from the cursor.
    if (this.generation !== generation) return false;
    this.inFlightBatch = undefined;
    // Confirmed (or refused for good) up to the first message to try again; that one and the rest
    // go again, in order, so no later message of a key overtakes an earlier one for good.
    let confirmed = outcomes.findIndex((o) => o !== undefined && !o.permanent);
    if (confirmed === -1) confirmed = messages.length;
    const dead: { id: number; reason: string }[] = [];
    for (let i = 0; i < confirmed; i++) {
      const outcome = outcomes[i];
      const message = messages[i];
      if (outcome?.permanent && message) dead.push({ id: message.rowId, reason: outcome.reason });
    }
    const through = confirmed === messages.length ? last : (messages[confirmed]?.rowId ?? last + 1) - 1;
    const settledRows = rowIds.filter((id) => id <= through).length;
    const goneSettled = gone.filter((id) => id <= through).length;
    this.counters.delivered += confirmed - dead.length;
    this.counters.deadLettered += dead.length;
    this.counters.dropped += goneSettled;
    this.counters.inFlight = 0;
    this.counters.backlog += rowIds.length - settledRows;
    this.cursor = through;
    for (const d of dead)
      this.deps.logger.warn('the remote refused a message for good; it is in the dead letters', {
        connector: this.id,
        row: d.id,
        reason: d.reason,
      });
    // Settled behind the next batch rather than before it: the cursor already moved past these
    // rows, and settles reach the writer thread in order.
    if (through > 0) this.settle(through, dead);
    // The batch read ahead stays spared by trims until it is sent.
    this.inFlightThrough = Math.max(this.cursor, this.readAheadThrough);
    if (this.generation !== generation) return false;
    if (confirmed < messages.length) {
      const retry = outcomes[confirmed];
      this.counters.resent += messages.length - confirmed;
      this.fail(new Error(retry?.reason ?? 'not confirmed'), 'the remote did not take every message');
      return false;
    }
    return true;
  }

  private settle(through: number, dead: { id: number; reason: string }[]): void {
    this.settling = this.settling
      .then(() => this.deps.outbox.settle(this.id, through, dead))
      .then(
        () => undefined,
        (err: unknown) => {
          // Sent but still in the outbox: sent again after a restart, which a consumer drops by id.
          this.deps.logger.error('delivered messages could not be removed from the outbox', {
            connector: this.id,
            error: errorMessage(err),
          });
        },
      );
  }

  /** A batch failed as a whole: its rows wait again, to be sent from the same cursor. */
  private unsent(rows: number, messages: number): void {
    this.counters.inFlight = 0;
    this.counters.backlog += rows;
    this.counters.resent += messages;
    this.readAheadThrough = 0;
    this.inFlightThrough = this.cursor;
  }

  private fail(err: unknown, what: string): void {
    if (this.stopped) return;
    // Whatever the transport still holds is abandoned: counted back, and sent again after the retry.
    this.generation++;
    this.pumping = false;
    this.deps.clock.clearTimer(this.sendTimer);
    if (this.inFlightBatch) this.unsent(this.inFlightBatch.rows, this.inFlightBatch.messages);
    this.inFlightBatch = undefined;
    const message = errorMessage(err);
    const wasConnected = this.state === 'connected';
    void this.deps.transport.close().catch(() => undefined);
    const delayMs = this.retry.schedule(() => void this.connect());
    if (delayMs === undefined) return;
    this.nextAttemptAt = this.deps.clock.now() + delayMs;
    const failing = this.retry.attempts >= FAILING_AFTER;
    this.enter(failing ? 'failing' : 'retrying', message);
    const fields = { connector: this.id, error: message, retryInMs: delayMs, attempt: this.retry.attempts };
    if (wasConnected || this.retry.attempts === 1) this.deps.logger.warn(`${what}; retrying`, fields);
    else this.deps.logger.debug(`${what}; retrying`, fields);
  }

  private enter(state: ConnectorState, error: string | null): void {
    const changed = state !== this.state || error !== this.lastError;
    if (state !== this.state) this.since = this.deps.clock.now();
    this.state = state;
    this.lastError = error;
    if (changed) this.deps.onState(this.status());
  }
}
