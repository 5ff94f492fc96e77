import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client, PublishPacket } from 'aedes';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { Broker, type BrokerDeps, type BrokerLimits, type BrokerTlsOptions } from '../../hub/broker/index.js';
import { hashPassword, Security, type SecurityOptions } from '../../hub/security/index.js';
import { MemoryLogger, type Clock } from '../../kernel/index.js';

/** Cheap scrypt parameters for test password files; the format stores them, so the hub accepts them. */
export const FAST_SCRYPT = { N: 1024, r: 8, p: 1 } as const;

/** Writes a password file with `user → password` (hashed with {@link FAST_SCRYPT}). */
export async function writePasswords(dir: string, users: Record<string, string>): Promise<string> {
  const lines = await Promise.all(
    Object.entries(users).map(async ([user, pw]) => `${user}:${await hashPassword(pw, FAST_SCRYPT)}\n`),
  );
  const file = join(dir, 'passwords');
  writeFileSync(file, lines.join(''));
  return file;
}

export interface SecureBrokerOptions {
  clock: Clock;
  security?: Partial<SecurityOptions>;
  limits?: Partial<BrokerLimits>;
  tls?: BrokerTlsOptions;
  /** Pretend connections come from this address. */
  remoteAddress?: string;
  beforePublish?: (packet: PublishPacket, client: Client) => Promise<void> | void;
  holdAck?: (packet: PublishPacket, client: Client) => Promise<void> | undefined;
  /** Share one policy between brokers (to see per-source state across "addresses"). */
  sharedSecurity?: Security;
  /** To watch the bytes a connection carries. */
  wrapConnection?: BrokerDeps['wrapConnection'];
}

export interface SecureBroker {
  broker: Broker;
  security: Security;
  logger: MemoryLogger;
  url: string;
}

/** A broker on loopback port 0 with a {@link Security} policy, as the hub wires them. */
export async function startSecureBroker(opts: SecureBrokerOptions): Promise<SecureBroker> {
  const logger = new MemoryLogger();
  const security =
    opts.sharedSecurity ??
    new Security({
      options: {
        passwordFile: undefined,
        aclFile: undefined,
        allowAnonymous: 'loopback',
        clientIdMustMatchUsername: false,
        authDelayMs: 1000,
        authDelayMaxMs: 8000,
        ...opts.security,
      },
      clock: opts.clock,
      logger: logger.child('security'),
    });
  if (!opts.sharedSecurity) await security.load();
  const broker = new Broker({
    options: {
      host: '127.0.0.1',
      port: 0,
      wsPort: null,
      maxPacketBytes: 64 * 1024,
      ...(opts.limits && { limits: opts.limits }),
      ...(opts.tls && { tls: opts.tls }),
    },
    clock: opts.clock,
    logger,
    auth: security,
    ...(opts.beforePublish && { beforePublish: opts.beforePublish }),
    ...(opts.holdAck && { holdAck: opts.holdAck }),
    ...(opts.wrapConnection && { wrapConnection: opts.wrapConnection }),
    ...(opts.remoteAddress !== undefined && { testing: { remoteAddress: opts.remoteAddress } }),
  });
  await broker.start();
  return { broker, security, logger, url: `mqtt://127.0.0.1:${broker.mqttAddress?.port}` };
}

/**
 * Connects and reports the CONNACK code: 0 when accepted (the client is then closed), else the
 * 3.1.1 return code or MQTT 5 reason code the broker refused with.
 */
export async function connackCode(url: string, opts: IClientOptions): Promise<number> {
  const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 10_000, ...opts });
  return new Promise((resolve, reject) => {
    client.once('connect', () => {
      client.end(true, () => resolve(0));
    });
    client.once('error', (err: Error & { code?: unknown }) => {
      client.end(true);
      if (typeof err.code === 'number') resolve(err.code);
      else reject(err);
    });
  });
}

export { until } from './until.js';

/** Resolves with the SUBACK granted codes of one SUBSCRIBE. */
export async function subackCodes(client: MqttClient, filters: string[]): Promise<number[]> {
  try {
    const granted = await client.subscribeAsync(filters, { qos: 1 });
    return granted.map((g) => g.qos);
  } catch (err) {
    // mqtt.js rejects when any code is a failure; the SUBACK rides on the error.
    const granted = (err as { packet?: { granted?: number[] } }).packet?.granted;
    if (granted) return granted;
    throw err;
  }
}

/** Resolves with the reason code of a QoS 1 publish's PUBACK (0 for success). */
export async function pubackCode(client: MqttClient, topic: string, payload: string): Promise<number> {
  try {
    await client.publishAsync(topic, payload, { qos: 1 });
    return 0;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'number') return code;
    throw err;
  }
}
