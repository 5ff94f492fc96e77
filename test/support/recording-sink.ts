import type { ActuatorState, AdapterSink } from '../../devices/index.js';

/** One thing an adapter reported. */
export type SinkEvent =
  | { kind: 'reading'; deviceId: string; metric: string; value: number | boolean | string; at: number }
  | { kind: 'state'; deviceId: string; actuator: string; state: ActuatorState; at: number }
  | { kind: 'status'; deviceId: string; status: 'online' | 'offline'; at: number };

interface Waiter {
  from: number;
  match: (e: SinkEvent) => boolean;
  resolve: (e: SinkEvent) => void;
}

/** An {@link AdapterSink} that keeps what it is told, for tests that wait for an adapter's reports. */
export class RecordingSink implements AdapterSink {
  readonly events: SinkEvent[] = [];
  private waiters: Waiter[] = [];

  reading(deviceId: string, metric: string, value: number | boolean | string, at: number): void {
    this.record({ kind: 'reading', deviceId, metric, value, at });
  }

  state(deviceId: string, actuator: string, state: ActuatorState, at: number): void {
    this.record({ kind: 'state', deviceId, actuator, state, at });
  }

  status(deviceId: string, status: 'online' | 'offline', at: number): void {
    this.record({ kind: 'status', deviceId, status, at });
  }

  /** Index of the next event; pass it as `from` to wait only for what comes after now. */
  get mark(): number {
    return this.events.length;
  }

  /** The first event at index `from` or later that matches, now or when it comes. */
  waitFor(match: (e: SinkEvent) => boolean, from = 0): Promise<SinkEvent> {
    const found = this.events.slice(from).find(match);
    if (found) return Promise.resolve(found);
    return new Promise((resolve) => this.waiters.push({ from, match, resolve }));
  }

  /** Readings of one metric, in order. */
  readings(deviceId: string, metric: string): (number | boolean | string)[] {
    return this.events.flatMap((e) =>
      e.kind === 'reading' && e.deviceId === deviceId && e.metric === metric ? [e.value] : [],
    );
  }

  /** Statuses of one device, in order. */
  statuses(deviceId: string): ('online' | 'offline')[] {
    return this.events.flatMap((e) => (e.kind === 'status' && e.deviceId === deviceId ? [e.status] : []));
  }

  private record(event: SinkEvent): void {
    const index = this.events.length;
    this.events.push(event);
    this.waiters = this.waiters.filter((w) => {
      if (index < w.from || !w.match(event)) return true;
      w.resolve(event);
      return false;
    });
  }
}
