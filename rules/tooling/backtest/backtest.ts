import { decodePayload, type Logger } from '../../../kernel/index.js';
import type { RuleSet } from '../../language/rule.js';
import { RuleHarness } from '../scenario/harness.js';
import type { RuleRun } from '../../engine/rule-run.js';
import { showTime, showValue } from '../trace/format.js';
import { outcomeOf } from '../trace/run-view.js';
import type { EventPages, RecordedEvent } from './event-pages.js';

/**
 * Back-testing: recorded events replayed through a rule set on a virtual clock, reporting per rule
 * what it would have done, and how that differs from the rule set in force.
 */

/** What one rule did over the replay. */
export interface RuleActivity {
  readonly id: string;
  fired: number;
  blocked: number;
  errors: number;
  /** Successful actions by kind. */
  publishes: number;
  commands: number;
  alerts: number;
  /** Messages handed to connectors (`forward`); none is sent during a back-test. */
  forwards: number;
}

/** How a rule of the candidate set behaved compared with the set in force, event by event. */
export interface RuleDifference {
  readonly id: string;
  /** `new`: only in the candidate; `removed`: only in force; `changed`: in both, defined differently. */
  readonly presence: 'new' | 'removed' | 'changed' | 'unchanged';
  /** Inputs on which the candidate fired more often than the set in force. */
  firedMore: number;
  firedLess: number;
  /** Inputs on which both fired but did different things (different actions, topics or payloads). */
  differently: number;
  /** The first few differing inputs, in words. */
  readonly examples: string[];
}

export interface BacktestResult {
  /** Recorded events read in the window. */
  readonly events: number;
  /** Events the hub published itself (rule outputs of the set in force), not replayed as inputs. */
  readonly skipped: number;
  /** Epoch ms of the first and last event replayed; null without events. */
  readonly firstAt: number | null;
  readonly lastAt: number | null;
  readonly candidate: readonly RuleActivity[];
  /** Null when there was no rule set in force to compare with. */
  readonly inForce: readonly RuleActivity[] | null;
  readonly differences: readonly RuleDifference[] | null;
  /** Inputs after which the rules kept publishing to themselves until the harness stopped them. */
  readonly runaways: number;
}

export interface BacktestOptions {
  candidate: RuleSet;
  /** The set in force (the hub's rules directory); omit to report the candidate alone. */
  inForce?: RuleSet;
  /** Recorded events: `openEventPages` on the event database, or `readerPages(openEventReader(…))`. */
  history: EventPages;
  /** Epoch ms, inclusive. */
  sinceMs: number;
  untilMs: number;
  /** Events read per query; default 5,000. Pages keep memory flat however long the window. */
  pageSize?: number;
  /** Called after each page, with events read so far and the time reached (epoch ms). */
  onProgress?: (progress: { events: number; at: number }) => void;
  /** Where the rules' `log` actions and engine messages go; default nowhere (a replay may log millions). */
  logger?: Logger;
  /**
   * Awaited after each page: a back-test inside the hub (the rule editor's preview) hands the event
   * loop back to the broker there, so a long window does not stall it.
   */
  betweenPages?: () => Promise<void>;
  /** Every finished run of either side, as it finishes (the rule editor lists the firings). */
  onRun?: (run: RuleRun, side: 'candidate' | 'inForce') => void;
}

const EXAMPLES_KEPT = 3;

/** Drops everything: what the replayed rules log is not the back-test's report. */
const QUIET: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => QUIET,
};

interface Side {
  readonly harness: RuleHarness;
  readonly runs: RuleRun[];
  readonly activity: Map<string, RuleActivity>;
}

function side(
  set: RuleSet,
  startMs: number,
  logger: Logger,
  onRun: ((run: RuleRun) => void) | undefined,
): Side {
  const runs: RuleRun[] = [];
  const activity = new Map<string, RuleActivity>();
  for (const rule of set.rules) {
    activity.set(rule.id, {
      id: rule.id,
      fired: 0,
      blocked: 0,
      errors: 0,
      publishes: 0,
      commands: 0,
      alerts: 0,
      forwards: 0,
    });
  }
  const harness = new RuleHarness(set, {
    startMs,
    logger,
    record: false,
    onRun: onRun
      ? (run) => {
          runs.push(run);
          onRun(run);
        }
      : (run) => runs.push(run),
  });
  return { harness, runs, activity };
}

