import { EventEmitter } from 'node:events';
import { expect, vi } from 'vitest';
import {
  connectorSchema,
  Hub,
  loadConfig,
  type ConnectorConfig,
  type ConnectorStatus,
  type HubConfig,
} from '../../hub/index.js';
import { MemoryLogger, type MqttMessage } from '../../kernel/index.js';
import type { TempDirs } from './temp.js';
import { writeFiles } from './temp.js';
import { SignallingClock } from './signalling-clock.js';

/** A hub with one connector, on a virtual clock, as a test drives it. */
export interface Site {
  hub: Hub;
  clock: SignallingClock;
  logger: MemoryLogger;
  /** Every message the site's broker handled, in order. */
  seen: MqttMessage[];
  /** Emits `message` for each of them, so waits recheck. */
  events: EventEmitter;
  url: string;
  status(): ConnectorStatus | undefined;
  /** Resolves once the connector reports `connected` ({@link untilConnected}). */
  connected(): Promise<void>;
  /** Resolves once the connector's retry timer is set (it failed and waits to try again). */
  retrying(): Promise<void>;
  /** Moves the virtual clock past the connector's pending retry. */
  retryNow(): void;
}

export interface SiteOptions {
  name?: string;
  /** Rule files, by name. */
  rules?: Record<string, string>;
  dataDir?: string;
}

/**
 * Starts a hub named `site1` (by default) with `connector` (given as the config file would, then
 * validated by the same schema) on a virtual clock.
 */
export async function startSite(
  temp: TempDirs,
  connector: Record<string, unknown>,
  options: SiteOptions = {},
): Promise<Site> {
  const rulesDir = options.rules ? temp.make('site-rules-') : undefined;
  if (rulesDir && options.rules) writeFiles(rulesDir, options.rules);
  const base = loadConfig(undefined, {
    mqttPort: 0,
    wsPort: null,
    httpPort: null,
    dataDir: options.dataDir ?? temp.make('site-'),
    ...(rulesDir !== undefined && { rulesDir }),
  });
  const parsed: ConnectorConfig = connectorSchema.parse({ id: 'remote', ...connector });
  const config: HubConfig = {
    ...base,
    hub: { ...base.hub, name: options.name ?? 'site1' },
    connectors: [parsed],
  };
  const clock = new SignallingClock(Date.now());
  const logger = new MemoryLogger();
  const hub = new Hub({ config, logger, clock });
  const seen: MqttMessage[] = [];
  const events = new EventEmitter();
  hub.broker.onMessage(events, (m) => {
    seen.push(m);
    events.emit('message');
  });
  await hub.start();
  const timer = `connector:${parsed.id}:retry`;
  const status = (): ConnectorStatus | undefined => hub.connectors?.status(parsed.id);
  return {
    hub,
    clock,
    logger,
    seen,
    events,
    url: `mqtt://127.0.0.1:${hub.broker.mqttAddress?.port}`,
    status,
    connected: () => untilConnected(status),
    retrying: () => (clock.pending().includes(timer) ? Promise.resolve() : clock.nextTimer(timer)),
    retryNow: () => clock.advance(10 * 60_000),
  };
}

/**
 * Resolves once `status` reports `connected`. A connector's first connection loads its client
 * library, and with a backlog waiting starts the connectors' thread to load it there, which takes
 * seconds on a loaded machine.
 */
export function untilConnected(status: () => ConnectorStatus | undefined): Promise<void> {
  return vi.waitFor(() => expect(status()?.state).toBe('connected'), { timeout: 20_000 });
}
