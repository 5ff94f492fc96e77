import { topicMatches } from '../../kernel/index.js';

export type StreamType = 'event' | 'device' | 'rule' | 'alert';

export const STREAM_TYPES: readonly StreamType[] = ['event', 'device', 'rule', 'alert'];

/** The types that come as fast as the broker routes messages, and are capped per client and second. */
type CappedType = 'event' | 'rule';
const isCapped = (type: StreamType): type is CappedType => type === 'event' || type === 'rule';

/** One thing that happened, for the clients whose filter it passes. */
export interface StreamMessage {
  readonly type: StreamType;
  /** The MQTT topic of an `event`; what `topic=` filters on. */
  readonly topic?: string;
  /** The device it is about; what `device=` filters on. */
  readonly device?: string | null;
  /** The JSON text of the SSE `data:` line, made once for every client. */
  readonly json: () => string;
}

export interface StreamFilter {
  types: ReadonlySet<StreamType>;
  topic?: string;
  device?: string;
}

export interface StreamLimits {
  /** Messages a client may have waiting; past it the client is dropped. */
  maxMessages: number;
  /** Bytes of SSE text a client may have waiting; past it the client is dropped. */
  maxBytes: number;
  /**
   * `event`s a client is sent per second at most, and as many `rule` runs; past it they are skipped
   * (and counted to the client in a `skipped` message when the next second starts), so a busy broker
   * costs the hub little per client: a page shows a person some hundred events a second, not thirty
   * thousand.
   */
  maxEventsPerSecond: number;
  /**
   * How long a client's frames gather before they are written, ms (0: at once). One write per
   * client every 100 ms rather than one per MQTT packet the broker read: a write to an SSE response
   * goes through a web stream, and at 30,000 events a second ten clients wrote thousands of times a
   * second. A person does not see 100 ms.
   */
  flushDelayMs: number;
}

export const DEFAULT_STREAM_LIMITS: StreamLimits = {
  maxMessages: 1_000,
  maxBytes: 1024 * 1024,
  maxEventsPerSecond: 200,
  flushDelayMs: 100,
};

const SECOND_MS = 1000;

/**
 * One connected client: SSE frames waiting to be written, bounded. The hub only ever appends;
 * the client's writer takes frames as fast as the socket accepts them.
 */
export class StreamClient {
  private queue: string[] = [];
  private bytes = 0;
  /** The second (epoch ms at its start) whose `event`s and `rule` runs are being counted, and how many of each were sent and skipped in it. */
  private second = 0;
  private readonly sent = { event: 0, rule: 0 };
  private readonly skipped = { event: 0, rule: 0 };
  private wake: (() => void) | undefined;
  /**
   * Wakes the writer once {@link StreamLimits.flushDelayMs} passed. On the process's own timers, not
   * the hub clock: it batches socket writes (as Nagle's algorithm does), it is not hub time, and a
   * hub clock held still in a test must not hold frames back.
   */
  private flushTimer: NodeJS.Timeout | undefined;
  /** Set once the client is dropped or gone: nothing more is queued. */
  closed: string | undefined;

  constructor(
    readonly filter: StreamFilter,
    private readonly limits: StreamLimits,
    private readonly onDrop: (client: StreamClient, reason: string) => void,
  ) {}

  accepts(m: StreamMessage): boolean {
    const f = this.filter;
    if (!f.types.has(m.type)) return false;
    if (f.device !== undefined && m.device !== f.device) return false;
    if (f.topic !== undefined && (m.topic === undefined || !topicMatches(f.topic, m.topic))) return false;
    return true;
  }

