import type { HubConfig } from '../config/schema.js';
import { fail, ok, type CheckResult } from './check-result.js';
import type { DoctorEnv } from './doctor-env.js';
import { describeProcess, ProcTable } from './proc-table.js';

interface Listener {
  name: string;
  /** The config key, for messages and fixes. */
  key: string;
  host: string;
  port: number | null;
}

/** Every listener the config turns on; port 0 (a free one each start) cannot be taken. */
export function configuredListeners(config: Readonly<HubConfig>): Listener[] {
  const tlsHost = config.mqtt.tls.host ?? config.mqtt.host;
  return [
    { name: 'mqtt', key: 'mqtt.port', host: config.mqtt.host, port: config.mqtt.port },
    { name: 'ws', key: 'mqtt.ws_port', host: config.mqtt.host, port: config.mqtt.ws_port },
    { name: 'http', key: 'http.port', host: config.http.host, port: config.http.port },
    { name: 'tls', key: 'mqtt.tls.port', host: tlsHost, port: config.mqtt.tls.port },
    { name: 'tls-ws', key: 'mqtt.tls.ws_port', host: tlsHost, port: config.mqtt.tls.ws_port },
  ].filter((l) => l.port !== null);
}

/** Each listener's port: free, held by a running edgehub (fine), or taken by something else. */
export async function portChecks(env: DoctorEnv, config: Readonly<HubConfig>): Promise<CheckResult[]> {
  const proc = new ProcTable(env.root, env.pid);
  const results: CheckResult[] = [];
  for (const l of configuredListeners(config)) {
    const check = `port.${l.name}`;
    const where = `${l.host}:${l.port}`;
    if (l.port === 0) {
      results.push(ok(check, `${l.key} is 0: a free port is picked at each start`));
      continue;
    }
    const error = await env.tryListen(l.host, l.port ?? 0);
    if (error === null) {
      results.push(ok(check, `${where} is free`));
      continue;
    }
    const elsewhere = `or set ${l.key} to a free port`;
    switch (error) {
      case 'EADDRINUSE': {
        const holders = proc.portHolders(l.port ?? 0);
        const ours = holders.filter((p) => p.edgehub);
        const others = holders.filter((p) => !p.edgehub);
        if (others.length > 0) {
          results.push(
            fail(
              check,
              `${where} is in use by ${others.map(describeProcess).join(', ')}`,
              `stop that program or move it to another port, ${elsewhere}`,
            ),
          );
        } else if (ours.length > 0) {
          results.push(ok(check, `${where} is held by edgehub, ${ours.map(describeProcess).join(', ')}`));
        } else {
          results.push(
            fail(
              check,
              `${where} is in use by a process this user cannot see`,
              `run \`sudo edgehub doctor\` (or \`sudo ss -ltnp 'sport = :${l.port}'\`) to see which, ${elsewhere}`,
            ),
          );
        }
        break;
      }
      case 'EACCES':
        results.push(
          fail(
            check,
            `${where}: this user may not bind ports below 1024`,
            `use a port of 1024 or more, or give the service AmbientCapabilities=CAP_NET_BIND_SERVICE`,
          ),
        );
        break;
      case 'EADDRNOTAVAIL':
        results.push(
          fail(check, `${where}: ${l.host} is not an address of this machine`, `fix the host for ${l.key}`),
        );
        break;
      default:
        results.push(fail(check, `${where} cannot be bound: ${error}`, `fix ${l.key} or its host`));
    }
  }
  return results;
}
