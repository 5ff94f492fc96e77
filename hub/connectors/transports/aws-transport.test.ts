import { SQSClient } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemoryLogger } from '../../../kernel/index.js';
import { connectorSchema } from '../config-schema.js';
import { clientConfig, type SqsConnector } from './aws-transport.js';

const SWITCH = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED';

const sqs = connectorSchema.parse({
  id: 'queue',
  type: 'sqs',
  endpoint: 'http://127.0.0.1:9',
  out: [{ queue_url: 'http://127.0.0.1:9/000000000000/events' }],
}) as SqsConnector;

afterEach(() => {
  vi.restoreAllMocks();
});

describe("the AWS SDK's warning about the Node versions it will need", () => {
  it("is one line of the hub's log, once, instead of the SDK's nine printed lines", () => {
    delete process.env[SWITCH];
    const printed = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const logger = new MemoryLogger();
    for (let i = 0; i < 2; i++) new SQSClient(clientConfig(sqs, logger)).destroy();

    const older = Number(process.versions.node.split('.')[0]) < 22;
    const said = logger.entries.filter((e) =>
      /AWS SDK's releases after January 2027 need Node 22/.test(e.msg),
    );
    expect(said).toHaveLength(older ? 1 : 0);
    if (older) expect(said[0]).toMatchObject({ level: 'warn', fields: { connector: 'queue' } });
    expect(printed.mock.calls.some(([w]) => String(w).includes('NodeVersionSupportWarning'))).toBe(false);
  });

  it('is not said by the hub either when the SDK was told to keep quiet', () => {
    process.env[SWITCH] = 'true';
    const logger = new MemoryLogger();
    new SQSClient(clientConfig(sqs, logger)).destroy();
    expect(logger.entries.filter((e) => /AWS SDK/.test(e.msg))).toHaveLength(0);
  });
});
