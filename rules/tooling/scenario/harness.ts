import {
  decodePayload,
  VirtualClock,
  type Actuators,
  type Clock,
  type CommandResult,
  type Logger,
  type MqttMessage,
  type OutgoingMessage,
  type Publisher,
  type QoS,
  type TimerHandle,
} from '../../../kernel/index.js';
import type { Forwarder, Notification, Notifier } from '../../engine/actions.js';
import { RuleEngine } from '../../engine/engine.js';
import type { RuleSet } from '../../language/rule.js';
import type { RuleRun } from '../../engine/rule-run.js';
import { MemoryDevices } from './memory-devices.js';

/**
 * The rule engine the hub runs, wired to a virtual clock and to in-memory stand-ins for the broker,
 * the device registry, the actuators and the connectors, so scenarios (`edgehub test`) and back-tests run hours of
 * rule time in milliseconds and see exactly what the rules did.
 */

/**
 * A virtual clock that knows when its next timer is due, so time can advance one timer at a time.
 * Moving past a stretch without timers costs nothing, which keeps back-tests of a million events fast.
 */
export class SteppingClock implements Clock {
  readonly virtual: VirtualClock;
  private readonly pending = new Set<TimerHandle>();
  /** Epoch ms reached by {@link skipTo}, which does not touch the virtual clock's timer list. */
  private current: number;
  /** The soonest pending timer's due time; null when it has to be worked out again. */
  private soonest: number | undefined | null = undefined;

  constructor(startMs: number) {
    this.virtual = new VirtualClock(startMs);
    this.current = startMs;
  }

  now(): number {
    const v = this.virtual.now();
    return v > this.current ? v : this.current;
  }

  setTimer(name: string, delayMs: number, fn: () => void): TimerHandle {
    // Due `delayMs` after now, whichever of the two clocks is ahead.
    const delay = Math.max(0, delayMs) + (this.now() - this.virtual.now());
    const handle: TimerHandle = this.virtual.setTimer(name, delay, () => {
      this.pending.delete(handle);
      if (this.soonest === handle.dueAt) this.soonest = null;
      fn();
    });
    this.pending.add(handle);
    if (this.soonest !== null && (this.soonest === undefined || handle.dueAt < this.soonest)) {
      this.soonest = handle.dueAt;
    }
    return handle;
  }

  clearTimer(handle: TimerHandle | undefined): void {
    if (!handle) return;
    if (this.pending.delete(handle) && this.soonest === handle.dueAt) this.soonest = null;
    this.virtual.clearTimer(handle);
  }

  /** Epoch ms of the soonest pending timer; undefined when none is pending. */
  nextDue(): number | undefined {
    if (this.soonest === null) {
      let soonest: number | undefined;
      for (const t of this.pending) if (soonest === undefined || t.dueAt < soonest) soonest = t.dueAt;
      this.soonest = soonest;
    }
    return this.soonest;
  }

  /** Moves to `target` when no timer is due by then (returns false otherwise, and does nothing). */
  skipTo(target: number): boolean {
    const due = this.nextDue();
    if (due !== undefined && due <= target) return false;
    if (target > this.current) this.current = target;
    return true;
  }

  /** Moves to `target`, firing every timer due by then in order. */
  advanceTo(target: number): void {
    this.virtual.advanceTo(Math.max(target, this.now()));
    if (target > this.current) this.current = target;
  }
}

export interface RecordedPublish {
  /** Epoch ms on the virtual clock. */
  readonly at: number;
  readonly topic: string;
  /** Decoded like every consumer decodes it: JSON, else text. */
  readonly payload: unknown;
  readonly qos: QoS;
  readonly retain: boolean;
}

export interface RecordedCommand {
  readonly at: number;
  readonly device: string;
  readonly set: Readonly<Record<string, unknown>>;
  /** Who asked: the rule id. */
  readonly origin: string;
}

export interface RecordedAlert {
  readonly at: number;
  readonly key: string;
  readonly severity: string | null;
  readonly ruleId: string;
  readonly cleared: boolean;
}

