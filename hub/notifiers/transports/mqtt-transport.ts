import type { Publisher } from '../../../kernel/index.js';
import type { NotifierConfig } from '../config-schema.js';
import { NotifyFailure, type Delivery, type NotifierTransport } from '../transport.js';

type MqttConfig = Extract<NotifierConfig, { type: 'mqtt' }>;

/**
 * A JSON message on a topic of the hub's own broker (through the path a rule's `publish:` takes),
 * for a dashboard, Home Assistant or a bridge to pick up.
 */
export class MqttNotifyTransport implements NotifierTransport {
  constructor(
    private readonly name: string,
    private readonly config: MqttConfig,
    private readonly publisher: Publisher,
  ) {}

  async send(delivery: Delivery): Promise<void> {
    const n = delivery.notification;
    const payload = JSON.stringify({
      id: delivery.id,
      title: n.title,
      message: n.message,
      priority: n.priority,
      source: n.source,
      tags: n.tags,
      at: delivery.createdAt,
    });
    try {
      await this.publisher.publish({
        topic: this.config.topic,
        payload,
        qos: this.config.qos,
        retain: this.config.retain,
      });
    } catch (err) {
      throw new NotifyFailure(`mqtt ${this.name}: ${err instanceof Error ? err.message : String(err)}`, true);
    }
  }
}
