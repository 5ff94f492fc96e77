import type { Logger } from '../../kernel/index.js';
import type { ConnectorConfig } from './config-schema.js';
import type { ConnectorTransport } from './transport.js';

/**
 * The transport of a connector's type. Each client library is loaded only when a connector of its
 * type is configured: a hub without a Kafka connector never loads kafkajs.
 */
export async function makeTransport(
  config: ConnectorConfig,
  deps: { hubName: string; logger: Logger },
): Promise<ConnectorTransport> {
  switch (config.type) {
    case 'mqtt': {
      const { MqttTransport } = await import('./transports/mqtt-transport.js');
      return new MqttTransport(config, deps.hubName);
    }
    case 'kafka': {
      const { KafkaTransport } = await import('./transports/kafka-transport.js');
      return new KafkaTransport(config, deps.hubName, deps.logger);
    }
    case 'amqp': {
      const { AmqpTransport } = await import('./transports/amqp-transport.js');
      return new AmqpTransport(config);
    }
    case 'sqs': {
      const { SqsTransport } = await import('./transports/sqs-transport.js');
      return new SqsTransport(config, deps.logger);
    }
    case 'sns': {
      const { SnsTransport } = await import('./transports/sns-transport.js');
      return new SnsTransport(config, deps.logger);
    }
    case 'redis-stream': {
      const { RedisTransport } = await import('./transports/redis-transport.js');
      return new RedisTransport(config, deps.hubName);
    }
  }
}
