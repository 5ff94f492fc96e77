import { formatDuration, topicMatches } from '../../../kernel/index.js';
import { jsonEqual } from '../../language/expression/values.js';
import { showValue } from '../trace/format.js';
import type { RecordedAlert, RecordedCommand, RecordedForward, RecordedPublish } from './harness.js';
import type { ScenarioExpectation } from './schema.js';

/** One way an actual value differs from the expected (partial) value. */
export interface Difference {
  /** Key path inside the value, e.g. `payload.on`. */
  readonly path: string;
  readonly expected: unknown;
  readonly actual: unknown;
}

/**
 * Partial match: every key the expectation lists must be equal in the actual value (maps
 * recursively); keys it does not list may be anything. Lists must match item by item.
 */
export function differences(expected: unknown, actual: unknown, path: string): Difference[] {
  if (expected !== null && typeof expected === 'object' && !Array.isArray(expected)) {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual))
      return [{ path, expected, actual }];
    const out: Difference[] = [];
    for (const [key, value] of Object.entries(expected)) {
      const inner = Object.hasOwn(actual, key) ? (actual as Record<string, unknown>)[key] : undefined;
      out.push(...differences(value, inner, path ? `${path}.${key}` : key));
    }
    return out;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length) return [{ path, expected, actual }];
    return expected.flatMap((item: unknown, i) => differences(item, actual[i], `${path}[${i}]`));
  }
  return jsonEqual(expected, actual) ? [] : [{ path, expected, actual }];
}

/** What the rules did, as the scenario recorded it. */
export interface Observed {
  readonly publishes: readonly RecordedPublish[];
  readonly commands: readonly RecordedCommand[];
  readonly alerts: readonly RecordedAlert[];
  readonly forwards: readonly RecordedForward[];
}

export interface ExpectationOutcome {
  readonly ok: boolean;
  /** The expectation in one line, e.g. `publish actuators/gh-1/fan {"on":true} within 0s–1m`. */
  readonly summary: string;
  /** Why it failed: counts, and the closest actual with its differences. */
  readonly details: readonly string[];
}

interface Candidate {
  readonly at: number;
  readonly text: string;
  readonly diffs: readonly Difference[];
}

const MISMATCH_SHOWN = 3;

/**
 * Checks one expectation against what happened between `from` and `until` (epoch ms, inclusive).
 * `startMs` is the scenario's start, for showing times relative to it.
 */
