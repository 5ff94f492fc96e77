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

/** A broker whose every socket write is recorded as the types of the packets it carries. */
async function recordingBroker(): Promise<{ b: SecureBroker; writes: number[][] }> {
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
  return { b, writes };
}

/** Publishes `count` messages from the hub in one turn; resolves with the packets per socket write that carried them. */
async function burst(protocolVersion: 4 | 5, count: number, payload: string): Promise<number[]> {
  const { b, writes } = await recordingBroker();
  const subscriber = await pool.connect(b.url, { protocolVersion });
  await subscriber.subscribeAsync('out/#');
  const got: string[] = [];
  subscriber.on('message', (topic) => got.push(topic));
  writes.length = 0;
  const topics = Array.from({ length: count }, (_, i) => `out/${i}`);
  for (const topic of topics) b.broker.publishNow({ topic, payload });
  await until(() => got.length === topics.length, 'every message to arrive', [[subscriber, 'message']]);
  expect(got).toEqual(topics);
  return writes.filter((types) => types.includes(PacketType.PUBLISH)).map((types) => types.length);
}

describe('writes to a subscriber', () => {
  it.each([4, 5] as const)(
    'send the first message of a turn at once and the rest of the turn in one write, in order (MQTT %i)',
    async (protocolVersion) => {
      // The first goes out at once; the other 99, queued during the same turn, in one write.
      expect(await burst(protocolVersion, 100, 'x')).toEqual([1, 99]);
    },
  );

  it.each([4, 5] as const)(
    'do not hold more than 64 KiB of a turn before writing it (MQTT %i)',
    async (protocolVersion) => {
      // 16 KiB messages: four of them pass 64 KiB, so the queue is written every four.
      expect(await burst(protocolVersion, 20, 'x'.repeat(16 * 1024))).toEqual([1, 4, 4, 4, 4, 3]);
    },
  );
});
