import type { ConditionView, RunView } from './run-view.js';

/** Why a run was blocked, in words (the engine's reasons). */
const REASONS: Readonly<Record<string, string>> = {
  condition: 'if false',
  cooldown: 'cooldown',
  throttle: 'throttled',
  mode: 'a run for this key was still going',
  suspended: 'suspended by the loop breaker',
};

function conditionLines(list: readonly ConditionView[], indent: string): string[] {
  return list.flatMap((c) => {
    const mark = c.held === true ? '✓' : c.held === false ? '✗' : '·';
    const value = c.children.length > 0 ? '' : `  = ${showValue(c.value)}`;
    return [`${indent}${mark} ${c.text}${value}`, ...conditionLines(c.children, `${indent}  `)];
  });
}

/** Values in one line, clipped: payloads can be large and a trace is read in a terminal. */
export function showValue(value: unknown, max = 120): string {
  let text: string;
  if (value === undefined) text = '—';
  else if (typeof value === 'string') text = JSON.stringify(value);
  else {
    try {
      text = JSON.stringify(value) ?? typeof value;
    } catch {
      // Cycles or BigInts: say what it is rather than print [object Object].
      text = `(${typeof value})`;
    }
  }
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** ISO 8601 in UTC, to the millisecond: what the logs use. */
export function showTime(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : String(ms);
}

/**
 * One run as text: time, outcome (and why it was blocked), trigger and input, each condition with
 * its value (✓ held, ✗ did not), each action with its result.
 */
export function formatRun(run: RunView): string[] {
  const took = run.finishedAt - run.startedAt;
  const outcome =
    run.outcome === 'fired'
      ? 'FIRED'
      : run.outcome === 'error'
        ? 'ERROR'
        : `BLOCKED${run.reason ? ` (${REASONS[run.reason] ?? run.reason})` : ''}`;
  const lines = [
    `${showTime(run.startedAt)}  ${outcome}${run.key !== null ? `  key ${run.key}` : ''}${took > 0 ? `  ${took} ms` : ''}`,
  ];
  const trigger = run.trigger;
  const label = trigger.id !== null ? `trigger ${trigger.id}` : 'trigger';
  const input = trigger.payload !== undefined ? `  ${showValue(trigger.payload)}` : '';
  lines.push(`  ${label}: ${trigger.source}${input}`);
  if (run.conditions.length === 0) lines.push('  if: (no conditions)');
  lines.push(...conditionLines(run.conditions, '  '));
  if (run.actions.length === 0 && run.outcome !== 'fired' && run.branch === null) {
    lines.push('  no actions ran');
  }
  for (const a of run.actions) {
    const mark = a.ok ? '✓' : '✗';
    const branch = a.branch ?? run.branch;
    const time = a.durationMs !== null && a.durationMs > 0 ? `  (${a.durationMs} ms)` : '';
    const error = a.error ? `  error: ${a.error}` : '';
    lines.push(`  ${branch ? `${branch}: ` : ''}${mark} ${a.kind} ${a.detail}${time}${error}`.trimEnd());
  }
  if (run.error && !run.actions.some((a) => a.error === run.error)) lines.push(`  error: ${run.error}`);
  return lines;
}
