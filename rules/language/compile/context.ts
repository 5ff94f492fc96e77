import { EdgehubError, type DeviceDirectory, type ErrorCode } from '../../../kernel/index.js';
import { suggestion } from '../did-you-mean.js';
import { compileExpression, type CompiledExpression } from '../expression/compile.js';
import { compileTemplate, type CompiledTemplate } from '../expression/template.js';
import type { DevicePattern } from '../device-pattern.js';
import type { RuleSource } from '../rule-source.js';

/** What the loader knows about the hub it loads for; each part is optional (`check` knows none). */
export interface RuleLoadOptions {
  /**
   * The devices the hub declares (their ids, or a directory of them). With any, an exact device id
   * in a rule that is not among them is an error (likely a typo), and a glob matching none of them
   * is a warning (devices seen on topics may still match it).
   */
  readonly devices?: readonly string[] | DeviceDirectory;
  /** False when the hub has no latitude/longitude, so `sun:` schedules are errors. */
  readonly hasLocation?: boolean;
  /**
   * The ids of the hub's connectors (`connectors[].id`). When given, a `forward:` whose `to:`
   * names none of them is an error (`CONNECTOR_UNKNOWN`); an empty list makes every `forward:`
   * one. Omitted (`check` without a config), `to:` is not checked.
   */
  readonly connectors?: readonly string[];
  /**
   * The names of the hub's notifiers (`notifiers.<name>`). When given, a `notify:` whose `via:`
   * names none of them is an error (`NOTIFIER_UNKNOWN`). Omitted (`check` without a config), `via:`
   * is not checked.
   */
  readonly notifiers?: readonly string[];
}

/** Shared by the compilers of one rule: where errors go and how paths map to file positions. */
export class CompileContext {
  private readonly declared: ReadonlySet<string> | null;
  private readonly connectors: ReadonlySet<string> | null;
  private readonly notifiers: ReadonlySet<string> | null;

  constructor(
    readonly source: RuleSource,
    readonly errors: EdgehubError[],
    readonly warnings: EdgehubError[],
    readonly options: RuleLoadOptions,
  ) {
    const devices = options.devices;
    const ids = devices === undefined ? [] : 'list' in devices ? devices.list().map((d) => d.id) : devices;
    this.declared = ids.length > 0 ? new Set(ids) : null;
    this.connectors = options.connectors ? new Set(options.connectors) : null;
    this.notifiers = options.notifiers ? new Set(options.notifiers) : null;
  }

  fail(code: ErrorCode, message: string, path: readonly PropertyKey[]): void {
    this.errors.push(new EdgehubError(code, message, { location: this.source.at(path) }));
  }

  warn(code: ErrorCode, message: string, path: readonly PropertyKey[]): void {
    this.warnings.push(new EdgehubError(code, message, { location: this.source.at(path) }));
  }

  /** Runs `fn`; an {@link EdgehubError} it throws is collected and null returned. */
  attempt<T>(fn: () => T): T | null {
    try {
      return fn();
    } catch (err) {
      if (err instanceof EdgehubError) {
        this.errors.push(err);
        return null;
      }
      throw err;
    }
  }

  expression(path: readonly PropertyKey[], text: string): CompiledExpression | null {
    return this.attempt(() => compileExpression(text, (offset) => this.source.inString(path, offset)));
  }

  template(path: readonly PropertyKey[], value: unknown): CompiledTemplate | null {
    return this.attempt(() =>
      compileTemplate(value, (inner, offset) => this.source.inString([...path, ...inner], offset)),
    );
  }

  /** Checks a connector a `forward:` names against the hub's, when the loader was told them. */
  checkConnector(id: string, path: readonly PropertyKey[]): void {
    if (this.connectors === null || this.connectors.has(id)) return;
    const known =
      this.connectors.size === 0
        ? 'the hub has no connectors configured'
        : `${suggestion(id, this.connectors)}configured connectors: ${[...this.connectors].join(', ')}`;
    this.fail('CONNECTOR_UNKNOWN', `unknown connector "${id}"; ${known}`, path);
  }

  /** Checks the notifier a `notify:` names against the hub's, when the loader was told them. */
  checkNotifier(name: string, path: readonly PropertyKey[]): void {
    if (this.notifiers === null || this.notifiers.has(name)) return;
    const known =
      this.notifiers.size === 0
        ? 'the hub has no notifiers configured'
        : `${suggestion(name, this.notifiers)}configured notifiers: ${[...this.notifiers].join(', ')}`;
    this.fail('NOTIFIER_UNKNOWN', `unknown notifier "${name}"; ${known}`, path);
  }

  /** Checks a device named by a rule against the declared devices, when the hub declares any. */
  checkDevice(pattern: DevicePattern, path: readonly PropertyKey[]): void {
    if (this.declared === null) return;
    const list = [...this.declared].join(', ');
    if (pattern.exact !== null) {
      if (this.declared.has(pattern.exact)) return;
      this.fail(
        'RULE_UNKNOWN_DEVICE',
        `unknown device "${pattern.exact}"; ${suggestion(pattern.exact, this.declared)}declared devices: ${list}`,
        path,
      );
      return;
    }
    for (const id of this.declared) if (pattern.matches(id)) return;
    this.warn(
      'RULE_UNKNOWN_DEVICE',
      `"${pattern.text}" matches none of the declared devices (${list}); it can still match devices seen on topics`,
      path,
    );
  }
}
