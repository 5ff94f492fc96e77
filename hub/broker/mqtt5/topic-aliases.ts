/** Topics seen once, remembered to spot the ones a client receives repeatedly; cleared when full. */
const SEEN_LIMIT = 1024;

/** The most outbound aliases one connection holds, whatever the client allows. */
export const MAX_OUTBOUND_ALIASES = 100;

/** What to put on one PUBLISH to a client: the alias, and whether the client already knows it. */
export interface AliasUse {
  alias: number;
  /** The client has the alias for this topic: send an empty topic name with it. */
  known: boolean;
}

/**
 * Outbound Topic Aliases toward one MQTT 5 client (§3.3.2.3.4), which says in CONNECT how many it
 * accepts. A topic gets an alias the second time it is sent, so one-off topics (a retained burst
 * at subscribe) do not churn the table; once all aliases are taken the one least recently used is
 * given to the new topic. Aliases belong to the connection: a new one starts empty.
 */
export class OutboundAliases {
  /** Topic → alias, least recently used first. */
  private readonly byTopic = new Map<string, number>();
  private readonly seen = new Set<string>();
  /** Aliases handed out and taken back, to be given again before new numbers. */
  private readonly free: number[] = [];
  private next = 1;
  private readonly max: number;

  constructor(clientMaximum: number) {
    this.max = Math.min(clientMaximum, MAX_OUTBOUND_ALIASES);
  }

  /** The alias to send `topic` with, or undefined to send it as it is. */
  use(topic: string): AliasUse | undefined {
    const known = this.byTopic.get(topic);
    if (known !== undefined) {
      this.byTopic.delete(topic);
      this.byTopic.set(topic, known);
      return { alias: known, known: true };
    }
    if (!this.seen.has(topic)) {
      if (this.seen.size >= SEEN_LIMIT) this.seen.clear();
      this.seen.add(topic);
      return undefined;
    }
    this.seen.delete(topic);
    let alias = this.free.pop();
    if (alias === undefined && this.next <= this.max) alias = this.next++;
    if (alias === undefined) {
      const oldest = this.byTopic.entries().next().value;
      if (!oldest) return undefined;
      this.byTopic.delete(oldest[0]);
      alias = oldest[1];
    }
    this.byTopic.set(topic, alias);
    return { alias, known: false };
  }

  /** Takes back an alias `use` gave that was not sent after all, so the client never relies on it. */
  forget(topic: string): void {
    const alias = this.byTopic.get(topic);
    if (alias === undefined) return;
    this.byTopic.delete(topic);
    this.free.push(alias);
  }
}
