import type { Severity } from '../../language/schema/rule-file.js';

/**
 * One piece of durable rule state. `slot` says what it is (`t0` the per-key state of trigger 0,
 * `k` the cooldown and suspension of a key, `run` a run parked on a delay or wait, `vars` the rule
 * variables); `key` is the instance (or run id). `fingerprint` is the rule's at the time of writing,
 * so state of a rule that changed while the hub was down is recognised and dropped.
 */
export interface StoredState {
  readonly ruleId: string;
  readonly fingerprint: string;
  readonly slot: string;
  readonly key: string;
  /** JSON data. */
  readonly value: unknown;
}

/** One alert, one record per key; raising an active alert again only counts. */
export interface AlertRecord {
  readonly key: string;
  readonly severity: Severity;
  readonly message: string;
  readonly active: boolean;
  /** How many times it was raised while active (1 when first raised). */
  readonly count: number;
  /** Who raised it: a rule id, or `engine` for the loop breaker. */
  readonly source: string;
  /** Epoch ms on the hub clock. */
  readonly raisedAt: number;
  readonly lastRaisedAt: number;
  readonly clearedAt: number | null;
  readonly acknowledgedAt: number | null;
}

/**
 * Where the rule engine keeps what must survive a restart: pending `for`, delays, waits, cooldowns,
 * throttle windows, hysteresis arming, debounce, variables and alerts. Synchronous, because the
 * engine writes as state changes and SQLite answers in microseconds.
 */
export interface RuleStateStore {
  /** Every stored state entry. */
  entries(): StoredState[];
  put(entry: StoredState): void;
  delete(ruleId: string, slot: string, key: string): void;
  /** Deletes every entry of a rule except those in `keepSlots`. */
  deleteRule(ruleId: string, keepSlots?: readonly string[]): void;
  alerts(): AlertRecord[];
  putAlert(alert: AlertRecord): void;
  /** Releases what the store holds; idempotent. */
  close(): void;
}

const entryId = (ruleId: string, slot: string, key: string): string => `${ruleId}\u0000${slot}\u0000${key}`;

/**
 * State in memory: for tests and for hubs without a data directory. Values are copied in and out
 * as JSON, like the SQLite store, so both behave alike when a caller mutates what it got.
 */
export class MemoryRuleStateStore implements RuleStateStore {
  private readonly map = new Map<string, StoredState>();
  private readonly alertMap = new Map<string, AlertRecord>();

  entries(): StoredState[] {
    return [...this.map.values()].map((e) => ({ ...e, value: copy(e.value) }));
  }

  put(entry: StoredState): void {
    this.map.set(entryId(entry.ruleId, entry.slot, entry.key), { ...entry, value: copy(entry.value) });
  }

  delete(ruleId: string, slot: string, key: string): void {
    this.map.delete(entryId(ruleId, slot, key));
  }

  deleteRule(ruleId: string, keepSlots: readonly string[] = []): void {
    for (const [id, e] of this.map) {
      if (e.ruleId === ruleId && !keepSlots.includes(e.slot)) this.map.delete(id);
    }
  }

  alerts(): AlertRecord[] {
    return [...this.alertMap.values()].map((a) => ({ ...a }));
  }

  putAlert(alert: AlertRecord): void {
    this.alertMap.set(alert.key, { ...alert });
  }

  close(): void {
    // Nothing to release; the data stays for whoever still holds the store (tests restart on it).
  }
}

function copy(value: unknown): unknown {
  return value === undefined ? null : (JSON.parse(JSON.stringify(value)) as unknown);
}
