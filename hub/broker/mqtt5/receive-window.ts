/**
 * MQTT 5 Receive Maximum towards one client (§3.1.2.11.3, §4.9): at most `max` QoS 1 and 2
 * PUBLISH packets may be unacknowledged at once; the rest wait, in order, until a PUBACK,
 * a PUBCOMP or a failed PUBREC frees a slot.
 */
export class ReceiveWindow<T> {
  private readonly inflight = new Set<number>();
  private waiting: { messageId: number; item: T }[] = [];

  constructor(readonly max: number) {}

  /** Packets sent and not yet acknowledged. */
  get inFlight(): number {
    return this.inflight.size;
  }

  /** Packets held back by the window. */
  get held(): number {
    return this.waiting.length;
  }

  /**
   * True when the packet may be sent now. A retransmission (DUP) of a packet already in flight
   * keeps its slot; anything else waits behind packets already waiting, so order is kept.
   */
  offer(messageId: number, dup: boolean, item: T): boolean {
    if (dup && this.inflight.has(messageId)) return true;
    if (this.waiting.length === 0 && this.inflight.size < this.max) {
      this.inflight.add(messageId);
      return true;
    }
    this.waiting.push({ messageId, item });
    return false;
  }

  /** Frees the slot of `messageId` and returns the waiting packets that may now be sent, in order. */
  release(messageId: number): T[] {
    if (!this.inflight.delete(messageId)) return [];
    const ready: T[] = [];
    while (this.inflight.size < this.max) {
      const next = this.waiting.shift();
      if (!next) break;
      this.inflight.add(next.messageId);
      ready.push(next.item);
    }
    return ready;
  }

  /** Forgets everything, returning the packets that were still waiting. */
  clear(): T[] {
    const left = this.waiting.map((w) => w.item);
    this.waiting = [];
    this.inflight.clear();
    return left;
  }
}
