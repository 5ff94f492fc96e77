import { parseDuration, type Clock, type Logger, type TimerHandle } from '../kernel/index.js';
import type { DeviceCommandSet } from './adapter.js';
import { parseRate, resolveRef, type DeviceDefinition } from './definition.js';

/** Why the envelope (or the path around it) refused a command; each kind has its own counter. */
export type RefusalKind =
  | 'min_on'
  | 'min_off'
  | 'max_rate'
  | 'interlock'
  | 'fail_safe'
  | 'unknown_device'
  | 'unknown_actuator'
  | 'invalid'
  | 'adapter'
  /** The hub is still starting: the device adapters are not running yet. */
  | 'starting';

export type SafetyVerdict = { ok: true } | { ok: false; kind: RefusalKind; reason: string };

interface GuardedActuator {
  /** `device/actuator`. */
  readonly key: string;
  readonly deviceId: string;
  readonly name: string;
  /** Last known state: null until a command was sent or the device reported one. */
  on: boolean | null;
  /** Epoch ms of the last switching; null while unknown. */
  since: number | null;
  /** Epoch ms of the switchings still inside the rate window, oldest first. */
  switches: number[];
  readonly minOnMs: number;
  readonly minOffMs: number;
  readonly rate: { count: number; periodMs: number } | undefined;
  /** The state forced on stale inputs and on stop; null for actuators without a `safety:` section. */
  readonly failSafe: boolean | null;
  /** Keys (`device/metric`) of the sensors this actuator depends on. */
  readonly dependsOn: readonly string[];
  /** Keys of the actuators never on together with this one (both directions). */
  readonly interlock: Set<string>;
}

interface WatchedSensor {
  readonly key: string;
  readonly staleAfterMs: number;
  /** Epoch ms of the last reading, or of the envelope's start before the first. */
  lastAt: number;
  stale: boolean;
  timer: TimerHandle | undefined;
}

export interface SafetyEnvelopeDeps {
  clock: Clock;
  logger: Logger;
  devices: readonly DeviceDefinition[];
  /** Called when a watched sensor goes stale, with the actuators that must go to their fail-safe state. */
  onStale(sensorKey: string, actuatorKeys: readonly string[]): void;
}

/**
 * The rules every actuator command must pass, below the rules engine: minimum on and off times, a
 * maximum switching rate, interlocks, and the fail-safe state while an input it depends on is stale.
 * It keeps the state of every actuator as commanded (and as reported by the device), on the hub clock.
 */
export class SafetyEnvelope {
  private readonly actuators = new Map<string, GuardedActuator>();
  private readonly sensors = new Map<string, WatchedSensor>();
  private started = false;

  constructor(private readonly deps: SafetyEnvelopeDeps) {
    this.build(deps.devices);
  }

  /**
   * New definitions (a device reload). An actuator or watched sensor still defined keeps what the
   * envelope knows of it (its state, when it last switched, whether it is stale), so a reload opens
   * no way around a minimum time or a rate; new sensors count as fresh from now.
   */
  update(devices: readonly DeviceDefinition[]): void {
    const actuators = new Map(this.actuators);
    const sensors = new Map(this.sensors);
    for (const s of sensors.values()) this.deps.clock.clearTimer(s.timer);
    this.actuators.clear();
    this.sensors.clear();
    this.build(devices);
    for (const a of this.actuators.values()) {
      const was = actuators.get(a.key);
      if (!was) continue;
      a.on = was.on;
      a.since = was.since;
      a.switches = was.switches;
    }
    if (!this.started) return;
    const now = this.deps.clock.now();
    for (const s of this.sensors.values()) {
      const was = sensors.get(s.key);
      s.lastAt = was?.lastAt ?? now;
      s.stale = was?.stale ?? false;
      if (!s.stale) this.arm(s, Math.max(0, s.lastAt + s.staleAfterMs - now));
    }
  }

