import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { EventEnvelope } from '../hub/index.js';
import { startSite, type Site } from './support/connector-site.js';
import { useHubKit } from './support/hub-kit.js';
import { startMoto, type AwsEndpoint } from './support/servers/moto.js';
import type { ServerHandle } from './support/servers/server-process.js';

const kit = useHubKit();
let moto: ServerHandle & { aws: AwsEndpoint };
let sqs: SQSClient;
let sns: SNSClient;

beforeAll(async () => {
  moto = await startMoto();
  sqs = new SQSClient(moto.aws);
  sns = new SNSClient(moto.aws);
}, 180_000);

afterAll(async () => {
  sqs?.destroy();
  sns?.destroy();
  await moto?.stop();
});

async function queue(name: string): Promise<string> {
  const attributes = name.endsWith('.fifo') ? { FifoQueue: 'true' } : undefined;
  const made = await sqs.send(
    new CreateQueueCommand({ QueueName: name, ...(attributes && { Attributes: attributes }) }),
  );
  return made.QueueUrl ?? '';
}

/** Receives (and deletes) until `count` messages came, in the order SQS gave them. */
async function drain(
  url: string,
  count: number,
  client: SQSClient = sqs,
): Promise<{ body: string; attributes: Record<string, string> }[]> {
  const got: { body: string; attributes: Record<string, string> }[] = [];
  await vi.waitFor(
    async () => {
      const reply = await client.send(
        new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, MessageAttributeNames: ['All'] }),
      );
      for (const m of reply.Messages ?? []) {
        got.push({
          body: m.Body ?? '',
          attributes: Object.fromEntries(
            Object.entries(m.MessageAttributes ?? {}).map(([k, v]) => [k, v.StringValue ?? '']),
          ),
        });
        await client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: m.ReceiptHandle }));
      }
      expect(got.length).toBeGreaterThanOrEqual(count);
    },
    { timeout: 15_000, interval: 100 },
  );
  return got;
}

async function site(
  type: 'sqs' | 'sns',
  connector: Record<string, unknown>,
  rules?: Record<string, string>,
): Promise<Site> {
  const s = await startSite(
    kit.temp,
    {
      type,
      endpoint: moto.aws.endpoint,
      region: moto.aws.region,
      username: moto.aws.credentials.accessKeyId,
      password_env: 'EH_TEST_AWS_SECRET',
      ...connector,
    },
    rules ? { rules } : {},
  );
  kit.keep(s.hub);
  return s;
}

process.env.EH_TEST_AWS_SECRET = 'test';

async function publish(s: Site, events: readonly [topic: string, payload: string][]): Promise<void> {
  const sensor = await kit.pool.connect(s.url);
  for (const [topic, payload] of events) await sensor.publishAsync(topic, payload, { qos: 1 });
}

