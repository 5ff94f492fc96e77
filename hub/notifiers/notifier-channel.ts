import {
  Backoff,
  EdgehubError,
  errorMessage,
  type Clock,
  type Logger,
  type TimerHandle,
} from '../../kernel/index.js';
import type { Notification, NotifyReceipt } from '../../rules/index.js';
import type { DeliveryRecord, DeliveryStore } from './delivery-store.js';
import { quietHoursEnd } from './quiet-hours.js';
import { NotifyFailure, type Delivery, type NotifierTransport } from './transport.js';

export interface ChannelSettings {
  /** Per attempt, ms. */
  readonly timeoutMs: number;
  /** Attempts after the first one fails. */
  readonly retries: number;
  /** Before the first retry, ms; doubled for each further one up to {@link MAX_BACKOFF_MS}. */
  readonly backoffMs: number;
  /** At most `max` notifications taken per `perMs`. */
  readonly rate: { readonly max: number; readonly perMs: number };
  readonly quietHours: { readonly from: string; readonly to: string } | undefined;
}

export interface ChannelDeps {
  name: string;
  settings: ChannelSettings;
  transport: NotifierTransport;
  clock: Clock;
  logger: Logger;
  store: DeliveryStore;
  /** IANA zone the quiet hours are in. */
  timezone: () => string;
}

/** Backoff between attempts never grows beyond this, ms. */
export const MAX_BACKOFF_MS = 600_000;

export interface ChannelStats {
  readonly name: string;
  readonly accepted: number;
  readonly delivered: number;
  readonly failed: number;
  /** Over the rate limit. */
  readonly dropped: number;
  readonly queued: number;
  readonly held: number;
}

/**
 * One configured notifier: takes notifications (rate limit, quiet hours), stores each, and sends
 * them one at a time in order through its transport, with a timeout per attempt and retries with
 * exponential backoff, all on the hub clock (timers `notify:<name>:…`). Every outcome is stored.
 */
export class NotifierChannel {
  private readonly queue: Delivery[] = [];
  private readonly held: Delivery[] = [];
  /** When each notification inside the current rate window was taken, oldest first. */
  private readonly taken: number[] = [];
  private limited = false;
  private sending = false;
  private stopped = false;
  private quietTimer: TimerHandle | undefined;
  /** The backoff wait in progress, so stop() can end it. */
  private wait: { timer: TimerHandle; wake: () => void } | undefined;
  private attempt: AbortController | undefined;
  private idleWaiters: (() => void)[] = [];
  private counters = { accepted: 0, delivered: 0, failed: 0, dropped: 0 };

  constructor(private readonly deps: ChannelDeps) {}

  get name(): string {
    return this.deps.name;
  }

  accept(notification: Notification): NotifyReceipt {
    const { clock, settings, logger, name, store } = this.deps;
    const now = clock.now();
    while (this.taken.length > 0 && (this.taken[0] ?? 0) <= now - settings.rate.perMs) this.taken.shift();
    if (this.taken.length >= settings.rate.max) {
      this.counters.dropped++;
      if (!this.limited)
        logger.warn(`notifier ${name} rate limited; further notifications are dropped and counted`, {
          notifier: name,
          max: settings.rate.max,
          per_ms: settings.rate.perMs,
        });
      this.limited = true;
      return { id: null, outcome: 'dropped' };
    }
    if (this.limited) {
      logger.info(`notifier ${name} takes notifications again`, { dropped: this.counters.dropped });
      this.limited = false;
    }
    this.taken.push(now);
    this.counters.accepted++;
    const until = this.quietEnd(notification, now);
    const id = store.add(name, notification, until === null ? 'pending' : 'held', now);
    const delivery = { id, createdAt: now, notification };
    if (until === null) {
      this.queue.push(delivery);
      this.pump();
      return { id, outcome: 'queued' };
    }
    this.hold(delivery, until);
    return { id, outcome: 'held' };
  }

  /** A delivery stored before a restart, still pending or held. */
  resume(record: DeliveryRecord): void {
    const delivery = { id: record.id, createdAt: record.createdAt, notification: record };
    const until = this.quietEnd(record, this.deps.clock.now());
    if (until !== null) this.hold(delivery, until);
    else {
      this.queue.push(delivery);
      this.pump();
    }
  }