  private build(devices: readonly DeviceDefinition[]): void {
    for (const d of devices) {
      for (const a of d.actuators) {
        const s = a.safety;
        this.actuators.set(`${d.id}/${a.name}`, {
          key: `${d.id}/${a.name}`,
          deviceId: d.id,
          name: a.name,
          on: null,
          since: null,
          switches: [],
          minOnMs: s?.min_on === undefined ? 0 : parseDuration(s.min_on),
          minOffMs: s?.min_off === undefined ? 0 : parseDuration(s.min_off),
          rate: s?.max_rate === undefined ? undefined : parseRate(s.max_rate, parseDuration),
          failSafe: s === undefined ? null : s.fail_safe === 'on',
          dependsOn: (s?.depends_on ?? []).map((r) => keyOf(resolveRef(d.id, r))),
          interlock: new Set((s?.interlock ?? []).map((r) => keyOf(resolveRef(d.id, r)))),
        });
      }
    }
    // Interlocks hold both ways, whichever side declared them.
    for (const a of this.actuators.values()) {
      for (const other of a.interlock) this.actuators.get(other)?.interlock.add(a.key);
    }
    for (const a of this.actuators.values()) {
      for (const key of a.dependsOn) {
        if (this.sensors.has(key)) continue;
        const staleAfterMs = staleAfterOf(devices, key);
        if (staleAfterMs === undefined) continue;
        this.sensors.set(key, { key, staleAfterMs, lastAt: 0, stale: false, timer: undefined });
      }
    }
  }

  /** Starts the staleness watch: a sensor that never reports goes stale `stale_after` after this. */
  start(): void {
    if (this.started) return;
    this.started = true;
    const now = this.deps.clock.now();
    for (const s of this.sensors.values()) {
      s.lastAt = now;
      this.arm(s, s.staleAfterMs);
    }
  }

  stop(): void {
    this.started = false;
    for (const s of this.sensors.values()) {
      this.deps.clock.clearTimer(s.timer);
      s.timer = undefined;
    }
  }

  /** Whether `set` may be sent to `deviceId` now; the first actuator that breaks a rule names the refusal. */
  check(deviceId: string, set: DeviceCommandSet): SafetyVerdict {
    const now = this.deps.clock.now();
    for (const [name, command] of Object.entries(set)) {
      const a = this.actuators.get(`${deviceId}/${name}`);
      if (!a) return { ok: false, kind: 'unknown_actuator', reason: `${deviceId} has no actuator ${name}` };
      const staleInput = a.dependsOn.find((k) => this.sensors.get(k)?.stale === true);
      if (staleInput !== undefined && a.failSafe !== null && command.on !== a.failSafe) {
        return {
          ok: false,
          kind: 'fail_safe',
          reason: `${a.key} is held ${a.failSafe ? 'on' : 'off'}: its input ${staleInput} is stale`,
        };
      }
      if (command.on) {
        for (const other of a.interlock) {
          const otherCommand = otherDevice(other) === deviceId ? set[otherName(other)] : undefined;
          const otherOn = otherCommand ? otherCommand.on : this.actuators.get(other)?.on === true;
          if (otherOn)
            return {
              ok: false,
              kind: 'interlock',
              reason: `${a.key} is interlocked with ${other}, which is on`,
            };
        }
      }
      if (a.on === command.on) continue;
      if (a.on !== null && a.since !== null) {
        const held = now - a.since;
        if (a.on && held < a.minOnMs)
          return {
            ok: false,
            kind: 'min_on',
            reason: `${a.key} must stay on ${a.minOnMs - held} ms more (min_on)`,
          };
        if (!a.on && held < a.minOffMs)
          return {
            ok: false,
            kind: 'min_off',
            reason: `${a.key} must stay off ${a.minOffMs - held} ms more (min_off)`,
          };
      }
      if (a.rate) {
        prune(a, now);
        if (a.switches.length >= a.rate.count)
          return {
            ok: false,
            kind: 'max_rate',
            reason: `${a.key} switched ${a.switches.length} times within ${a.rate.periodMs} ms (max_rate)`,
          };
      }
    }
    return { ok: true };
  }

