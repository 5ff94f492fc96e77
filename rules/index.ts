/**
 * The rules context: rule files (schema, loader, `check`), the expression language, the engine that
 * runs rules against messages, and the watcher that reloads a directory while the hub runs.
 * Other contexts import from this file only.
 */
export {
  checkRules,
  runCheckCommand,
  type CheckCommandOptions,
  type CheckResult,
} from './tooling/check/check.js';
export { formatProblem, toRuleProblem, type RuleProblem } from './language/rule-problem.js';
export { ALERT_TOPIC_PREFIX, AlertBook } from './engine/alert-book.js';
export type { RuleLoadOptions } from './language/compile/context.js';
export {
  RuleEngine,
  type ReadingInput,
  type RuleEngineDeps,
  type RuleStats,
  type StatusInput,
} from './engine/engine.js';
export { type FetchLike, type HttpSettings } from './engine/http.js';
export { isTimeZone, systemTimeZone } from './language/local-time.js';
export { DEFAULT_LOOP_BREAKER, type LoopBreakerSettings } from './engine/runner.js';
export type { HubPlace } from './language/schedule.js';
export {
  MemoryRuleStateStore,
  type AlertRecord,
  type RuleStateStore,
  type StoredState,
} from './engine/state/rule-state-store.js';
export { SqliteRuleStateStore } from './engine/state/sqlite-rule-state-store.js';
export { EXAMPLE_RULES_DIR } from './examples/examples-dir.js';
export {
  compileExpression,
  type CompiledExpression,
  type Evaluator,
  type OffsetLocator,
} from './language/expression/compile.js';
export { makeScope, type Scope, type TriggerInfo } from './language/expression/scope.js';
export { compileTemplate, type CompiledTemplate } from './language/expression/template.js';
export {
  compileRuleFiles,
  isRuleFileName,
  loadRuleDir,
  tryLoadRuleDir,
  type RuleFileText,
  type RuleLoadResult,
} from './language/loader.js';
export type { Action, Condition, MqttTrigger, Rule, RuleSet, Trigger, TriggerKind } from './language/rule.js';
export {
  ruleFileJsonSchema,
  ruleFileSchema,
  SEVERITIES,
  type RuleDefinition,
  type Severity,
} from './language/schema/rule-file.js';
export { parseFilter, TopicIndex, type ParsedFilter, type TopicMatch } from './language/topic-index.js';
export type {
  ActionResult,
  BlockReason,
  ConditionResult,
  RuleRun,
  RuleTrace,
  RunOutcome,
} from './engine/rule-run.js';
export {
  backtest,
  formatBacktest,
  openEventPages,
  parseSince,
  payloadBytes,
  readerPages,
  runBacktestCommand,
  type BacktestCommandOptions,
  type BacktestOptions,
  type BacktestResult,
  type EventPages,
  type HistoryEvent,
  type HistorySource,
  type RecordedEvent,
  type RuleActivity,
  type RuleDifference,
} from './tooling/backtest/index.js';
export { findRuleLoops, publishedLevels, topicsOverlap } from './language/loops.js';
export {
  loadScenario,
  MemoryDevices,
  RuleHarness,
  runScenarioFile,
  runTestCommand,
  scenarioSchema,
  type LoadedScenario,
  type RuleHarnessOptions,
  type Scenario,
  type ScenarioResult,
} from './tooling/scenario/index.js';
export {
  formatRun,
  openRulesDb,
  openTraceReader,
  rulesDbPath,
  runTraceCommand,
  TraceStore,
  viewRun,
  type RunView,
  type TraceCommandOptions,
  type TraceOutcome,
  type TraceQuery,
  type TraceReader,
  type TraceRecord,
  type TraceStoreDeps,
  type TraceSummary,
} from './tooling/trace/index.js';
export { RuleDirWatcher, type RuleDirWatcherDeps, type RulesStatus } from './engine/watcher.js';
