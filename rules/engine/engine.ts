import {
  decodeMessage,
  errorMessage,
  type Actuators,
  type Cause,
  type Clock,
  type DeviceDirectory,
  type Logger,
  type MqttMessage,
  type Publisher,
} from '../../kernel/index.js';
import type { Forwarder, Notifier } from './actions.js';
import { AlertBook } from './alert-book.js';
import { jsonEqual, toText } from '../language/expression/values.js';
import { createRuleSet, type Rule, type RuleSet, type Trigger } from '../language/rule.js';
import { HeldSinceTrackers, type ConditionEnv } from './conditions.js';
import {
  detectReading,
  detectStatus,
  type Detection,
  type TriggerInput,
  type TriggerKeyState,
} from './detect.js';
import { DEFAULT_HTTP, type FetchLike, type HttpSettings } from './http.js';
import { systemTimeZone } from '../language/local-time.js';
import { isPlain, TriggerPipeline } from './pipeline.js';
import { RuleRuntime, SLOT, type ParkedRun } from './rule-runtime.js';
import { RunBook, type RuleStats } from './run-book.js';
import { DEFAULT_LOOP_BREAKER, Runner, type LoopBreakerSettings } from './runner.js';
import type { HubPlace, Schedule } from '../language/schedule.js';
import {
  MemoryRuleStateStore,
  type AlertRecord,
  type RuleStateStore,
  type StoredState,
} from './state/rule-state-store.js';
import type { RuleRun, RuleTrace } from './rule-run.js';

export type { RuleStats };

export interface RuleEngineDeps {
  clock: Clock;
  publisher: Publisher;
  logger: Logger;
  /** Told about every finished run and near miss (fired, blocked or failed); a throwing listener is logged. */
  onRun?: (run: RuleRun) => void;
  /** Runs kept in memory per rule and outcome. */
  traceLimit?: number;
  /** The device registry: `device(ID)` in expressions, device conditions, re-checks of pending `for`. */
  devices?: DeviceDirectory;
  /** Device adapters for the `command` action; without them a command fails with a clear error. */
  actuators?: Actuators;
  /**
   * The hub's connectors for the `forward` action; without them (no connectors) a forward fails
   * its run with an error naming the connector.
   */
  forwarder?: Forwarder;
  /**
   * The hub's notifiers for the `notify` action; without them (none configured) a notify fails its
   * run with an error naming the notifier.
   */
  notifier?: Notifier;
  /** Durable timing state, variables and alerts; in memory when not given. */
  state?: RuleStateStore;
  /** For the `http` action; defaults to the global fetch. */
  fetch?: FetchLike;
  /** Defaults of the `http` action: timeout and backoff in ms, retries after a failure. */
  http?: Partial<Omit<HttpSettings, 'fetch'>>;
  /** IANA time zone for schedules and time windows; the machine's zone when not given. */
  timezone?: string;
  /** Degrees, for `sun:` schedules. */
  location?: { latitude: number; longitude: number } | null;
  /** Null turns the run-time loop breaker off. */
  loopBreaker?: LoopBreakerSettings | null;
  /**
   * Internal events the engine raises (`rule.suspended`, `alert.raised`, `alert.cleared`), for the
   * hub's bus and notifiers. The engine hands them to its own event triggers itself, so the hub
   * must not feed these names back through {@link RuleEngine.handleEvent}.
   */
  onEvent?: (name: string, data: unknown) => void;
}

/** A reading as the device registry reports it (bus event `device.reading`). */
export interface ReadingInput {
  readonly deviceId: string;
  readonly metric: string;
  readonly value: unknown;
  /** The value before this one; undefined for the first reading the registry saw. */
  readonly previous: unknown;
  readonly at: number;
}

/** An availability change as the registry reports it (bus event `device.status`). */
export interface StatusInput {
  readonly deviceId: string;
  readonly status: string;
  readonly previous: string;
  readonly at: number;
}

const FIRE: Detection = { fire: true, break: false, changed: false };
const BREAK: Detection = { fire: false, break: true, changed: false };
/** Schedule times `catch_up` steps through at most (a day of an `every: 10s` schedule). */
const MAX_CATCH_UP_STEPS = 10_000;

/** Without a time to fire (polar day for a sun schedule), look again this much later, ms. */
const SCHEDULE_RETRY_MS = 6 * 3_600_000;

/**
 * Runs rules against what the hub feeds it: MQTT messages, device readings and status changes,
 * events, and schedules on its clock. Dispatch goes through the rule set's indexes, so the cost of
 * an input depends on the rules it matches, not on how many are loaded. Timing state lives in a
 * {@link RuleStateStore} and resumes after a restart.
 */
