/**
 * The baseline the pipeline benchmark compares edgehub with: bare aedes, the same rule written
 * by hand in its publish hook, nothing stored.
 */
import { createServer, type AddressInfo } from 'node:net';
import { Aedes } from 'aedes';
import { serveParent } from './server-process.js';

const broker = await Aedes.createBroker();
const TOPIC = /^sensors\/([^/]+)\/temperature$/;
broker.on('publish', (packet) => {
  const m = TOPIC.exec(packet.topic);
  if (!m) return;
  let body: { value?: unknown; seq?: unknown };
  try {
    body = JSON.parse(packet.payload.toString()) as typeof body;
  } catch {
    return;
  }
  if (typeof body.value === 'number' && body.value > 30) {
    broker.publish(
      {
        cmd: 'publish',
        topic: `actuators/${m[1]}/fan`,
        payload: Buffer.from(JSON.stringify({ on: true, seq: body.seq })),
        qos: 0,
        retain: false,
        dup: false,
      },
      () => undefined,
    );
  }
});
const server = createServer((socket) => broker.handle(socket));
server.listen(0, '127.0.0.1', () => {
  serveParent((server.address() as AddressInfo).port, async () => {
    server.close();
    await new Promise<void>((resolve) => broker.close(() => resolve()));
  });
});
