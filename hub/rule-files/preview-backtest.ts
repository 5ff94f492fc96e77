import { parseDeviceTopic } from '../../kernel/index.js';
import { backtest, type EventPages, type RuleRun, type RuleSet } from '../../rules/index.js';

/** One run that fired during a preview's replay. */
export interface Firing {
  /** Epoch ms (replayed time) at which the run started. */
  readonly time: number;
  readonly ruleId: string;
  /** The message's topic; for a reading or status trigger, the device topic it came from; '' for schedules and events. */
  readonly topic: string;
  readonly device: string | null;
  /** What the trigger saw: a JSON object payload's fields, else `{ value }`; a reading's value, previous, device and metric. */
  readonly readings: Readonly<Record<string, unknown>>;
  /** Each action as `kind detail` (`publish actuators/gh-1/fan {"on":true}`); a failed one as `kind failed: error`. */
  readonly actions: readonly string[];
}

/** One rule set's side of a preview. */
export interface PreviewSide {
  /** Every firing in the window. */
  readonly fired: number;
  /** Rules in the set. */
  readonly rules: number;
  /** The first {@link PreviewOptions.listed} firings, oldest first. */
  readonly firings: readonly Firing[];
}

/** Rule ids of the edited set against the set in force; `changed`: same id, another compiled definition. */
export interface RuleIdDiff {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly changed: readonly string[];
}

export interface PreviewOptions {
  readonly edited: RuleSet;
  readonly inForce: RuleSet;
  readonly history: EventPages;
  /** Epoch ms, inclusive. */
  readonly sinceMs: number;
  readonly untilMs: number;
  /** Firings listed per side; the counts are always whole. */
  readonly listed: number;
  /** Awaited between pages of events (hands the hub's event loop back to the broker). */
  readonly betweenPages?: () => Promise<void>;
}

export interface PreviewReplay {
  readonly edited: PreviewSide;
  readonly inForce: PreviewSide;
  readonly diff: RuleIdDiff;
  /** Events read in the window (those the hub published itself included, which are not replayed). */
  readonly events: number;
}

/**
 * The back-test `edgehub backtest` runs (the same engine, so the counts agree), with every firing
 * of each side kept up to `listed` for the editor's list.
 */
export async function previewBacktest(options: PreviewOptions): Promise<PreviewReplay> {
  const lists = { candidate: [] as Firing[], inForce: [] as Firing[] };
  const result = await backtest({
    candidate: options.edited,
    inForce: options.inForce,
    history: options.history,
    sinceMs: options.sinceMs,
    untilMs: options.untilMs,
    ...(options.betweenPages && { betweenPages: options.betweenPages }),
    onRun: (run, side) => {
      const list = lists[side];
      if (run.outcome === 'fired' && list.length < options.listed) list.push(firingOf(run));
    },
  });
  const total = (activity: readonly { fired: number }[] | null) =>
    (activity ?? []).reduce((n, a) => n + a.fired, 0);
  return {
    edited: { fired: total(result.candidate), rules: options.edited.rules.length, firings: lists.candidate },
    inForce: { fired: total(result.inForce), rules: options.inForce.rules.length, firings: lists.inForce },
    diff: ruleIdDiff(options.edited, options.inForce),
    events: result.events,
  };
}

export function ruleIdDiff(edited: RuleSet, inForce: RuleSet): RuleIdDiff {
  const added: string[] = [];
  const changed: string[] = [];
  for (const rule of edited.rules) {
    const old = inForce.get(rule.id);
    if (!old) added.push(rule.id);
    else if (old.fingerprint !== rule.fingerprint) changed.push(rule.id);
  }
  const removed = inForce.rules.filter((r) => !edited.get(r.id)).map((r) => r.id);
  return { added, removed, changed };
}

function firingOf(run: RuleRun): Firing {
  const { trigger } = run;
  const captured = trigger.captures.device;
  // Decoded already: parsed JSON, text, or bytes that are not UTF-8.
  const payload = trigger.payload;
  const fields =
    payload !== null && typeof payload === 'object' && !Array.isArray(payload) && !Buffer.isBuffer(payload)
      ? (payload as Record<string, unknown>)
      : { value: payload };
  const readings: Record<string, unknown> = { ...fields };
  // `at` of a reading repeats `time`; the rest is what the conditions looked at.
  delete readings.at;
  const device =
    captured ??
    (typeof fields.device === 'string' ? fields.device : null) ??
    parseDeviceTopic(trigger.topic)?.deviceId ??
    null;
  const metric = trigger.captures.metric ?? (typeof fields.metric === 'string' ? fields.metric : undefined);
  const topic =
    trigger.topic !== ''
      ? trigger.topic
      : device !== null && trigger.kind === 'reading' && metric !== undefined
        ? `sensors/${device}/${metric}`
        : device !== null && trigger.kind === 'status'
          ? `devices/${device}/availability`
          : '';
  return {
    time: run.startedAt,
    ruleId: run.ruleId,
    topic,
    device,
    readings,
    actions: run.actions.map((a) =>
      a.ok ? `${a.kind} ${a.detail}`.trimEnd() : `${a.kind} failed: ${a.error ?? a.detail}`,
    ),
  };
}
