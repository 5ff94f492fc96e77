import type { SNSClient } from '@aws-sdk/client-sns';
import type * as SqsSdk from '@aws-sdk/client-sqs';
import type { Message as SqsMessage, SQSClient } from '@aws-sdk/client-sqs';
import { errorMessage } from '../../../kernel/index.js';
import type { ConnectorConfig } from '../config-schema.js';
import { connectorSecret } from '../secrets.js';
import type { ConnectorTransport, InboundHandler, OutMessage, SendOutcome } from '../transport.js';

/** The SQS client module, loaded when the first SQS connector connects. */
type SqsModule = typeof SqsSdk;
type SqsConnector = Extract<ConnectorConfig, { type: 'sqs' }>;
type SnsConnector = Extract<ConnectorConfig, { type: 'sns' }>;

/** SQS's and SNS's largest message, bytes. */
export const AWS_MAX_MESSAGE_BYTES = 256 * 1024;
/** Entries per SendMessageBatch / PublishBatch call, AWS's own bound. */
const BATCH_ENTRIES = 10;
/** Seconds one ReceiveMessage waits for messages (long polling). */
const RECEIVE_WAIT_S = 5;

/** Client settings both services share: region, endpoint, the access key from the connector. */
function clientConfig(c: SqsConnector | SnsConnector): Record<string, unknown> {
  const secret = connectorSecret(c);
  return {
    region: c.region,
    ...(c.endpoint !== undefined && { endpoint: c.endpoint }),
    ...(c.username !== undefined &&
      secret !== undefined && { credentials: { accessKeyId: c.username, secretAccessKey: secret } }),
    maxAttempts: 2,
  };
}

/** A FIFO queue's or topic's group and deduplication ids: the key keeps one device's messages in order. */
function fifoFields(target: string, m: OutMessage): Record<string, string> {
  if (!target.endsWith('.fifo')) return {};
  return {
    MessageGroupId: m.key ?? 'edgehub',
    MessageDeduplicationId: m.eventId.replace(/[^\w!"#$%&'()*+,\-./:;<=>?@[\\\]^`{|}~]/g, '_').slice(0, 128),
  };
}

/** The message body as text: SQS and SNS carry no bytes, so a payload that is not UTF-8 goes as base64. */
function body(m: OutMessage): { text: string; base64: boolean } {
  const text = m.payload.toString('utf8');
  return Buffer.from(text, 'utf8').equals(m.payload)
    ? { text, base64: false }
    : { text: m.payload.toString('base64'), base64: true };
}

function attributes(
  m: OutMessage,
  base64: boolean,
): Record<string, { DataType: string; StringValue: string }> {
  return {
    'edgehub-id': { DataType: 'String', StringValue: m.eventId },
    ...(m.key !== null && m.key !== '' && { 'edgehub-key': { DataType: 'String', StringValue: m.key } }),
    ...(base64 && { 'edgehub-encoding': { DataType: 'String', StringValue: 'base64' } }),
  };
}

/**
 * Sends `batch` in calls of up to 10 entries to one target at a time, in order, stopping at the
 * first call that fails as a whole; per entry, a sender's fault (too large, invalid) is lasting and
 * anything else is retried. A message over 256 KiB is refused before it is sent.
 */
async function sendInCalls(
  batch: readonly OutMessage[],
  call: (
    target: string,
    part: readonly OutMessage[],
  ) => Promise<{ failed: { index: number; senderFault: boolean; reason: string }[] }>,
): Promise<SendOutcome[]> {
  const outcomes: SendOutcome[] = new Array<SendOutcome>(batch.length).fill(undefined);
  let i = 0;
  let sent = false;
  while (i < batch.length) {
    const target = batch[i]?.destination ?? '';
    const part: OutMessage[] = [];
    const indices: number[] = [];
    while (i < batch.length && part.length < BATCH_ENTRIES && batch[i]?.destination === target) {
      const m = batch[i] as OutMessage;
      if (m.payload.length > AWS_MAX_MESSAGE_BYTES)
        outcomes[i] = {
          permanent: true,
          reason: `${m.payload.length} bytes is over the 256 KiB a message may carry`,
        };
      else {
        part.push(m);
        indices.push(i);
      }
      i++;
    }
    if (part.length === 0) continue;
    let result;
    try {
      result = await call(target, part);
    } catch (err) {
      if (!sent && outcomes.every((o) => o === undefined)) throw err;
      // What went before was confirmed or refused: only this call and the rest go again.
      const reason = errorMessage(err);
      for (let k = indices[0] ?? i; k < batch.length; k++) outcomes[k] = { permanent: false, reason };
      return outcomes;
    }
    sent = true;
    for (const f of result.failed) {
      const at = indices[f.index];
      if (at !== undefined) outcomes[at] = { permanent: f.senderFault, reason: f.reason };
    }
  }
  return outcomes;
}

/**
 * Amazon SQS through the AWS SDK v3 (SendMessageBatch; FIFO queues keep order per key through the
 * message group and drop duplicates by the event id). `in` routes long-poll their queue and delete a
 * message only once the hub stored it; one the hub could not store becomes visible again at once.
 */
export class SqsTransport implements ConnectorTransport {
  private client: SQSClient | undefined;
  private abort: AbortController | undefined;
  private lost: ((err: Error) => void) | undefined;

  constructor(private readonly config: SqsConnector) {}

  onLost(listener: (err: Error) => void): void {
    this.lost = listener;
  }

  async connect(inbound: InboundHandler): Promise<void> {
    await this.close();
    const sqs = await import('@aws-sdk/client-sqs');
    const client = new sqs.SQSClient(clientConfig(this.config));
    this.client = client;
    // A cheap call that proves the endpoint and the key, so a wrong one fails here, not per batch.
    const urls = [
      ...new Set([...this.config.out.map((r) => r.queue_url), ...this.config.in.map((r) => r.queue_url)]),
    ];
    for (const url of urls)
      await client
        .send(new sqs.GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }))
        .catch(refused);
    const abort = new AbortController();
    this.abort = abort;
    for (const route of this.config.in) void this.poll(client, sqs, route, inbound, abort.signal);
  }

  async send(batch: readonly OutMessage[]): Promise<SendOutcome[]> {
    const client = this.client;
    if (!client) throw new Error('not connected to SQS');
    const { SendMessageBatchCommand } = await import('@aws-sdk/client-sqs');
    return sendInCalls(batch, async (target, part) => {
      const reply = await client.send(
        new SendMessageBatchCommand({
          QueueUrl: target,
          Entries: part.map((m, index) => {
            const { text, base64 } = body(m);
            return {
              Id: String(index),
              MessageBody: text,
              MessageAttributes: attributes(m, base64),
              ...fifoFields(target, m),
            };
          }),
        }),
      );
      return {
        failed: (reply.Failed ?? []).map((f) => ({
          index: Number(f.Id),
          senderFault: f.SenderFault === true,
          reason: `SQS refused it: ${f.Code ?? ''} ${f.Message ?? ''}`.trim(),
        })),
      };
    });
  }

  close(): Promise<void> {
    this.abort?.abort();
    this.abort = undefined;
    this.client?.destroy();
    this.client = undefined;
    return Promise.resolve();
  }

  private async poll(
    client: SQSClient,
    sqs: SqsModule,
    route: SqsConnector['in'][number],
    inbound: InboundHandler,
    signal: AbortSignal,
  ): Promise<void> {
    while (!signal.aborted) {
      let messages: SqsMessage[];
      try {
        const reply = await client.send(
          new sqs.ReceiveMessageCommand({
            QueueUrl: route.queue_url,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: RECEIVE_WAIT_S,
            VisibilityTimeout: route.visibility_timeout,
            MessageAttributeNames: ['All'],
          }),
          { abortSignal: signal },
        );
        messages = reply.Messages ?? [];
      } catch (err) {
        if (!signal.aborted)
          this.lost?.(new Error(`receiving from ${route.queue_url}: ${errorMessage(err)}`));
        return;
      }
      await Promise.all(
        messages.map(
          (m) =>
            new Promise<void>((resolve) => {
              const base64 = m.MessageAttributes?.['edgehub-encoding']?.StringValue === 'base64';
              const receipt = m.ReceiptHandle ?? '';
              inbound(route, {
                source: route.queue_url.split('/').pop() ?? route.queue_url,
                key: m.MessageAttributes?.['edgehub-key']?.StringValue ?? null,
                payload: Buffer.from(m.Body ?? '', base64 ? 'base64' : 'utf8'),
                ack: async () => {
                  resolve();
                  await client.send(
                    new sqs.DeleteMessageCommand({ QueueUrl: route.queue_url, ReceiptHandle: receipt }),
                  );
                },
                nack: async () => {
                  resolve();
                  await client.send(
                    new sqs.ChangeMessageVisibilityCommand({
                      QueueUrl: route.queue_url,
                      ReceiptHandle: receipt,
                      VisibilityTimeout: 0,
                    }),
                  );
                },
              });
            }),
        ),
      );
    }
  }
}

