import type { QoS, SourceLocation } from '../kernel/index.js';
import type { CompiledExpression } from './expression/compile.js';
import type { CompiledTemplate } from './expression/template.js';
import { TopicIndex, type ParsedFilter } from './topic-index.js';

/** `when: { mqtt: FILTER }`: a message on a matching topic. */
export interface MqttTrigger {
  readonly kind: 'mqtt';
  /** Position in the rule's `when` list. */
  readonly index: number;
  /** The trigger's `id:`, else its position as text. */
  readonly id: string;
  readonly filter: ParsedFilter;
  /** The exact payload the message must carry, when the trigger names one (`payload: offline`). */
  readonly payload: { readonly value: unknown } | null;
}

/** Every trigger kind; device, schedule and event triggers join this union. */
export type Trigger = MqttTrigger;

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

/** Every action kind, dispatched by `kind` through the engine's action table. */
export type Action = PublishAction | LogAction;

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
  readonly key: CompiledExpression | null;
  readonly triggers: readonly Trigger[];
  /** `if`: all must hold. */
  readonly conditions: readonly CompiledExpression[];
  readonly then: readonly Action[];
  readonly else: readonly Action[];
}

/** What the topic index points at: one trigger of one rule. */
export interface TriggerRef {
  readonly rule: Rule;
  readonly trigger: MqttTrigger;
}

/** A validated rules directory, swapped into the engine as a whole. */
export interface RuleSet {
  readonly rules: readonly Rule[];
  /** The files the set was loaded from. */
  readonly files: readonly string[];
  /** The MQTT triggers of the enabled rules, indexed by filter; built once per set. */
  readonly mqtt: TopicIndex<TriggerRef>;
  get(id: string): Rule | undefined;
}

/** Builds a set and its trigger index from compiled rules (ids are already unique). */
export function createRuleSet(rules: readonly Rule[], files: readonly string[] = []): RuleSet {
  const mqtt = new TopicIndex<TriggerRef>();
  const byId = new Map<string, Rule>();
  for (const rule of rules) {
    byId.set(rule.id, rule);
    if (!rule.enabled) continue;
    for (const trigger of rule.triggers) mqtt.add(trigger.filter, { rule, trigger });
  }
  return Object.freeze({
    rules: Object.freeze([...rules]),
    files: Object.freeze([...files]),
    mqtt,
    get: (id: string) => byId.get(id),
  });
}
