import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';

/** Real mqtt.js clients for tests; `closeAll()` ends every client this pool made. */
export class ClientPool {
  private readonly clients: MqttClient[] = [];

  async connect(url: string, opts: IClientOptions = {}): Promise<MqttClient> {
    const client = await mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5000, ...opts });
    this.clients.push(client);
    return client;
  }

  /**
   * Connects with the inbox listening before the CONNACK, so the messages a session had queued (sent
   * right after it) are all seen; resolves with the client, the session-present flag and the inbox.
   */
  async connectWithInbox(
    url: string,
    opts: IClientOptions,
  ): Promise<{ client: MqttClient; sessionPresent: boolean; got: IPublishPacket[] }> {
    const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...opts });
    this.clients.push(client);
    const got: IPublishPacket[] = [];
    client.on('message', (_topic, _payload, packet) => got.push(packet));
    const sessionPresent = await new Promise<boolean>((resolve, reject) => {
      client.once('connect', (ack) => resolve(ack.sessionPresent));
      client.once('error', reject);
    });
    return { client, sessionPresent, got };
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.clients.splice(0).map((c) => c.endAsync(true)));
  }
}

export interface Received {
  topic: string;
  payload: Buffer;
  packet: IPublishPacket;
}

/**
 * Resolves with the next message on a topic matching `match` (an exact topic or a predicate) whose
 * payload passes `accept`.
 */
export function nextMessage(
  client: MqttClient,
  match: string | ((topic: string) => boolean),
  accept: (payload: Buffer) => boolean = () => true,
): Promise<Received> {
  const accepts = typeof match === 'string' ? (t: string) => t === match : match;
  return new Promise((resolve) => {
    const onMessage = (topic: string, payload: Buffer, packet: IPublishPacket): void => {
      if (!accepts(topic) || !accept(payload)) return;
      client.removeListener('message', onMessage);
      resolve({ topic, payload, packet });
    };
    client.on('message', onMessage);
  });
}

/** Resolves when the client's connection closes. */
export function closed(client: MqttClient): Promise<void> {
  return new Promise((resolve) => client.once('close', () => resolve()));
}