  /**
   * Whether an `event` or a `rule` run at `now` (epoch ms) is within this client's messages of that
   * type per second; false counts it as skipped. The first one of a new second first tells the
   * client how many were skipped in the last.
   */
  admits(type: CappedType, now: number): boolean {
    if (now - this.second >= SECOND_MS) {
      if (this.skipped.event > 0 || this.skipped.rule > 0) {
        this.push(
          frame_(
            'skipped',
            `{"events":${this.skipped.event},"rules":${this.skipped.rule},"since":${this.second}}`,
          ),
        );
        this.skipped.event = this.skipped.rule = 0;
      }
      this.second = now;
      this.sent.event = this.sent.rule = 0;
    }
    if (this.sent[type] >= this.limits.maxEventsPerSecond) {
      this.skipped[type]++;
      return false;
    }
    this.sent[type]++;
    return true;
  }

  /** Queues a frame; a client that cannot take it is dropped, never waited for. */
  push(frame: string): void {
    if (this.closed !== undefined) return;
    if (this.queue.length >= this.limits.maxMessages || this.bytes + frame.length > this.limits.maxBytes) {
      const reason = `the client read too slowly: over ${this.limits.maxMessages} messages or ${this.limits.maxBytes} bytes waited`;
      this.queue = [frame_('dropped', JSON.stringify({ reason }))];
      this.bytes = 0;
      this.closed = reason;
      this.onDrop(this, reason);
      this.wakeNow();
      return;
    }
    this.queue.push(frame);
    this.bytes += frame.length;
    if (this.limits.flushDelayMs <= 0) this.wakeNow();
    else
      this.flushTimer ??= setTimeout(() => {
        this.flushTimer = undefined;
        this.wake?.();
      }, this.limits.flushDelayMs).unref();
  }

  private wakeNow(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.wake?.();
  }

  /** The frames waiting, all at once; waits for one when none is. Empty once closed and drained. */
  async take(): Promise<string[]> {
    while (this.queue.length === 0) {
      if (this.closed !== undefined) return [];
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
    const frames = this.queue;
    this.queue = [];
    this.bytes = 0;
    return frames;
  }

  /** The client went away: its writer ends. */
  close(reason: string): void {
    if (this.closed === undefined) this.closed = reason;
    this.wakeNow();
  }

  waiting(): number {
    return this.queue.length;
  }
}

/** `event: <type>` and `data: <json>`: one SSE frame (JSON has no raw line breaks). */
export function frame_(type: string, json: string): string {
  return `event: ${type}\ndata: ${json}\n\n`;
}

/**
 * Fans what happens in the hub out to the live-stream clients: each message is turned into text
 * once, and only when some client wants it; each client has its own bounded queue.
 */
export class LiveStream {
  private readonly clients = new Set<StreamClient>();
  private readonly counters = { dropped: 0 };

  constructor(
    private readonly limits: StreamLimits = DEFAULT_STREAM_LIMITS,
    /** Epoch ms on the hub clock: what events per second are counted by. */
    private readonly now: () => number = Date.now,
  ) {}

  /** True when some client would take a message of `type`, so a feed can skip building it. */
  wants(type: StreamType): boolean {
    for (const c of this.clients) if (c.filter.types.has(type)) return true;
    return false;
  }

  publish(m: StreamMessage): void {
    let text: string | undefined;
    const capped = isCapped(m.type) ? m.type : undefined;
    const now = capped ? this.now() : 0;
    for (const c of this.clients) {
      if (!c.accepts(m)) continue;
      if (capped && !c.admits(capped, now)) continue;
      text ??= frame_(m.type, m.json());
      c.push(text);
    }
  }

  connect(filter: StreamFilter): StreamClient {
    const client = new StreamClient(filter, this.limits, (dropped) => {
      this.counters.dropped++;
      this.clients.delete(dropped);
    });
    this.clients.add(client);
    return client;
  }

  disconnect(client: StreamClient): void {
    this.clients.delete(client);
    client.close('disconnected');
  }

  /** Clients connected, and how many were dropped for reading too slowly. */
  stats(): { clients: number; dropped: number } {
    return { clients: this.clients.size, dropped: this.counters.dropped };
  }

  /** Ends every client (the hub stops). */
  closeAll(): void {
    for (const c of [...this.clients]) this.disconnect(c);
  }
}
