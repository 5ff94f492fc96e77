import type { Backoff } from './backoff.js';

/** The part of EventSource the stream uses, so tests can drive it by hand. */
export interface SourceLike {
  addEventListener(type: string, listener: (event: MessageEvent<string>) => void): void;
  close(): void;
}

export type StreamStatus =
  | { state: 'connecting' }
  | { state: 'open' }
  | { state: 'reconnecting'; inMs: number; attempt: number; reason: string };

export interface LiveStreamDeps {
  open: (url: string) => SourceLike;
  setTimer: (fn: () => void, ms: number) => unknown;
  clearTimer: (handle: unknown) => void;
  /** Epoch ms. */
  now: () => number;
  backoff: Backoff;
  /** ms a greeted connection must stay open before the backoff starts again from its first wait. */
  stableMs?: number;
}

/**
 * Message kinds /api/stream sends; `hello`, `dropped` and `skipped` (how many events and rule runs a
 * busy second held back over the hub's per-client cap) are the stream's own.
 */
const KINDS = ['hello', 'event', 'device', 'rule', 'alert', 'dropped', 'skipped'] as const;
export type StreamKind = (typeof KINDS)[number];

type Listener = (data: unknown) => void;

/**
 * One live connection to `/api/stream` for the whole app, shared by the pages that listen. The
 * browser's own EventSource retry is replaced by ours: it retries forever at a fixed 3 s, also after
 * the hub dropped us as a slow client, whereas this backs off (with jitter) and says so on screen.
 */
export class LiveStream {
  private source: SourceLike | undefined;
  private timer: unknown;
  private stopped = true;
  private readonly listeners = new Map<StreamKind, Set<Listener>>();
  private readonly statusListeners = new Set<(s: StreamStatus) => void>();
  private current: StreamStatus = { state: 'connecting' };
  /** When the current connection was greeted (epoch ms); undefined before `hello`. */
  private greetedAt: number | undefined;

  constructor(
    private readonly url: string,
    private readonly deps: LiveStreamDeps,
  ) {}

  get status(): StreamStatus {
    return this.current;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.source?.close();
    this.source = undefined;
    if (this.timer !== undefined) this.deps.clearTimer(this.timer);
    this.timer = undefined;
  }

  /** Adds a listener; the returned function removes it. */
  on(kind: StreamKind, listener: Listener): () => void {
    let set = this.listeners.get(kind);
    if (!set) this.listeners.set(kind, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  onStatus(listener: (s: StreamStatus) => void): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  private connect(): void {
    this.timer = undefined;
    this.setStatus({ state: 'connecting' });
    const source = this.deps.open(this.url);
    this.source = source;
    for (const kind of KINDS) {
      source.addEventListener(kind, (message) => {
        if (this.source !== source) return;
        let data: unknown;
        try {
          data = JSON.parse(message.data);
        } catch {
          return;
        }
        if (kind === 'hello') {
          this.greetedAt = this.deps.now();
          this.setStatus({ state: 'open' });
        }
        this.emit(kind, data);
        if (kind === 'dropped') {
          const reason = (data as { reason?: unknown }).reason;
          this.retry(typeof reason === 'string' ? reason : 'the hub dropped this page');
        }
      });
    }
    source.addEventListener('error', () => {
      if (this.source === source) this.retry('the connection to the hub was lost');
    });
  }

  private retry(reason: string): void {
    this.source?.close();
    this.source = undefined;
    if (this.stopped || this.timer !== undefined) return;
    // Only a connection that was greeted and then stayed up counts as a success: a hub that greets
    // and closes at once (a proxy's timeout, a crash loop) must not be reconnected to in a tight loop.
    const greeted = this.greetedAt;
    this.greetedAt = undefined;
    if (greeted !== undefined && this.deps.now() - greeted >= (this.deps.stableMs ?? 10_000))
      this.deps.backoff.reset();
    const inMs = this.deps.backoff.next();
    this.setStatus({ state: 'reconnecting', inMs, attempt: this.deps.backoff.attempts, reason });
    this.timer = this.deps.setTimer(() => this.connect(), inMs);
  }

  private emit(kind: StreamKind, data: unknown): void {
    for (const listener of this.listeners.get(kind) ?? []) {
      try {
        listener(data);
      } catch (error) {
        // One page's broken listener must not stop the others from hearing the stream.
        console.error(error);
      }
    }
  }

  private setStatus(status: StreamStatus): void {
    this.current = status;
    for (const listener of this.statusListeners) listener(status);
  }
}
