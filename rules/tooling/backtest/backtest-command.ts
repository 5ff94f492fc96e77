import {
  EdgehubError,
  EdgehubErrors,
  formatDuration,
  isDuration,
  parseDuration,
} from '../../../kernel/index.js';
import { formatProblem } from '../../language/rule-problem.js';
import { tryLoadRuleDir } from '../../language/loader.js';
import type { RuleSet } from '../../language/rule.js';
import { showTime } from '../trace/format.js';
import { backtest, type BacktestResult, type RuleActivity } from './backtest.js';
import type { EventPages } from './event-pages.js';

export interface BacktestCommandOptions {
  /** The candidate rules. */
  rulesDir: string;
  /** The rules in force to compare with (the hub's rules directory or `--against`); none: no comparison. */
  againstDir?: string;
  /** Recorded events, e.g. `openEventPages(eventsDbPath(dataDir))`. */
  history: EventPages;
  /** Epoch ms, inclusive. */
  sinceMs: number;
  untilMs: number;
  /** The report as one JSON object instead of text. */
  json: boolean;
  /** Where the progress bar goes (stderr); only drawn when it is a terminal. */
  progress?: NodeJS.WriteStream;
  /** Wall-clock ms for the speed figure (`performance.now`); the replay itself runs on virtual time. */
  wallClock: () => number;
}

/** `24h` (back from `nowMs`) or an ISO 8601 time, to epoch ms. */
export function parseSince(text: string, nowMs: number): number {
  if (isDuration(text)) return nowMs - parseDuration(text);
  const at = Date.parse(text);
  if (Number.isNaN(at)) {
    throw new EdgehubError(
      'USAGE',
      `--since takes a duration such as 24h or an ISO 8601 time; got "${text}"`,
    );
  }
  return at;
}

async function loadSet(dir: string, what: string): Promise<RuleSet> {
  const result = await tryLoadRuleDir(dir);
  if (result.ok) return result.set;
  throw new EdgehubErrors('RULE_INVALID', [
    new EdgehubError('RULE_INVALID', `${what} ${dir} is not valid:`),
    ...result.errors.map((e) => new EdgehubError(e.code, formatProblem(e))),
  ]);
}

/**
 * `edgehub backtest --rules DIR --since 24h`: replays recorded events and prints per rule what it
 * would have done and how that differs from the rules in force. Returns the exit status (0: the
 * replay ran; differences are findings, not failures).
 */
export async function runBacktestCommand(
  options: BacktestCommandOptions,
  out: (line: string) => void,
): Promise<number> {
  const candidate = await loadSet(options.rulesDir, 'the rules directory');
  const inForce =
    options.againstDir !== undefined ? await loadSet(options.againstDir, 'the rules in force') : undefined;
  const span = Math.max(1, options.untilMs - options.sinceMs);
  // Loaded here, not with the module: the hub imports the rules context and never draws a bar.
  const bar =
    options.progress?.isTTY === true
      ? new (await import('cli-progress')).SingleBar({
          stream: options.progress,
          format: 'backtest [{bar}] {percentage}% of the window | {events} events',
          hideCursor: true,
          clearOnComplete: true,
        })
      : undefined;
  bar?.start(span, 0, { events: 0 });
  const started = options.wallClock();
  let result: BacktestResult;
  try {
    result = await backtest({
      candidate,
      ...(inForce && { inForce }),
      history: options.history,
      sinceMs: options.sinceMs,
      untilMs: options.untilMs,
      onProgress: (p) => bar?.update(p.at - options.sinceMs, { events: p.events }),
    });
  } finally {
    bar?.stop();
  }
  const elapsedMs = Math.max(1e-3, options.wallClock() - started);
  if (options.json) {
    out(
      JSON.stringify({
        ...result,
        elapsedMs,
        eventsPerSecond: Math.round((result.events / elapsedMs) * 1000),
      }),
    );
    return 0;
  }
  for (const line of formatBacktest(result, { ...options, elapsedMs })) out(line);
  return 0;
}

const n = (v: number) => v.toLocaleString('en');

function pad(cells: readonly string[], widths: readonly number[]): string {
  return cells
    .map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
    .join('  ')
    .trimEnd();
}

/** The report as text: a line about the replay, then one row per rule, then examples of differences. */
export function formatBacktest(
  result: BacktestResult,
  context: { rulesDir: string; againstDir?: string; sinceMs: number; untilMs: number; elapsedMs: number },
): string[] {
  const rate = Math.round((result.events / context.elapsedMs) * 1000);
  const lines = [
    `backtest of ${context.rulesDir}${context.againstDir !== undefined ? ` against the rules in force (${context.againstDir})` : ''}`,
    `  window ${showTime(context.sinceMs)} – ${showTime(context.untilMs)} (${formatDuration(context.untilMs - context.sinceMs)})`,
    `  ${n(result.events)} events replayed in ${(context.elapsedMs / 1000).toFixed(2)} s (${n(rate)} events/s)` +
      (result.skipped > 0 ? `; ${n(result.skipped)} published by the hub itself were not replayed` : ''),
  ];
  if (result.runaways > 0)
    lines.push('  warning: the rules kept publishing to themselves; the replay stopped feeding them back');
  const inForce = new Map((result.inForce ?? []).map((a) => [a.id, a]));
  const diffs = new Map((result.differences ?? []).map((d) => [d.id, d]));
  // The forward column only when a rule forwarded, so reports of rule sets without connectors stay as they were.
  const forwarded = [...result.candidate, ...(result.inForce ?? [])].some((a) => a.forwards > 0);
  const header = ['rule', 'fired', 'blocked', 'errors', 'publish', 'command', 'alert'];
  if (forwarded) header.push('forward');
  if (result.differences) header.push('vs in force');
  const rows: string[][] = [];
  const activity = (a: RuleActivity | undefined): string[] => {
    if (!a) return Array<string>(forwarded ? 7 : 6).fill('—');
    const counts = [a.fired, a.blocked, a.errors, a.publishes, a.commands, a.alerts];
    if (forwarded) counts.push(a.forwards);
    return counts.map(n);
  };
  for (const a of result.candidate) {
    const row = [a.id, ...activity(a)];
    const d = diffs.get(a.id);
    if (d) {
      const before = inForce.get(a.id);
      if (d.presence === 'new') row.push('new rule');
      else if (d.firedMore + d.firedLess + d.differently === 0)
        row.push(d.presence === 'changed' ? 'changed, same effect' : 'same');
      else {
        const parts: string[] = [];
        if (d.firedMore > 0) parts.push(`fired ${n(d.firedMore)} more`);
        if (d.firedLess > 0) parts.push(`${n(d.firedLess)} less`);
        if (d.differently > 0) parts.push(`${n(d.differently)} differently`);
        row.push(`${parts.join(', ')} (in force fired ${n(before?.fired ?? 0)})`);
      }
    }
    rows.push(row);
  }
  for (const d of result.differences ?? []) {
    if (d.presence !== 'removed') continue;
    const before = inForce.get(d.id);
    rows.push([d.id, ...activity(undefined), `removed (in force fired ${n(before?.fired ?? 0)})`]);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  // The free-text "vs in force" column is last and not padded; a count column is.
  if (result.differences) widths[widths.length - 1] = 0;
  lines.push('', pad(header, widths), ...rows.map((r) => pad(r, widths)));
  const examples = (result.differences ?? []).filter((d) => d.examples.length > 0);
  if (examples.length > 0) {
    lines.push('', 'first differences:');
    for (const d of examples) for (const e of d.examples) lines.push(`  ${d.id}  ${e}`);
  }
  return lines;
}
