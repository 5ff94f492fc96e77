import { afterEach, describe, expect, it } from 'vitest';
import { configSchema } from '../config/schema.js';
import { FakeMachine } from './fake-doctor-env.js';
import { portChecks } from './port-checks.js';

let machine: FakeMachine | undefined;
afterEach(() => machine?.cleanup());

const TCP_HEADER =
  '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
const listening = (port: number, inode: number) =>
  `   0: 00000000:${port.toString(16).toUpperCase().padStart(4, '0')} 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 ${inode} 1 0 100 0 0 10 0\n`;

const config = configSchema.parse({ mqtt: { port: 1883, ws_port: 9001 }, http: { port: 0 } });
const verdicts = (results: { check: string; status: string }[]) =>
  results.map((r) => `${r.check} ${r.status}`);

describe('port checks', () => {
  it('passes free ports and port 0, and fails a port another program holds, naming it', async () => {
    machine = new FakeMachine();
    machine.taken.set('127.0.0.1:1883', 'EADDRINUSE');
    machine.file('/proc/net/tcp', TCP_HEADER + listening(1883, 700));
    machine.process(321, 'mosquitto', ['/usr/sbin/mosquitto'], { '4': 'socket:[700]' });
    const results = await portChecks(machine.env(), config);
    expect(verdicts(results)).toEqual(['port.mqtt FAIL', 'port.ws OK', 'port.http OK']);
    expect(results[0]?.message).toContain('pid 321 (/usr/sbin/mosquitto)');
  });

  it('passes a port held by a running edgehub', async () => {
    machine = new FakeMachine();
    machine.taken.set('127.0.0.1:9001', 'EADDRINUSE');
    machine.file('/proc/net/tcp', TCP_HEADER + listening(9001, 701));
    machine.process(322, 'node', ['node', '/usr/bin/edgehub', 'start'], { '9': 'socket:[701]' });
    const results = await portChecks(machine.env(), config);
    expect(verdicts(results)).toEqual(['port.mqtt OK', 'port.ws OK', 'port.http OK']);
    expect(results[1]?.message).toContain('edgehub');
  });

  it('fails a taken port whose holder cannot be seen, a privileged port and a foreign address', async () => {
    machine = new FakeMachine();
    machine.taken.set('127.0.0.1:1883', 'EADDRINUSE');
    machine.taken.set('127.0.0.1:9001', 'EACCES');
    machine.taken.set('10.9.9.9:8080', 'EADDRNOTAVAIL');
    const odd = configSchema.parse({ http: { host: '10.9.9.9', port: 8080 } });
    const results = await portChecks(machine.env(), odd);
    expect(verdicts(results)).toEqual(['port.mqtt FAIL', 'port.ws FAIL', 'port.http FAIL']);
    expect(results.every((r) => r.fix !== undefined)).toBe(true);
  });

  it('checks the TLS listeners when they are on, and no listener that is off', async () => {
    machine = new FakeMachine();
    const tls = configSchema.parse({
      mqtt: { ws_port: null, tls: { port: 8883, ws_port: null, cert: 'c.pem', key: 'k.pem' } },
      http: { port: null },
    });
    const results = await portChecks(machine.env(), tls);
    expect(verdicts(results)).toEqual(['port.mqtt OK', 'port.tls OK']);
  });
});
