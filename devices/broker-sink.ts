import { errorMessage, type Logger, type Publisher } from '../kernel/index.js';
import type { ActuatorState, AdapterSink } from './adapter.js';
import { TOPICS } from '../kernel/index.js';

/**
 * The hub's {@link AdapterSink}: what serial and Firmata devices say is published on the embedded
 * broker under edgehub's topic convention, so the store, the registry and the rules see it exactly as
 * they see an MQTT device.
 */
export class BrokerSink implements AdapterSink {
  constructor(private readonly deps: { publisher: Publisher; logger: Logger }) {}

  reading(deviceId: string, metric: string, value: number | boolean | string, at: number): void {
    this.send(TOPICS.reading(deviceId, metric), JSON.stringify({ value, at }), false);
  }

  state(deviceId: string, actuator: string, state: ActuatorState, _at: number): void {
    this.send(TOPICS.state(deviceId, actuator), JSON.stringify(state), true);
  }

  status(deviceId: string, status: 'online' | 'offline', _at: number): void {
    this.send(TOPICS.availability(deviceId), status, true);
  }

  private send(topic: string, payload: string, retain: boolean): void {
    this.deps.publisher.publish({ topic, payload, qos: 0, retain }).catch((err: unknown) => {
      this.deps.logger.warn('adapter report not published', { topic, error: errorMessage(err) });
    });
  }
}