export class RuleEngine {
  private set: RuleSet = createRuleSet([]);
  private runtimes = new Map<string, RuleRuntime>();
  /** Tracked promises not yet settled, and who waits for there to be none (`whenIdle`). */
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];
  private readonly store: RuleStateStore;
  private readonly book: RunBook;
  private readonly runner: Runner;
  private readonly pipeline: TriggerPipeline;
  private readonly trackers = new HeldSinceTrackers();
  private readonly place: HubPlace;
  readonly alerts: AlertBook;
  private restored = false;
  private stopped = false;

  constructor(private readonly deps: RuleEngineDeps) {
    this.store = deps.state ?? new MemoryRuleStateStore();
    this.place = hubPlace(deps.timezone, deps.location ?? null);
    this.book = new RunBook({ traceLimit: deps.traceLimit ?? 20, logger: deps.logger, onRun: deps.onRun });
    this.alerts = new AlertBook({
      clock: deps.clock,
      publisher: deps.publisher,
      logger: deps.logger,
      store: this.store,
      onEvent: (name, alert) => this.emit(name, alert),
    });
    const conditions: ConditionEnv = { devices: deps.devices, place: this.place, trackers: this.trackers };
    this.runner = new Runner({
      clock: deps.clock,
      logger: deps.logger,
      devices: deps.devices,
      conditions,
      alerts: this.alerts,
      loopBreaker: deps.loopBreaker === undefined ? DEFAULT_LOOP_BREAKER : deps.loopBreaker,
      book: this.book,
      feed: (rule, trigger) => this.set.feeds.get(rule)?.[trigger] ?? 'never',
      emit: (name, data) => this.emit(name, data),
      track: (p) => this.track(p),
      actions: {
        publisher: deps.publisher,
        logger: deps.logger,
        clock: deps.clock,
        actuators: deps.actuators,
        alerts: this.alerts,
        http: { ...DEFAULT_HTTP, ...deps.http, fetch: deps.fetch ?? defaultFetch },
        forwarder: deps.forwarder,
        notifier: deps.notifier,
      },
    });
    this.pipeline = new TriggerPipeline({
      clock: deps.clock,
      devices: deps.devices,
      fire: (rt, trigger, input) => this.runner.start(rt, trigger, input),
      throttled: (rt, trigger, input) => this.runner.throttled(rt, trigger, input),
    });
  }

  get ruleSet(): RuleSet {
    return this.set;
  }

  /**
   * Swaps in a new rule set at once. The first load also resumes what the state store kept from
   * before a restart. Rules whose definition is unchanged keep their timing state and runs; state
   * of changed or removed rules is dropped (variables stay while the rule id does).
   */
  load(set: RuleSet): void {
    if (this.stopped) {
      // Loading after a stop starts over from the store, like a new engine would.
      this.stopped = false;
      this.runtimes = new Map();
      this.restored = false;
    }
    this.alerts.load();
    const next = new Map<string, RuleRuntime>();
    const fresh: RuleRuntime[] = [];
    for (const rule of set.rules) {
      const old = this.runtimes.get(rule.id);
      if (old && old.rule.fingerprint === rule.fingerprint) {
        old.rule = rule;
        next.set(rule.id, old);
        continue;
      }
      const rt = new RuleRuntime(rule, {
        clock: this.deps.clock,
        store: this.store,
        logger: this.deps.logger,
      });
      if (old) {
        rt.vars = old.vars;
        this.dispose(old, { dropState: true, keepVars: true, reason: 'the rule changed' });
      }
      next.set(rule.id, rt);
      fresh.push(rt);
    }
    for (const [id, old] of this.runtimes) {
      if (!next.has(id))
        this.dispose(old, { dropState: true, keepVars: false, reason: 'the rule was removed' });
    }
    this.runtimes = next;
    this.set = set;
    this.book.retain(new Set(next.keys()));
    this.trackers.reset(set.rules);
    if (!this.restored) {
      this.restored = true;
      this.restore();
    }
    for (const rt of fresh) this.armSchedules(rt);
  }

  /** Feeds one message. Conditions are evaluated before this returns; actions continue in the background. */
  handle(message: MqttMessage): void {
    if (this.stopped) return;
    const set = this.set;
    const matches = set.mqtt.match(message.topic);
    if (matches.length === 0 && !this.runner.hasWaits()) return;
    const payload = decodeMessage(message).value;
    // The input record is made only when a run waits: nearly always none does.
    if (this.runner.hasWaits()) this.runner.offerToWaits({ kind: 'mqtt', topic: message.topic, payload });
    let lastRule: Rule | undefined;
    for (const match of matches) {
      const { rule, trigger } = match.value;
      // A message matching two triggers of one rule runs it once (matches come in rule order).
      if (rule === lastRule) continue;
      const rt = this.runtimes.get(rule.id);
      if (!rt) continue;
      const captures = match.captures;
      const first = trigger.filter.captures[0];
      const key = first ? (captures[first.name] ?? message.topic) : message.topic;
      const input = this.input(
        rt,
        trigger,
        key,
        message.topic,
        captures,
        payload,
        message.receivedAt,
        message.cause,
      );
      if (trigger.payload && !jsonEqual(payload, trigger.payload.value)) {
        if (trigger.forMs !== null) this.pipeline.accept(rt, trigger, input, BREAK);
        continue;
      }
      lastRule = rule;
      this.feed(rt, trigger, input);
    }
  }

  /** Feeds a reading from the device registry (`device.reading`). */
  handleReading(r: ReadingInput): void {
    if (this.stopped) return;
    this.trackers.onReading(r.deviceId, r.metric, r.value, r.at);
    // The input record is made only when a run waits: nearly always none does.
    if (this.runner.hasWaits()) this.runner.offerToWaits({ kind: 'reading', ...r });
    for (const { rule, trigger } of this.set.devices.match(r.deviceId)) {
      if (trigger.kind !== 'reading' || trigger.metric !== r.metric) continue;
      const rt = this.runtimes.get(rule.id);
      if (!rt) continue;
      const payload = {
        value: r.value,
        previous: r.previous ?? null,
        device: r.deviceId,
        metric: r.metric,
        at: r.at,
      };
      const input = this.input(
        rt,
        trigger,
        r.deviceId,
        '',
        { device: r.deviceId, metric: r.metric },
        payload,
        r.at,
      );
      const state: TriggerKeyState = rt.triggerState(trigger.index, input.key);
      this.pipeline.accept(rt, trigger, input, detectReading(trigger, state, r.value, r.previous));
    }
  }

  /** Feeds an availability change from the device registry (`device.status`). */
  handleStatus(c: StatusInput): void {
    if (this.stopped) return;
    this.runner.offerToWaits({ kind: 'status', deviceId: c.deviceId, status: c.status });
    for (const { rule, trigger } of this.set.devices.match(c.deviceId)) {
      if (trigger.kind !== 'status') continue;
      const rt = this.runtimes.get(rule.id);
      if (!rt) continue;
      const payload = { status: c.status, previous: c.previous, device: c.deviceId, at: c.at };
      const input = this.input(rt, trigger, c.deviceId, '', { device: c.deviceId }, payload, c.at);
      this.pipeline.accept(rt, trigger, input, detectStatus(trigger, c.status));
    }
  }

  /** Feeds an event: `hub.started`, or a name posted to the HTTP event endpoint, with its data. */
  handleEvent(name: string, data: unknown = null): void {
    if (this.stopped) return;
    this.runner.offerToWaits({ kind: 'event', name, data });
    for (const { rule, trigger } of this.set.events.get(name) ?? []) {
      const rt = this.runtimes.get(rule.id);
      if (!rt) continue;
      this.feed(rt, trigger, this.input(rt, trigger, name, '', {}, data, this.deps.clock.now()));
    }
  }

  /** Marks an alert as seen; null when there is no alert under `key`. */
  acknowledgeAlert(key: string): Promise<AlertRecord | null> {
    return this.alerts.acknowledge(key);
  }

  /** No tracked promise is pending: {@link whenIdle} would resolve at once. */
  get idle(): boolean {
    return this.inFlight === 0;
  }

  /**
   * Resolves once every run started so far (and any started meanwhile) has finished or parked on a
   * delay or wait. Runs waiting on the clock (a delay, an http retry) need the clock moved first.
   */
  whenIdle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  stats(): RuleStats[] {
    return this.set.rules.map((rule) => this.book.stats(rule.id, rule.enabled));
  }

  /** The last runs of a rule by outcome; undefined for a rule not in the loaded set. */
  trace(ruleId: string): RuleTrace | undefined {
    return this.set.get(ruleId) ? this.book.trace(ruleId) : undefined;
  }

  /**
   * Stops every timer and wait; idempotent. Stored state stays as it is, so a later engine over
   * the same store resumes pending `for`s, delays and waits. Running actions finish their current step.
   */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const rt of this.runtimes.values()) {
      for (const run of rt.activeRuns()) {
        run.cancelled ??= 'the hub stopped';
        run.parked?.cancel();
      }
      rt.dispose({ dropState: false, keepVars: true });
    }
  }

  private feed(rt: RuleRuntime, trigger: Trigger, input: TriggerInput): void {
    if (isPlain(trigger)) this.runner.start(rt, trigger, input);
    else this.pipeline.accept(rt, trigger, input, FIRE);
  }

  /** An input with its key: the rule's `key` expression when it gives one, else `defaultKey`. */
  private input(
    rt: RuleRuntime,
    trigger: Trigger,
    defaultKey: string,
    topic: string,
    captures: Readonly<Record<string, string>>,
    payload: unknown,
    at: number,
    cause?: Cause,
  ): TriggerInput {
    const input: TriggerInput = {
      triggerIndex: trigger.index,
      triggerId: trigger.id,
      kind: trigger.kind,
      key: defaultKey,
      topic,
      captures,
      payload,
      at,
      cause,
    };
    const keyExpression = rt.rule.key;
    if (!keyExpression) return input;
    const value = keyExpression.evaluate(this.runner.keyScope(rt, input));
    return value === null || value === '' ? input : { ...input, key: toText(value) };
  }

  private emit(name: string, data: unknown): void {
    try {
      this.deps.onEvent?.(name, data);
    } catch (err) {
      this.deps.logger.error('rule event listener threw', { event: name, error: errorMessage(err) });
    }
    this.handleEvent(name, data);
  }

  /** A counter, not a set of promises: every rule run is tracked, so this is on the hot path. */
  private track(run: Promise<void>): void {
    this.inFlight++;
    run.then(this.settled, this.settled);
  }

  private readonly settled = (): void => {
    if (--this.inFlight > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  };

  private dispose(rt: RuleRuntime, options: { dropState: boolean; keepVars: boolean; reason: string }): void {
    rt.disposed = true;
    for (const run of rt.activeRuns()) this.runner.cancel(run, options.reason);
    rt.dispose(options);
  }

  private armSchedules(rt: RuleRuntime): void {
    if (!rt.rule.enabled) return;
    for (const trigger of rt.rule.triggers) {
      if (trigger.kind !== 'schedule') continue;
      this.catchUp(rt, trigger);
      this.armSchedule(rt, trigger);
    }
  }

  /**
   * `catch_up: last`: when the hub was down over one or more firings, runs the most recent of them
   * once, now, if it is within the bound. The last firing is known from the stored trigger state.
   */
  private catchUp(rt: RuleRuntime, trigger: Extract<Trigger, { kind: 'schedule' }>): void {
    const last = rt.triggerState(trigger.index, 'schedule').scheduledAt;
    if (!trigger.catchUp || last === undefined) return;
    if (trigger.schedule.needsLocation && !this.place.location) return;
    const now = this.deps.clock.now();
    // A fine schedule (every: 1s) over a long outage has more firings than a walk takes steps:
    // the walk then starts again nearer to now; only the most recent firing matters.
    let from = Math.max(last, now - trigger.catchUp.withinMs);
    let missed: number | null = null;
    for (let round = 0; round < 20; round++) {
      const walk = this.lastFiring(trigger.schedule, from, now);
      if (walk.complete) {
        missed = walk.at;
        break;
      }
      from = now - (now - from) / 10;
    }
    if (missed === null) return;
    this.deps.logger.info(
      `rule ${rt.rule.id}: running the ${trigger.schedule.label} firing missed while stopped`,
      {
        rule: rt.rule.id,
        missed,
      },
    );
    this.fireSchedule(rt, trigger, missed, { at: missed, schedule: trigger.schedule.label, missed: true });
  }

  /** The last firing in (from, to]; `complete` false when the walk ran out of steps first. */
  private lastFiring(schedule: Schedule, from: number, to: number): { at: number | null; complete: boolean } {
    let at: number | null = null;
    let cursor = from;
    for (let steps = 0; steps < MAX_CATCH_UP_STEPS; steps++) {
      const next = schedule.next(cursor, this.place);
      if (next === null || next > to) return { at, complete: true };
      at = next;
      cursor = next;
    }
    return { at, complete: false };
  }

  private fireSchedule(
    rt: RuleRuntime,
    trigger: Extract<Trigger, { kind: 'schedule' }>,
    due: number,
    payload: Record<string, unknown>,
  ): void {
    rt.triggerState(trigger.index, 'schedule').scheduledAt = due;
    rt.saveTriggerState(trigger.index, 'schedule');
    const input = this.input(rt, trigger, 'schedule', '', {}, payload, this.deps.clock.now());
    this.feed(rt, trigger, input);
  }

  private armSchedule(rt: RuleRuntime, trigger: Extract<Trigger, { kind: 'schedule' }>): void {
    const now = this.deps.clock.now();
    const name = `schedule:${trigger.index}`;
    if (trigger.schedule.needsLocation && !this.place.location) {
      this.deps.logger.error(
        `rule ${rt.rule.id}: ${trigger.schedule.label} needs hub.latitude and hub.longitude`,
      );
      return;
    }
    const next = trigger.schedule.next(now, this.place);
    if (next === null) {
      rt.setTimer(name, SCHEDULE_RETRY_MS, () => this.armSchedule(rt, trigger));
      return;
    }
    rt.setTimer(name, next - now, () => {
      this.armSchedule(rt, trigger);
      this.fireSchedule(rt, trigger, next, { at: next, schedule: trigger.schedule.label });
    });
  }

  /** Resumes what the store kept; entries of rules that changed or went away are deleted. */
  private restore(): void {
    let entries: StoredState[] = [];
    try {
      entries = this.store.entries();
    } catch (err) {
      this.deps.logger.error('reading stored rule state failed; rules start without it', {
        code: 'RULE_STATE_FAILED',
        error: errorMessage(err),
      });
      return;
    }
    const gone = new Set<string>();
    for (const entry of entries) {
      const rt = this.runtimes.get(entry.ruleId);
      try {
        if (!rt) gone.add(entry.ruleId);
        else if (entry.slot === SLOT.vars) rt.vars = (entry.value ?? {}) as Record<string, unknown>;
        else if (
          entry.fingerprint !== rt.rule.fingerprint ||
          !rt.rule.enabled ||
          !this.restoreEntry(rt, entry)
        ) {
          this.store.delete(entry.ruleId, entry.slot, entry.key);
        }
      } catch (err) {
        this.deps.logger.error('restoring rule state failed', {
          rule: entry.ruleId,
          error: errorMessage(err),
        });
      }
    }
    for (const id of gone) this.store.deleteRule(id);
    // Queued inputs whose key has no parked run to finish first start now.
    for (const rt of this.runtimes.values())
      for (const key of rt.keys.keys()) this.runner.startQueued(rt, key);
  }

  private restoreEntry(rt: RuleRuntime, entry: StoredState): boolean {
    if (entry.slot === SLOT.key) {
      const value = entry.value as {
        lastFiredAt: number | null;
        suspendedUntil: number | null;
        queue?: { trigger: number; input: TriggerInput }[];
      };
      const k = rt.key(entry.key);
      k.lastFiredAt = value.lastFiredAt;
      k.suspendedUntil = value.suspendedUntil;
      for (const q of value.queue ?? []) {
        const trigger = rt.rule.triggers[q.trigger];
        if (trigger) k.queue.push({ trigger, input: q.input });
      }
      if (k.suspendedUntil !== null) this.runner.armSuspension(rt, entry.key, k.suspendedUntil);
      return true;
    }
    if (entry.slot === SLOT.run) {
      this.runner.restore(rt, entry.key, entry.value as ParkedRun);
      return true;
    }
    const trigger = rt.rule.triggers[Number(entry.slot.slice(1))];
    if (!entry.slot.startsWith('t') || !trigger) return false;
    const state = entry.value as TriggerKeyState;
    rt.triggerStates.set(`${trigger.index}\u0000${entry.key}`, state);
    if (state.pendingFor) this.pipeline.armFor(rt, trigger, entry.key, state.pendingFor.dueAt);
    if (state.pendingDebounce) this.pipeline.armDebounce(rt, trigger, entry.key, state.pendingDebounce.dueAt);
    return true;
  }
}

const defaultFetch: FetchLike = (url, init) => fetch(url, init);

/**
 * The hub's place, with the machine's zone looked up only when a rule first needs local time:
 * asking Intl for it loads ICU's locale data, about 6 MB of memory a hub whose rules never read
 * the clock's local time does not need.
 */
function hubPlace(timezone: string | undefined, location: HubPlace['location']): HubPlace {
  let zone = timezone;
  return {
    get timezone(): string {
      zone ??= systemTimeZone();
      return zone;
    },
    location,
  };
}
