/**
 * The rules context, in three parts. `language/`: what a rule file says and means (schema,
 * expressions and templates, the compiler and loader, the static checks). `engine/`: what runs the
 * compiled rules against messages, readings and the clock (runs, alerts, durable state, the watcher
 * that reloads a directory while the hub runs). `tooling/`: what helps write and understand rules
 * (`edgehub check`, scenarios, stored traces, back-tests). The example rules and the catalogue of
 * broken files are beside them. Other contexts import from this file only.
 */

// The language
export {
  compileRuleDir,
  compileRuleFiles,
  isRuleFileName,
  loadRuleDir,
  readRuleDir,
  tryLoadRuleDir,
  type RuleDirContents,
  type RuleFileText,
  type RuleLoadResult,
} from './language/loader.js';
export type { RuleLoadOptions } from './language/compile/context.js';
export type { Action, Condition, MqttTrigger, Rule, RuleSet, Trigger, TriggerKind } from './language/rule.js';
export {
  ruleFileJsonSchema,
  ruleFileSchema,
  SEVERITIES,
  type RuleDefinition,
  type Severity,
} from './language/schema/rule-file.js';
export { formatProblem, toRuleProblem, type RuleProblem } from './language/rule-problem.js';
export {
  compileExpression,
  type CompiledExpression,
  type Evaluator,
  type OffsetLocator,
} from './language/expression/compile.js';
export { makeScope, type Scope, type TriggerInfo } from './language/expression/scope.js';
export { compileTemplate, type CompiledTemplate } from './language/expression/template.js';
export { parseFilter, TopicIndex, type ParsedFilter, type TopicMatch } from './language/topic-index.js';
export { findRuleLoops, publishedLevels, topicsOverlap } from './language/loops.js';
export { isTimeZone, localTime, systemTimeZone } from './language/local-time.js';
export type { HubPlace } from './language/schedule.js';
export { EXAMPLE_RULES_DIR } from './examples/examples-dir.js';

// The engine
export {
  RuleEngine,
  type ReadingInput,
  type RuleEngineDeps,
  type RuleStats,
  type StatusInput,
} from './engine/engine.js';
export type {
  ActionResult,
  BlockReason,
  ConditionResult,
  RuleRun,
  RuleTrace,
  RunOutcome,
} from './engine/rule-run.js';
export type { ForwardMessage, Forwarder, Notification, Notifier, NotifyReceipt } from './engine/actions.js';
export { NOTIFY_PRIORITIES, type NotifyPriority } from './language/schema/actions.js';
export { ALERT_TOPIC_PREFIX, AlertBook } from './engine/alert-book.js';
export { type FetchLike, type HttpSettings } from './engine/http.js';
export { DEFAULT_LOOP_BREAKER, type LoopBreakerSettings } from './engine/runner.js';
export {
  MemoryRuleStateStore,
  type AlertRecord,
  type RuleStateStore,
  type StoredState,
} from './engine/state/rule-state-store.js';
export { SqliteRuleStateStore } from './engine/state/sqlite-rule-state-store.js';
export { RULES_DB_SCHEMA } from './engine/state/rules-db-schema.js';
export { RuleDirWatcher, type RuleDirWatcherDeps, type RulesStatus } from './engine/watcher.js';

// The tooling
export {
  checkRules,
  runCheckCommand,
  type CheckCommandOptions,
  type CheckResult,
} from './tooling/check/check.js';
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
