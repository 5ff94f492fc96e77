import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
  type Message as SqsMessage,
} from '@aws-sdk/client-sqs';
import { errorMessage, type Logger } from '../../../kernel/index.js';
import type { ConnectorTransport, InboundHandler, OutMessage, SendOutcome } from '../transport.js';
import {
  batchEntry,
  clientConfig,
  RECEIVE_WAIT_S,
  refused,
  refusedEntries,
  sendInCalls,
  type SqsConnector,
} from './aws-transport.js';

/**
 * Amazon SQS through the AWS SDK v3 (SendMessageBatch; FIFO queues keep order per key through the
 * message group and drop duplicates by the event id). `in` routes long-poll their queue and delete a
 * message only once the hub stored it; one the hub could not store becomes visible again at once.
 */
export class SqsTransport implements ConnectorTransport {
  private client: SQSClient | undefined;
  private abort: AbortController | undefined;
  private lost: ((err: Error) => void) | undefined;

  constructor(
    private readonly config: SqsConnector,
    private readonly logger: Logger,
  ) {}

  onLost(listener: (err: Error) => void): void {
    this.lost = listener;
  }

  async connect(inbound: InboundHandler): Promise<void> {
    await this.close();
    const client = new SQSClient(clientConfig(this.config, this.logger));
    this.client = client;
    // A cheap call that proves the endpoint and the key, so a wrong one fails here, not per batch.
    const urls = [
      ...new Set([...this.config.out.map((r) => r.queue_url), ...this.config.in.map((r) => r.queue_url)]),
    ];
    for (const url of urls)
      await client
        .send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }))
        .catch(refused);
    const abort = new AbortController();
    this.abort = abort;
    for (const route of this.config.in) void this.poll(client, route, inbound, abort.signal);
  }

  async send(batch: readonly OutMessage[]): Promise<SendOutcome[]> {
    const client = this.client;
    if (!client) throw new Error('not connected to SQS');
    return sendInCalls(batch, async (target, part) => {
      const reply = await client.send(
        new SendMessageBatchCommand({
          QueueUrl: target,
          Entries: part.map((m, index) => batchEntry(m, target, index, 'MessageBody')),
        }),
      );
      return refusedEntries(reply.Failed, 'SQS');
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
    route: SqsConnector['in'][number],
    inbound: InboundHandler,
    signal: AbortSignal,
  ): Promise<void> {
    while (!signal.aborted) {
      let messages: SqsMessage[];
      try {
        const reply = await client.send(
          new ReceiveMessageCommand({
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
                    new DeleteMessageCommand({ QueueUrl: route.queue_url, ReceiptHandle: receipt }),
                  );
                },
                nack: async () => {
                  resolve();
                  await client.send(
                    new ChangeMessageVisibilityCommand({
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
