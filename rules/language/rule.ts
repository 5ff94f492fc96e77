import type { QoS, SourceLocation } from '../../kernel/index.js';
import type { CompiledExpression } from './expression/compile.js';
import type { CompiledTemplate } from './expression/template.js';
import { DeviceTriggerIndex } from './device-pattern.js';
import type { DevicePattern } from './device-pattern.js';
import type { Schedule } from './schedule.js';
import type { RuleMode, Severity } from './schema/rule-file.js';
import type { TriggerDefinition } from './schema/triggers.js';
import type { NotifyPriority } from './schema/actions.js';
import { loopFeeds, type TriggerFeed } from './loops.js';
import { TopicIndex, type ParsedFilter } from './topic-index.js';

/** Timing modifiers every trigger kind may carry (the schema says which apply to which). */
export interface TriggerTiming {
  /** `for`: ms the trigger must keep holding, per key. */
  readonly forMs: number | null;
  /** `debounce`: ms of quiet after the last input before firing with it. */
  readonly debounceMs: number | null;
  /** `throttle: N/period`. */
  readonly throttle: { readonly count: number; readonly periodMs: number } | null;
}

interface TriggerBase extends TriggerTiming {
  /** Position in the rule's `when` list. */
  readonly index: number;
  /** The trigger's `id:`, else its position as text. */
  readonly id: string;
}

/** `when: { mqtt: FILTER }`: a message on a matching topic. */
export interface MqttTrigger extends TriggerBase {
  readonly kind: 'mqtt';
  readonly filter: ParsedFilter;
  /** The exact payload the message must carry, when the trigger names one (`payload: offline`). */
  readonly payload: { readonly value: unknown } | null;
}

/** `device` + `metric` + `above`/`below` (crossing into the range) or `changes`. */
export interface ReadingTrigger extends TriggerBase {
  readonly kind: 'reading';
  readonly device: DevicePattern;
  readonly metric: string;
  /** The range is above < value < below; null bounds are open. Null for `changes`. */
  readonly range: { readonly above: number | null; readonly below: number | null } | null;
  /** Set for `changes`; `from`/`to` are null when any value will do. */
  readonly changes: {
    readonly from: { readonly value: unknown } | null;
    readonly to: { readonly value: unknown } | null;
  } | null;
  /** With a range: how far back past the threshold the value must go to re-arm; 0 without. */
  readonly hysteresis: number;
  readonly deadband: number | null;
}

/** `device` + `status`: availability changes. */
export interface StatusTrigger extends TriggerBase {
  readonly kind: 'status';
  readonly device: DevicePattern;
  readonly status: 'online' | 'offline' | 'stale';
}

export interface ScheduleTrigger extends TriggerBase {
  readonly kind: 'schedule';
  readonly schedule: Schedule;
  /** `catch_up: last`: at start-up, the last firing missed while the hub was down, if this recent. */
  readonly catchUp: { readonly withinMs: number } | null;
}

export interface EventTrigger extends TriggerBase {
  readonly kind: 'event';
  readonly event: string;
}

export type Trigger = MqttTrigger | ReadingTrigger | StatusTrigger | ScheduleTrigger | EventTrigger;
export type TriggerKind = Trigger['kind'];

/** A condition of `if` or of a `choose` branch, compiled. `source` is how traces show it: the expression as written, or a summary of a map condition. */
export type Condition =
  | { readonly kind: 'expression'; readonly source: string; readonly expression: CompiledExpression }
  | { readonly kind: 'all' | 'any'; readonly source: string; readonly items: readonly Condition[] }
  | { readonly kind: 'not'; readonly source: string; readonly item: Condition }
  | {
      readonly kind: 'time';
      readonly source: string;
      /** Seconds after local midnight; null when open. */
      readonly after: number | null;
      readonly before: number | null;
      /** 0 = Sunday … 6 = Saturday; null for every day. */
      readonly weekdays: ReadonlySet<number> | null;
    }
  | {
      readonly kind: 'device';
      readonly source: string;
      readonly device: string;
      readonly metric: string;
      readonly above: number | null;
      readonly below: number | null;
      readonly is: { readonly value: unknown } | null;
      readonly forMs: number | null;
    }
  | { readonly kind: 'status'; readonly source: string; readonly device: string; readonly is: string };