  /** Records a command that was sent: switchings start the minimum times and count toward the rate. */
  commit(deviceId: string, set: DeviceCommandSet): void {
    for (const [name, command] of Object.entries(set)) {
      const a = this.actuators.get(`${deviceId}/${name}`);
      if (a) this.switchTo(a, command.on, this.deps.clock.now());
    }
  }

  /** The device reported an actuator's state: a local switching (a wall button) counts like a command. */
  observeState(deviceId: string, name: string, on: boolean, at: number): void {
    const a = this.actuators.get(`${deviceId}/${name}`);
    if (a && a.on !== on) this.switchTo(a, on, at);
  }

  /** A reading arrived: its sensor is fresh again. */
  observeReading(deviceId: string, metric: string, at: number): void {
    const s = this.sensors.get(`${deviceId}/${metric}`);
    if (!s) return;
    s.lastAt = at;
    if (s.stale) {
      s.stale = false;
      this.deps.logger.info(`input ${s.key} is fresh again; its actuators take commands again`);
    }
    if (!s.timer && this.started) this.arm(s, s.staleAfterMs);
  }

  /** Actuators that have a fail-safe state, with it. */
  failSafeStates(): { deviceId: string; name: string; on: boolean }[] {
    return [...this.actuators.values()].flatMap((a) =>
      a.failSafe === null ? [] : [{ deviceId: a.deviceId, name: a.name, on: a.failSafe }],
    );
  }

  /** Whether switching `key` on now would break an interlock (fail-safe `on` must not either). */
  interlockedOn(key: string): string | undefined {
    const a = this.actuators.get(key);
    return a ? [...a.interlock].find((k) => this.actuators.get(k)?.on === true) : undefined;
  }

  isStale(sensorKey: string): boolean {
    return this.sensors.get(sensorKey)?.stale === true;
  }

  private switchTo(a: GuardedActuator, on: boolean, at: number): void {
    if (a.on === on) return;
    a.on = on;
    a.since = at;
    a.switches.push(at);
    prune(a, at);
  }

  /**
   * One timer per sensor, not re-armed on every reading (a hot path): when it fires early because
   * newer readings came, it re-arms itself for the remaining time.
   */
  private arm(s: WatchedSensor, delayMs: number): void {
    s.timer = this.deps.clock.setTimer(`safety:stale:${s.key}`, delayMs, () => {
      s.timer = undefined;
      const due = s.lastAt + s.staleAfterMs;
      const now = this.deps.clock.now();
      if (now < due) {
        this.arm(s, due - now);
        return;
      }
      if (s.stale) return;
      s.stale = true;
      const affected = [...this.actuators.values()]
        .filter((a) => a.dependsOn.includes(s.key))
        .map((a) => a.key);
      this.deps.logger.warn(`input ${s.key} is stale; forcing the fail-safe state`, { actuators: affected });
      this.deps.onStale(s.key, affected);
    });
  }
}

function keyOf(ref: { device: string; name: string }): string {
  return `${ref.device}/${ref.name}`;
}

function otherDevice(key: string): string {
  return key.slice(0, key.indexOf('/'));
}

function otherName(key: string): string {
  return key.slice(key.indexOf('/') + 1);
}

function prune(a: GuardedActuator, now: number): void {
  if (!a.rate) {
    a.switches.length = 0;
    return;
  }
  const from = now - a.rate.periodMs;
  while (a.switches.length > 0 && (a.switches[0] ?? 0) <= from) a.switches.shift();
}

/** A sensor's `stale_after`, else its device's, ms. */
function staleAfterOf(devices: readonly DeviceDefinition[], key: string): number | undefined {
  const device = devices.find((d) => d.id === otherDevice(key));
  const sensor = device?.sensors.find((s) => s.metric === otherName(key));
  const text = sensor?.stale_after ?? device?.stale_after;
  return text === undefined ? undefined : parseDuration(text);
}
