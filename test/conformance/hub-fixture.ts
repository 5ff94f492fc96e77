import type { MqttClient } from 'mqtt';
import { expect } from 'vitest';
import { Hub, loadConfig, type HubConfig } from '../../hub/index.js';
import { MemoryLogger } from '../../kernel/index.js';
import { nextMessage, type ClientPool } from '../support/mqtt-client.js';
import { TempDirs, writeFiles } from '../support/temp.js';

/** The rule every fixture hub runs, so a test can prove the whole pipeline still works. */
export const FAN_RULE = `rules:
  - id: fan-on-when-hot
    when:
      mqtt: sensors/+device/temperature
    if: payload.value > 30
    then:
      - publish:
          topic: actuators/{{ device }}/fan
          payload: { on: true, seq: "{{ payload.seq }}" }
    else:
      - publish:
          topic: actuators/{{ device }}/fan
          payload: { on: false, seq: "{{ payload.seq }}" }
`;

export interface HubFixtureOptions {
  /** `mqtt.max_keepalive`, seconds. */
  maxKeepalive?: number;
  /** `mqtt.max_packet_bytes`. */
  maxPacketBytes?: number;
}

/**
 * A whole hub (broker with its default persistence, store, rules) on port 0 in temporary
 * directories, as the conformance and hostile-input tests run it.
 */
export class HubFixture {
  private seq = 0;

  private constructor(
    readonly hub: Hub,
    readonly logger: MemoryLogger,
    readonly rulesDir: string,
    private readonly temp: TempDirs,
  ) {}

  static async start(options: HubFixtureOptions = {}): Promise<HubFixture> {
    const temp = new TempDirs();
    const dataDir = temp.make('edgehub-conf-data-');
    const rulesDir = temp.make('edgehub-conf-rules-');
    writeFiles(rulesDir, { 'fan.yaml': FAN_RULE });
    const loaded = loadConfig(undefined, { mqttPort: 0, wsPort: null, dataDir, rulesDir, demo: false });
    const config: HubConfig = {
      ...loaded,
      mqtt: {
        ...loaded.mqtt,
        ...(options.maxKeepalive !== undefined && { max_keepalive: options.maxKeepalive }),
        ...(options.maxPacketBytes !== undefined && { max_packet_bytes: options.maxPacketBytes }),
      },
    };
    const logger = new MemoryLogger();
    const hub = new Hub({ config, logger });
    await hub.start();
    return new HubFixture(hub, logger, rulesDir, temp);
  }

  get port(): number {
    return this.hub.broker.mqttAddress?.port ?? 0;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    await this.hub.stop();
    this.temp.cleanup();
  }

  /** Resolves once the broker has handed a message on `topic` to every consumer. */
  saw(topic: string): Promise<void> {
    return new Promise((resolve) => {
      const owner = {};
      this.hub.broker.onMessage(owner, (m) => {
        if (m.topic !== topic) return;
        this.hub.broker.offOwner(owner);
        resolve();
      });
    });
  }

  /**
   * Proves the hub still serves: a fresh client's reading goes through the rule to the fan, and
   * both events land in the store.
   */
  async assertServing(pool: ClientPool): Promise<void> {
    const device = `alive-${++this.seq}`;
    const fan: MqttClient = await pool.connect(this.url, { protocolVersion: 5 });
    await fan.subscribeAsync(`actuators/${device}/fan`, { qos: 1 });
    const sensor = await pool.connect(this.url, { protocolVersion: 4 });
    const command = nextMessage(fan, `actuators/${device}/fan`);
    const stored = this.saw(`actuators/${device}/fan`);
    await sensor.publishAsync(`sensors/${device}/temperature`, JSON.stringify({ value: 35, seq: 1 }), {
      qos: 1,
    });
    expect(JSON.parse((await command).payload.toString())).toEqual({ on: true, seq: 1 });
    await stored;
    this.hub.store?.flush();
    const topics = (this.hub.store?.query({ device, order: 'asc' }) ?? []).map((e) => e.topic);
    expect(topics).toEqual([`sensors/${device}/temperature`, `actuators/${device}/fan`]);
  }
}
