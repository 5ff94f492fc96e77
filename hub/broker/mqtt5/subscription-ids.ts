import { topicMatches } from '../../../kernel/index.js';

/**
 * The Subscription Identifiers (MQTT 5 §3.8.2.1.2) of one session's subscriptions, by topic filter.
 * Only subscriptions that carry an identifier are kept.
 */
export class SessionSubscriptions {
  private readonly byFilter = new Map<string, number>();

  get size(): number {
    return this.byFilter.size;
  }

  /** Records a granted subscription; one without an identifier replaces (removes) an earlier one. */
  set(filter: string, identifier: number | undefined): void {
    if (identifier === undefined) this.byFilter.delete(filter);
    else this.byFilter.set(filter, identifier);
  }

  delete(filter: string): void {
    this.byFilter.delete(filter);
  }

  /** The identifiers of every subscription matching `topic`, ascending and without repeats. */
  matching(topic: string): number[] {
    const ids = new Set<number>();
    for (const [filter, id] of this.byFilter) if (topicMatches(filter, topic)) ids.add(id);
    return [...ids].sort((a, b) => a - b);
  }
}

/**
 * Sessions by client id, so a Clean Start = 0 reconnect finds the identifiers of the subscriptions
 * it resumes. An entry exists only while its session holds a subscription with an identifier, and
 * goes when the session ends (clean start, expiry, or a session that ends with its connection).
 */
export class SubscriptionIdRegistry {
  private readonly sessions = new Map<string, SessionSubscriptions>();

  get size(): number {
    return this.sessions.size;
  }

  get(clientId: string): SessionSubscriptions | undefined {
    return this.sessions.get(clientId);
  }

  getOrCreate(clientId: string): SessionSubscriptions {
    let session = this.sessions.get(clientId);
    if (!session) {
      session = new SessionSubscriptions();
      this.sessions.set(clientId, session);
    }
    return session;
  }

  drop(clientId: string): void {
    this.sessions.delete(clientId);
  }

  /** Removes a session that no longer holds any identifier. */
  prune(clientId: string): void {
    if (this.sessions.get(clientId)?.size === 0) this.sessions.delete(clientId);
  }
}
