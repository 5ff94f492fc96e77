import { EdgehubError } from '../../../kernel/index.js';
import { formatRun } from './format.js';
import { viewRun, TRACE_OUTCOMES, type TraceOutcome } from './run-view.js';
import { openTraceReader, rulesDbPath } from './trace-store.js';

export interface TraceCommandOptions {
  ruleId: string;
  /** The hub's data directory (where `rules.db` is). */
  dataDir: string;
  outcome?: string;
  /** Most runs shown, newest first. */
  limit: number;
  /** One JSON object per line instead of text. */
  json: boolean;
}

/**
 * `edgehub trace RULE_ID`: why a rule did or did not fire, from the stored traces; works while the
 * hub runs. Returns the exit status: 0 with runs to show, 1 without (or on bad input).
 */
export function runTraceCommand(options: TraceCommandOptions, out: (line: string) => void): number {
  const outcome = options.outcome;
  if (outcome !== undefined && !TRACE_OUTCOMES.includes(outcome as TraceOutcome)) {
    throw new EdgehubError(
      'USAGE',
      `--outcome must be one of ${TRACE_OUTCOMES.join(', ')}; got "${outcome}"`,
    );
  }
  const reader = openTraceReader(rulesDbPath(options.dataDir));
  try {
    const records = reader.query({
      ruleId: options.ruleId,
      limit: options.limit,
      ...(outcome !== undefined && { outcome: outcome as TraceOutcome }),
    });
    if (options.json) {
      for (const r of records) out(JSON.stringify(r));
      return records.length > 0 ? 0 : 1;
    }
    if (records.length === 0) {
      const known = reader.summary().map((s) => s.ruleId);
      out(
        `no stored ${outcome ?? ''}${outcome ? ' ' : ''}runs of rule "${options.ruleId}"` +
          (known.length > 0 ? `; rules with traces: ${known.join(', ')}` : '; no rule has run yet'),
      );
      return 1;
    }
    const summary = reader.summary().find((s) => s.ruleId === options.ruleId);
    out(
      `rule ${options.ruleId}: ${records.length} run${records.length === 1 ? '' : 's'}, newest first` +
        (summary
          ? ` (stored: ${summary.fired} fired, ${summary.blocked} blocked, ${summary.errors} errors)`
          : ''),
    );
    for (const record of records) {
      out('');
      for (const line of formatRun(viewRun(record.run))) out(line);
    }
    return 0;
  } finally {
    reader.close();
  }
}