/** A message a rule's `forward:` handed to a connector; no connector is called. */
export interface RecordedForward {
  readonly at: number;
  /** The connector id. */
  readonly to: string;
  readonly destination: string;
  readonly key: string | null;
  /** Decoded like a publish's: JSON, else text. */
  readonly payload: unknown;
}

/** A notification a rule's `notify:` handed to a notifier; nothing is sent. */
export interface RecordedNotification extends Notification {
  readonly at: number;
  /** The notifier name. */
  readonly via: string;
}

export interface RuleHarnessOptions {
  /** Epoch ms the virtual clock starts at. */
  startMs: number;
  logger: Logger;
  /** Told about every finished run. */
  onRun?: (run: RuleRun) => void;
  /** Keep every publish, command, forward and alert (scenarios); back-tests only count them. Default true. */
  record?: boolean;
  /** IANA time zone for schedules and time windows; default UTC. */
  timezone?: string;
  /** Degrees, for `sun:` schedules. */
  location?: { latitude: number; longitude: number } | null;
  /**
   * Messages the rules may publish in reaction to one input before the harness calls it a runaway
   * loop and stops feeding them back; the hub's run-time loop breaker normally stops loops first.
   */
  maxChain?: number;
}

const DEFAULT_MAX_CHAIN = 10_000;

/** The engine, a virtual clock and in-memory broker, registry and actuators, as one test rig. */
export class RuleHarness {
  readonly clock: SteppingClock;
  readonly engine: RuleEngine;
  readonly devices: MemoryDevices;
  readonly publishes: RecordedPublish[] = [];
  readonly commands: RecordedCommand[] = [];
  readonly alerts: RecordedAlert[] = [];
  readonly forwards: RecordedForward[] = [];
  readonly notifications: RecordedNotification[] = [];
  /** Set when the rules kept publishing to themselves beyond `maxChain` within one input. */
  runaway = false;
  private readonly queue: MqttMessage[] = [];
  private chained = 0;

  constructor(
    set: RuleSet,
    private readonly options: RuleHarnessOptions,
  ) {
    this.clock = new SteppingClock(options.startMs);
    const record = options.record ?? true;
    this.devices = new MemoryDevices({
      // The registry's `device.reading` and `device.status`, as the hub feeds them to the engine.
      onReading: (r) => this.engine.handleReading(r),
      onStatus: (s) => this.engine.handleStatus(s),
    });
    // Like the hub's broker: a QoS 0 message that is not retained is accepted at once (publishNow),
    // so a run that only publishes such messages ends within the input that started it.
    const publisher: Publisher = {
      publish: (m) => {
        this.published(m, record);
        return Promise.resolve();
      },
      publishNow: (m) => this.published(m, record),
    };
    const actuators: Actuators = {
      command: (device, set, origin): Promise<CommandResult> => {
        if (record) this.commands.push({ at: this.clock.now(), device, set: { ...set }, origin });
        return Promise.resolve({ accepted: true });
      },
    };
    // Every connector id is accepted: a scenario or a back-test shows what would leave, and sends nothing.
    const forwarder: Forwarder = {
      forward: (to, message) => {
        if (record) {
          this.forwards.push({
            at: this.clock.now(),
            to,
            destination: message.destination,
            key: message.key,
            payload: decodePayload(message.payload),
          });
        }
        return Promise.resolve();
      },
    };
    // Every notifier name is accepted, as connectors are: nothing reaches a person from a scenario.
    const notifier: Notifier = {
      notify: (via, notification) => {
        if (record) this.notifications.push({ at: this.clock.now(), via, ...notification });
        return Promise.resolve({ id: this.notifications.length, outcome: 'queued' as const });
      },
    };
    const deps = {
      clock: this.clock,
      publisher,
      logger: options.logger,
      devices: this.devices,
      actuators,
      forwarder,
      notifier,
      // Schedules and time windows in a fixed zone, so a scenario passes on every machine.
      timezone: options.timezone ?? 'UTC',
      location: options.location ?? null,
      ...(options.onRun && { onRun: options.onRun }),
      onEvent: (name: string, data: unknown) => {
        if (record) this.collectAlert(name, data);
      },
    };
    this.engine = new RuleEngine(deps);
    this.engine.load(set);
  }