export function checkExpectation(
  expectation: ScenarioExpectation,
  observed: Observed,
  window: { from: number; until: number; startMs: number },
): ExpectationOutcome {
  const rel = (at: number) => formatDuration(Math.max(0, at - window.startMs));
  const inWindow = (at: number) => at >= window.from && at <= window.until;
  const span =
    window.until === Number.POSITIVE_INFINITY
      ? `from ${rel(window.from)}`
      : `within ${rel(window.from)}–${rel(window.until)}`;

  let summary: string;
  let candidates: Candidate[];
  let negative = false;
  if (expectation.publish || expectation.no_publish) {
    const want = expectation.publish ?? { topic: expectation.no_publish?.topic ?? '' };
    negative = expectation.no_publish !== undefined;
    const payload = 'payload' in want ? want.payload : undefined;
    const retain = 'retain' in want ? want.retain : undefined;
    summary = `${negative ? 'no publish to' : 'publish'} ${want.topic}${payload !== undefined ? ` ${showValue(payload)}` : ''}`;
    candidates = observed.publishes.map((p) => ({
      at: p.at,
      text: `${p.topic} ${showValue(p.payload)}${p.retain ? ' (retained)' : ''}`,
      diffs: [
        ...(topicMatches(want.topic, p.topic)
          ? []
          : [{ path: 'topic', expected: want.topic, actual: p.topic }]),
        ...(payload !== undefined ? differences(payload, p.payload, 'payload') : []),
        ...(retain !== undefined && retain !== p.retain
          ? [{ path: 'retain', expected: retain, actual: p.retain }]
          : []),
      ],
    }));
  } else if (expectation.command) {
    const want = expectation.command;
    summary = `command ${want.device}${want.set ? ` set ${showValue(want.set)}` : ''}`;
    candidates = observed.commands.map((c) => ({
      at: c.at,
      text: `${c.device} set ${showValue(c.set)} (rule ${c.origin})`,
      diffs: [
        ...(c.device === want.device ? [] : [{ path: 'device', expected: want.device, actual: c.device }]),
        ...(want.set ? differences(want.set, c.set, 'set') : []),
      ],
    }));
  } else if (expectation.forward) {
    const want = expectation.forward;
    summary =
      `forward to ${want.to}${want.destination !== undefined ? ` ${want.destination}` : ''}` +
      `${want.key !== undefined ? ` key ${showValue(want.key)}` : ''}` +
      `${want.payload !== undefined ? ` ${showValue(want.payload)}` : ''}`;
    candidates = observed.forwards.map((f) => ({
      at: f.at,
      text: `${f.to} ${f.destination}${f.key === null ? '' : ` key ${f.key}`} ${showValue(f.payload)}`,
      diffs: [
        ...(f.to === want.to ? [] : [{ path: 'to', expected: want.to, actual: f.to }]),
        ...(want.destination === undefined || want.destination === f.destination
          ? []
          : [{ path: 'destination', expected: want.destination, actual: f.destination }]),
        ...(want.key === undefined || want.key === f.key
          ? []
          : [{ path: 'key', expected: want.key, actual: f.key }]),
        ...(want.payload !== undefined ? differences(want.payload, f.payload, 'payload') : []),
      ],
    }));
  } else {
    const want = expectation.alert ?? { key: '' };
    const severity = 'severity' in want ? want.severity : undefined;
    summary = `alert ${want.key}${severity ? ` (${severity})` : ''}`;
    candidates = observed.alerts.map((a) => ({
      at: a.at,
      text: `${a.cleared ? 'cleared ' : ''}${a.key}${a.severity ? ` (${a.severity})` : ''} by rule ${a.ruleId}`,
      diffs: [
        ...(a.key === want.key ? [] : [{ path: 'key', expected: want.key, actual: a.key }]),
        ...(severity !== undefined && severity !== a.severity
          ? [{ path: 'severity', expected: severity, actual: a.severity }]
          : []),
        ...(a.cleared ? [{ path: 'cleared', expected: false, actual: true }] : []),
      ],
    }));
  }
  summary += ` ${span}`;
  if (expectation.times !== undefined)
    summary += `, ${expectation.times} time${expectation.times === 1 ? '' : 's'}`;

  const matches = candidates.filter((c) => c.diffs.length === 0 && inWindow(c.at));
  const times = negative ? 0 : expectation.times;
  const ok = times === undefined ? matches.length > 0 : matches.length === times;
  if (ok) return { ok, summary, details: [] };

  const details: string[] = [];
  if (matches.length > 0) {
    details.push(
      `expected ${times === 0 ? 'none' : `exactly ${times}`}, got ${matches.length}:`,
      ...matches.slice(0, 5).map((m) => `  at ${rel(m.at)}: ${m.text}`),
    );
    if (matches.length > 5) details.push(`  … and ${matches.length - 5} more`);
    return { ok, summary, details };
  }
  details.push(`expected ${times === undefined ? 'at least 1' : `exactly ${times}`}, got 0`);
  const closest = closestOf(candidates, inWindow);
  if (!closest) {
    details.push(
      `nothing of the kind happened at all (${candidates.length === 0 ? 'no ' : ''}${kindName(expectation)})`,
    );
    return { ok, summary, details };
  }
  const outside = inWindow(closest.at) || closest.diffs.length === 0 ? '' : ' (outside the window)';
  details.push(`closest: at ${rel(closest.at)}${outside}: ${closest.text}`);
  for (const d of closest.diffs.slice(0, MISMATCH_SHOWN)) {
    details.push(`  ${d.path}: expected ${showValue(d.expected)}, got ${showValue(d.actual)}`);
  }
  if (closest.diffs.length === 0) details.push(`  it matches, but outside the window (${span})`);
  return { ok, summary, details };
}

function kindName(e: ScenarioExpectation): string {
  return e.command ? 'commands' : e.alert ? 'alerts' : e.forward ? 'forwards' : 'publishes';
}

/** The actual value closest to the expectation: fewest differences, a matching topic/key first, then in the window. */
function closestOf(
  candidates: readonly Candidate[],
  inWindow: (at: number) => boolean,
): Candidate | undefined {
  const score = (c: Candidate) =>
    c.diffs.length * 10 +
    (c.diffs.some(
      (d) =>
        d.path === 'topic' ||
        d.path === 'device' ||
        d.path === 'key' ||
        d.path === 'to' ||
        d.path === 'destination',
    )
      ? 100
      : 0) +
    (inWindow(c.at) ? 0 : 5);
  let best: Candidate | undefined;
  for (const c of candidates) if (!best || score(c) < score(best)) best = c;
  return best;
}
