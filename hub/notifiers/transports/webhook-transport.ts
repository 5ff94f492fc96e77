import { createHmac } from 'node:crypto';
import type { Clock } from '../../../kernel/index.js';
import type { NotifierConfig } from '../config-schema.js';
import { postHttp, type Delivery, type NotifierTransport } from '../transport.js';

type WebhookConfig = Extract<NotifierConfig, { type: 'webhook' }>;

/**
 * The Standard Webhooks 1.0 signature of one message: base64 HMAC-SHA256 of `{id}.{timestamp}.{body}`
 * keyed by the secret's bytes (the base64 after `whsec_`), as `v1,<signature>`.
 */
export function webhookSignature(secret: string, id: string, timestamp: number, body: string): string {
  const key = Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64');
  const mac = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64');
  return `v1,${mac}`;
}

/**
 * A generic webhook: a JSON body, signed as Standard Webhooks 1.0 does when a secret is configured
 * (`webhook-id`, `webhook-timestamp` in unix seconds, `webhook-signature`). The id stays the same
 * across retries, so a receiver can drop a repeat.
 */
export class WebhookTransport implements NotifierTransport {
  constructor(
    private readonly name: string,
    private readonly config: WebhookConfig,
    private readonly secret: () => string | undefined,
    private readonly clock: Clock,
    private readonly hubName: string,
  ) {}

  async send(delivery: Delivery, signal: AbortSignal): Promise<void> {
    const n = delivery.notification;
    const id = webhookId(delivery);
    const body = JSON.stringify({
      type: 'edgehub.notification',
      id,
      hub: this.hubName,
      notifier: this.name,
      title: n.title,
      message: n.message,
      priority: n.priority,
      source: n.source,
      tags: n.tags,
      at: delivery.createdAt,
    });
    const headers: Record<string, string> = { ...this.config.headers, 'content-type': 'application/json' };
    const secret = this.secret();
    if (secret !== undefined) {
      const timestamp = Math.floor(this.clock.now() / 1000);
      headers['webhook-id'] = id;
      headers['webhook-timestamp'] = String(timestamp);
      headers['webhook-signature'] = webhookSignature(secret, id, timestamp, body);
    }
    await postHttp(`webhook ${this.name}`, this.config.url, { headers, body }, signal);
  }
}

/** Unique per delivery and stable across its retries (and restarts). */
export function webhookId(delivery: Delivery): string {
  return `msg_${delivery.createdAt.toString(36)}_${delivery.id}`;
}
