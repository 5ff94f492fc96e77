/**
 * The connectors' thread: reads each connector's next batch from the outbox over a read-only
 * connection of its own and formats it. For a connector that only sends (no `in` routes) it also
 * holds the client library and sends the batch itself, so the main thread (the broker, the rules)
 * never encodes a message nor collects its garbage; it only hears which rows the remote confirmed.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { errorMessage, type LogFields, type Logger, type LogLevel } from '../../kernel/index.js';
import { openOutboxReader } from '../store/index.js';
import type { ConnectorConfig } from './config-schema.js';
import { destinationOf } from './destinations.js';
import { OutFormatter } from './format.js';
import { prepareBatch } from './prepared-batch.js';
import {
  heldOf,
  packBatch,
  unitKey,
  type ThreadInit,
  type ThreadReply,
  type ThreadRequest,
} from './thread-protocol.js';
import type { ConnectorTransport, OutMessage } from './transport.js';
import { makeTransport } from './transports.js';

const port = parentPort;
const init = workerData as ThreadInit | undefined;
if (!port || !init) throw new Error('connectors-worker runs as a worker thread');

function reply(message: ThreadReply, transfer: ArrayBuffer[] = []): void {
  port?.postMessage(message, transfer);
}

/** Log lines go to the connectors' logger on the main thread. */
function threadLogger(): Logger {
  const line =
    (level: LogLevel) =>
    (msg: string, fields: LogFields = {}): void =>
      reply({ t: 'log', level, msg, fields });
  const logger: Logger = {
    debug: line('debug'),
    info: line('info'),
    warn: line('warn'),
    error: line('error'),
    child: () => logger,
  };
  return logger;
}

interface Connector {
  config: ConnectorConfig;
  formatter: OutFormatter;
  transport: ConnectorTransport | undefined;
  /** Batches prepared and not sent yet, by the row of their first message. */
  held: Map<number, OutMessage[]>;
}

let units = new Map<string, string>();
const reader = openOutboxReader(init.file);
const connectors = new Map<string, Connector>(
  init.connectors.map((config) => [
    config.id,
    {
      config,
      formatter: new OutFormatter(
        {
          hub: init.hub,
          unitOf: (device, metric) => units.get(unitKey(device, metric)) ?? null,
          destination: (route, fields) => destinationOf(config.type, route, fields),
        },
        config.out,
      ),
      transport: undefined,
      held: new Map(),
    },
  ]),
);

async function transportOf(connector: Connector): Promise<ConnectorTransport> {
  if (connector.transport) return connector.transport;
  const transport = await makeTransport(connector.config, {
    hubName: init?.hub ?? '',
    logger: threadLogger(),
  });
  transport.onLost((err) => reply({ t: 'lost', connector: connector.config.id, message: errorMessage(err) }));
  connector.transport = transport;
  return transport;
}

async function handle(request: Exclude<ThreadRequest, { t: 'units' }>): Promise<void> {
  const connector = connectors.get(request.connector);
  if (!connector) throw new Error(`no connector ${request.connector} on the connectors' thread`);
  switch (request.t) {
    case 'prepare': {
      const { config, formatter } = connector;
      const batch = prepareBatch(reader.outbox, formatter, config.id, request.afterId, config.batch_size);
      if (request.hold) {
        const first = batch.messages[0];
        if (first) connector.held.set(first.rowId, batch.messages);
        reply({ t: 'held', id: request.id, batch: heldOf(batch) });
        return;
      }
      const { packed, transfer } = packBatch(batch, config.out);
      reply({ t: 'prepared', id: request.id, batch: packed }, transfer);
      return;
    }
    case 'connect': {
      connector.held.clear();
      // Only connectors without `in` routes are connected here: nothing comes in on the thread.
      await (await transportOf(connector)).connect(() => undefined);
      reply({ t: 'done', id: request.id });
      return;
    }
    case 'send': {
      const messages = connector.held.get(request.first);
      // Batches before this one were abandoned (a failure, a reconnect): they are read again.
      for (const first of connector.held.keys()) if (first <= request.first) connector.held.delete(first);
      if (messages?.length !== request.count)
        throw new Error(`the batch from row ${request.first} is not held on the connectors' thread`);
      const outcomes = await (await transportOf(connector)).send(messages);
      reply({ t: 'sent', id: request.id, outcomes });
      return;
    }
    case 'close': {
      connector.held.clear();
      await connector.transport?.close();
      reply({ t: 'done', id: request.id });
      return;
    }
  }
}

port.on('message', (request: ThreadRequest) => {
  if (request.t === 'units') {
    units = new Map(request.units);
    return;
  }
  handle(request).catch((err: unknown) => reply({ t: 'failed', id: request.id, message: errorMessage(err) }));
});
