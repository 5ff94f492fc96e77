/**
 * Stable error codes. Tests and callers match on `code`, never on the wording of `message`.
 */
export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'CONFIG_NOT_FOUND'
  | 'RULE_INVALID'
  | 'RULE_DUPLICATE_ID'
  | 'RULE_EXPRESSION_INVALID'
  | 'RULE_TEMPLATE_INVALID'
  | 'RULES_DIR_NOT_FOUND'
  | 'LISTEN_FAILED'
  | 'DATA_DIR_UNWRITABLE'
  | 'STORE_WRITE_FAILED'
  | 'PAYLOAD_TOO_LARGE'
  | 'DEVICE_PORT_OPEN_FAILED'
  | 'DEVICE_UNKNOWN'
  | 'DEVICE_INVALID'
  | 'DEVICE_ADAPTER_MISSING'
  | 'FLEET_INVALID'
  | 'DURATION_INVALID'
  | 'PASSWORD_FILE_INVALID'
  | 'ACL_FILE_INVALID'
  | 'TLS_INVALID'
  | 'RULE_POSSIBLE_LOOP'
  | 'SCENARIO_INVALID'
  | 'TRACES_UNAVAILABLE'
  | 'HTTP_BAD_REQUEST'
  | 'HTTP_NOT_FOUND'
  /** The HTTP API would listen beyond loopback without logins (no password file). */
  | 'HTTP_UNPROTECTED'
  | 'USAGE'
  /** `edgehub install`/`uninstall` could not do a step (not root, useradd or systemctl failed). */
  | 'INSTALL_FAILED'
  /** This Node.js is older than edgehub needs (package.json `engines`). */
  | 'NODE_TOO_OLD'
  | 'RULE_UNKNOWN_DEVICE'
  | 'RULE_SCHEDULE_INVALID'
  | 'RULE_STATE_FAILED'
  | 'PTY_UNAVAILABLE'
  | 'BROKER_STATE_WRITE_FAILED'
  /** A connector's password or secret cannot be read (file, environment variable). */
  | 'CONNECTOR_CREDENTIALS'
  /** A connector's TLS files cannot be read. */
  | 'CONNECTOR_TLS'
  /** No connector of that id is configured, or it cannot do what was asked. */
  | 'CONNECTOR_UNKNOWN'
  /** The thread that reads and formats connectors' batches ended or was stopped. */
  | 'CONNECTOR_THREAD'
  /** No notifier of that name is configured. */
  | 'NOTIFIER_UNKNOWN'
  /** A notifier's token, password or secret cannot be read (file, environment variable). */
  | 'NOTIFIER_CREDENTIALS'
  /** A client broke the MQTT protocol; its connection was closed (MQTT 5: DISCONNECT with the reason code). */
  | 'MQTT_PROTOCOL_ERROR'
  /** `edgehub backup` could not read the data folder, a database, the config or rules, or write the archive. */
  | 'BACKUP_FAILED'
  /** `edgehub restore` was given a file that is not a sound edgehub backup (no manifest, a checksum or database check failed). */
  | 'RESTORE_ARCHIVE_INVALID'
  /** `edgehub restore` found a hub (or another process) holding a database of the data folder open. */
  | 'RESTORE_HUB_RUNNING'
  /** `edgehub restore` could not write the data folder, config or rules. */
  | 'RESTORE_FAILED'
  /** A database of the data folder was written by a newer edgehub (its schema version is higher than this one knows). */
  | 'DATA_FOLDER_NEWER'
  /** Bringing a database of the data folder to this edgehub's schema failed (the file was left as it was). */
  | 'DATA_FOLDER_MIGRATION_FAILED'
  /** The rule-file editor was asked for files while no `hub.rules_dir` is configured. */
  | 'RULES_DIR_NONE'
  /** A rule file's name is not a plain `*.yaml`/`*.yml` name inside the rules directory. */
  | 'RULE_FILE_NAME'
  /** No rule file (or no kept version of it) by that name. */
  | 'RULE_FILE_UNKNOWN'
  /** The rules directory would not load with the edit; nothing was written. */
  | 'RULES_INVALID'
  /** The rule file changed on disk since the edit started (its modification time moved on). */
  | 'RULE_FILE_CHANGED'
  /** A rule file or its kept version could not be written. */
  | 'RULE_FILE_WRITE_FAILED'
  /** A back-test preview was asked of a hub that stores no events (`store.enabled: false`). */
  | 'RULE_PREVIEW_NO_EVENTS';

/** Where in a file a problem is: 1-based line and column, plus the key path inside the document. */
export interface SourceLocation {
  file: string;
  line: number;
  col: number;
  path: string;
}

export function formatLocation(loc: SourceLocation): string {
  return `${loc.file}:${loc.line}:${loc.col}${loc.path ? ` (${loc.path})` : ''}`;
}

/** The one error base class of edgehub. */
export class EdgehubError extends Error {
  readonly code: ErrorCode;
  readonly location: SourceLocation | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: { location?: SourceLocation; cause?: unknown } = {},
  ) {
    super(options.location ? `${formatLocation(options.location)}: ${message}` : message, {
      cause: options.cause,
    });
    this.name = 'EdgehubError';
    this.code = code;
    this.location = options.location;
  }
}

/** Several problems found at once, e.g. every error in a rules directory. */
export class EdgehubErrors extends EdgehubError {
  readonly errors: readonly EdgehubError[];

  constructor(code: ErrorCode, errors: readonly EdgehubError[]) {
    super(code, errors.map((e) => e.message).join('\n'));
    this.name = 'EdgehubErrors';
    this.errors = errors;
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