describe('sqs and sns connectors against moto', { timeout: 60_000 }, () => {
  it('sends events to a FIFO queue, one message group per device, in order, with the event id', async () => {
    const url = await queue('s1-events.fifo');
    const s = await site('sqs', { out: [{ topics: ['sensors/#'], queue_url: url }] });
    await publish(
      s,
      Array.from({ length: 12 }, (_, i): [string, string] => [`sensors/d${i % 2}/temperature`, String(i)]),
    );
    const got = await drain(url, 12);
    const events = got.map((m) => JSON.parse(m.body) as EventEnvelope);
    for (const d of ['d0', 'd1']) {
      const values = events.filter((e) => e.device === d).map((e) => e.value);
      expect(values).toEqual(Array.from({ length: 12 }, (_, i) => i).filter((i) => `d${i % 2}` === d));
    }
    expect(got.every((m, i) => m.attributes['edgehub-id'] === events[i]?.id)).toBe(true);
    await vi.waitFor(() => expect(s.status()).toMatchObject({ delivered: 12, backlog: 0 }));
  });

  it('dead-letters a message over 256 KiB and sends the rest', async () => {
    const url = await queue('s2-events');
    const s = await site('sqs', { out: [{ topics: ['big/#'], format: 'raw', queue_url: url }] });
    await publish(s, [
      ['big/a', 'first'],
      ['big/b', 'x'.repeat(300 * 1024)],
      ['big/c', 'third'],
    ]);
    const got = await drain(url, 2);
    expect(got.map((m) => m.body)).toEqual(['first', 'third']);
    await vi.waitFor(() => expect(s.status()).toMatchObject({ delivered: 2, deadLettered: 1 }));
    expect(s.hub.store?.outbox.dead('remote')[0]?.reason).toMatch(/256 KiB/);
  });

  it('publishes to an SNS topic that fans out to an SQS queue', async () => {
    const topic = await sns.send(new CreateTopicCommand({ Name: 's3-events' }));
    const url = await queue('s3-fanout');
    const arn = (
      await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }))
    ).Attributes?.QueueArn;
    await sns.send(
      new SubscribeCommand({
        TopicArn: topic.TopicArn,
        Protocol: 'sqs',
        Endpoint: arn,
        Attributes: { RawMessageDelivery: 'true' },
      }),
    );
    const s = await site('sns', { out: [{ topics: ['sensors/#'], topic_arn: topic.TopicArn }] });
    await publish(s, [
      ['sensors/d1/temperature', '21.5'],
      ['sensors/d1/temperature', '22'],
    ]);
    const got = await drain(url, 2);
    expect(got.map((m) => (JSON.parse(m.body) as EventEnvelope).value).sort()).toEqual([21.5, 22]);
    await vi.waitFor(() => expect(s.status()).toMatchObject({ delivered: 2, backlog: 0 }));
  });

  it('receives a queue into stored events that fire a rule, deleting each once stored', async () => {
    const url = await queue('s4-orders');
    const s = await site(
      'sqs',
      { in: [{ queue_url: url, local_topic: 'remote/orders' }] },
      {
        'orders.yaml': `rules:
  - id: light-on-order
    when:
      mqtt: remote/orders
    then:
      - publish:
          topic: site/light
          payload: { on: true, order: "{{ payload.order }}" }
`,
      },
    );
    await s.connected();
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: JSON.stringify({ order: 5 }) }));
    await vi.waitFor(() => expect(s.seen.some((m) => m.topic === 'site/light')).toBe(true), {
      timeout: 15_000,
    });
    expect(s.hub.store?.query({ topicFilter: 'remote/orders' })).toHaveLength(1);
    await vi.waitFor(async () => {
      const attributes = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: url,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      expect(attributes.Attributes).toMatchObject({
        ApproximateNumberOfMessages: '0',
        ApproximateNumberOfMessagesNotVisible: '0',
      });
    });
  });

  it('keeps the events while the queue cannot be reached and sends them once it can', async () => {
    const url = `${moto.aws.endpoint}/123456789012/s5-later`;
    const s = await site('sqs', { out: [{ topics: ['sensors/#'], queue_url: url }] });
    await s.retrying();
    expect(s.status()?.lastError).toMatch(/queue/i);
    await publish(s, [['sensors/d1/temperature', '1']]);
    await vi.waitFor(() => expect(s.status()?.backlog).toBe(1));
    await queue('s5-later');
    s.retryNow();
    const got = await drain(url, 1);
    expect((JSON.parse(got[0]?.body ?? '{}') as EventEnvelope).value).toBe(1);
  });
});

