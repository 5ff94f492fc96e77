import type { DeviceDefinition } from '../../devices/index.js';
import type { CommandResult, DeviceDirectory } from '../../kernel/index.js';
import type { AlertRecord, RuleStats, RulesStatus, TraceReader } from '../../rules/index.js';
import type { ConnectorStatus } from '../connectors/index.js';
import type { ChannelStats, DeliveryReader } from '../notifiers/index.js';
import type { DeadLetter, EventHistory } from '../store/index.js';

/** What the API asks of the running connectors (`Connectors`). */
export interface ConnectorControl {
  list(): readonly ConnectorStatus[];
  status(id: string): ConnectorStatus | undefined;
  /** Stored events since `sinceMs` (epoch ms) into the connector's outbox again; how many. */
  replay(id: string, sinceMs: number): Promise<number>;
  /** Dead letters (all when `ids` is empty) back into the outbox; how many. */
  revive(id: string, ids: number[]): Promise<number>;
}

/** The connectors' part of the API. */
export interface ConnectorPorts {
  /** The running connectors; undefined when none is configured. */
  running(): ConnectorControl | undefined;
  /** A connector's dead letters, oldest first. */
  dead(connectorId: string, limit: number): readonly DeadLetter[];
  /** Epoch ms on the hub clock: what a `since` duration counts back from. */
  now(): number;
}

/** What the HTTP API reads and drives; the hub plugs its components in. */
export interface HttpApiPorts {
  /** Rule ids and counters of the set in force. */
  rules(): readonly RuleStats[];
  /** The last load or reload, with its errors and possible loops; undefined without a rules directory. */
  rulesStatus(): RulesStatus | undefined;
  /** Stored traces (`rules.db`); undefined when traces are not stored. */
  traces: TraceReader | undefined;
  /** In-memory runs when no trace store is there; undefined for a rule not loaded. */
  memoryTrace?(
    ruleId: string,
  ): { fired: readonly unknown[]; blocked: readonly unknown[]; errors: readonly unknown[] } | undefined;
  devices: DeviceDirectory;
  /** The device definitions in force (config and devices directory); none when not given. */
  definitions?(): readonly DeviceDefinition[];
  /** A command through the actuator safety envelope; absent in a hub without device runtime. */
  command?(deviceId: string, set: Readonly<Record<string, unknown>>, origin: string): Promise<CommandResult>;
  /** The event store's queries; undefined when the store is off. */
  events?: EventHistory;
  /** Hands a posted event to the rules (`event:` triggers). */
  postEvent(name: string, data: unknown): void;
  /** Figures for `/api/health`. */
  health(): Record<string, unknown>;
  /** `/api/connectors`; without it the hub reports no connectors. */
  connectors?: ConnectorPorts;
  /** `/api/alerts`: the alert records, and acknowledging one (which stops its reminders). */
  alerts?: {
    list(): readonly AlertRecord[];
    acknowledge(key: string): Promise<AlertRecord | null>;
    /** Clears an active alert; null when none is active under `key`. */
    clear?(key: string): Promise<AlertRecord | null>;
  };
  /** `/api/notifications`: recent deliveries and each notifier's counters; absent without notifiers. */
  notifications?: DeliveryReader & { stats(): readonly ChannelStats[] };
  /** Epoch ms on the hub clock: what `since=24h` counts back from, and session expiry. */
  now?(): number;
}
