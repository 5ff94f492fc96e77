/** The shapes the hub's HTTP API answers with (/work/api-contract.md); times are epoch ms. */

export type Role = 'viewer' | 'operator' | 'admin';

export interface Me {
  user: string | null;
  role: Role;
  auth: 'session' | 'token' | 'none';
}

export type DeviceStatus = 'unknown' | 'online' | 'offline' | 'stale';
export type ActuatorKind = 'switch' | 'light' | 'dimmer' | 'relay' | 'buzzer';

export interface Device {
  id: string;
  name: string | null;
  status: DeviceStatus;
  lastSeen: number | null;
  state: Record<string, unknown>;
  updatedAt: Record<string, number>;
  sensors: { metric: string; kind: string; unit: string | null; stale: boolean }[];
  actuators: { name: string; kind: ActuatorKind }[];
  defined: boolean;
}

export interface HubEvent {
  id?: number;
  time: number;
  topic: string;
  device: string | null;
  metric: string | null;
  payload: unknown;
  qos: number;
  retain: boolean;
  clientId: string | null;
}

export interface HistoryPoint {
  t: number;
  min: number;
  max: number;
  avg: number;
  n: number;
}

export interface History {
  device: string;
  metric: string;
  since: number;
  until: number;
  bucketMs: number;
  points: HistoryPoint[];
}

export interface RuleStats {
  id: string;
  enabled: boolean;
  suspended?: boolean;
  lastFiredAt?: number | null;
  triggered: number;
  fired: number;
  blocked: number;
  errors: number;
  dropped?: Record<string, number>;
  lastRunAt: number | null;
}

export interface TraceRecord {
  id: number;
  ruleId: string;
  outcome: 'fired' | 'blocked' | 'error';
  startedAt: number;
  finishedAt: number;
  run: Record<string, unknown>;
}

export interface AlertRecord {
  key: string;
  severity: string;
  message: string;
  active: boolean;
  count: number;
  source: string;
  raisedAt: number;
  lastRaisedAt: number;
  clearedAt: number | null;
  acknowledgedAt: number | null;
}

export interface Problem {
  line: number;
  col: number;
  path: string;
  message: string;
  text: string;
  file?: string;
}

export interface Firing {
  time: number;
  ruleId: string;
  topic: string;
  device: string | null;
  readings: Record<string, unknown>;
  actions: string[];
}

export interface Preview {
  ok: boolean;
  problems: Problem[];
  since: number;
  until: number;
  edited: { fired: number; rules: number; firings: Firing[] };
  inForce: { fired: number; rules: number; firings: Firing[] };
  diff: { added: string[]; removed: string[]; changed: string[] };
  loops: string[];
}

export interface RuleFile {
  name: string;
  size: number;
  modifiedAt: number;
  rules: string[];
}

export interface RuleFileVersion {
  version: number | string;
  savedAt: number;
  size: number;
}

/** What /api/stream sends as `rule` messages. */
export interface RuleRun {
  ruleId: string;
  outcome: 'fired' | 'blocked' | 'error';
  time: number;
  reason?: string;
}