/**
 * Replays the events recorded in [sinceMs, untilMs] through the candidate set (and the set in
 * force), oldest first, a page at a time, each engine on its own virtual clock moved to each
 * event's time so timers (`for`, `delay`, schedules) fire as they would have.
 */
export async function backtest(options: BacktestOptions): Promise<BacktestResult> {
  const logger = options.logger ?? QUIET;
  const { onRun } = options;
  const candidate = side(options.candidate, options.sinceMs, logger, onRun && ((r) => onRun(r, 'candidate')));
  const inForce = options.inForce
    ? side(options.inForce, options.sinceMs, logger, onRun && ((r) => onRun(r, 'inForce')))
    : null;
  const sides = inForce ? [candidate, inForce] : [candidate];
  const differences = inForce
    ? initialDifferences(options.candidate, options.inForce ?? options.candidate)
    : null;
  const pageSize = options.pageSize ?? 5_000;

  let events = 0;
  let skipped = 0;
  let firstAt: number | null = null;
  let lastAt: number | null = null;
  // Just before the window: the first page starts at its first millisecond.
  let after = { time: options.sinceMs, id: Number.MIN_SAFE_INTEGER };

  for (;;) {
    const page = options.history.next(after, options.untilMs, pageSize);
    for (const event of page) {
      events++;
      if (event.clientId === null) {
        skipped++;
        continue;
      }
      firstAt ??= event.time;
      lastAt = event.time;
      const replaying = replay(event, sides);
      if (replaying) await replaying;
      if (differences && inForce) compare(event, candidate, inForce, differences);
      else if (candidate.runs.length > 0) tally(candidate, false);
    }
    const last = page.at(-1);
    if (!last) break;
    options.onProgress?.({ events, at: last.time });
    if (page.length < pageSize) break;
    if (options.betweenPages) await options.betweenPages();
    after = { time: last.time, id: last.id };
  }

  // Timers still pending at the end of the window (a `for` that would complete later) do not run.
  return {
    events,
    skipped,
    firstAt,
    lastAt,
    candidate: [...candidate.activity.values()],
    inForce: inForce ? [...inForce.activity.values()] : null,
    differences: differences ? [...differences.values()] : null,
    runaways: candidate.harness.runaway ? 1 : 0,
  };
}

/**
 * Hands one event to every side. Synchronous, without a promise, while no timer falls due and no
 * run waits on anything (most events); otherwise the promise to await. The sides are independent
 * harnesses, so settling one before the next is given the event changes nothing.
 */
function replay(event: RecordedEvent, sides: readonly Side[]): Promise<void> | undefined {
  // The same message object for both sides: its payload is decoded once and cached for every consumer.
  for (let i = 0; i < sides.length; i++) {
    const s = sides[i] as Side;
    const moving = s.harness.moveTo(event.time);
    if (moving) return replayAfter(moving, event, sides, i);
    s.harness.deliverInput(event);
  }
  if (sides.every((s) => s.harness.settleNow())) return undefined;
  return settleAll(sides);
}

/** The rest of {@link replay} once side `from` has moved its clock on; then every side settles. */
async function replayAfter(
  moving: Promise<void>,
  event: RecordedEvent,
  sides: readonly Side[],
  from: number,
): Promise<void> {
  await moving;
  (sides[from] as Side).harness.deliverInput(event);
  for (const s of sides.slice(from + 1)) {
    const next = s.harness.moveTo(event.time);
    if (next) await next;
    s.harness.deliverInput(event);
  }
  await settleAll(sides);
}

async function settleAll(sides: readonly Side[]): Promise<void> {
  for (const s of sides) await s.harness.settle();
}

/** Counts the runs that finished since the last call into the side's activity. */
function tally(s: Side, group: boolean): Map<string, RuleRun[]> {
  const byRule = new Map<string, RuleRun[]>();
  if (s.runs.length === 0) return byRule;
  for (const run of s.runs) {
    let a = s.activity.get(run.ruleId);
    if (!a) {
      a = {
        id: run.ruleId,
        fired: 0,
        blocked: 0,
        errors: 0,
        publishes: 0,
        commands: 0,
        alerts: 0,
        forwards: 0,
      };
      s.activity.set(run.ruleId, a);
    }
    const outcome = outcomeOf(run);
    if (outcome === 'fired') a.fired++;
    else if (outcome === 'blocked') a.blocked++;
    else a.errors++;
    for (const action of run.actions) {
      if (!action.ok) continue;
      if (action.kind === 'publish') a.publishes++;
      else if (action.kind === 'command') a.commands++;
      else if (action.kind === 'alert') a.alerts++;
      else if (action.kind === 'forward') a.forwards++;
    }
    if (!group) continue;
    const list = byRule.get(run.ruleId);
    if (list) list.push(run);
    else byRule.set(run.ruleId, [run]);
  }
  s.runs.length = 0;
  return byRule;
}