/** Amazon SNS through the AWS SDK v3 (PublishBatch; FIFO topics keep order per key). Out only. */
export class SnsTransport implements ConnectorTransport {
  private client: SNSClient | undefined;

  constructor(private readonly config: SnsConnector) {}

  onLost(): void {
    // Every call is a request of its own: there is no connection to lose.
  }

  async connect(): Promise<void> {
    await this.close();
    const sns = await import('@aws-sdk/client-sns');
    const client = new sns.SNSClient(clientConfig(this.config));
    this.client = client;
    for (const arn of new Set(this.config.out.map((r) => r.topic_arn)))
      await client.send(new sns.GetTopicAttributesCommand({ TopicArn: arn })).catch(refused);
  }

  async send(batch: readonly OutMessage[]): Promise<SendOutcome[]> {
    const client = this.client;
    if (!client) throw new Error('not connected to SNS');
    const { PublishBatchCommand } = await import('@aws-sdk/client-sns');
    return sendInCalls(batch, async (target, part) => {
      const reply = await client.send(
        new PublishBatchCommand({
          TopicArn: target,
          PublishBatchRequestEntries: part.map((m, index) => {
            const { text, base64 } = body(m);
            return {
              Id: String(index),
              Message: text,
              MessageAttributes: attributes(m, base64),
              ...fifoFields(target, m),
            };
          }),
        }),
      );
      return {
        failed: (reply.Failed ?? []).map((f) => ({
          index: Number(f.Id),
          senderFault: f.SenderFault === true,
          reason: `SNS refused it: ${f.Code ?? ''} ${f.Message ?? ''}`.trim(),
        })),
      };
    });
  }

  close(): Promise<void> {
    this.client?.destroy();
    this.client = undefined;
    return Promise.resolve();
  }
}

/**
 * Rethrows an SDK error with the HTTP status in front: an endpoint that refuses a key may answer
 * in a body the SDK cannot read, and then the status is the one clear word (403: the key, its
 * secret or its policy).
 */
function refused(err: unknown): never {
  const status = (err as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
  if (status === undefined || status < 400) throw err;
  const hint = status === 403 ? ' (the access key, its secret or its policy was refused)' : '';
  throw new Error(`HTTP ${status}${hint}: ${errorMessage(err)}`);
}