  stats(): ChannelStats {
    return { name: this.name, ...this.counters, queued: this.queue.length, held: this.held.length };
  }

  /** Resolves once nothing is being sent or waits to be (held ones aside). */
  whenIdle(): Promise<void> {
    if (!this.sending && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Clears its timers and aborts the attempt in flight; what was not delivered stays stored for the next start. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.deps.clock.clearTimer(this.quietTimer);
    this.attempt?.abort();
    if (this.wait) {
      this.deps.clock.clearTimer(this.wait.timer);
      this.wait.wake();
    }
    this.deps.transport.close?.();
  }

  /** When the quiet hours this notification would wait for end; null to send it now. */
  private quietEnd(notification: Notification, now: number): number | null {
    const quiet = this.deps.settings.quietHours;
    // Urgent ones (critical alerts) wake people: that is what they are for.
    if (!quiet || notification.priority === 'urgent') return null;
    return quietHoursEnd(now, quiet, this.deps.timezone());
  }

  private hold(delivery: Delivery, until: number): void {
    this.held.push(delivery);
    if (this.quietTimer) return;
    const { clock, name } = this.deps;
    this.quietTimer = clock.setTimer(`notify:${name}:quiet-hours`, until - clock.now(), () => {
      this.quietTimer = undefined;
      this.release();
    });
  }

  private release(): void {
    const { clock, store } = this.deps;
    const now = clock.now();
    const held = this.held.splice(0);
    for (const d of held) {
      // A daylight-saving shift may have moved the end: such a one waits again.
      const until = this.quietEnd(d.notification, now);
      if (until !== null) {
        this.hold(d, until);
        continue;
      }
      store.update(d.id, { state: 'pending', attempts: 0, error: null, at: now });
      this.queue.push(d);
    }
    this.pump();
  }

  private pump(): void {
    if (this.sending || this.stopped) return;
    const next = this.queue.shift();
    if (!next) {
      for (const resolve of this.idleWaiters.splice(0)) resolve();
      return;
    }
    this.sending = true;
    void this.deliver(next).finally(() => {
      this.sending = false;
      this.pump();
    });
  }

  private async deliver(d: Delivery): Promise<void> {
    const { clock, logger, name, settings, store, transport } = this.deps;
    const backoff = new Backoff({
      initialMs: settings.backoffMs,
      maxMs: MAX_BACKOFF_MS,
      factor: 2,
      jitter: 0,
    });
    let error = '';
    let attempts = 0;
    for (let attempt = 1; attempt <= settings.retries + 1; attempt++) {
      if (attempt > 1) {
        await this.sleep(backoff.next());
        if (this.stopped) return;
      }
      attempts = attempt;
      const controller = new AbortController();
      this.attempt = controller;
      const timer = clock.setTimer(`notify:${name}:timeout`, settings.timeoutMs, () => controller.abort());
      let retryable = true;
      try {
        await Promise.race([transport.send(d, controller.signal), aborted(controller.signal)]);
        clock.clearTimer(timer);
        store.update(d.id, { state: 'delivered', attempts, error: null, at: clock.now() });
        this.counters.delivered++;
        return;
      } catch (err) {
        clock.clearTimer(timer);
        if (this.stopped) return;
        if (controller.signal.aborted) error = `no answer within ${settings.timeoutMs} ms`;
        else {
          error = errorMessage(err);
          // A notifier's own refusal says whether to retry; a missing secret never gets better by waiting.
          retryable = err instanceof NotifyFailure ? err.retryable : !(err instanceof EdgehubError);
        }
      } finally {
        this.attempt = undefined;
      }
      store.update(d.id, { state: 'pending', attempts, error, at: clock.now() });
      if (!retryable) break;
    }
    store.update(d.id, { state: 'failed', attempts, error, at: clock.now() });
    this.counters.failed++;
    logger.warn(`notification ${d.id} through ${name} failed`, { notifier: name, attempts, error });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        this.wait = undefined;
        resolve();
      };
      this.wait = { timer: this.deps.clock.setTimer(`notify:${this.name}:backoff`, ms, wake), wake };
    });
  }
}

/** Rejects when `signal` aborts: a transport that does not watch the signal is still cut off. */
function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_resolve, reject) => {
    signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
  });
}
