import { openDeliveryReader, type DeliveryRecord } from '../notifiers/index.js';

export interface NotificationTraceOptions {
  /** The hub's data directory (where `notifications.db` is). */
  dataDir: string;
  /** Only the deliveries a rule asked for (`rule:<id>`). */
  ruleId?: string;
  notifier?: string;
  limit: number;
  json: boolean;
}

/**
 * `edgehub trace --notifications [RULE_ID]`: the newest deliveries and what became of each (works
 * while the hub runs). Returns the exit status: 0 with deliveries to show, 1 without.
 */
export function runNotificationTrace(options: NotificationTraceOptions, out: (line: string) => void): number {
  const reader = openDeliveryReader(options.dataDir);
  try {
    const records = reader.recent({
      limit: options.limit,
      ...(options.ruleId !== undefined && { source: `rule:${options.ruleId}` }),
      ...(options.notifier !== undefined && { notifier: options.notifier }),
    });
    if (options.json) for (const r of records) out(JSON.stringify(r));
    else if (records.length === 0) out('no stored notifications match');
    else for (const r of records) out(formatDelivery(r));
    return records.length > 0 ? 0 : 1;
  } finally {
    reader.close();
  }
}

function formatDelivery(r: DeliveryRecord): string {
  const at = new Date(r.updatedAt).toISOString();
  const tries = r.attempts === 1 ? '1 attempt' : `${r.attempts} attempts`;
  const error = r.error === null ? '' : ` — ${r.error}`;
  return `#${r.id} ${at} ${r.notifier} ${r.state} (${tries}) ${r.priority} "${r.title}" from ${r.source}${error}`;
}
