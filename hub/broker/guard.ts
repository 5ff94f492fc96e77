import type { AedesOptions, AedesPublishPacket, Client, PublishPacket, Subscription } from 'aedes';
import type { Clock, Logger, QoS } from '../../kernel/index.js';
import type { AuthResult, AuthSubject, BrokerAuth } from './auth-port.js';
import type { ConnectionInfo } from './connection-info.js';
import { isSharedTopic, readDelivery, readMemberFilter, type ShareRequest } from './mqtt5/shared-topics.js';
import { TokenBucket } from './token-bucket.js';
import {
  CONNACK_SERVER_UNAVAILABLE,
  isPubackReasonCode,
  markRefused,
  ReasonCode,
  refusePublish,
  writePacket,
  type PubackReasonCode,
} from './wire.js';

/** Per-client and broker-wide limits; every refusal is logged and counted. */
export interface BrokerLimits {
  /** Open connections at once over all listeners; 0 means no limit. */
  maxConnections: number;
  /**
   * QoS 1/2 PUBLISH packets a client may have waiting for the broker's PUBACK/PUBREC; advertised to
   * MQTT 5 clients as Receive Maximum. Exceeding it ends the connection (MQTT 5: DISCONNECT 0x93).
   */
  maxInflight: number;
  /** Packets held for a client whose CONNECT is still being authenticated (aedes `queueLimit`). */
  maxQueued: number;
  /** Messages per second each client may publish, sustained; 0 turns the limit off. */
  publishRatePerSec: number;
  /** Messages a client may publish in a burst above the sustained rate. */
  publishBurst: number;
  /** Longest topic name or filter, in UTF-8 bytes. */
  maxTopicBytes: number;
  /** Most levels in a topic name or filter (`a/b/c` has 3); at most 100. */
  maxTopicLevels: number;
}

/** The same defaults as `mqtt.limits` in the config schema. */
export const DEFAULT_LIMITS: Readonly<BrokerLimits> = Object.freeze({
  maxConnections: 1024,
  maxInflight: 1024,
  maxQueued: 100,
  publishRatePerSec: 1000,
  publishBurst: 10_000,
  maxTopicBytes: 1024,
  maxTopicLevels: 32,
});

/** What the guard counts; {@link Broker.stats} reports them. */
export interface GuardCounters {
  refusedConnections: number;
  authFailures: number;
  anonymousRefused: number;
  publishDenied: number;
  subscribeDenied: number;
  deliveryDenied: number;
  rateLimited: number;
  topicRefused: number;
  inflightExceeded: number;
  /** Publishes to an actuator's command topic that the actuator safety envelope refused. */
  commandsRefused: number;
  /** Times an MQTT 3.1.1 client over its publish rate was slowed down (its socket left unread). */
  rateSlowed: number;
}

export function newGuardCounters(): GuardCounters {
  return {
    refusedConnections: 0,
    authFailures: 0,
    anonymousRefused: 0,
    publishDenied: 0,
    subscribeDenied: 0,
    deliveryDenied: 0,
    rateLimited: 0,
    topicRefused: 0,
    inflightExceeded: 0,
    commandsRefused: 0,
    rateSlowed: 0,
  };
}

export interface GuardDeps {
  auth: BrokerAuth | undefined;
  limits: BrokerLimits;
  clock: Clock;
  logger: Logger;
  counters: GuardCounters;
  connectionOf(client: Client): ConnectionInfo | undefined;
  openConnections(): number;
  beforePublish: ((packet: PublishPacket, client: Client) => Promise<void> | void) | undefined;
  /** See `BrokerDeps.holdAck`. */
  holdAck?: ((packet: PublishPacket, client: Client) => Promise<void> | undefined) | undefined;
  /** Makes the client's acknowledgement of `messageId` wait for `until` (the connection layer). */
  deferAck?: (client: Client, messageId: number, until: Promise<void>) => void;
  commandGuard: CommandGuard | undefined;
  /** A shared subscription's member subscription was granted (live, or restored with a session). */
  onShareJoin?: (clientId: string, share: ShareRequest, qos: QoS) => void;
}

/**
 * Decides at once on a client's publish to an actuator's command topic (the actuator safety
 * envelope, which logs and counts its refusals); undefined for any other topic.
 */
export type CommandGuard = (
  topic: string,
  payload: Buffer | string,
  clientId: string,
) => { accepted: boolean; reason?: string } | undefined;

