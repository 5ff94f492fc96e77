/**
 * A rule engine on a virtual clock with in-memory ports, for the tests of the rules context.
 */
import {
  DeviceBook,
  deviceEntry,
  EdgehubErrors,
  MemoryLogger,
  VirtualClock,
  type Actuators,
  type CommandResult,
  type DeviceAvailability,
  type MqttMessage,
  type OutgoingMessage,
  type Publisher,
} from '../../kernel/index.js';
import {
  compileRuleFiles,
  RuleEngine,
  type RuleEngineDeps,
  type RuleLoadOptions,
  type RuleRun,
  type RuleSet,
} from '../../rules/index.js';

/** 2023-11-14T22:13:20Z, a Tuesday. */
export const T0 = 1_700_000_000_000;

export function ruleSet(text: string, options: RuleLoadOptions = {}): RuleSet {
  const result = compileRuleFiles([{ file: 'r.yaml', text }], options);
  if (!result.ok) throw new EdgehubErrors('RULE_INVALID', result.errors);
  return result.set;
}

/** Collects what rules publish; topics listed in `failOn` reject like a broker that refused them. */
export class FakePublisher implements Publisher {
  readonly sent: { topic: string; payload: string; qos: number; retain: boolean }[] = [];
  constructor(private readonly failOn: readonly string[] = []) {}

  publish(message: OutgoingMessage): Promise<void> {
    try {
      this.publishNow(message);
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /** Like the hub's broker, which accepts or refuses a message at once. */
  publishNow(message: OutgoingMessage): void {
    if (this.failOn.includes(message.topic)) throw new Error(`broker refused ${message.topic}`);
    this.sent.push({
      topic: message.topic,
      payload: message.payload.toString(),
      qos: message.qos ?? 0,
      retain: message.retain ?? false,
    });
  }

  topics(): string[] {
    return this.sent.map((m) => m.topic);
  }

  /** Published messages other than the engine's own alert topics. */
  ruleTopics(): string[] {
    return this.topics().filter((t) => !t.startsWith('edgehub/alerts/'));
  }
}

/** A device book that the rig reports to the engine itself, as the hub's registry does on the bus. */
export class FakeDevices extends DeviceBook {
  constructor() {
    super({ newEntry: deviceEntry });
  }

  /** Sets a value as the device reported it, without changing its status; returns the previous one. */
  set(id: string, metric: string, value: unknown, at: number): unknown {
    const previous = this.record(id, metric, value, at);
    this.entry(id).lastSeen = at;
    return previous;
  }

  /** Sets a status; returns the previous one. */
  override setStatus(id: string, status: DeviceAvailability, at = 0): DeviceAvailability {
    return super.setStatus(id, status, at);
  }
}

/** Records commands; devices listed in `refuse` say no. */
export class FakeActuators implements Actuators {
  readonly commands: { device: string; set: Record<string, unknown>; origin: string }[] = [];
  constructor(private readonly refuse: readonly string[] = []) {}

  command(deviceId: string, set: Readonly<Record<string, unknown>>, origin: string): Promise<CommandResult> {
    if (this.refuse.includes(deviceId))
      return Promise.resolve({ accepted: false, reason: 'outside the safety envelope' });
    this.commands.push({ device: deviceId, set: { ...set }, origin });
    return Promise.resolve({ accepted: true });
  }
}

export type RigOptions = Partial<Omit<RuleEngineDeps, 'clock' | 'publisher' | 'logger'>> & {
  start?: number;
  clock?: VirtualClock;
  failOn?: string[];
  load?: RuleLoadOptions;
};

/** An engine, a virtual clock, a fake registry and publisher, and what came out. */
export class EngineRig {
  readonly clock: VirtualClock;
  readonly publisher: FakePublisher;
  readonly logger = new MemoryLogger();
  readonly devices: FakeDevices;
  readonly runs: RuleRun[] = [];
  readonly events: { name: string; data: unknown }[] = [];
  readonly engine: RuleEngine;

  constructor(text: string | null, options: RigOptions = {}) {
    this.clock = options.clock ?? new VirtualClock(options.start ?? T0);
    this.publisher = new FakePublisher(options.failOn);
    this.devices = (options.devices as FakeDevices | undefined) ?? new FakeDevices();
    const { start: _start, clock: _clock, failOn: _failOn, load: _load, ...deps } = options;
    this.engine = new RuleEngine({
      timezone: 'UTC',
      ...deps,
      devices: this.devices,
      clock: this.clock,
      publisher: this.publisher,
      logger: this.logger,
      onRun: (run) => this.runs.push(run),
      onEvent: (name, data) => this.events.push({ name, data }),
    });
    if (text !== null) this.engine.load(ruleSet(text, options.load));
  }

  async send(topic: string, payload: string | object | number): Promise<void> {
    const text = typeof payload === 'string' ? payload : JSON.stringify(payload);
    const message: MqttMessage = {
      topic,
      payload: Buffer.from(text),
      qos: 0,
      retain: false,
      clientId: 'sensor',
      receivedAt: this.clock.now(),
    };
    this.engine.handle(message);
    await this.engine.whenIdle();
  }

  /** A reading through the fake registry, as the hub's registry reports it. */
  async reading(deviceId: string, metric: string, value: unknown): Promise<void> {
    const at = this.clock.now();
    const previous = this.devices.set(deviceId, metric, value, at);
    this.engine.handleReading({ deviceId, metric, value, previous, at });
    await this.engine.whenIdle();
  }

  async readings(
    deviceId: string,
    metric: string,
    values: readonly unknown[],
    everyMs = 1000,
  ): Promise<void> {
    for (const v of values) {
      await this.reading(deviceId, metric, v);
      await this.advance(everyMs);
    }
  }

  async status(deviceId: string, status: DeviceAvailability): Promise<void> {
    const previous = this.devices.setStatus(deviceId, status);
    this.engine.handleStatus({ deviceId, status, previous, at: this.clock.now() });
    await this.engine.whenIdle();
  }

  async event(name: string, data: unknown = null): Promise<void> {
    this.engine.handleEvent(name, data);
    await this.engine.whenIdle();
  }

  /**
   * Moves the clock in steps of at most `stepMs`, letting resumed runs go on after each. A run may
   * itself wait on the clock (an http retry), so this settles without insisting on idle.
   */
  async advance(ms: number, stepMs = ms): Promise<void> {
    const target = this.clock.now() + ms;
    while (this.clock.now() < target) {
      this.clock.advanceTo(Math.min(target, this.clock.now() + Math.max(1, stepMs)));
      await this.settle();
    }
    this.clock.advance(0);
    await this.settle();
  }

  /** Lets promises and I/O callbacks run: until the engine is idle, or a few event-loop turns. */
  async settle(): Promise<void> {
    let turns = 0;
    const turnsPassed = async (): Promise<void> => {
      while (turns++ < 10) await new Promise<void>((resolve) => setImmediate(resolve));
    };
    await Promise.race([this.engine.whenIdle(), turnsPassed()]);
  }

  /** `[ruleId, outcome, reason]` of every recorded run. */
  outcomes(): [string, string, string | null][] {
    return this.runs.map((r) => [r.ruleId, r.outcome, r.reason]);
  }

  fired(ruleId?: string): RuleRun[] {
    return this.runs.filter((r) => r.outcome === 'fired' && (ruleId === undefined || r.ruleId === ruleId));
  }

  logs(level?: string): string[] {
    return this.logger.entries.filter((e) => level === undefined || e.level === level).map((e) => e.msg);
  }
}
