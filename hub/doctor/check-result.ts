/** OK: nothing to do. WARN: the hub runs, but look at it. FAIL: the hub will not run, or not as configured. */
export type CheckStatus = 'OK' | 'WARN' | 'FAIL';

/** One verdict of `edgehub doctor`; `--json` prints an array of these as they are. */
export interface CheckResult {
  /** A stable name scripts can match on: `node.version`, `port.mqtt`, `serial.bench-1.access`. */
  readonly check: string;
  readonly status: CheckStatus;
  /** One line: what was found. */
  readonly message: string;
  /** One line: what to do about it (WARN and FAIL only). */
  readonly fix?: string;
}

export function ok(check: string, message: string): CheckResult {
  return { check, status: 'OK', message };
}

export function warn(check: string, message: string, fix: string): CheckResult {
  return { check, status: 'WARN', message, fix };
}

export function fail(check: string, message: string, fix: string): CheckResult {
  return { check, status: 'FAIL', message, fix };
}

/** The message of whatever was thrown, for one-line verdicts. */
export function reason(err: unknown): string {
  if (err instanceof Error) return err.message.split('\n')[0] ?? err.message;
  return String(err);
}