/** aedes' Client stops and resumes reading its connection (its types leave these out). */
interface Pausable {
  pause(): void;
  resume(): void;
}

/** Marks an error the guard already logged and counted, so the broker's error listener skips it. */
const REFUSED = Symbol('edgehub.refused');

export function isRefusal(err: unknown): boolean {
  return typeof err === 'object' && err !== null && REFUSED in err;
}

function refusal(message: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(message), extra, { [REFUSED]: true });
}

type Hooks = Required<
  Pick<
    AedesOptions,
    'preConnect' | 'authenticate' | 'authorizePublish' | 'authorizeSubscribe' | 'authorizeForward'
  >
>;

/**
 * The broker's admission and authorisation, as aedes hooks: connection quota, authentication,
 * topic limits, publish rate, ACL on publish, subscribe and delivery, and in-flight accounting
 * around the `beforePublish` extension point.
 */
export class ClientGuard {
  private readonly subjects = new WeakMap<Client, AuthSubject>();
  private readonly buckets = new WeakMap<Client, TokenBucket>();
  private readonly inflight = new WeakMap<Client, number>();
  /** MQTT 3.1.1 clients whose socket is left unread until their publish bucket refills. */
  private readonly slowed = new WeakSet<Client>();
  /** Topics already warned about per client, so a misconfigured device does not flood the log. */
  private readonly warned = new WeakMap<Client, Set<string>>();

  constructor(private readonly deps: GuardDeps) {}

  hooks(): Hooks {
    return {
      preConnect: (client, packet, callback) =>
        this.preConnect(client, packet.protocolVersion ?? 4, callback),
      authenticate: (client, username, password, done) => this.authenticate(client, username, password, done),
      authorizePublish: (client, packet, done) => this.authorizePublish(client, packet, done),
      authorizeSubscribe: (client, sub, done) => this.authorizeSubscribe(client, sub, done),
      authorizeForward: (client, packet) => this.authorizeForward(client, packet),
    };
  }

  /** The identity a client authenticated as; undefined before CONNACK or without security. */
  subjectOf(client: Client): AuthSubject | undefined {
    return this.subjects.get(client);
  }

  private preConnect(
    client: Client,
    version: number,
    callback: (err: Error | null, ok: boolean) => void,
  ): void {
    const { limits, counters, logger } = this.deps;
    const open = this.deps.openConnections();
    if (limits.maxConnections <= 0 || open <= limits.maxConnections) return callback(null, true);
    counters.refusedConnections++;
    const info = this.deps.connectionOf(client);
    logger.warn('refused a connection: mqtt.limits.max_connections reached', {
      refused: 'mqtt.limits.max_connections',
      from: info?.remoteAddress,
      limit: limits.maxConnections,
    });
    // aedes closes a connection refused here without a CONNACK; send one first so the client knows why.
    const connack =
      version === 5
        ? { cmd: 'connack' as const, sessionPresent: false, reasonCode: ReasonCode.quotaExceeded }
        : { cmd: 'connack' as const, sessionPresent: false, returnCode: CONNACK_SERVER_UNAVAILABLE };
    writePacket(client.conn, connack, version, () => callback(refusal('connection quota exceeded'), false));
  }

  private authenticate(
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
    done: (err: (Error & { returnCode: number }) | null, ok: boolean | null) => void,
  ): void {
    const { auth, counters, logger } = this.deps;
    const info = this.deps.connectionOf(client);
    if (!auth) {
      this.subjects.set(client, { clientId: client.id, username });
      return done(null, true);
    }
    const request = {
      clientId: client.id,
      username,
      password,
      remoteAddress: info?.remoteAddress,
      listener: info?.listener ?? 'tcp',
    };
    auth.authenticate(request).then(
      (result: AuthResult) => {
        if (result.ok) {
          this.subjects.set(client, result.subject);
          return done(null, true);
        }
        if (result.kind === 'anonymous') counters.anonymousRefused++;
        else counters.authFailures++;
        done(
          refusal(result.reason, { returnCode: result.returnCode }) as Error & { returnCode: number },
          false,
        );
      },
      (err: unknown) => {
        logger.error('authentication failed unexpectedly', {
          client: client.id,
          error: err instanceof Error ? err.message : String(err),
        });
        done(
          refusal('authentication unavailable', { returnCode: CONNACK_SERVER_UNAVAILABLE }) as Error & {
            returnCode: number;
          },
          false,
        );
      },
    );
  }

