import { connect, type Socket } from 'node:net';
import { generate, parser, type IConnectPacket, type Packet } from 'mqtt-packet';

type Cmd = Packet['cmd'];
type PacketOf<C extends Cmd> = Extract<Packet, { cmd: C }>;

/**
 * An MQTT client built from mqtt-packet alone, for what mqtt.js will not do on purpose: withhold
 * acknowledgements, fall silent, send malformed or forbidden packets, read every packet verbatim.
 */
export class RawClient {
  /** Every packet received, in order. */
  readonly received: Packet[] = [];
  /** Resolves when the connection closes. */
  readonly closed: Promise<void>;
  private readonly waiters: { match: (p: Packet) => boolean; resolve: (p: Packet) => void }[] = [];
  private isClosed = false;

  private constructor(
    private readonly socket: Socket,
    private readonly version: 3 | 4 | 5,
  ) {
    const p = parser({ protocolVersion: version });
    p.on('packet', (packet: Packet) => this.onPacket(packet));
    p.on('error', () => socket.destroy());
    socket.on('data', (chunk: Buffer) => p.parse(chunk));
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.isClosed = true;
        resolve();
      }),
    );
  }

  /** Opens a TCP connection without sending anything. */
  static open(port: number, version: 3 | 4 | 5): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => resolve(new RawClient(socket, version)));
      socket.once('error', reject);
    });
  }

  /** Opens a connection, sends CONNECT and resolves with the CONNACK. */
  static async connect(
    port: number,
    connect: Partial<IConnectPacket> & { protocolVersion: 3 | 4 | 5 },
  ): Promise<{ client: RawClient; connack: PacketOf<'connack'> }> {
    const client = await RawClient.open(port, connect.protocolVersion);
    const connack = client.next('connack');
    try {
      client.send({
        cmd: 'connect',
        protocolId: connect.protocolVersion === 3 ? 'MQIsdp' : 'MQTT',
        clientId: '',
        clean: true,
        keepalive: 0,
        ...connect,
      });
    } catch (err) {
      // A CONNECT mqtt-packet will not encode must not leave a half-open socket holding the broker up.
      client.destroy();
      throw err;
    }
    return { client, connack: await connack };
  }

  get isOpen(): boolean {
    return !this.isClosed;
  }

  send(packet: Packet): void {
    this.socket.write(generate(packet, { protocolVersion: this.version }));
  }

  sendBytes(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** The next packet of kind `cmd` (one already received and not yet taken counts). */
  next<C extends Cmd>(cmd: C, match: (p: PacketOf<C>) => boolean = () => true): Promise<PacketOf<C>> {
    const test = (p: Packet): boolean => p.cmd === cmd && match(p as PacketOf<C>);
    const index = this.received.findIndex(test);
    if (index >= 0) {
      const [found] = this.received.splice(index, 1);
      return Promise.resolve(found as PacketOf<C>);
    }
    return new Promise((resolve) =>
      this.waiters.push({ match: test, resolve: (p) => resolve(p as PacketOf<C>) }),
    );
  }

  /** Packets of kind `cmd` received so far and not taken. */
  pending<C extends Cmd>(cmd: C): PacketOf<C>[] {
    return this.received.filter((p): p is PacketOf<C> => p.cmd === cmd);
  }

  /** Subscribes and resolves with the SUBACK. */
  subscribe(
    subscriptions: { topic: string; qos: 0 | 1 | 2 }[],
    messageId: number,
    properties?: { subscriptionIdentifier?: number },
  ): Promise<PacketOf<'suback'>> {
    const suback = this.next('suback', (p) => p.messageId === messageId);
    this.send({ cmd: 'subscribe', messageId, subscriptions, ...(properties ? { properties } : {}) });
    return suback;
  }

  /** Closes the socket without DISCONNECT, as a device losing power would. */
  destroy(): void {
    this.socket.destroy();
  }

  /** Sends DISCONNECT and waits for the close. */
  async disconnect(): Promise<void> {
    if (this.isClosed) return;
    this.send({ cmd: 'disconnect' });
    this.socket.end();
    await this.closed;
  }

  private onPacket(packet: Packet): void {
    const index = this.waiters.findIndex((w) => w.match(packet));
    if (index < 0) {
      this.received.push(packet);
      return;
    }
    const [waiter] = this.waiters.splice(index, 1);
    waiter?.resolve(packet);
  }
}
