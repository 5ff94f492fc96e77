import { connect, createServer } from 'node:net';
import type { AedesPublishPacket } from 'aedes';
import fc from 'fast-check';
import { generate } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { MemoryLogger, SystemClock } from '../../../kernel/index.js';
import { serverKeepAlive } from './keep-alive.js';
import { Mqtt5Layer, publishWireSize } from './mqtt5-layer.js';

const layer = (): Mqtt5Layer =>
  new Mqtt5Layer({
    options: { maxPacketBytes: 1024, maxKeepaliveSeconds: 60 },
    clock: new SystemClock(),
    logger: new MemoryLogger(),
  });

describe('publishWireSize', () => {
  const packet = fc.record({
    topic: fc.string({ minLength: 1, maxLength: 40 }),
    payload: fc.uint8Array({ maxLength: 20_000 }),
    qos: fc.constantFrom(0, 1, 2),
    props: fc.option(
      fc.record(
        {
          contentType: fc.string({ maxLength: 20 }),
          messageExpiryInterval: fc.integer({ min: 1, max: 100_000 }),
          userProperties: fc.dictionary(
            fc.string({ minLength: 1, maxLength: 8 }),
            fc.string({ maxLength: 8 }),
          ),
        },
        { requiredKeys: [] },
      ),
      { nil: undefined },
    ),
    ids: fc.array(fc.integer({ min: 1, max: 268_435_455 }), { maxLength: 3 }),
  });

  it('is exactly what mqtt-packet writes for MQTT 5, subscription identifiers included', () => {
    fc.assert(
      fc.property(packet, ({ topic, payload, qos, props, ids }) => {
        const p = {
          cmd: 'publish',
          topic,
          payload: Buffer.from(payload),
          qos,
          retain: false,
          dup: false,
          ...(props && { properties: props }),
        } as unknown as AedesPublishPacket; // a plain object standing in for aedes' packet class
        const unique = [...new Set(ids)];
        const wire = generate(
          {
            ...p,
            cmd: 'publish',
            ...(qos > 0 && { messageId: 1 }),
            properties: { ...props, ...(unique.length > 0 && { subscriptionIdentifier: unique }) },
          },
          { protocolVersion: 5 },
        );
        expect(publishWireSize(p, ids)).toBe(wire.length);
      }),
      { numRuns: 300, seed: 5 },
    );
  });
});

describe('serverKeepAlive', () => {
  it.each([
    [5, 0, 60, 60],
    [5, 61, 60, 60],
    [5, 60, 60, undefined],
    [5, 0, 0, undefined],
    [4, 0, 60, undefined],
    [4, 3600, 60, undefined],
  ])('version %i asking %i s with a limit of %i s gets %s', (v, asked, max, imposed) => {
    expect(serverKeepAlive(v, asked, max)).toBe(imposed);
  });
});

describe('Mqtt5Layer', () => {
  it('strips Will Delay Interval and keeps the other properties', () => {
    const p = {
      cmd: 'publish' as const,
      topic: 't',
      payload: Buffer.alloc(0),
      qos: 0 as const,
      retain: false,
      dup: false,
      properties: { willDelayInterval: 5, contentType: 'text/plain' },
    };
    layer().stripWillOnlyProperties(p);
    expect(p.properties).toEqual({ contentType: 'text/plain' });
  });

  it('ends connections that never sent CONNECT when asked to close them all', async () => {
    const l = layer();
    const server = createServer((socket) => l.wrap(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const socket = connect(port, '127.0.0.1');
    await new Promise((resolve) => server.once('connection', resolve));
    const closed = new Promise((resolve) => socket.once('close', resolve));
    l.closeAll();
    await closed;
    await new Promise((resolve) => server.close(resolve));
  });
});