  private authorizePublish(
    client: Client | null,
    packet: PublishPacket,
    done: (err?: Error | null) => void,
  ): void {
    if (!client) return done(null);
    const { auth, limits, counters, clock } = this.deps;
    const topic = packet.topic;

    if (topic.startsWith('$SYS') || isSharedTopic(topic)) {
      counters.publishDenied++;
      this.warnOnce(client, `publish:${topic}`, 'refused a publish to a broker-owned $ tree', { topic });
      return refuseWith(client, packet, ReasonCode.notAuthorized, done);
    }
    const problem = this.topicProblem(topic);
    if (problem !== null) {
      counters.topicRefused++;
      this.warnOnce(client, `topic:${problem}`, `refused a publish: ${problem}`, {
        topic: topic.slice(0, 120),
      });
      return refuseWith(client, packet, ReasonCode.topicNameInvalid, done);
    }
    if (limits.publishRatePerSec > 0) {
      let bucket = this.buckets.get(client);
      if (!bucket) {
        bucket = new TokenBucket(clock, limits.publishRatePerSec, Math.max(1, limits.publishBurst));
        this.buckets.set(client, bucket);
      }
      if (!bucket.take() && !this.overRate(client, bucket, packet, done)) return;
    }
    const subject = this.subjects.get(client);
    if (auth && subject && !auth.mayPublish(subject, topic)) {
      counters.publishDenied++;
      this.warnOnce(client, `publish:${topic}`, 'refused a publish the ACL does not allow', {
        refused: 'acl',
        user: subject.username,
        topic,
      });
      return refuseWith(client, packet, ReasonCode.notAuthorized, done);
    }
    const verdict = this.deps.commandGuard?.(topic, packet.payload, client.id);
    if (verdict && !verdict.accepted) {
      counters.commandsRefused++;
      // Not delivered: MQTT 5 QoS 1/2 publishers hear why on the acknowledgement, every sender on
      // the device's refusal topic.
      return refusePublish(
        client,
        packet,
        ReasonCode.implementationSpecificError,
        (err) => done(err ?? null),
        verdict.reason,
      );
    }
    this.admit(client, packet, done);
  }

  /** Counts the message in flight while `holdAck` or `beforePublish` holds its acknowledgement. */
  private admit(client: Client, packet: PublishPacket, done: (err?: Error | null) => void): void {
    const { beforePublish, holdAck, deferAck } = this.deps;
    if (packet.qos > 0 && holdAck && deferAck) {
      if (this.overInflight(client, packet, done)) return;
      this.holdAcknowledgement(client, packet, holdAck, deferAck);
    }
    if (!beforePublish) return done(null);
    // QoS 0 is every reading of a busy fleet: called without a closure per message.
    if (packet.qos === 0) return settleCall(beforePublish, packet, client, done);
    if (this.overInflight(client, packet, done)) return;
    this.inflight.set(client, (this.inflight.get(client) ?? 0) + 1);
    settle(
      () => beforePublish(packet, client),
      (err) => {
        this.inflight.set(client, (this.inflight.get(client) ?? 1) - 1);
        if (!err) return done(null);
        this.deps.logger.warn('a publish was not accepted', { client: client.id, error: err.message });
        // MQTT 5 hears why on the acknowledgement; MQTT 3.1.1 has no way to say it, so its
        // connection is closed (aedes' answer to an error here) rather than acknowledging a message
        // that was not taken, and the client sends it again after reconnecting.
        if (client.version !== 5) return done(err);
        const reasonCode = (err as { reasonCode?: unknown }).reasonCode;
        refusePublish(
          client,
          packet,
          isPubackReasonCode(reasonCode) ? reasonCode : ReasonCode.unspecified,
          (writeErr) => done(writeErr ?? null),
        );
      },
    );
  }

  /**
   * MQTT 5 §3.3.4: a client with more acknowledgements waiting than `limits.maxInflight` gets
   * DISCONNECT 0x93, not an acknowledgement. True when it was over (and `done` is taken care of).
   */
  private overInflight(client: Client, packet: PublishPacket, done: (err?: Error | null) => void): boolean {
    const { limits, counters } = this.deps;
    if ((this.inflight.get(client) ?? 0) < limits.maxInflight) return false;
    counters.inflightExceeded++;
    this.deps.logger.warn('disconnected a client over mqtt.limits.max_inflight', {
      client: client.id,
      limit: limits.maxInflight,
    });
    markRefused(packet);
    client.disconnect({ reasonCode: ReasonCode.receiveMaximumExceeded }, () => done(null));
    return true;
  }