export interface PublishAction {
  readonly kind: 'publish';
  readonly topic: CompiledTemplate;
  /** Null publishes an empty payload. */
  readonly payload: CompiledTemplate | null;
  readonly qos: QoS;
  readonly retain: boolean;
}

export interface LogAction {
  readonly kind: 'log';
  readonly message: CompiledTemplate;
}

export interface CommandAction {
  readonly kind: 'command';
  readonly device: CompiledTemplate;
  readonly set: CompiledTemplate;
}

export interface AlertAction {
  readonly kind: 'alert';
  readonly key: CompiledTemplate;
  readonly severity: Severity;
  readonly message: CompiledTemplate | null;
}

export interface ClearAlertAction {
  readonly kind: 'clear_alert';
  readonly key: CompiledTemplate;
}

export interface HttpAction {
  readonly kind: 'http';
  readonly url: CompiledTemplate;
  readonly method: string;
  readonly headers: CompiledTemplate | null;
  readonly body: CompiledTemplate | null;
  /** Per attempt; null takes the engine's default. */
  readonly timeoutMs: number | null;
  readonly retries: number | null;
}

/** `forward:` a composed message into a connector's outbox (Kafka, AMQP, SQS, SNS, Redis, MQTT). */
export interface ForwardAction {
  readonly kind: 'forward';
  /** The connector id; plain text (no templates), so it is checked when the file loads. */
  readonly to: string;
  /** Topic, routing key, queue URL, topic ARN or stream, as the connector's kind reads it. */
  readonly destination: CompiledTemplate;
  /** `key:` as written; null takes the run's key when the rule or trigger names one. */
  readonly key: CompiledTemplate | null;
  /** Null forwards an empty message. */
  readonly payload: CompiledTemplate | null;
}

/** `notify:` a person through one of the hub's notifiers; delivery happens outside the run. */
export interface NotifyAction {
  readonly kind: 'notify';
  /** The notifier name; plain text (no templates), so it is checked when the file loads. */
  readonly via: string;
  /** Null takes the rule id. */
  readonly title: CompiledTemplate | null;
  readonly message: CompiledTemplate;
  readonly priority: NotifyPriority;
}

export interface DelayAction {
  readonly kind: 'delay';
  readonly ms: number;
}

export interface WaitAction {
  readonly kind: 'wait';
  /** The trigger as written; its strings are templates rendered when the wait starts. */
  readonly trigger: TriggerDefinition;
  readonly templates: readonly {
    readonly key: 'mqtt' | 'device' | 'event';
    readonly template: CompiledTemplate;
  }[];
  readonly timeoutMs: number;
}

export interface ChooseAction {
  readonly kind: 'choose';
  readonly options: readonly {
    readonly conditions: readonly Condition[];
    readonly then: readonly Action[];
  }[];
  readonly otherwise: readonly Action[];
}

export interface SetAction {
  readonly kind: 'set';
  readonly vars: readonly {
    readonly name: string;
    readonly value: CompiledExpression | { readonly literal: unknown };
  }[];
}

/** Every action kind, dispatched by `kind` through the engine's action table. */
export type Action =
  | PublishAction
  | LogAction
  | CommandAction
  | AlertAction
  | ClearAlertAction
  | HttpAction
  | ForwardAction
  | NotifyAction
  | DelayAction
  | WaitAction
  | ChooseAction
  | SetAction;

