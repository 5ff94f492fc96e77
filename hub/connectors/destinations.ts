import type { ConnectorType, OutRouteConfig } from './config-schema.js';
import { fillTemplate, type TemplateFields } from './transport.js';

/**
 * Where a message of `route` goes, in the terms of the connector's type: a Kafka topic, an AMQP
 * routing key, an SQS queue URL, an SNS topic ARN, a Redis stream key or an MQTT topic. Pure, so
 * the thread that formats a connector's messages needs no client library to address them.
 */
export function destinationOf(type: ConnectorType, route: OutRouteConfig, fields: TemplateFields): string {
  switch (type) {
    case 'kafka':
      return 'topic' in route && typeof route.topic === 'string'
        ? fillTemplate(route.topic, fields)
        : fields.topic;
    case 'amqp':
      return 'routing_key' in route && route.routing_key !== undefined
        ? fillTemplate(route.routing_key, fields)
        : fields.topic.replaceAll('/', '.');
    case 'sqs':
      return 'queue_url' in route ? route.queue_url : fields.topic;
    case 'sns':
      return 'topic_arn' in route ? route.topic_arn : fields.topic;
    case 'redis-stream':
      return 'stream' in route ? fillTemplate(route.stream, fields) : fields.topic;
    case 'mqtt':
      return `${'topic_prefix' in route ? route.topic_prefix : ''}${fields.topic}`;
  }
}
