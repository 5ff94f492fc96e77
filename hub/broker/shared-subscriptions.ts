import type { AedesPublishPacket, PublishPacket } from 'aedes';
import { errorMessage, type Clock, type Logger, type QoS } from '../../kernel/index.js';
import { deliveryKey, deliveryTopic, type ShareRequest } from './mqtt5/shared-topics.js';

/** The part of aedes the dispatcher uses. */
export interface ShareBrokerPort {
  /** Set once the broker closes; nothing is sent on then. */
  readonly closed: boolean;
  subscribe(
    filter: string,
    fn: (packet: AedesPublishPacket, done: () => void) => void,
    done: () => void,
  ): void;
  unsubscribe(
    filter: string,
    fn: (packet: AedesPublishPacket, done: () => void) => void,
    done: () => void,
  ): void;
  publish(packet: PublishPacket, done: (err?: Error) => void): void;
}

export interface SharedSubscriptionStats {
  /** Shares with at least one member. */
  groups: number;
  members: number;
  delivered: number;
  /** QoS 1/2 messages a member left unacknowledged, sent again to another member. */
  redelivered: number;
  /** Unacknowledged messages no member was left to take. */
  dropped: number;
}

interface Pending {
  topic: string;
  payload: Buffer | string;
  qos: QoS;
  properties: PublishPacket['properties'];
  /** Epoch ms after which the message is not delivered (MQTT 5 Message Expiry); undefined for never. */
  expiresAt: number | undefined;
}

interface Member {
  readonly clientId: string;
  qos: QoS;
  connected: boolean;
  /** QoS 1/2 deliveries not yet acknowledged, by delivery key, oldest first. */
  readonly pending: Map<string, Pending>;
}

interface Group {
  readonly share: ShareRequest;
  readonly members: Member[];
  /** Where the round robin goes on from. */
  next: number;
  readonly listener: (packet: AedesPublishPacket, done: () => void) => void;
}

/** Unacknowledged deliveries tracked per member; the oldest beyond this are no longer redelivered. */
const MAX_PENDING_PER_MEMBER = 10_000;

/**
 * Shared subscriptions (`$share/<group>/<filter>`) on top of aedes, which has none: one broker-level
 * subscription per share takes each matching message once and republishes it to one member, round
 * robin over the connected members (an offline member with a persistent session when none is
 * connected, so the message waits in its session). QoS 1/2 deliveries are tracked until the member
 * acknowledges them; when a member's session ends with unacknowledged ones (it disconnected with
 * Session Expiry 0, or its session expired), they go to another member.
 */
export class SharedSubscriptions {
  private readonly groups = new Map<string, Group>();
  /** Which member holds each unacknowledged delivery. */
  private readonly holders = new Map<string, Member>();
  private seq = 0;
  private readonly counters = { delivered: 0, redelivered: 0, dropped: 0 };

