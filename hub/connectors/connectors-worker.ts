/**
 * The connectors' prepare thread: reads each connector's next batch from the outbox over a
 * read-only connection of its own and formats it, so the main thread (the broker, the rules) only
 * hands the finished messages to the client library.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { errorMessage } from '../../kernel/index.js';
import { openOutboxReader } from '../store/index.js';
import { destinationOf } from './destinations.js';
import { OutFormatter } from './format.js';
import { prepareBatch } from './prepared-batch.js';
import {
  packBatch,
  unitKey,
  type PrepareInit,
  type PrepareReply,
  type PrepareRequest,
} from './prepare-protocol.js';

const port = parentPort;
const init = workerData as PrepareInit | undefined;
if (!port || !init) throw new Error('prepare-worker runs as a worker thread');

let units = new Map<string, string>();
const reader = openOutboxReader(init.file);
const connectors = new Map(
  init.connectors.map((c) => [
    c.id,
    {
      ...c,
      formatter: new OutFormatter(
        {
          hub: init.hub,
          unitOf: (device, metric) => units.get(unitKey(device, metric)) ?? null,
          destination: (route, fields) => destinationOf(c.type, route, fields),
        },
        c.out,
      ),
    },
  ]),
);

function reply(message: PrepareReply, transfer: ArrayBuffer[] = []): void {
  port?.postMessage(message, transfer);
}

port.on('message', (request: PrepareRequest) => {
  if (request.t === 'units') {
    units = new Map(request.units);
    return;
  }
  const connector = connectors.get(request.connector);
  try {
    if (!connector) throw new Error(`no connector ${request.connector} in the prepare thread`);
    const batch = prepareBatch(
      reader.outbox,
      connector.formatter,
      connector.id,
      request.afterId,
      connector.batchSize,
    );
    const { packed, transfer } = packBatch(batch, connector.out);
    reply({ t: 'prepared', id: request.id, batch: packed }, transfer);
  } catch (err) {
    reply({ t: 'failed', id: request.id, message: errorMessage(err) });
  }
});
