export { formatRun, showTime, showValue } from './format.js';
export {
  actionSignature,
  outcomeOf,
  TRACE_OUTCOMES,
  viewRun,
  type ActionView,
  type ConditionView,
  type RunView,
  type TraceOutcome,
} from './run-view.js';
export { runTraceCommand, type TraceCommandOptions } from './trace-command.js';
export {
  openRulesDb,
  openTraceReader,
  rulesDbPath,
  TraceStore,
  type TraceQuery,
  type TraceReader,
  type TraceRecord,
  type TraceStoreDeps,
  type TraceSummary,
} from './trace-store.js';
