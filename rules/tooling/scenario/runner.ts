import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import {
  EdgehubError,
  errorMessage,
  formatDuration,
  MemoryLogger,
  parseDuration,
  YamlSource,
  type SourceLocation,
} from '../../../kernel/index.js';
import { formatProblem } from '../../language/rule-problem.js';
import { isRuleFileName, tryLoadRuleDir } from '../../language/loader.js';
import { checkExpectation, type ExpectationOutcome } from './expectations.js';
import type { RuleSet } from '../../language/rule.js';
import { RuleHarness } from './harness.js';
import { scenarioSchema, type Scenario, type ScenarioStep } from './schema.js';

/** Where the virtual clock starts unless the scenario says `start:`; a fixed time keeps runs repeatable. */
const DEFAULT_START = Date.UTC(2026, 0, 1);

/** A validated scenario file, with each step's time worked out and located. */
export interface LoadedScenario {
  readonly file: string;
  readonly scenario: Scenario;
  /** The rules directory, resolved against the scenario file's directory. */
  readonly rulesDir: string;
  readonly startMs: number;
  /** Epoch ms at which each step happens. */
  readonly stepTimes: readonly number[];
  readonly stepLocations: readonly SourceLocation[];
  readonly expectLocations: readonly SourceLocation[];
}

/** Parses and validates a scenario file; throws `SCENARIO_INVALID` errors located at file:line:col. */
export function loadScenario(file: string, text: string): LoadedScenario {
  const source = YamlSource.parse(file, text, 'SCENARIO_INVALID');
  const checked = source.validate(scenarioSchema, 'SCENARIO_INVALID');
  if ('errors' in checked)
    throw checked.errors[0] ?? new EdgehubError('SCENARIO_INVALID', `${file} is invalid`);
  const scenario = checked.value;
  const startMs = scenario.start !== undefined ? Date.parse(scenario.start) : DEFAULT_START;
  let now = startMs;
  const stepTimes = scenario.steps.map((step: ScenarioStep, i) => {
    if (step.at !== undefined) {
      const at = startMs + parseDuration(step.at);
      if (at < now) {
        throw new EdgehubError(
          'SCENARIO_INVALID',
          `at: ${step.at} is before the previous step (${formatDuration(now - startMs)}); steps go forward in time`,
          { location: source.locate(['steps', i, 'at']) },
        );
      }
      now = at;
    } else if (step.advance !== undefined) {
      now += parseDuration(step.advance);
    }
    return now;
  });
  return {
    file,
    scenario,
    rulesDir: resolve(dirname(file), scenario.rules),
    startMs,
    stepTimes,
    stepLocations: scenario.steps.map((_s, i) => source.locate(['steps', i])),
    expectLocations: scenario.expect.map((_e, i) => source.locate(['expect', i])),
  };
}

export interface ScenarioResult {
  readonly file: string;
  /** The scenario's name; the file name when it did not load. */
  readonly name: string;
  readonly ok: boolean;
  /** Why it could not run: an invalid scenario or rules directory (each `file:line:col path: message`). */
  readonly problems: readonly string[];
  readonly expectations: readonly (ExpectationOutcome & { readonly location: SourceLocation })[];
  /** ms of virtual time the scenario covered. */
  readonly ruleTimeMs: number;
  readonly publishes: number;
}

function failed(file: string, problems: string[]): ScenarioResult {
  return { file, name: file, ok: false, problems, expectations: [], ruleTimeMs: 0, publishes: 0 };
}

/** Runs one scenario file on a virtual clock against the engine the hub runs. */
export async function runScenarioFile(file: string): Promise<ScenarioResult> {
  let loaded: LoadedScenario;
  try {
    loaded = loadScenario(file, readFileSync(file, 'utf8'));
  } catch (err) {
    if (err instanceof EdgehubError) return failed(file, [formatProblem(err)]);
    return failed(file, [`${file}: ${errorMessage(err)}`]);
  }
  const rules = await tryLoadRuleDir(loaded.rulesDir);
  if (!rules.ok) {
    return {
      ...failed(
        file,
        rules.errors.map((e) => formatProblem(e)),
      ),
      name: loaded.scenario.scenario,
    };
  }
  return runScenario(loaded, rules.set);
}