  /** Makes a QoS 1/2 message's acknowledgement wait for `holdAck`; the message is routed meanwhile. */
  private holdAcknowledgement(
    client: Client,
    packet: PublishPacket,
    holdAck: (packet: PublishPacket, client: Client) => Promise<void> | undefined,
    deferAck: (client: Client, messageId: number, until: Promise<void>) => void,
  ): void {
    const until = holdAck(packet, client);
    if (until === undefined || packet.messageId === undefined) return;
    this.inflight.set(client, (this.inflight.get(client) ?? 0) + 1);
    const release = (): void => void this.inflight.set(client, (this.inflight.get(client) ?? 1) - 1);
    deferAck(client, packet.messageId, until.then(release, release));
  }

  /**
   * A publish over the client's rate. MQTT 3.1.1 cannot be told why, so its client is slowed down
   * instead: the hub stops reading its socket until the bucket refills (TCP then holds the client
   * back) and the message goes on, owed against the bucket; only QoS 0 is dropped, counted and
   * logged, once the client owes a whole burst (packets it had sent before it was paused). MQTT 5
   * is told: see {@link rateLimited}. True when the message may go on.
   */
  private overRate(
    client: Client,
    bucket: TokenBucket,
    packet: PublishPacket,
    done: (err?: Error | null) => void,
  ): boolean {
    if (client.version === 5) {
      this.rateLimited(client, packet, done);
      return false;
    }
    const { counters, limits, clock } = this.deps;
    // Owed first, so the pause lasts until what the client owes is paid off.
    const owed = bucket.borrow(Math.max(1, limits.publishBurst));
    if (!this.slowed.has(client)) {
      counters.rateSlowed++;
      this.warnOnce(client, 'rate', 'slowing down a client over mqtt.limits.publish_rate', {
        refused: 'mqtt.limits.publish_rate',
        client: client.id,
        ratePerSec: limits.publishRatePerSec,
        burst: limits.publishBurst,
      });
      this.slowed.add(client);
      const reading = client as unknown as Pausable;
      reading.pause();
      clock.setTimer(`rate:${client.id}`, bucket.msUntilToken(), () => {
        this.slowed.delete(client);
        if (!client.closed) reading.resume();
      });
    }
    if (owed || packet.qos > 0) return true;
    counters.rateLimited++;
    this.warnOnce(client, 'rate-drop', 'dropping QoS 0 publishes over mqtt.limits.publish_rate', {
      refused: 'mqtt.limits.publish_rate',
      client: client.id,
      ratePerSec: limits.publishRatePerSec,
    });
    markRefused(packet);
    done(null);
    return false;
  }

  private rateLimited(client: Client, packet: PublishPacket, done: (err?: Error | null) => void): void {
    const { counters, limits } = this.deps;
    counters.rateLimited++;
    this.warnOnce(client, 'rate', 'dropping publishes over mqtt.limits.publish_rate', {
      refused: 'mqtt.limits.publish_rate',
      client: client.id,
      ratePerSec: limits.publishRatePerSec,
      burst: limits.publishBurst,
    });
    // MQTT 5 allows 0x96 (Message rate too high) only on DISCONNECT: a QoS 0 publisher, which has
    // no acknowledgement to hear it on, is disconnected with it; a QoS 1/2 one keeps its connection
    // and gets PUBACK/PUBREC 0x97 (Quota exceeded), the nearest code an acknowledgement may carry.
    if (packet.qos === 0) {
      markRefused(packet);
      return client.disconnect({ reasonCode: ReasonCode.messageRateTooHigh }, () => done(null));
    }
    refusePublish(client, packet, ReasonCode.quotaExceeded, (err) => done(err ?? null));
  }