  /** A message arrives from outside (a device, a client): the registry and the rules see it. */
  inject(message: {
    topic: string;
    payload: Buffer | string;
    retain?: boolean;
    qos?: QoS;
    clientId?: string | null;
  }): void {
    this.deliverInput({
      topic: message.topic,
      payload: typeof message.payload === 'string' ? Buffer.from(message.payload) : message.payload,
      qos: message.qos ?? 0,
      retain: message.retain ?? false,
      clientId: message.clientId === undefined ? 'scenario' : message.clientId,
      receivedAt: this.clock.now(),
    });
  }

  /**
   * {@link inject} for a message that is already whole (a back-test hands the same object to two
   * harnesses, so its payload is decoded once for both).
   */
  deliverInput(message: MqttMessage): void {
    this.chained = 0;
    this.deliver(message);
  }

  /** An event posted as to `POST /api/events/<name>`: the rules' `event:` triggers see it. */
  postEvent(name: string, data: unknown): void {
    this.engine.handleEvent(name, data);
  }

  /**
   * {@link settle} without a promise while nothing the rules started is pending (the common case:
   * runs that publish at once); false when something is, and `settle()` must be awaited.
   */
  settleNow(): boolean {
    while (this.engine.idle) {
      if (this.queue.length === 0) return true;
      for (const message of this.queue.splice(0)) this.deliver(message);
    }
    return false;
  }

  /** Runs everything the last inputs started, feeding what rules publish back in, until quiet. */
  async settle(): Promise<void> {
    while (!this.settleNow()) await this.engine.whenIdle();
  }

  /** Moves the clock to `target` (epoch ms) one due timer at a time, settling after each. */
  async advanceTo(target: number): Promise<void> {
    // What the last inputs started runs at the time they came in, not after the clock moved on.
    await this.settle();
    for (;;) {
      const due = this.clock.nextDue();
      if (due === undefined || due > target) break;
      this.clock.advanceTo(due);
      await this.settle();
    }
    this.clock.advanceTo(target);
    await this.settle();
  }

  /**
   * {@link advanceTo} without a promise when no timer falls due on the way (the common case
   * between two recorded events); otherwise the promise to await.
   */
  moveTo(target: number): Promise<void> | undefined {
    return this.clock.skipTo(target) ? undefined : this.advanceTo(target);
  }

  private deliver(message: MqttMessage): void {
    // Decoded once per message and cached, so the engine does not parse the payload again.
    this.devices.observe(message);
    this.engine.handle(message);
  }

  private published(m: OutgoingMessage, record: boolean): void {
    const payload = typeof m.payload === 'string' ? Buffer.from(m.payload) : m.payload;
    const at = this.clock.now();
    if (record) {
      this.publishes.push({
        at,
        topic: m.topic,
        payload: decodePayload(payload),
        qos: m.qos ?? 0,
        retain: m.retain ?? false,
      });
    }
    // Like the broker, a rule's message reaches every consumer, the rules included.
    if (this.chained++ < (this.options.maxChain ?? DEFAULT_MAX_CHAIN)) {
      this.queue.push({
        topic: m.topic,
        payload,
        qos: m.qos ?? 0,
        retain: m.retain ?? false,
        clientId: null,
        receivedAt: at,
      });
    } else {
      this.runaway = true;
    }
  }

  /** Alerts as the engine announces them (`alert.raised`, `alert.cleared`, with the alert record). */
  private collectAlert(name: string, data: unknown): void {
    if (name !== 'alert.raised' && name !== 'alert.cleared') return;
    const alert = (data ?? {}) as Record<string, unknown>;
    this.alerts.push({
      at: this.clock.now(),
      key: typeof alert.key === 'string' ? alert.key : '',
      severity: typeof alert.severity === 'string' ? alert.severity : null,
      ruleId: typeof alert.source === 'string' ? alert.source : '',
      cleared: name === 'alert.cleared',
    });
  }
}
