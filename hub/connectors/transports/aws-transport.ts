/**
 * What the SQS and SNS transports (sqs-transport.ts, sns-transport.ts) share. Each of those loads its
 * own AWS SDK client, so a hub with only SQS connectors never loads SNS's.
 */
import { errorMessage, type Logger } from '../../../kernel/index.js';
import type { ConnectorConfig } from '../config-schema.js';
import { connectorSecret } from '../secrets.js';
import type { OutMessage, SendOutcome } from '../transport.js';

export type SqsConnector = Extract<ConnectorConfig, { type: 'sqs' }>;
export type SnsConnector = Extract<ConnectorConfig, { type: 'sns' }>;

/** SQS's and SNS's largest message, bytes. */
export const AWS_MAX_MESSAGE_BYTES = 256 * 1024;
/** Entries per SendMessageBatch / PublishBatch call, AWS's own bound. */
const BATCH_ENTRIES = 10;
/** Seconds one ReceiveMessage waits for messages (long polling). */
export const RECEIVE_WAIT_S = 5;

/** The AWS SDK's own switch for its warning about the Node versions its later releases need. */
const SDK_WARNING_OFF = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED';
/** The Node major version the SDK's releases after the first week of January 2027 require. */
const SDK_NODE_MAJOR = 22;

/**
 * On an older Node the SDK prints a warning of nine lines at its first client, outside the hub's
 * log. It is said once instead, as one line of the hub's log, and the SDK's own is turned off (in
 * the environment the connectors' thread shares). One who turned it off already hears nothing.
 */
function sayNodeSupportOnce(logger: Logger, connector: string): void {
  if (process.env[SDK_WARNING_OFF] === 'true') return;
  process.env[SDK_WARNING_OFF] = 'true';
  const major = Number(process.versions.node.split('.')[0]);
  if (major < SDK_NODE_MAJOR)
    logger.warn(
      `the AWS SDK's releases after January 2027 need Node ${SDK_NODE_MAJOR}; this hub runs Node ${process.versions.node} and keeps the SDK release it was installed with`,
      { connector },
    );
}

/** Client settings both services share: region, endpoint, the access key from the connector. */
export function clientConfig(c: SqsConnector | SnsConnector, logger: Logger): Record<string, unknown> {
  sayNodeSupportOnce(logger, c.id);
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

/** One entry of a SendMessageBatch or PublishBatch call; `bodyField` is the service's name for the body. */
export function batchEntry<K extends 'MessageBody' | 'Message'>(
  m: OutMessage,
  target: string,
  index: number,
  bodyField: K,
): { Id: string; MessageAttributes: ReturnType<typeof attributes> } & Record<K, string> {
  const { text, base64 } = body(m);
  return {
    Id: String(index),
    [bodyField]: text,
    MessageAttributes: attributes(m, base64),
    ...fifoFields(target, m),
  } as { Id: string; MessageAttributes: ReturnType<typeof attributes> } & Record<K, string>;
}

/** The entries a batch call refused, as {@link sendInCalls} takes them. */
export function refusedEntries(
  failed:
    | readonly {
        Id?: string | undefined;
        SenderFault?: boolean | undefined;
        Code?: string | undefined;
        Message?: string | undefined;
      }[]
    | undefined,
  service: 'SQS' | 'SNS',
): { failed: { index: number; senderFault: boolean; reason: string }[] } {
  return {
    failed: (failed ?? []).map((f) => ({
      index: Number(f.Id),
      senderFault: f.SenderFault === true,
      reason: `${service} refused it: ${f.Code ?? ''} ${f.Message ?? ''}`.trim(),
    })),
  };
}

/**
 * Sends `batch` in calls of up to 10 entries to one target at a time, in order, stopping at the
 * first call that fails as a whole; per entry, a sender's fault (too large, invalid) is lasting and
 * anything else is retried. A message over 256 KiB is refused before it is sent.
 */
export async function sendInCalls(
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
 * Rethrows an SDK error with the HTTP status in front: an endpoint that refuses a key may answer
 * in a body the SDK cannot read, and then the status is the one clear word (403: the key, its
 * secret or its policy).
 */
export function refused(err: unknown): never {
  const status = (err as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
  if (status === undefined || status < 400) throw err;
  const hint = status === 403 ? ' (the access key, its secret or its policy was refused)' : '';
  throw new Error(`HTTP ${status}${hint}: ${errorMessage(err)}`);
}