/** A rule as loaded: validated, with every expression and template compiled. */
export interface Rule {
  readonly id: string;
  readonly description: string | null;
  /** A disabled rule stays loaded and validated but never runs. */
  readonly enabled: boolean;
  /** Position in the set: files in name order, rules in file order. Ties between matches go by it. */
  readonly ordinal: number;
  /** Where the rule starts (its first key). */
  readonly location: SourceLocation;
  /** The validated definition as JSON; equal fingerprints mean an unchanged rule across reloads. */
  readonly fingerprint: string;
  readonly mode: RuleMode;
  /** Runs per key for `queued` (waiting) and `parallel` (at once). */
  readonly max: number;
  readonly cooldownMs: number | null;
  /** `loop_guard`: this rule's rate guard; null takes `rules.loop_breaker`'s, false turns it off. */
  readonly loopGuard: { readonly maxRuns?: number; readonly windowMs?: number } | false | null;
  readonly key: CompiledExpression | null;
  readonly triggers: readonly Trigger[];
  /** `if`: all must hold. */
  readonly conditions: readonly Condition[];
  readonly then: readonly Action[];
  readonly else: readonly Action[];
  /** Where its actions may publish, as topic levels (see `ruleTopics`): what the loop guard reads. */
  readonly outputs: readonly (readonly string[])[];
}

/** What the trigger indexes point at: one trigger of one rule. */
export interface TriggerRef<T extends Trigger = Trigger> {
  readonly rule: Rule;
  readonly trigger: T;
}

/** A validated rules directory, swapped into the engine as a whole. */
export interface RuleSet {
  readonly rules: readonly Rule[];
  /** The files the set was loaded from. */
  readonly files: readonly string[];
  /** The MQTT triggers of the enabled rules, indexed by filter; built once per set. */
  readonly mqtt: TopicIndex<TriggerRef<MqttTrigger>>;
  /** Reading and status triggers of the enabled rules, by device id or glob. */
  readonly devices: DeviceTriggerIndex<TriggerRef<ReadingTrigger | StatusTrigger>>;
  /** Event triggers of the enabled rules, by event name. */
  readonly events: ReadonlyMap<string, readonly TriggerRef<EventTrigger>[]>;
  readonly schedules: readonly TriggerRef<ScheduleTrigger>[];
  /** Per rule id and trigger index, whether its runs may be the rule's own echo (`loopFeeds`). */
  readonly feeds: ReadonlyMap<string, readonly TriggerFeed[]>;
  get(id: string): Rule | undefined;
}

/** Builds a set and its trigger indexes from compiled rules (ids are already unique). */
export function createRuleSet(rules: readonly Rule[], files: readonly string[] = []): RuleSet {
  const mqtt = new TopicIndex<TriggerRef<MqttTrigger>>();
  const devices = new DeviceTriggerIndex<TriggerRef<ReadingTrigger | StatusTrigger>>();
  const events = new Map<string, TriggerRef<EventTrigger>[]>();
  const schedules: TriggerRef<ScheduleTrigger>[] = [];
  const byId = new Map<string, Rule>();
  for (const rule of rules) {
    byId.set(rule.id, rule);
    if (!rule.enabled) continue;
    for (const trigger of rule.triggers) {
      switch (trigger.kind) {
        case 'mqtt':
          mqtt.add(trigger.filter, { rule, trigger });
          break;
        case 'reading':
        case 'status':
          devices.add(trigger.device, { rule, trigger });
          break;
        case 'event': {
          const list = events.get(trigger.event) ?? [];
          list.push({ rule, trigger });
          events.set(trigger.event, list);
          break;
        }
        case 'schedule':
          schedules.push({ rule, trigger });
          break;
      }
    }
  }
  return Object.freeze({
    rules: Object.freeze([...rules]),
    files: Object.freeze([...files]),
    mqtt,
    devices,
    events,
    schedules: Object.freeze(schedules),
    feeds: loopFeeds(rules),
    get: (id: string) => byId.get(id),
  });
}