/** Runs a loaded scenario against a rule set. */
export async function runScenario(loaded: LoadedScenario, set: RuleSet): Promise<ScenarioResult> {
  const { scenario, startMs } = loaded;
  const harness = new RuleHarness(set, {
    startMs,
    logger: new MemoryLogger(),
    ...(scenario.timezone !== undefined && { timezone: scenario.timezone }),
    ...(scenario.location !== undefined && { location: scenario.location }),
  });
  for (const d of scenario.devices ?? [])
    harness.devices.declare(d.id, { status: d.status ?? 'online', state: d.state ?? {} }, startMs);

  const problems: string[] = [];
  for (const [i, step] of scenario.steps.entries()) {
    await harness.advanceTo(loaded.stepTimes[i] ?? harness.clock.now());
    perform(harness, step);
    await harness.settle();
  }
  const windows = scenario.expect.map((e) => {
    const from = startMs + (e.after !== undefined ? parseDuration(e.after) : 0);
    const until = e.within !== undefined ? from + parseDuration(e.within) : Number.POSITIVE_INFINITY;
    return { from, until };
  });
  // Time runs on to the end of the last window, so a `for: 5m` or a `delay` inside it can happen.
  const end = Math.max(harness.clock.now(), ...windows.map((w) => (Number.isFinite(w.until) ? w.until : 0)));
  await harness.advanceTo(end);

  const expectations = scenario.expect.map((e, i) => ({
    ...checkExpectation(e, harness, { ...(windows[i] ?? { from: startMs, until: end }), startMs }),
    location: loaded.expectLocations[i] ?? { file: loaded.file, line: 1, col: 1, path: '' },
  }));
  if (harness.runaway) {
    problems.push('the rules kept publishing to each other (over 10,000 messages from one input): a loop');
  }
  return {
    file: loaded.file,
    name: scenario.scenario,
    ok: problems.length === 0 && expectations.every((e) => e.ok),
    problems,
    expectations,
    ruleTimeMs: end - startMs,
    publishes: harness.publishes.length,
  };
}

/** Feeds one step to the harness. */
function perform(harness: RuleHarness, step: ScenarioStep): void {
  if (step.publish) {
    const p = step.publish.payload;
    harness.inject({
      topic: step.publish.topic,
      payload: p === undefined ? '' : typeof p === 'string' ? p : JSON.stringify(p),
      retain: step.publish.retain ?? false,
    });
  } else if (step.event !== undefined) {
    harness.postEvent(step.event, step.data ?? null);
  } else if (step.device !== undefined && step.status !== undefined) {
    harness.inject({ topic: `devices/${step.device}/availability`, payload: step.status, retain: true });
  } else if (step.device !== undefined && step.metric !== undefined) {
    harness.inject({
      topic: `sensors/${step.device}/${step.metric}`,
      payload: JSON.stringify({ value: step.value }),
      clientId: step.device,
    });
  }
}

/** The scenario files of `path`: the file itself, or the `*.yaml` / `*.yml` files of a directory. */
export function scenarioFiles(path: string): string[] {
  let stat;
  try {
    stat = statSync(path);
  } catch (err) {
    throw new EdgehubError('USAGE', `cannot read ${path}: ${errorMessage(err)}`, { cause: err });
  }
  if (!stat.isDirectory()) return [path];
  return readdirSync(path)
    .filter(isRuleFileName)
    .sort()
    .map((name) => join(path, name));
}

/**
 * `edgehub test PATH`: runs every scenario, prints each result and for a failed expectation what
 * differed (expected vs the closest actual). Returns the exit status: 0 when all pass.
 */
export async function runTestCommand(path: string, out: (line: string) => void): Promise<number> {
  const files = scenarioFiles(path);
  if (files.length === 0) {
    out(`${path}: no scenario files (*.yaml, *.yml)`);
    return 1;
  }
  let passed = 0;
  for (const file of files) {
    const result = await runScenarioFile(file);
    if (result.ok) passed++;
    const checks = result.expectations.length;
    out(
      `${result.ok ? '✓' : '✗'} ${result.name}  (${file}` +
        (result.problems.length === 0 || checks > 0
          ? `, ${checks} expectation${checks === 1 ? '' : 's'}, ${formatDuration(result.ruleTimeMs)} of rule time)`
          : ')'),
    );
    for (const problem of result.problems) out(`    ${problem}`);
    for (const e of result.expectations) {
      if (e.ok) continue;
      out(`    ✗ ${e.location.file}:${e.location.line}:${e.location.col} ${e.location.path}: ${e.summary}`);
      for (const line of e.details) out(`        ${line}`);
    }
  }
  const failures = files.length - passed;
  out(`${files.length} scenario${files.length === 1 ? '' : 's'}: ${passed} passed, ${failures} failed`);
  return failures === 0 ? 0 : 1;
}
