import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

/** Which listener accepted a connection. */
export type ListenerKind = 'tcp' | 'tls' | 'ws' | 'wss';

/** What the broker knows about a connection before aedes has read a byte of it. */
export interface ConnectionInfo {
  listener: ListenerKind;
  /** The peer's IP address as the socket reports it (IPv4-mapped IPv6 is left as is). */
  remoteAddress: string | undefined;
  /** The HTTP upgrade request, for WebSocket listeners. */
  request?: IncomingMessage;
}

/** Whether an address (of a peer, or one to bind) is the loopback interface: 127.0.0.0/8 or ::1. */
export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  const a = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (a === 'localhost') return true;
  if (isIP(a) === 4) return a.startsWith('127.');
  return a === '::1' || a === '0:0:0:0:0:0:0:1';
}
