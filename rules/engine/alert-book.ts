import { errorMessage, type Clock, type Logger, type Publisher } from '../../kernel/index.js';
import type { Severity } from '../language/schema/rule-file.js';
import type { AlertRecord, RuleStateStore } from './state/rule-state-store.js';

export interface AlertBookDeps {
  clock: Clock;
  publisher: Publisher;
  logger: Logger;
  store: RuleStateStore;
  /** `alert.raised` when an alert becomes active, `alert.cleared` when it stops being active. */
  onEvent(name: 'alert.raised' | 'alert.cleared', alert: AlertRecord): void;
}

/** Alerts are published retained here, one topic per key, so a dashboard sees the current set on connect. */
export const ALERT_TOPIC_PREFIX = 'edgehub/alerts/';

/** Why an alert key cannot be used (it becomes an MQTT topic level); null when it can. */
export function alertKeyProblem(key: string): string | null {
  if (key === '') return 'the alert key is empty';
  if (key.includes('+') || key.includes('#')) return 'an alert key may not contain + or #';
  if (key.startsWith('/') || key.endsWith('/') || key.includes('//'))
    return 'an alert key may not have empty levels';
  return null;
}

/**
 * The alerts raised by rules (and by the loop breaker): one durable record per key with its
 * raised, cleared and acknowledged times, published retained on `edgehub/alerts/<key>`.
 */
export class AlertBook {
  private readonly records = new Map<string, AlertRecord>();
  private loaded = false;

  constructor(private readonly deps: AlertBookDeps) {}

  /** Reads the stored alerts; later calls do nothing. */
  load(): void {
    if (this.loaded) return;
    this.loaded = true;
    for (const a of this.deps.store.alerts()) this.records.set(a.key, a);
  }

  get(key: string): AlertRecord | undefined {
    return this.records.get(key);
  }

  list(): AlertRecord[] {
    return [...this.records.values()];
  }

  active(): AlertRecord[] {
    return this.list().filter((a) => a.active);
  }

  /**
   * Raises an alert. An active alert with the same key only counts (its severity and message stay
   * as first raised); a cleared or new one starts a new record and emits `alert.raised`.
   */
  async raise(input: {
    key: string;
    severity: Severity;
    message: string;
    source: string;
  }): Promise<AlertRecord> {
    this.load();
    const now = this.deps.clock.now();
    const existing = this.records.get(input.key);
    if (existing?.active) {
      const counted = { ...existing, count: existing.count + 1, lastRaisedAt: now };
      this.save(counted);
      return counted;
    }
    const alert: AlertRecord = {
      key: input.key,
      severity: input.severity,
      message: input.message,
      active: true,
      count: 1,
      source: input.source,
      raisedAt: now,
      lastRaisedAt: now,
      clearedAt: null,
      acknowledgedAt: null,
    };
    this.save(alert);
    await this.publish(alert);
    this.emit('alert.raised', alert);
    return alert;
  }

  /** Clears an active alert; returns null when there was none active under `key`. */
  async clear(key: string): Promise<AlertRecord | null> {
    this.load();
    const existing = this.records.get(key);
    if (!existing?.active) return null;
    const cleared = { ...existing, active: false, clearedAt: this.deps.clock.now() };
    this.save(cleared);
    await this.publish(cleared);
    this.emit('alert.cleared', cleared);
    return cleared;
  }

  /** Marks an alert as seen by a person; null when there is no alert under `key`. */
  async acknowledge(key: string): Promise<AlertRecord | null> {
    this.load();
    const existing = this.records.get(key);
    if (!existing) return null;
    const acknowledged = { ...existing, acknowledgedAt: this.deps.clock.now() };
    this.save(acknowledged);
    await this.publish(acknowledged);
    return acknowledged;
  }

  private save(alert: AlertRecord): void {
    this.records.set(alert.key, alert);
    try {
      this.deps.store.putAlert(alert);
    } catch (err) {
      this.deps.logger.error('storing an alert failed; it is kept in memory', {
        code: 'RULE_STATE_FAILED',
        key: alert.key,
        error: errorMessage(err),
      });
    }
  }

  private async publish(alert: AlertRecord): Promise<void> {
    try {
      await this.deps.publisher.publish({
        topic: ALERT_TOPIC_PREFIX + alert.key,
        payload: JSON.stringify(alert),
        qos: 1,
        retain: true,
      });
    } catch (err) {
      this.deps.logger.error('publishing an alert failed', { key: alert.key, error: errorMessage(err) });
    }
  }

  private emit(name: 'alert.raised' | 'alert.cleared', alert: AlertRecord): void {
    try {
      this.deps.onEvent(name, alert);
    } catch (err) {
      this.deps.logger.error(`${name} listener threw`, { key: alert.key, error: errorMessage(err) });
    }
  }
}
