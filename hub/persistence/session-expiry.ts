import type { Clock, Logger, TimerHandle } from '../../kernel/index.js';

/** Session Expiry Interval meaning "never" (MQTT 5 §3.1.2.11.2). */
const NEVER_EXPIRES = 0xffff_ffff;

/** The client fields aedes gives with its `client`, `clientDisconnect` and `sessionExpired` events. */
export interface SessionClient {
  id: string;
  version?: number | null;
  /** Seconds, as aedes holds it after CONNECT (and after a DISCONNECT that changed it). */
  sessionExpiryInterval?: number;
}

/** The broker events the ledger listens to; aedes is one. */
export interface SessionEvents {
  on(
    event: 'client' | 'clientDisconnect' | 'sessionExpired',
    listener: (client: SessionClient) => void,
  ): unknown;
}

/** One MQTT 5 session that ends after a time, as the state file holds it. */
export interface SessionExpiryRow {
  clientId: string;
  intervalS: number;
  /** Epoch ms the client went away; null while it is connected. */
  offlineSince: number | null;
}

export interface SessionExpiriesDeps {
  clock: Clock;
  logger: Logger;
  /** Saves one row, or deletes it when `row` is undefined. */
  save: (clientId: string, row: SessionExpiryRow | undefined) => void;
  /** Removes an ended session: its subscriptions, queued messages and QoS 2 state. */
  wipe: (clientId: string) => void;
}

/**
 * When each MQTT 5 session with a finite Session Expiry Interval ends, kept so it holds across a
 * restart. aedes expires a session only on a timer it starts when the client goes away, which a
 * restart loses: without this a session that should have ended while the hub was down would live
 * on forever. A session whose client was still connected when the hub went down (a crash) counts
 * from the restart, the soonest moment the hub knows the client was gone.
 */
export class SessionExpiries {
  private readonly rows = new Map<string, SessionExpiryRow>();
  /** Timers for sessions restored from the file; aedes times those that end while it runs. */
  private readonly timers = new Map<string, TimerHandle>();

  constructor(private readonly deps: SessionExpiriesDeps) {}

  /** Takes the rows read from the file: ends the sessions that expired meanwhile, times the rest. */
  restore(rows: readonly SessionExpiryRow[]): void {
    const now = this.deps.clock.now();
    for (const row of rows) {
      const since = row.offlineSince ?? now;
      const left = since + row.intervalS * 1000 - now;
      if (left <= 0) {
        this.expire(row.clientId, true);
        continue;
      }
      const offline = { ...row, offlineSince: since };
      this.rows.set(row.clientId, offline);
      if (row.offlineSince === null) this.deps.save(row.clientId, offline);
      this.timers.set(
        row.clientId,
        this.deps.clock.setTimer(`session expiry ${row.clientId}`, left, () =>
          this.expire(row.clientId, false),
        ),
      );
    }
  }

  /** Follows the broker's clients from now on. */
  listen(events: SessionEvents): void {
    events.on('client', (client) => this.connected(client));
    events.on('clientDisconnect', (client) => this.disconnected(client));
    events.on('sessionExpired', (client) => this.forget(client.id));
  }

  /** Sessions that end after a time, connected or not. */
  snapshot(): SessionExpiryRow[] {
    return [...this.rows.values()];
  }

  close(): void {
    for (const timer of this.timers.values()) this.deps.clock.clearTimer(timer);
    this.timers.clear();
  }

  private connected(client: SessionClient): void {
    this.deps.clock.clearTimer(this.timers.get(client.id));
    this.timers.delete(client.id);
    this.record(client, null);
  }

  private disconnected(client: SessionClient): void {
    this.record(client, this.deps.clock.now());
  }

  private record(client: SessionClient, offlineSince: number | null): void {
    const intervalS = client.sessionExpiryInterval ?? 0;
    if (client.version !== 5 || intervalS <= 0 || intervalS >= NEVER_EXPIRES) {
      // Ends with its connection, never ends, or an MQTT 3.1.1 session: aedes needs no timer for it.
      this.forget(client.id);
      return;
    }
    const row: SessionExpiryRow = { clientId: client.id, intervalS, offlineSince };
    this.rows.set(client.id, row);
    this.deps.save(client.id, row);
  }

  private forget(clientId: string): void {
    if (!this.rows.delete(clientId)) return;
    this.deps.save(clientId, undefined);
  }

  private expire(clientId: string, whileDown: boolean): void {
    this.timers.delete(clientId);
    this.rows.delete(clientId);
    this.deps.save(clientId, undefined);
    this.deps.wipe(clientId);
    this.deps.logger.info(
      `${whileDown ? 'a session expired while the hub was down' : 'a session expired'}; its subscriptions and queued messages are gone`,
      { client: clientId, whileDown },
    );
  }
}
