/**
 * The rules context: rule files (schema, loader, `check`), the expression language, the engine that
 * runs rules against messages, and the watcher that reloads a directory while the hub runs.
 * Other contexts import from this file only.
 */
export {
  checkRules,
  formatProblem,
  runCheckCommand,
  toRuleProblem,
  type CheckCommandOptions,
  type CheckResult,
  type RuleProblem,
} from './check.js';
export { RuleEngine, type RuleEngineDeps, type RuleStats } from './engine.js';
export { EXAMPLE_RULES_DIR } from './examples-dir.js';
export {
  compileExpression,
  type CompiledExpression,
  type Evaluator,
  type OffsetLocator,
} from './expression/compile.js';
export { makeScope, type Scope, type TriggerInfo } from './expression/scope.js';
export { compileTemplate, type CompiledTemplate } from './expression/template.js';
export {
  compileRuleFiles,
  isRuleFileName,
  loadRuleDir,
  tryLoadRuleDir,
  type RuleFileText,
  type RuleLoadResult,
} from './loader.js';
export type { Action, MqttTrigger, Rule, RuleSet, Trigger } from './rule.js';
export { ruleFileJsonSchema, ruleFileSchema, type RuleDefinition } from './schema.js';
export { parseFilter, TopicIndex, type ParsedFilter, type TopicMatch } from './topic-index.js';
export type { ActionResult, ConditionResult, RuleRun, RuleTrace, RunOutcome } from './trace.js';
export {
  backtest,
  formatBacktest,
  parseSince,
  payloadBytes,
  runBacktestCommand,
  type BacktestCommandOptions,
  type BacktestOptions,
  type BacktestResult,
  type HistoryEvent,
  type HistorySource,
  type RuleActivity,
  type RuleDifference,
} from './backtest/index.js';
export { findRuleLoops, publishedLevels, topicsOverlap } from './loops.js';
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
} from './scenario/index.js';
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
} from './trace/index.js';
export { RuleDirWatcher, type RuleDirWatcherDeps, type RulesStatus } from './watcher.js';
