import { describe, expect, it } from 'vitest';
import { configSchema } from '../config/schema.js';
import { connectorChecks, remotesOf } from './connector-checks.js';
import { FakeMachine } from './fake-doctor-env.js';

const connectors = configSchema.parse({
  connectors: [
    { id: 'cloud', type: 'mqtt', url: 'mqtts://broker.example.com' },
    { id: 'k', type: 'kafka', brokers: ['k1:9092', 'k2:9093'] },
    { id: 'rabbit', type: 'amqp', url: 'amqp://[::1]:5673/vhost' },
    { id: 'q', type: 'sqs', region: 'eu-west-1' },
    { id: 'moto', type: 'sns', endpoint: 'http://127.0.0.1:5000' },
    { id: 'r', type: 'redis-stream', url: 'redis://cache', enabled: false },
  ],
}).connectors;

describe('connector checks', () => {
  it("finds each connector's remotes, with the scheme's port when the URL names none", () => {
    expect(connectors.map((c) => remotesOf(c))).toEqual([
      [{ host: 'broker.example.com', port: 8883 }],
      [
        { host: 'k1', port: 9092 },
        { host: 'k2', port: 9093 },
      ],
      [{ host: '::1', port: 5673 }],
      [{ host: 'sqs.eu-west-1.amazonaws.com', port: 443 }],
      [{ host: '127.0.0.1', port: 5000 }],
      [{ host: 'cache', port: 6379 }],
    ]);
  });

  it('fails a connector with an unreachable remote, naming it, and skips disabled ones', async () => {
    const machine = new FakeMachine();
    try {
      machine.unreachable.set('k2:9093', 'ECONNREFUSED');
      const results = await connectorChecks(machine.env(), connectors);
      expect(results.map((r) => `${r.check} ${r.status}`)).toEqual([
        'connector.cloud OK',
        'connector.k FAIL',
        'connector.rabbit OK',
        'connector.q OK',
        'connector.moto OK',
        'connector.r OK',
      ]);
      expect(results[1]?.message).toContain('k2:9093 (ECONNREFUSED)');
    } finally {
      machine.cleanup();
    }
  });
});
