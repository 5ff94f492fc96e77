import { afterEach, describe, expect, it } from 'vitest';
import { SystemClock } from '../kernel/index.js';
import { ClientPool } from './support/mqtt-client.js';
import { startSecureBroker, until, type SecureBroker } from './support/secure-broker.js';
import { PacketType } from '../hub/broker/mqtt5/index.js';
import { packetTypes } from './support/wire.js';

const pool = new ClientPool();
const brokers: SecureBroker[] = [];

afterEach(async () => {
  await pool.closeAll();
  await Promise.all(brokers.splice(0).map((b) => b.broker.stop()));
});

describe('writes to a subscriber', () => {
  it.each([4, 5] as const)(
    'send the first message of a turn at once and the rest of the turn in one write, in order (MQTT %i)',
    async (protocolVersion) => {
      const writes: number[][] = [];
      const b = await startSecureBroker({
        clock: new SystemClock(),
        wrapConnection: (stream) => {
          const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
          const recording = (chunk: unknown, ...rest: unknown[]): boolean => {
            if (Buffer.isBuffer(chunk)) writes.push(packetTypes(chunk));
            return write(chunk, ...rest);
          };
          stream.write = recording as typeof stream.write;
          return stream;
        },
      });
      brokers.push(b);
      const subscriber = await pool.connect(b.url, { protocolVersion });
      await subscriber.subscribeAsync('out/#');
      const got: string[] = [];
      subscriber.on('message', (topic) => got.push(topic));
      writes.length = 0;

      const topics = Array.from({ length: 100 }, (_, i) => `out/${i}`);
      for (const topic of topics) b.broker.publishNow({ topic, payload: 'x' });
      await until(() => got.length === topics.length, 'every message to arrive', [[subscriber, 'message']]);

      expect(got).toEqual(topics);
      // The first goes out at once; the other 99, queued during the same turn, in one write.
      const publishWrites = writes.filter((types) => types.includes(PacketType.PUBLISH));
      expect(publishWrites.map((types) => types.length)).toEqual([1, 99]);
    },
  );
});
