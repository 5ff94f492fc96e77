// qlobber ships no types; these cover what the broker persistence uses (topic tries with MQTT wildcards).
declare module 'qlobber' {
  export interface QlobberOptions {
    separator?: string;
    wildcard_one?: string;
    wildcard_some?: string;
  }

  /** A trie of topic filters that answers "does any filter match this topic". */
  export class QlobberTrue {
    constructor(options?: QlobberOptions);
    add(topic: string): this;
    test(topic: string): boolean;
  }
}

declare module 'qlobber/aedes/qlobber-sub.js' {
  import type { QlobberOptions } from 'qlobber';

  /** What QlobberSub stores per (client, filter). */
  export interface QlobberSubValue {
    clientId: string;
    topic: string;
    qos: number;
    rh?: number | undefined;
    rap?: boolean | undefined;
    nl?: boolean | undefined;
  }

  /** aedes' subscription trie: one entry per (filter, client), matched against topics. */
  export default class QlobberSub {
    constructor(options?: QlobberOptions);
    /** Subscriptions held, counted per (filter, client). */
    readonly subscriptionsCount: number;
    add(topic: string, value: QlobberSubValue): this;
    remove(topic: string, value: { clientId: string; topic: string }): this;
    match(topic: string): QlobberSubValue[];
    clear(): this;
  }
}
