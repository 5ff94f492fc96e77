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

export interface ConsoleLoggerOptions {
  level?: LogLevel;
  /** One JSON object per line instead of human-readable text. */
  json?: boolean;
  scope?: string;
  write?: (line: string) => void;
}

/** Writes one line per entry to stderr: readable text by default, JSON lines for log shippers. */
export class ConsoleLogger implements Logger {
  private readonly level: number;

  constructor(private readonly options: ConsoleLoggerOptions = {}) {
    this.level = ORDER[options.level ?? 'info'];
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
    return new ConsoleLogger({ ...this.options, scope: parent ? `${parent}.${scope}` : scope });
  }

  private log(level: LogLevel, msg: string, fields: LogFields | undefined): void {
    if (ORDER[level] < this.level) return;
    const write = this.options.write ?? ((line: string) => process.stderr.write(line + '\n'));
    const time = new Date().toISOString();
    if (this.options.json) {
      write(JSON.stringify({ time, level, scope: this.options.scope, msg, ...fields }));
      return;
    }
    const extra = fields && Object.keys(fields).length > 0 ? ' ' + formatFields(fields) : '';
    const scope = this.options.scope ? `[${this.options.scope}] ` : '';
    write(`${time.slice(11, 23)} ${level.toUpperCase().padEnd(5)} ${scope}${msg}${extra}`);
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
