export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Structured fields carried with a log line. */
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(scope: string): Logger;
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** syslog(3) priorities, which journald reads from the start of a line written to it. */
const JOURNAL_PREFIX: Record<LogLevel, string> = { debug: '<7>', info: '<6>', warn: '<4>', error: '<3>' };

export interface ConsoleLoggerOptions {
  /** The level of every component not named in `components`; default info. */
  level?: LogLevel;
  /**
   * Levels by component: a scope (`broker`) or a scope with its children (`broker` covers
   * `broker.shared`); the longest matching name wins (`devices.homeassistant` over `devices`).
   */
  components?: Readonly<Record<string, LogLevel>>;
  /** One JSON object per line instead of human-readable text. */
  json?: boolean;
  /**
   * Starts each line with its syslog priority (`<3>` error, `<4>` warn, `<6>` info, `<7>` debug),
   * so journald files it at that level. Default: when `JOURNAL_STREAM` is set, as systemd sets it
   * for a service whose output goes to the journal.
   */
  journal?: boolean;
  scope?: string;
  write?: (line: string) => void;
}

/** The level in force for a scope: its longest named prefix in `components`, else `level`. */
export function levelFor(
  scope: string | undefined,
  level: LogLevel,
  components: Readonly<Record<string, LogLevel>> | undefined,
): LogLevel {
  if (scope === undefined || components === undefined) return level;
  let best: string | undefined;
  for (const name of Object.keys(components)) {
    const covers = scope === name || scope.startsWith(name + '.');
    if (covers && (best === undefined || name.length > best.length)) best = name;
  }
  return best === undefined ? level : (components[best] ?? level);
}

/**
 * Writes one line per entry to stderr: readable text by default, JSON lines for log shippers. The
 * level of each child is settled when it is made, so a disabled entry costs one comparison.
 */
export class ConsoleLogger implements Logger {
  private readonly level: number;
  private readonly journal: boolean;

  constructor(private readonly options: ConsoleLoggerOptions = {}) {
    this.level = ORDER[levelFor(options.scope, options.level ?? 'info', options.components)];
    this.journal = options.journal ?? process.env['JOURNAL_STREAM'] !== undefined;
  }

  debug(msg: string, fields?: LogFields): void {
    this.log('debug', msg, fields);
  }
  info(msg: string, fields?: LogFields): void {
    this.log('info', msg, fields);
  }
  warn(msg: string, fields?: LogFields): void {
    this.log('warn', msg, fields);
  }
  error(msg: string, fields?: LogFields): void {
    this.log('error', msg, fields);
  }

  child(scope: string): Logger {
    const parent = this.options.scope;
    return new ConsoleLogger({
      ...this.options,
      journal: this.journal,
      scope: parent ? `${parent}.${scope}` : scope,
    });
  }

  private log(level: LogLevel, msg: string, fields: LogFields | undefined): void {
    if (ORDER[level] < this.level) return;
    const write = this.options.write ?? ((line: string) => process.stderr.write(line + '\n'));
    const time = new Date().toISOString();
    const prefix = this.journal ? JOURNAL_PREFIX[level] : '';
    if (this.options.json) {
      write(prefix + JSON.stringify({ time, level, scope: this.options.scope, msg, ...fields }));
      return;
    }
    const extra = fields && Object.keys(fields).length > 0 ? ' ' + formatFields(fields) : '';
    const scope = this.options.scope ? `[${this.options.scope}] ` : '';
    write(`${prefix}${time.slice(11, 23)} ${level.toUpperCase().padEnd(5)} ${scope}${msg}${extra}`);
  }
}

function formatFields(fields: LogFields): string {
  return Object.entries(fields)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
}

/** A logger that keeps entries in memory, for tests that assert what the hub said. */
export class MemoryLogger implements Logger {
  readonly entries: {
    level: LogLevel;
    scope: string | undefined;
    msg: string;
    fields: LogFields | undefined;
  }[];

  constructor(
    private readonly scope?: string,
    entries?: MemoryLogger['entries'],
  ) {
    this.entries = entries ?? [];
  }

  debug(msg: string, fields?: LogFields): void {
    this.entries.push({ level: 'debug', scope: this.scope, msg, fields });
  }
  info(msg: string, fields?: LogFields): void {
    this.entries.push({ level: 'info', scope: this.scope, msg, fields });
  }
  warn(msg: string, fields?: LogFields): void {
    this.entries.push({ level: 'warn', scope: this.scope, msg, fields });
  }
  error(msg: string, fields?: LogFields): void {
    this.entries.push({ level: 'error', scope: this.scope, msg, fields });
  }
  child(scope: string): Logger {
    return new MemoryLogger(this.scope ? `${this.scope}.${scope}` : scope, this.entries);
  }
}
