import type { Clock, TimerHandle } from '../../kernel/index.js';

/** A batch handed to the writer with acknowledgements waiting for it. */
interface InFlight {
  seq: number;
  /** Acknowledgements waiting for this batch (and, as batches commit in order, every one before it). */
  holds: (() => void)[];
  timer: TimerHandle | undefined;
}

/**
 * The QoS 1/2 acknowledgements the event store holds until their batch is committed: collected per
 * dispatch, attached to the batch that carries them, let go when the writer reports that batch
 * settled, when writing fails, or after `timeoutMs`. Those let go without a commit are counted.
 */
export class AckHolds {
  private pending: (() => void)[] = [];
  private readonly inFlight: InFlight[] = [];
  /** Acknowledgements sent before their message was committed. */
  sentBeforeStored = 0;

  constructor(
    private readonly clock: Clock,
    /** ms an acknowledgement waits for its commit at most. */
    private readonly timeoutMs: number,
  ) {}

  /** An acknowledgement for a message buffered now; resolves when it may be sent. */
  hold(): Promise<void> {
    return new Promise((resolve) => this.pending.push(resolve));
  }

  /** Counts an acknowledgement that was not held at all (the store could not take it durably). */
  notHeld(): void {
    this.sentBeforeStored++;
  }

  /** The holds collected since the last dispatch now wait for batch `seq`. */
  attach(seq: number): void {
    if (this.pending.length === 0) return;
    const flight: InFlight = { seq, holds: this.pending, timer: undefined };
    this.pending = [];
    flight.timer = this.clock.setTimer('store.ack-timeout', this.timeoutMs, () =>
      this.release(flight, false),
    );
    this.inFlight.push(flight);
  }

  /** Every batch up to `seq` is committed (or dropped, which only happens after a failure let it go). */
  settled(seq: number): void {
    while (this.inFlight.length > 0 && (this.inFlight[0]?.seq ?? Infinity) <= seq) {
      const flight = this.inFlight.shift();
      if (flight) this.release(flight, true);
    }
  }

  /** Lets every waiting acknowledgement go: the writer cannot confirm them any time soon. */
  releaseAll(): void {
    for (const flight of this.inFlight.splice(0)) this.release(flight, false);
    this.sentBeforeStored += this.pending.length;
    for (const resolve of this.pending.splice(0)) resolve();
  }

  private release(flight: InFlight, stored: boolean): void {
    this.clock.clearTimer(flight.timer);
    flight.timer = undefined;
    if (!stored) this.sentBeforeStored += flight.holds.length;
    for (const resolve of flight.holds.splice(0)) resolve();
  }
}
