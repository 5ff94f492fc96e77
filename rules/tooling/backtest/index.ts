export {
  backtest,
  type BacktestOptions,
  type BacktestResult,
  type RuleActivity,
  type RuleDifference,
} from './backtest.js';
export {
  formatBacktest,
  parseSince,
  runBacktestCommand,
  type BacktestCommandOptions,
} from './backtest-command.js';
export {
  openEventPages,
  payloadBytes,
  readerPages,
  type EventPages,
  type HistoryEvent,
  type HistorySource,
  type RecordedEvent,
} from './event-pages.js';
