import { GetTopicAttributesCommand, PublishBatchCommand, SNSClient } from '@aws-sdk/client-sns';
import type { Logger } from '../../../kernel/index.js';
import type { ConnectorTransport, OutMessage, SendOutcome } from '../transport.js';
import {
  batchEntry,
  clientConfig,
  refused,
  refusedEntries,
  sendInCalls,
  type SnsConnector,
} from './aws-transport.js';

/** Amazon SNS through the AWS SDK v3 (PublishBatch; FIFO topics keep order per key). Out only. */
export class SnsTransport implements ConnectorTransport {
  private client: SNSClient | undefined;

  constructor(
    private readonly config: SnsConnector,
    private readonly logger: Logger,
  ) {}

  onLost(): void {
    // Every call is a request of its own: there is no connection to lose.
  }

  async connect(): Promise<void> {
    await this.close();
    const client = new SNSClient(clientConfig(this.config, this.logger));
    this.client = client;
    for (const arn of new Set(this.config.out.map((r) => r.topic_arn)))
      await client.send(new GetTopicAttributesCommand({ TopicArn: arn })).catch(refused);
  }

  async send(batch: readonly OutMessage[]): Promise<SendOutcome[]> {
    const client = this.client;
    if (!client) throw new Error('not connected to SNS');
    return sendInCalls(batch, async (target, part) => {
      const reply = await client.send(
        new PublishBatchCommand({
          TopicArn: target,
          PublishBatchRequestEntries: part.map((m, index) => batchEntry(m, target, index, 'Message')),
        }),
      );
      return refusedEntries(reply.Failed, 'SNS');
    });
  }

  close(): Promise<void> {
    this.client?.destroy();
    this.client = undefined;
    return Promise.resolve();
  }
}