  constructor(
    private readonly broker: ShareBrokerPort,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  /** A member subscribed (or its session's subscription was restored) with granted `qos`. */
  join(clientId: string, share: ShareRequest, qos: QoS): void {
    const group = this.groupOf(share) ?? this.createGroup(share);
    const member = group.members.find((m) => m.clientId === clientId);
    if (member) {
      member.qos = qos;
      member.connected = true;
      return;
    }
    group.members.push({ clientId, qos, connected: true, pending: new Map() });
  }

  /** A member unsubscribed; what it was sent stays with it. */
  leave(clientId: string, share: ShareRequest): void {
    const group = this.groupOf(share);
    const member = group?.members.find((m) => m.clientId === clientId);
    if (!group || !member) return;
    this.remove(group, member);
  }

  /** A client connected with a clean session: memberships of an earlier session are gone. */
  cleanStart(clientId: string): void {
    for (const group of [...this.groups.values()]) {
      const member = group.members.find((m) => m.clientId === clientId);
      if (member) this.remove(group, member);
    }
  }

  /**
   * A client's connection closed. When its session ends with it, its memberships go and what it
   * left unacknowledged goes to other members; otherwise it stays a member, offline, and aedes sends
   * it what it holds when it comes back.
   */
  disconnected(clientId: string, sessionEnds: boolean): void {
    if (sessionEnds) {
      this.sessionEnded(clientId);
      return;
    }
    for (const group of this.groups.values())
      for (const m of group.members) if (m.clientId === clientId) m.connected = false;
  }

  /** A client's session ended (expired, or with its connection): its deliveries go to other members. */
  sessionEnded(clientId: string): void {
    for (const group of [...this.groups.values()]) {
      const member = group.members.find((m) => m.clientId === clientId);
      if (!member) continue;
      const left = [...member.pending.values()];
      this.remove(group, member);
      for (const message of left) {
        if (this.deliver(group, message)) this.counters.redelivered++;
        else this.counters.dropped++;
      }
      if (left.length > 0)
        this.logger.info('shared subscription member left; its unacknowledged messages were sent on', {
          client: clientId,
          share: `$share/${group.share.group}/${group.share.filter}`,
          messages: left.length,
        });
    }
  }

  /** The member acknowledged a delivery (PUBACK, or PUBREC for QoS 2). */
  acknowledged(deliveryKey: string): void {
    const member = this.holders.get(deliveryKey);
    if (!member) return;
    this.holders.delete(deliveryKey);
    member.pending.delete(deliveryKey);
  }

  stats(): SharedSubscriptionStats {
    let members = 0;
    for (const g of this.groups.values()) members += g.members.length;
    return { groups: this.groups.size, members, ...this.counters };
  }

  private groupOf(share: ShareRequest): Group | undefined {
    return this.groups.get(`${share.group}\u0000${share.filter}`);
  }

  private createGroup(share: ShareRequest): Group {
    const group: Group = {
      share,
      members: [],
      next: 0,
      listener: (packet, done) => {
        const expiry = packet.properties?.messageExpiryInterval;
        this.deliver(group, {
          topic: packet.topic,
          payload: packet.payload,
          qos: packet.qos,
          properties: deliveredProperties(packet.properties),
          expiresAt: expiry === undefined ? undefined : this.clock.now() + expiry * 1000,
        });
        done();
      },
    };
    this.groups.set(`${share.group}\u0000${share.filter}`, group);
    this.broker.subscribe(share.filter, group.listener, () => undefined);
    return group;
  }

  private remove(group: Group, member: Member): void {
    for (const key of member.pending.keys()) this.holders.delete(key);
    member.pending.clear();
    group.members.splice(group.members.indexOf(member), 1);
    if (group.members.length > 0) return;
    this.groups.delete(`${group.share.group}\u0000${group.share.filter}`);
    this.broker.unsubscribe(group.share.filter, group.listener, () => undefined);
  }

  /** Sends one message to the next member; false when the share has none. */
  private deliver(group: Group, message: Pending): boolean {
    // A closing broker disconnects every member; what they held stays in their sessions.
    if (this.broker.closed) return false;
    const member = this.choose(group);
    if (!member) return false;
    let properties = message.properties;
    if (message.expiresAt !== undefined) {
      // A message sent on to another member has only what is left of its lifetime.
      const left = Math.ceil((message.expiresAt - this.clock.now()) / 1000);
      if (left <= 0) return true;
      properties = { ...properties, messageExpiryInterval: left };
    }
    const key = deliveryKey(group.share.group, member.clientId, ++this.seq);
    const topic = deliveryTopic(key, message.topic);
    if (Math.min(message.qos, member.qos) > 0) {
      member.pending.set(key, message);
      this.holders.set(key, member);
      if (member.pending.size > MAX_PENDING_PER_MEMBER) {
        const oldest = member.pending.keys().next().value as string;
        member.pending.delete(oldest);
        this.holders.delete(oldest);
      }
    }
    this.counters.delivered++;
    const packet: PublishPacket = {
      cmd: 'publish',
      topic,
      payload: message.payload,
      qos: message.qos,
      retain: false,
      dup: false,
      ...(properties && { properties }),
    };
    this.broker.publish(packet, (err) => {
      if (err)
        this.logger.warn('delivering a shared subscription message failed', {
          client: member.clientId,
          topic: message.topic,
          error: errorMessage(err),
        });
    });
    return true;
  }

  /** Round robin over connected members; an offline one (its session queues it) when none is connected. */
  private choose(group: Group): Member | undefined {
    const { members } = group;
    const n = members.length;
    if (n === 0) return undefined;
    for (const wantConnected of [true, false]) {
      for (let i = 0; i < n; i++) {
        const index = (group.next + i) % n;
        const member = members[index];
        if (member && member.connected === wantConnected) {
          group.next = (index + 1) % n;
          return member;
        }
      }
    }
    return undefined;
  }
}

/** What a republished copy keeps of the message's properties: not the publisher's alias or ids. */
function deliveredProperties(props: PublishPacket['properties']): PublishPacket['properties'] {
  if (!props) return undefined;
  const { topicAlias: _alias, ...kept } = props as NonNullable<PublishPacket['properties']> & {
    subscriptionIdentifier?: unknown;
  };
  delete kept.subscriptionIdentifier;
  return Object.keys(kept).length > 0 ? kept : undefined;
}