function initialDifferences(candidate: RuleSet, inForce: RuleSet): Map<string, RuleDifference> {
  const out = new Map<string, RuleDifference>();
  const add = (id: string, presence: RuleDifference['presence']) =>
    out.set(id, { id, presence, firedMore: 0, firedLess: 0, differently: 0, examples: [] });
  for (const rule of candidate.rules) {
    const old = inForce.get(rule.id);
    add(rule.id, !old ? 'new' : old.fingerprint === rule.fingerprint ? 'unchanged' : 'changed');
  }
  for (const rule of inForce.rules) if (!candidate.get(rule.id)) add(rule.id, 'removed');
  return out;
}

const fired = (runs: readonly RuleRun[] | undefined) => (runs ?? []).filter((r) => outcomeOf(r) === 'fired');

/** Whether two lists of fired runs did the same: each action's kind, result and detail ({@link effect}). */
function sameEffect(a: readonly RuleRun[], b: readonly RuleRun[]): boolean {
  return a.every((run, i) => {
    const other = b[i]?.actions;
    return (
      other !== undefined &&
      run.actions.length === other.length &&
      run.actions.every(
        (x, j) => x.kind === other[j]?.kind && x.ok === other[j]?.ok && x.detail === other[j]?.detail,
      )
    );
  });
}

/** What fired runs did, comparable across the two sets: each action's kind, result and detail. */
function effect(runs: readonly RuleRun[]): string {
  return runs
    .map((r) => r.actions.map((a) => `${a.kind}${a.ok ? '' : '!'} ${a.detail}`).join('; '))
    .join(' | ');
}

function compare(
  event: RecordedEvent,
  candidate: Side,
  inForce: Side,
  differences: Map<string, RuleDifference>,
): void {
  if (candidate.runs.length === 0 && inForce.runs.length === 0) return;
  // Most often one rule ran once on each side: compared without grouping.
  const [a, b] = [candidate.runs[0], inForce.runs[0]];
  if (candidate.runs.length === 1 && inForce.runs.length === 1 && a && b && a.ruleId === b.ruleId) {
    tally(candidate, false);
    tally(inForce, false);
    compareRule(a.ruleId, event, [a], [b], differences);
    return;
  }
  const now = tally(candidate, true);
  const before = tally(inForce, true);
  for (const [id, runs] of now) compareRule(id, event, runs, before.get(id), differences);
  for (const [id, runs] of before) if (!now.has(id)) compareRule(id, event, undefined, runs, differences);
}

/** One rule's runs for one event in the two sets: a difference is counted, and kept as an example while there is room. */
function compareRule(
  id: string,
  event: RecordedEvent,
  now: readonly RuleRun[] | undefined,
  before: readonly RuleRun[] | undefined,
  differences: Map<string, RuleDifference>,
): void {
  const diff = differences.get(id);
  if (!diff) return;
  const a = fired(now);
  const b = fired(before);
  let what: string | null = null;
  if (a.length > b.length) {
    diff.firedMore += a.length - b.length;
    what = `fires (${effect(a) || 'no actions'})${b.length > 0 ? `; in force ${b.length}×` : '; in force it did not'}`;
  } else if (a.length < b.length) {
    diff.firedLess += b.length - a.length;
    what = `${a.length > 0 ? `fires ${a.length}×` : 'does not fire'}; in force it did (${effect(b) || 'no actions'})`;
  } else if (a.length > 0 && !sameEffect(a, b)) {
    diff.differently++;
    what = `fires differently: ${effect(a) || 'no actions'}; in force: ${effect(b) || 'no actions'}`;
  }
  if (what !== null && diff.examples.length < EXAMPLES_KEPT) {
    diff.examples.push(
      `${showTime(event.time)} ${event.topic} ${showValue(decodePayload(event.payload), 60)}: ${what}`,
    );
  }
}
