import { EventEmitter } from 'node:events';
import type { MqttClient } from 'mqtt';
import type { EventReader } from '../../hub/store/index.js';
import { until } from './hub-process.js';
import type { ClientPool } from './mqtt-client.js';

/**
 * Publishers sending QoS 1 readings `{ value, seq }` on `sensors/p<N>/temperature`, several in
 * flight each, until stopped, recording which sequence numbers the hub acknowledged. A publish that
 * fails (the hub killed) ends its loop.
 */
export class AckedLoad {
  /** Per publisher, the sequence numbers acknowledged, in the order the acknowledgements came. */
  readonly acked: number[][];
  private readonly acks = new EventEmitter();
  private stopped = false;
  private readonly loops: Promise<void>[];

  private constructor(
    readonly clients: MqttClient[],
    inFlight: number,
  ) {
    this.acked = clients.map(() => []);
    this.loops = clients.flatMap((client, p) => {
      let next = 0;
      return Array.from({ length: inFlight }, async () => {
        while (!this.stopped) {
          const seq = next++;
          try {
            await client.publishAsync(AckedLoad.topic(p), JSON.stringify({ value: 20, seq }), { qos: 1 });
          } catch {
            return;
          }
          // A resolved publish is a PUBACK the hub sent: with durable acknowledgements, stored.
          this.acked[p]?.push(seq);
          this.acks.emit('ack');
        }
      });
    });
  }

  static async start(
    pool: ClientPool,
    url: string,
    { publishers, inFlight }: { publishers: number; inFlight: number },
  ): Promise<AckedLoad> {
    const clients = await Promise.all(
      Array.from({ length: publishers }, (_, p) => pool.connect(url, { clientId: `pub-${p}` })),
    );
    return new AckedLoad(clients, inFlight);
  }

  static topic(publisher: number): string {
    return `sensors/p${publisher}/temperature`;
  }

  /** Resolves once every publisher has at least `count` acknowledged. */
  untilEach(count: number): Promise<void> {
    return until(
      () => this.acked.every((seqs) => seqs.length >= count),
      `${count} acknowledged messages per publisher`,
      [[this.acks, 'ack']],
    );
  }

  /** How many were acknowledged so far, all publishers together. */
  get total(): number {
    return this.acked.reduce((n, seqs) => n + seqs.length, 0);
  }

  /** A copy of what was acknowledged so far. */
  snapshot(): number[][] {
    return this.acked.map((seqs) => [...seqs]);
  }

  /** Stops sending; resolves once every loop has ended (a publish still unanswered holds its loop). */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.allSettled(this.loops);
  }

  /** Per publisher, the stored sequence numbers of its readings in an event database. */
  static stored(reader: EventReader, publishers: number): number[][] {
    return Array.from({ length: publishers }, (_, p) =>
      reader
        .query({ topicFilter: AckedLoad.topic(p), limit: 1_000_000 })
        .map((e) => (e.payload as { seq: number }).seq),
    );
  }
}
