import {
  errorMessage,
  parseDuration,
  type Clock,
  type Logger,
  type TimerHandle,
} from '../../kernel/index.js';
import type { AlertRecord, Notification, Notifier, NotifyPriority, Severity } from '../../rules/index.js';
import type { AlertRoutingConfig } from './config-schema.js';

/** How loud an alert's notifications are: a critical one is `urgent` and passes quiet hours. */
export const SEVERITY_PRIORITY: Readonly<Record<Severity, NotifyPriority>> = {
  critical: 'urgent',
  major: 'high',
  minor: 'default',
  warning: 'default',
  info: 'low',
};

export interface AlertRouterDeps {
  routing: AlertRoutingConfig;
  notifier: Notifier;
  /** The engine's alert book. */
  alerts: { load(): void; get(key: string): AlertRecord | undefined; active(): AlertRecord[] };
  clock: Clock;
  logger: Logger;
}

/**
 * Sends alerts to the notifiers their severity routes them to: when raised, when cleared, and a
 * reminder every `remind_every` while one stays active and unacknowledged (timers
 * `notify:alert-reminder:<key>`, counted from when it was raised, so a restart keeps the rhythm).
 */
export class AlertRouter {
  private readonly reminders = new Map<string, TimerHandle>();
  private readonly remindMs: number | null;

  constructor(private readonly deps: AlertRouterDeps) {
    this.remindMs = deps.routing.remind_every === undefined ? null : parseDuration(deps.routing.remind_every);
  }

  /** Arms the reminders of alerts that were active and unacknowledged before a restart. */
  start(): void {
    this.deps.alerts.load();
    for (const alert of this.deps.alerts.active()) if (alert.acknowledgedAt === null) this.arm(alert);
  }

  /** The engine's `alert.raised` / `alert.cleared` (other names are ignored). */
  onEvent(name: string, data: unknown): void {
    const alert = data as AlertRecord;
    if (name === 'alert.raised') {
      this.send(alert, 'raised');
      this.arm(alert);
    } else if (name === 'alert.cleared') {
      this.disarm(alert.key);
      if (this.deps.routing.on_clear) this.send(alert, 'cleared');
    }
  }

  stop(): void {
    for (const key of [...this.reminders.keys()]) this.disarm(key);
  }

  private arm(alert: AlertRecord): void {
    if (this.remindMs === null || !this.routes(alert.severity).length) return;
    this.disarm(alert.key);
    const now = this.deps.clock.now();
    const every = this.remindMs;
    // The next multiple of the interval after the raise that is still ahead.
    const due = alert.raisedAt + Math.max(1, Math.floor((now - alert.raisedAt) / every) + 1) * every;
    const timer = this.deps.clock.setTimer(`notify:alert-reminder:${alert.key}`, due - now, () => {
      this.reminders.delete(alert.key);
      const current = this.deps.alerts.get(alert.key);
      // Acknowledged, cleared, or cleared and raised anew (which armed its own): nothing to remind of.
      if (!current?.active || current.acknowledgedAt !== null || current.raisedAt !== alert.raisedAt) return;
      this.send(current, 'reminder');
      this.arm(current);
    });
    this.reminders.set(alert.key, timer);
  }

  private disarm(key: string): void {
    this.deps.clock.clearTimer(this.reminders.get(key));
    this.reminders.delete(key);
  }

  private routes(severity: Severity): string[] {
    const names = new Set<string>();
    for (const route of this.deps.routing.notify)
      if (route.severities === undefined || route.severities.includes(severity))
        for (const via of route.via) names.add(via);
    return [...names];
  }

  private send(alert: AlertRecord, what: 'raised' | 'cleared' | 'reminder'): void {
    const heading = { raised: alert.severity.toUpperCase(), cleared: 'CLEARED', reminder: 'STILL ACTIVE' }[
      what
    ];
    const notification: Notification = {
      title: `${heading}: ${alert.key}`,
      message: alert.message,
      // A clear can wait for the morning: it says things are better.
      priority: what === 'cleared' ? 'default' : SEVERITY_PRIORITY[alert.severity],
      source: `alert:${alert.key}`,
      tags: [alert.severity, what],
    };
    for (const via of this.routes(alert.severity)) {
      this.deps.notifier.notify(via, notification).catch((err: unknown) =>
        this.deps.logger.warn('notifying of an alert failed', {
          key: alert.key,
          notifier: via,
          error: errorMessage(err),
        }),
      );
    }
  }
}
