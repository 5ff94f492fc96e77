import { ensureKafka } from './support/servers/kafka.js';
import { ensureMosquitto } from './support/servers/mosquitto.js';
import { ensureMoto } from './support/servers/moto.js';
import { ensureIproute2 } from './support/servers/netns.js';
import { ensureRabbitMq } from './support/servers/rabbitmq.js';
import { ensureRedis } from './support/servers/redis.js';

/**
 * Before any integration test: what the connector tests' real servers need, installed once and in
 * turn (Debian's packages with apt-get, Kafka's jars from Maven Central, moto from PyPI, both
 * cached), so no test file spends its hook timeout on a first download. A failure is not thrown
 * here: the tests that need the missing server fail with the same message, and the rest run.
 */
export default function setup(): void {
  for (const [what, ensure] of [
    ['Mosquitto', ensureMosquitto],
    ['Redis', ensureRedis],
    ['RabbitMQ', ensureRabbitMq],
    ['iproute2', ensureIproute2],
    ['Kafka', ensureKafka],
    ['moto', ensureMoto],
  ] as const) {
    try {
      ensure();
    } catch (err) {
      process.stderr.write(`${what} is not available for the connector tests: ${(err as Error).message}\n`);
    }
  }
}
