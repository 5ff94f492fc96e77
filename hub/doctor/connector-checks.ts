import type { ConnectorConfig } from '../connectors/index.js';
import { fail, ok, type CheckResult } from './check-result.js';
import type { DoctorEnv } from './doctor-env.js';

/** How long a remote may take to accept a TCP connection before it counts as unreachable. */
export const CONNECT_TIMEOUT_MS = 3000;

/** Ports a URL scheme means when the URL names none. */
const DEFAULT_PORTS: Readonly<Record<string, number>> = {
  'mqtt:': 1883,
  'mqtts:': 8883,
  'ws:': 80,
  'wss:': 443,
  'amqp:': 5672,
  'amqps:': 5671,
  'redis:': 6379,
  'rediss:': 6379,
  'http:': 80,
  'https:': 443,
};

export interface Remote {
  host: string;
  port: number;
}

function fromUrl(url: string): Remote[] {
  try {
    const u = new URL(url);
    const port = u.port === '' ? DEFAULT_PORTS[u.protocol] : Number(u.port);
    // IPv6 literals come back bracketed: net.connect wants them bare.
    return port === undefined ? [] : [{ host: u.hostname.replace(/^\[(.*)\]$/, '$1'), port }];
  } catch {
    return [];
  }
}

/** The host:port pairs a connector talks to. */
export function remotesOf(c: ConnectorConfig): Remote[] {
  switch (c.type) {
    case 'mqtt':
    case 'amqp':
    case 'redis-stream':
      return fromUrl(c.url);
    case 'kafka':
      return c.brokers.flatMap((b) => {
        const at = b.lastIndexOf(':');
        return [{ host: b.slice(0, at), port: Number(b.slice(at + 1)) }];
      });
    case 'sqs':
    case 'sns':
      return fromUrl(c.endpoint ?? `https://${c.type}.${c.region}.amazonaws.com`);
  }
}

/** Reachability only: a TCP connection is opened and closed; credentials are not tried. */
export async function connectorChecks(
  env: DoctorEnv,
  connectors: readonly ConnectorConfig[],
  timeoutMs = CONNECT_TIMEOUT_MS,
): Promise<CheckResult[]> {
  return Promise.all(
    connectors.map(async (c): Promise<CheckResult> => {
      const check = `connector.${c.id}`;
      if (!c.enabled) return ok(check, `${c.type} connector ${c.id} is disabled`);
      const remotes = remotesOf(c);
      const outcomes = await Promise.all(remotes.map((r) => env.tcpConnect(r.host, r.port, timeoutMs)));
      const where = (r: Remote) => (r.host.includes(':') ? `[${r.host}]:${r.port}` : `${r.host}:${r.port}`);
      const failed = remotes.flatMap((r, i) =>
        outcomes[i] === null ? [] : [`${where(r)} (${outcomes[i]})`],
      );
      if (failed.length > 0)
        return fail(
          check,
          `${c.type} connector ${c.id} cannot reach ${failed.join(', ')}`,
          'check that the remote runs and that this machine reaches it (address, port, firewall, DNS); the hub keeps events in its outbox meanwhile',
        );
      return ok(check, `${c.type} connector ${c.id} reaches ${remotes.map(where).join(', ')}`);
    }),
  );
}
