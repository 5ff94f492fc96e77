export {
  backtest,
  payloadBytes,
  type BacktestOptions,
  type BacktestResult,
  type HistoryEvent,
  type HistorySource,
  type RuleActivity,
  type RuleDifference,
} from './backtest.js';
export {
  formatBacktest,
  parseSince,
  runBacktestCommand,
  type BacktestCommandOptions,
} from './backtest-command.js';
