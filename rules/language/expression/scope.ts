/** What an expression can read while a rule runs. Built once per run by the engine. */
export interface Scope {
  /** The message payload: parsed JSON, else the text, else null for binary payloads. */
  readonly payload: unknown;
  readonly topic: string;
  /** `topic` split at `/`. */
  readonly levels: readonly string[];
  /** Named captures of the trigger's filter (`+device` → `device`); read as plain names. */
  readonly captures: Readonly<Record<string, string>>;
  readonly trigger: TriggerInfo;
  /** Rule variables (`set` action), persisted per rule. */
  readonly vars: Readonly<Record<string, unknown>>;
  /** Epoch ms on the hub clock when the run started or resumed; `now` and `now()` both read it. */
  readonly now: number;
  /** What the last `wait` of the run saw (`wait.timed_out`, `wait.payload`); null before any wait. */
  readonly wait: unknown;
  /** `device(ID)`: the registry record of a device as data, or null when unknown. */
  readonly lookupDevice: (id: unknown) => unknown;
}

export interface TriggerInfo {
  /** The trigger's `id:`, or its position in `when` ("0", "1", …) when it has none. */
  readonly id: string;
  /** mqtt, reading, status, schedule or event; absent outside a run. */
  readonly kind?: string;
  /** The instance the run belongs to: the rule's `key`, else the first named capture, else the topic. */
  readonly key: string;
}

/** Names every expression can use; a capture may not take one of them, nor a literal's name. */
export const RESERVED_NAMES: ReadonlySet<string> = new Set([
  'payload',
  'topic',
  'levels',
  'trigger',
  'vars',
  'now',
  'wait',
  'true',
  'false',
  'null',
  'this',
  'in',
]);

const NO_CAPTURES: Readonly<Record<string, string>> = Object.freeze(
  Object.create(null) as Record<string, string>,
);

const NO_DEVICES = (): null => null;

/** A scope for evaluating expressions outside a run (checks, tests, tools); unset fields are empty. */
export function makeScope(fields: Partial<Scope> = {}): Scope {
  const topic = fields.topic ?? '';
  return {
    payload: fields.payload ?? null,
    topic,
    levels: fields.levels ?? topic.split('/'),
    captures: fields.captures ?? NO_CAPTURES,
    trigger: fields.trigger ?? { id: '0', key: topic },
    vars: fields.vars ?? {},
    now: fields.now ?? 0,
    wait: fields.wait ?? null,
    lookupDevice: fields.lookupDevice ?? NO_DEVICES,
  };
}