  private authorizeSubscribe(
    client: Client,
    sub: Subscription,
    done: (err: Error | null, sub?: Subscription | null) => void,
  ): void {
    const { auth, counters } = this.deps;
    // A shared subscription arrives as its member filter (see shared-topics.ts); it is checked as
    // the filter the client wrote. One naming another client, or the root itself, is refused.
    let filter = sub.topic;
    let member: ReturnType<typeof readMemberFilter>;
    if (isSharedTopic(filter)) {
      member = readMemberFilter(filter);
      if (member?.clientId !== client.id) {
        counters.subscribeDenied++;
        this.warnOnce(
          client,
          `subscribe:${filter}`,
          'refused a subscription to the shared subscription tree of other clients',
          {
            filter: filter.slice(0, 120),
          },
        );
        return done(null, null);
      }
      filter = member.filter;
    }
    // A null subscription is aedes' "refused": SUBACK 0x80 for MQTT 3.1.1, 0x87 for MQTT 5.
    const problem = this.topicProblem(filter);
    if (problem !== null) {
      counters.topicRefused++;
      this.warnOnce(client, `topic:${problem}`, `refused a subscription: ${problem}`, {
        filter: filter.slice(0, 120),
      });
      return done(null, null);
    }
    const subject = this.subjects.get(client);
    if (auth && subject && !auth.maySubscribe(subject, filter)) {
      counters.subscribeDenied++;
      this.warnOnce(client, `subscribe:${filter}`, 'refused a subscription the ACL does not allow', {
        refused: 'acl',
        user: subject.username,
        filter,
      });
      return done(null, null);
    }
    if (member) this.deps.onShareJoin?.(client.id, member, sub.qos);
    done(null, sub);
  }

  private authorizeForward(client: Client, packet: AedesPublishPacket): AedesPublishPacket | null {
    const { auth, counters } = this.deps;
    if (!auth) return packet;
    const subject = this.subjects.get(client);
    // Every delivery, retained messages included, passes the read rules of the receiving client;
    // a shared subscription's delivery, as the topic it was published on.
    const topic = isSharedTopic(packet.topic)
      ? (readDelivery(packet.topic)?.topic ?? packet.topic)
      : packet.topic;
    if (subject && auth.mayRead(subject, topic)) return packet;
    counters.deliveryDenied++;
    return null;
  }

  private topicProblem(topic: string): string | null {
    const { maxTopicBytes, maxTopicLevels } = this.deps.limits;
    if (Buffer.byteLength(topic) > maxTopicBytes)
      return `topic longer than mqtt.limits.max_topic_bytes (${maxTopicBytes})`;
    let levels = 1;
    for (let i = 0; i < topic.length; i++) if (topic.charCodeAt(i) === 47) levels++;
    if (levels > maxTopicLevels) return `topic deeper than mqtt.limits.max_topic_levels (${maxTopicLevels})`;
    return null;
  }

  private warnOnce(client: Client, key: string, msg: string, fields: Record<string, unknown>): void {
    let keys = this.warned.get(client);
    if (!keys) {
      keys = new Set();
      this.warned.set(client, keys);
    }
    const info = this.deps.connectionOf(client);
    const all = { client: client.id, from: info?.remoteAddress, ...fields };
    // A bounded set per client: the first occurrences are warnings, repeats are debug lines.
    if (keys.has(key) || keys.size >= 32) return this.deps.logger.debug(msg, all);
    keys.add(key);
    this.deps.logger.warn(msg, all);
  }
}

/** Refuses a publish with `reasonCode` (MQTT 5) and reports to aedes' callback. */
function refuseWith(
  client: Client,
  packet: PublishPacket,
  reasonCode: PubackReasonCode,
  done: (err?: Error | null) => void,
): void {
  refusePublish(client, packet, reasonCode, (err) => done(err ?? null));
}

/** Calls a hook that may be sync or async and reports to an aedes-style callback exactly once. */
export function settle(hook: () => Promise<void> | void, done: (err: Error | null) => void): void {
  settleCall(hook, undefined, undefined, done);
}

/** {@link settle} for a hook taking two arguments, so a caller on a hot path makes no closure. */
export function settleCall<A, B>(
  hook: (a: A, b: B) => Promise<void> | void,
  a: A,
  b: B,
  done: (err: Error | null) => void,
): void {
  let result: Promise<void> | void;
  try {
    result = hook(a, b);
  } catch (err) {
    done(err instanceof Error ? err : new Error(String(err)));
    return;
  }
  if (result === undefined) {
    done(null);
    return;
  }
  result.then(
    () => done(null),
    (err: unknown) => done(err instanceof Error ? err : new Error(String(err))),
  );
}