describe('sqs and sns connectors against a moto that checks every signature', { timeout: 60_000 }, () => {
  let signed: ServerHandle & { aws: AwsEndpoint };
  let signedSqs: SQSClient;
  let signedSns: SNSClient;

  beforeAll(async () => {
    signed = await startMoto({ auth: true });
    signedSqs = new SQSClient(signed.aws);
    signedSns = new SNSClient(signed.aws);
  }, 180_000);

  afterAll(async () => {
    signedSqs?.destroy();
    signedSns?.destroy();
    await signed?.stop();
  });

  /** A connector with the IAM user's access key and the secret in EH_TEST_AWS_SIGNED_SECRET. */
  async function signedSite(type: 'sqs' | 'sns', out: Record<string, unknown>): Promise<Site> {
    const s = await startSite(kit.temp, {
      type,
      endpoint: signed.aws.endpoint,
      region: signed.aws.region,
      username: signed.aws.credentials.accessKeyId,
      password_env: 'EH_TEST_AWS_SIGNED_SECRET',
      out: [{ topics: ['sensors/#'], ...out }],
    });
    kit.keep(s.hub);
    return s;
  }

  it('keeps the events while a wrong secret is refused, retrying, and delivers every one in order once it is right', async () => {
    const url =
      (
        await signedSqs.send(
          new CreateQueueCommand({ QueueName: 's6-signed.fifo', Attributes: { FifoQueue: 'true' } }),
        )
      ).QueueUrl ?? '';
    process.env.EH_TEST_AWS_SIGNED_SECRET = 'wrong-one';
    try {
      const s = await signedSite('sqs', { queue_url: url });
      await s.retrying();
      // moto 5.2.6 answers a refused signature with an XML body even to SQS's JSON protocol, so
      // the SDK cannot read the reason; the status it came with is what the error says.
      expect(s.status()).toMatchObject({
        state: 'retrying',
        lastError: expect.stringMatching(
          /^HTTP 403 \(the access key, its secret or its policy was refused\)/,
        ) as unknown,
      });
      await publish(
        s,
        Array.from({ length: 10 }, (_, i): [string, string] => [`sensors/d${i % 2}/temperature`, String(i)]),
      );
      await vi.waitFor(() => expect(s.status()).toMatchObject({ backlog: 10, delivered: 0 }));
      for (let attempt = 2; attempt <= 3; attempt++) {
        s.retryNow();
        await s.retrying();
      }
      expect(s.status()).toMatchObject({ state: 'failing', backlog: 10 });
      expect(s.logger.entries.map((e) => JSON.stringify(e)).join('\n')).not.toContain('wrong-one');

      process.env.EH_TEST_AWS_SIGNED_SECRET = signed.aws.credentials.secretAccessKey;
      s.retryNow();
      await vi.waitFor(() =>
        expect(s.status()).toMatchObject({ state: 'connected', delivered: 10, backlog: 0 }),
      );
    } finally {
      delete process.env.EH_TEST_AWS_SIGNED_SECRET;
    }
    const events = (await drain(url, 10, signedSqs)).map((m) => JSON.parse(m.body) as EventEnvelope);
    expect(new Set(events.map((e) => e.id)).size).toBe(10);
    for (const d of ['d0', 'd1'])
      expect(events.filter((e) => e.device === d).map((e) => e.value)).toEqual(
        Array.from({ length: 10 }, (_, i) => i).filter((i) => `d${i % 2}` === d),
      );
  });

  it('tells an sns connector with a wrong secret that the signature does not match, and publishes once it is right', async () => {
    const { TopicArn } = await signedSns.send(new CreateTopicCommand({ Name: 's7-signed' }));
    const url = (await signedSqs.send(new CreateQueueCommand({ QueueName: 's7-inbox' }))).QueueUrl ?? '';
    const arn = (
      await signedSqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }))
    ).Attributes?.QueueArn;
    await signedSns.send(
      new SubscribeCommand({
        TopicArn,
        Protocol: 'sqs',
        Endpoint: arn,
        Attributes: { RawMessageDelivery: 'true' },
      }),
    );
    process.env.EH_TEST_AWS_SIGNED_SECRET = 'wrong-one';
    try {
      const s = await signedSite('sns', { topic_arn: TopicArn });
      await s.retrying();
      expect(s.status()).toMatchObject({
        state: 'retrying',
        lastError: expect.stringMatching(/signature we calculated does not match/i) as unknown,
      });
      await publish(s, [
        ['sensors/d1/temperature', '1'],
        ['sensors/d1/temperature', '2'],
        ['sensors/d1/temperature', '3'],
      ]);
      await vi.waitFor(() => expect(s.status()).toMatchObject({ backlog: 3, delivered: 0 }));
      expect(s.logger.entries.map((e) => JSON.stringify(e)).join('\n')).not.toContain('wrong-one');

      process.env.EH_TEST_AWS_SIGNED_SECRET = signed.aws.credentials.secretAccessKey;
      s.retryNow();
      await vi.waitFor(() =>
        expect(s.status()).toMatchObject({ state: 'connected', delivered: 3, backlog: 0 }),
      );
    } finally {
      delete process.env.EH_TEST_AWS_SIGNED_SECRET;
    }
    const got = await drain(url, 3, signedSqs);
    expect(got.map((m) => (JSON.parse(m.body) as EventEnvelope).value)).toEqual([1, 2, 3]);
  });
});
