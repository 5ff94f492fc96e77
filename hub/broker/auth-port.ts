import type { ListenerKind } from './connection-info.js';

/** Who a connected client is, as far as access rules go. */
export interface AuthSubject {
  readonly clientId: string;
  /** The username the client authenticated with; undefined for an anonymous client. */
  readonly username: string | undefined;
}

export interface AuthRequest {
  clientId: string;
  username: string | undefined;
  password: Buffer | undefined;
  /** The peer's address, for the loopback rule and for slowing down guessing per source. */
  remoteAddress: string | undefined;
  listener: ListenerKind;
}

/**
 * MQTT 3.1.1 CONNACK return codes a refusal can carry; aedes maps them to the MQTT 5 reason codes
 * 0x85 (Client Identifier not valid), 0x86 (Bad User Name or Password) and 0x87 (Not authorized).
 */
export type AuthRefusalCode = 2 | 4 | 5;

export type AuthRefusalKind = 'bad-credentials' | 'anonymous' | 'client-id' | 'unknown-user';

export type AuthResult =
  | { ok: true; subject: AuthSubject }
  | { ok: false; returnCode: AuthRefusalCode; kind: AuthRefusalKind; reason: string };

/**
 * What the broker asks of its security policy: who may connect, publish, subscribe and receive.
 * `hub/security` implements it from a password file and an ACL file; tests may stub it.
 */
export interface BrokerAuth {
  /** Answers a CONNECT; may take its time (slow hashes, slowing down a guessing source). */
  authenticate(request: AuthRequest): Promise<AuthResult>;
  mayPublish(subject: AuthSubject, topic: string): boolean;
  maySubscribe(subject: AuthSubject, filter: string): boolean;
  /** Whether a message on `topic` may be delivered to the subject (retained ones included). */
  mayRead(subject: AuthSubject, topic: string): boolean;
}
