import { afterEach, describe, expect, it } from 'vitest';
import { FakeMachine } from './fake-doctor-env.js';
import { ProcTable } from './proc-table.js';

let machine: FakeMachine | undefined;
afterEach(() => machine?.cleanup());

// /proc/net/tcp: 0.0.0.0:1883 listening (inode 501), 127.0.0.1:8080 established (inode 502).
const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:075B 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 501 1 0 100 0 0 10 0
   1: 0100007F:1F90 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 502 1 0 100 0 0 10 0
`;
// /proc/net/tcp6: [::]:9001 listening (inode 601).
const TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:2329 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 601 1 0 100 0 0 10 0
`;

describe('ProcTable', () => {
  it('finds the process listening on a port, over IPv4 and IPv6, and only listening sockets', () => {
    machine = new FakeMachine();
    machine.file('/proc/net/tcp', TCP);
    machine.file('/proc/net/tcp6', TCP6);
    machine.process(40, 'mosquitto', ['/usr/sbin/mosquitto', '-c', '/etc/mosquitto/mosquitto.conf'], {
      '3': 'socket:[501]',
    });
    machine.process(41, 'node', ['node', '/usr/lib/node_modules/edgehub/bin/edgehub.js', 'start'], {
      '7': 'socket:[601]',
      '8': 'socket:[502]',
    });
    const proc = new ProcTable(machine.root, 1);
    expect(proc.portHolders(1883).map((p) => [p.pid, p.comm, p.edgehub])).toEqual([[40, 'mosquitto', false]]);
    expect(proc.portHolders(9001).map((p) => [p.pid, p.edgehub])).toEqual([[41, true]]);
    expect(proc.portHolders(8080)).toEqual([]);
  });

  it('never reports itself, and reads the pty index of a /dev/ptmx descriptor', () => {
    machine = new FakeMachine();
    machine.process(50, 'socat', ['socat', 'pty', 'pty'], { '5': '/dev/ptmx', '6': '/dev/pts/3' });
    machine.file('/proc/50/fdinfo/5', 'pos:\t0\nflags:\t02100002\ntty-index:\t3\n');
    machine.process(51, 'node', ['node', 'edgehub-cli.ts', 'doctor'], { '6': '/dev/pts/3' });
    const proc = new ProcTable(machine.root, 51);
    expect(proc.holders((l) => l === '/dev/pts/3').map((h) => h.process.pid)).toEqual([50]);
    expect(proc.ptyIndex(50, '5')).toBe(3);
    expect(proc.ptyIndex(50, '6')).toBeUndefined();
  });

  it('gives nothing, rather than throwing, where there is no /proc', () => {
    machine = new FakeMachine();
    const proc = new ProcTable(machine.root, 1);
    expect(proc.pids()).toEqual([]);
    expect(proc.portHolders(1883)).toEqual([]);
  });
});
