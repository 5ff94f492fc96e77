/**
 * A readable view of one rule run, built defensively from whatever shape the run record has: the
 * engine's record grows over time and stored traces outlive the code that wrote them, so every
 * field is read with a fallback rather than trusted.
 */

export type TraceOutcome = 'fired' | 'blocked' | 'error';

export const TRACE_OUTCOMES: readonly TraceOutcome[] = ['fired', 'blocked', 'error'];

export interface ConditionView {
  readonly text: string;
  readonly value: unknown;
  /** Null when the record does not say (a condition that was not evaluated). */
  readonly held: boolean | null;
  /** The items of `all`, `any` and `not`. */
  readonly children: readonly ConditionView[];
}

export interface ActionView {
  readonly kind: string;
  readonly ok: boolean;
  readonly detail: string;
  readonly error: string | null;
  /** ms the action took, when recorded. */
  readonly durationMs: number | null;
  /** Where the action sits in the rule (`then[1].choose[0].then[0]`), or its branch. */
  readonly branch: string | null;
}

export interface RunView {
  readonly ruleId: string;
  readonly outcome: TraceOutcome;
  /** Why a run was blocked or failed (`if`, `cooldown`, `throttle`, `mode`…), when recorded. */
  readonly reason: string | null;
  readonly key: string | null;
  readonly branch: string | null;
  readonly trigger: {
    readonly kind: string | null;
    readonly id: string | null;
    /** What fired it, in words: a topic, `device gh-1 temperature`, `event door-open`, `schedule …`. */
    readonly source: string;
    readonly payload: unknown;
  };
  readonly conditions: readonly ConditionView[];
  readonly actions: readonly ActionView[];
  /** Epoch ms. */
  readonly startedAt: number;
  readonly finishedAt: number;
  readonly error: string | null;
}

type Loose = Record<string, unknown>;

function asRecord(value: unknown): Loose {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Loose) : {};
}

function str(value: unknown): string | null {
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : null;
}

function num(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/** The outcome of a run record: `outcome: 'fired'` or `outcome: { kind: 'blocked', reason }`. */
export function outcomeOf(run: unknown): TraceOutcome {
  const raw = asRecord(run).outcome;
  const text = typeof raw === 'string' ? raw : (str(asRecord(raw).kind) ?? str(asRecord(raw).type) ?? '');
  if (text === 'fired' || text === 'blocked') return text;
  if (text === 'error' || text === 'errors' || text === 'failed') return 'error';
  // An unknown outcome with an error text is an error; otherwise it did not fire.
  return str(asRecord(run).error) ? 'error' : 'blocked';
}

function reasonOf(run: Loose): string | null {
  const outcome = asRecord(run.outcome);
  return (
    str(outcome.reason) ??
    str(run.reason) ??
    str(run.blockedBy) ??
    str(asRecord(run.blocked).reason) ??
    (run.outcome === 'blocked' && Array.isArray(run.conditions) ? 'condition' : null)
  );
}

function triggerSource(trigger: Loose, run: Loose): string {
  const kind = str(trigger.kind) ?? str(trigger.type);
  const payload = asRecord(trigger.payload);
  const captures = asRecord(trigger.captures);
  if (typeof trigger.topic === 'string' && trigger.topic !== '') return trigger.topic;
  if (kind === 'reading') {
    const device = str(payload.device) ?? str(captures.device) ?? '?';
    const metric = str(payload.metric) ?? str(captures.metric) ?? '?';
    const was =
      payload.previous !== undefined && payload.previous !== null
        ? ` (was ${showJson(payload.previous)})`
        : '';
    return `device ${device} ${metric} = ${showJson(payload.value)}${was}`;
  }
  if (kind === 'status') {
    const device = str(payload.device) ?? str(captures.device) ?? '?';
    const was = str(payload.previous);
    return `device ${device} ${str(payload.status) ?? '?'}${was ? ` (was ${was})` : ''}`;
  }
  if (kind === 'schedule') return `schedule ${str(payload.schedule) ?? ''}`.trim();
  if (kind === 'event') return `event ${str(trigger.event) ?? str(trigger.name) ?? str(run.key) ?? '?'}`;
  return kind ?? 'unknown trigger';
}

function showJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? 'null';
  } catch {
    return `(${typeof value})`;
  }
}

function conditionsOf(list: unknown): ConditionView[] {
  return (Array.isArray(list) ? (list as unknown[]) : []).map((c) => {
    const r = asRecord(c);
    const held = typeof r.held === 'boolean' ? r.held : typeof r.ok === 'boolean' ? r.ok : null;
    return {
      text: str(r.expression) ?? str(r.source) ?? str(r.text) ?? str(r.condition) ?? str(r.kind) ?? '?',
      value: r.value,
      held,
      children: conditionsOf(r.children),
    };
  });
}

function actionsOf(run: Loose): ActionView[] {
  const list = Array.isArray(run.actions) ? (run.actions as unknown[]) : [];
  return list.map((a) => {
    const r = asRecord(a);
    const started = num(r.startedAt);
    const finished = num(r.finishedAt);
    return {
      kind: str(r.kind) ?? '?',
      ok: r.ok !== false,
      detail: str(r.detail) ?? str(r.result) ?? '',
      error: str(r.error),
      durationMs: num(r.durationMs) ?? (started !== null && finished !== null ? finished - started : null),
      branch: str(r.at) ?? str(r.branch),
    };
  });
}

export function viewRun(run: unknown): RunView {
  const r = asRecord(run);
  const trigger = asRecord(r.trigger);
  const kind = str(trigger.kind) ?? str(trigger.type);
  const startedAt = num(r.startedAt) ?? 0;
  return {
    ruleId: str(r.ruleId) ?? '?',
    outcome: outcomeOf(r),
    reason: reasonOf(r),
    key: str(r.key),
    branch: str(r.branch),
    trigger: {
      kind,
      id: str(trigger.id),
      source: triggerSource(trigger, r),
      // Device and schedule inputs are spelled out in `source`; MQTT payloads and event data are not.
      payload:
        kind === 'reading' || kind === 'status' || kind === 'schedule'
          ? undefined
          : 'payload' in trigger
            ? trigger.payload
            : trigger.data,
    },
    conditions: conditionsOf(r.conditions),
    actions: actionsOf(r),
    startedAt,
    finishedAt: num(r.finishedAt) ?? startedAt,
    error: str(r.error),
  };
}

/** The effect of a run, for comparing two rule sets: what its actions did, without times. */
export function actionSignature(run: RunView): string {
  return run.actions.map((a) => `${a.kind}${a.ok ? '' : '!'} ${a.detail}`).join('\n');
}
