import type { InRouteConfig, OutRouteConfig } from './config-schema.js';

/** What a destination or local topic template may name, per message. */
export interface TemplateFields {
  device: string | null;
  metric: string | null;
  /** The local topic (out) or the remote topic, stream or queue (in). */
  topic: string;
  key: string | null;
  hub: string;
}

/** One message on its way out, formatted and addressed. */
export interface OutMessage {
  /** The outbox row; settled once the remote confirmed. */
  rowId: number;
  /** `<hub.name>:<event id>`: what a consumer drops duplicates by. */
  eventId: string;
  key: string | null;
  /** The transport's own address: a topic, a routing key, a queue URL, a stream key. */
  destination: string;
  /** The `out` route it matched; null for a rule's `forward`. */
  route: OutRouteConfig | null;
  payload: Buffer;
  /** `application/json` for the event format, else unset. */
  contentType: string | undefined;
}

/** The remote refused one message for good (too large, no such topic): it is dead-lettered. */
export interface Refusal {
  permanent: true;
  reason: string;
}

/**
 * A message the remote did not take this time: it and every message after it in the batch are
 * sent again, in order, after the backoff.
 */
export interface Retry {
  permanent: false;
  reason: string;
}

/** Per message: undefined once the remote confirmed it, else why not. */
export type SendOutcome = Refusal | Retry | undefined;

/** One message the remote gave the hub, waiting for its acknowledgement. */
export interface InMessage {
  /** The remote's topic, stream, queue or exchange the message came from. */
  source: string;
  key: string | null;
  payload: Buffer;
  /** Confirms the message to the remote, once the hub stored it. */
  ack(): Promise<void>;
  /** Gives the message back to the remote for a later try (the hub could not store it). */
  nack(): Promise<void>;
}

export interface InboundHandler {
  (route: InRouteConfig, message: InMessage): void;
}

/**
 * What a connector needs of its remote. `connect` and `send` throw (or reject) when the remote is
 * away; the runner then backs off on the hub's clock and tries again. A transport keeps no
 * messages of its own: what it was handed and did not confirm is sent again from the outbox.
 */
export interface ConnectorTransport {
  /** Connects and, for `in` routes, starts consuming into `inbound`. */
  connect(inbound: InboundHandler): Promise<void>;
  /** Sends in order and resolves once the remote confirmed or refused each message. */
  send(batch: readonly OutMessage[]): Promise<SendOutcome[]>;
  /** Called with the error when the connection is lost after `connect` resolved. */
  onLost(listener: (err: Error) => void): void;
  /** Closes the connection; idempotent. */
  close(): Promise<void>;
}

/** Fills `{device}`, `{metric}`, `{topic}`, `{key}` and `{hub}`; a missing field fills as `_`. */
export function fillTemplate(template: string, fields: TemplateFields): string {
  // Most destinations name no field (one topic, one stream for every message).
  if (!template.includes('{')) return template;
  return template.replace(/\{(device|metric|topic|key|hub)\}/g, (_, name: keyof TemplateFields) => {
    const value = fields[name];
    return value === null || value === '' ? '_' : value;
  });
}
