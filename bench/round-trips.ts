import { percentile, round } from './stats.js';

/**
 * Readings in flight and how long each took to come back as a command: the reading's `seq` travels
 * in its payload and in the rule's reply. `D` is what the sender wants back with a reply (the device).
 */
export class RoundTrips<D = undefined> {
  private seq = 0;
  /** In send order, which `dropOlderThan` relies on. */
  private readonly sent = new Map<number, { t0: number; data: D }>();
  latencies: number[] = [];
  completed = 0;

  /** A new reading's seq, its send time taken now. */
  start(data: D): number {
    const seq = ++this.seq;
    this.sent.set(seq, { t0: performance.now(), data });
    return seq;
  }

  /** A reply `{..., seq}`: its latency is counted and the reading's data returned; undefined for none. */
  answer(payload: Buffer): { data: D } | undefined {
    const { seq } = JSON.parse(payload.toString()) as { seq: number };
    const sent = this.sent.get(seq);
    if (sent === undefined) return undefined;
    this.sent.delete(seq);
    this.latencies.push(performance.now() - sent.t0);
    this.completed++;
    return sent;
  }

  /** Forgets readings sent more than `ms` ago without a reply; returns how many. */
  dropOlderThan(ms: number): number {
    const cutoff = performance.now() - ms;
    let dropped = 0;
    for (const [seq, { t0 }] of this.sent) {
      if (t0 >= cutoff) break;
      this.sent.delete(seq);
      dropped++;
    }
    return dropped;
  }

  /** What the replies since the last reset measured over `ms`: p50/p99 latency (ms) and replies/s. */
  figures(ms: number): { p50: number; p99: number; perSec: number } {
    return {
      p50: round(percentile(this.latencies, 50)),
      p99: round(percentile(this.latencies, 99)),
      perSec: Math.round(this.completed / (ms / 1000)),
    };
  }

  /** Starts counting afresh; with `forget`, readings still in flight no longer count either. */
  reset(forget = true): void {
    this.latencies = [];
    this.completed = 0;
    if (forget) this.sent.clear();
  }
}
