import type { ConnectorConfig } from './config-schema.js';
import type { ConnectorTransport } from './transport.js';

/**
 * The transport of a connector's type. Each client library is loaded only when a connector of its
 * type is configured: a hub without a Kafka connector never loads kafkajs.
 */
export async function makeTransport(
  config: ConnectorConfig,
  deps: { hubName: string },
): Promise<ConnectorTransport> {
  switch (config.type) {
    case 'mqtt': {
      const { MqttTransport } = await import('./transports/mqtt-transport.js');
      return new MqttTransport(config, deps.hubName);
    }
    case 'kafka':
    case 'amqp':
    case 'sqs':
    case 'sns':
    case 'redis-stream':
      throw new Error(`connector ${config.id}: the ${config.type} transport is not built yet`);
  }
}
