import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { EdgehubError, errorMessage, type Clock, type Logger } from '../../kernel/index.js';
import {
  compileRuleDir,
  findRuleLoops,
  formatProblem,
  isRuleFileName,
  readRuleDir,
  toRuleProblem,
  type EventPages,
  type RuleDirContents,
  type RuleLoadOptions,
  type RuleLoadResult,
  type RulesStatus,
  type RuleSet,
} from '../../rules/index.js';
import { previewBacktest, type PreviewSide, type RuleIdDiff } from './preview-backtest.js';
import type { RuleFileVersion, RuleFileVersionInfo, RuleFileVersions } from './rule-file-versions.js';
import { DEFAULT_PREVIEW_MS, parseTime } from './time-range.js';
import { writeFileAtomic } from './write-file-atomic.js';

/** What a rule file may be called: a plain name in the rules directory, no path. */
export const RULE_FILE_NAME = /^[A-Za-z0-9_.-]+\.ya?ml$/;

/** Versions kept per rule file unless told otherwise. */
export const DEFAULT_KEPT_VERSIONS = 50;

/** Firings listed per side of a preview; the counts are whole. */
export const FIRINGS_LISTED = 500;

/** One problem of a validation, located for the editor's gutter. */
export interface RuleFileProblem {
  readonly code: string;
  /** An error stops the directory from loading; a warning (a possible loop) does not. */
  readonly severity: 'error' | 'warning';
  /** The file's name in the rules directory (another file than the one edited, for a duplicate id); null when it is no file's. */
  readonly file: string | null;
  /** 1-based; 1 when the problem has no location. */
  readonly line: number;
  readonly col: number;
  /** Key path in the file, e.g. `rules[0].when.mqtt`. */
  readonly path: string;
  readonly message: string;
  /** `file:line:col key.path: message`, as `edgehub check` prints it and the hub logs it. */
  readonly text: string;
}

export interface RuleFileInfo {
  readonly name: string;
  /** Bytes. */
  readonly size: number;
  /** Epoch ms, whole: what `save` takes back as `baseModifiedAt`. */
  readonly modifiedAt: number;
  /** The ids the file defines, as written (also when the file is not valid). */
  readonly rules: readonly string[];
}

export interface Validation {
  readonly ok: boolean;
  readonly problems: readonly RuleFileProblem[];
}

export interface PreviewRequest {
  readonly name: string;
  readonly text: string;
  /** Epoch ms, an ISO 8601 time or a duration back from now; default 24 h ago, on the hub clock. */
  readonly since?: number | string | undefined;
  /** Default now. */
  readonly until?: number | string | undefined;
}

export interface Preview extends Validation {
  readonly since: number;
  readonly until: number;
  readonly edited: PreviewSide;
  readonly inForce: PreviewSide;
  readonly diff: RuleIdDiff;
  /** Possible loops in the edited set, as `edgehub check` prints them. */
  readonly loops: readonly string[];
}

export interface SaveResult {
  readonly saved: true;
  readonly name: string;
  readonly modifiedAt: number;
  /** The version the replaced text was kept as; null for a new file or an unchanged text. */
  readonly version: number | null;
  /** The hub's rules after the reload the save triggered; undefined when nothing reloads them. */
  readonly status?: RulesStatus | undefined;
}

/** A save refused because the rules directory would not load with it; nothing was written. */
export class RulesInvalidError extends EdgehubError {
  constructor(
    message: string,
    readonly problems: readonly RuleFileProblem[],
  ) {
    super('RULES_INVALID', message);
    this.name = 'RulesInvalidError';
  }
}

export interface RuleFilesDeps {
  /** The configured rules directory; undefined: every call fails with `RULES_DIR_NONE`. */
  dir: string | undefined;
  clock: Clock;
  logger: Logger;
  /** The previous texts; started and stopped with this service. */
  versions: RuleFileVersions;
  /** What the hub's watcher checks a load against (declared devices, location, connectors, notifiers). */
  loadOptions(): RuleLoadOptions;
  /** The rule set in force. */
  inForce(): RuleSet;
  /** The stored events, for previews; undefined when the hub stores none. */
  events(): EventPages | undefined;
  /** Reloads the rules at once after a save (the watcher would, after its debounce); the status after. */
  reload?(): Promise<RulesStatus | undefined>;
  /** Awaited between pages of a preview's replay, so the hub's event loop is not held for long. */
  betweenPages?: () => Promise<void>;
  /** Firings listed per preview side; default {@link FIRINGS_LISTED}. */
  firingsListed?: number;
}

interface Current {
  readonly text: string;
  readonly modifiedAt: number;
}

const EMPTY_SIDE: PreviewSide = { fired: 0, rules: 0, firings: [] };

/**
 * The rule editor's side of the hub: lists and reads the files of the rules directory, validates
 * and back-tests an edit against the whole directory exactly as the hub's watcher loads it, saves
 * it atomically while keeping the text it replaces, and restores kept versions.
 */
export class RuleFiles {
  /** Saves one at a time: a check and the write it allows are not interleaved with another's. */
  private saving: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: RuleFilesDeps) {}

  /** The rules directory; undefined when none is configured. */
  get dir(): string | undefined {
    return this.deps.dir;
  }

  /** Opens the version history (only with a rules directory). */
  start(): void {
    if (this.deps.dir !== undefined) this.deps.versions.start();
  }

  /** Safe to call more than once; waits for a save under way. */
  async stop(): Promise<void> {
    await this.saving.catch(() => undefined);
    this.deps.versions.stop();
  }

  async list(): Promise<{ dir: string; files: RuleFileInfo[] }> {
    const dir = this.requireDir();
    let names: string[];
    try {
      names = (await readdir(dir)).filter(isRuleFileName).sort();
    } catch (err) {
      throw new EdgehubError(
        'RULES_DIR_NOT_FOUND',
        `cannot read the rules directory ${dir}: ${errorMessage(err)}`,
      );
    }
    const files: RuleFileInfo[] = [];
    for (const name of names) {
      try {
        const file = join(dir, name);
        const info = await stat(file);
        if (!info.isFile()) continue;
        const text = await readFile(file, 'utf8');
        files.push({ name, size: info.size, modifiedAt: Math.floor(info.mtimeMs), rules: ruleIds(text) });
      } catch {
        // Removed between listing and reading (an editor saving): not listed this time.
      }
    }
    return { dir, files };
  }

  async read(name: string): Promise<{ name: string; text: string; modifiedAt: number }> {
    const dir = this.requireDir();
    checkName(name);
    const current = await readCurrent(join(dir, name));
    if (!current) throw unknownFile(name, dir);
    return { name, ...current };
  }

  /** The whole directory compiled with `text` as `name`; problems of every file, as the hub would see them. */
  async validate(name: string, text: string): Promise<Validation> {
    const { problems, result } = await this.compileEdited(name, text);
    return { ok: result.ok, problems };
  }

  /**
   * Replays the stored events in [since, until] through the edited set and through the set in force.
   * An edit that does not load answers `ok: false` with its problems and empty sides.
   */
  async preview(request: PreviewRequest): Promise<Preview> {
    const now = this.deps.clock.now();
    const until = parseTime(request.until, now, now, 'until');
    const since = parseTime(request.since, now, until - DEFAULT_PREVIEW_MS, 'since');
    if (since > until)
      throw new EdgehubError('HTTP_BAD_REQUEST', `since (${since}) is after until (${until})`);
    const { problems, result } = await this.compileEdited(request.name, request.text);
    const loops = problems.filter((p) => p.code === 'RULE_POSSIBLE_LOOP').map((p) => p.text);
    if (!result.ok) {
      const diff = { added: [], removed: [], changed: [] };
      return { ok: false, problems, since, until, edited: EMPTY_SIDE, inForce: EMPTY_SIDE, diff, loops };
    }
    const history = this.deps.events();
    if (!history) {
      throw new EdgehubError(
        'RULE_PREVIEW_NO_EVENTS',
        'this hub stores no events (store.enabled is false), so there is nothing to replay',
      );
    }
    const replay = await previewBacktest({
      edited: result.set,
      inForce: this.deps.inForce(),
      history,
      sinceMs: since,
      untilMs: until,
      listed: this.deps.firingsListed ?? FIRINGS_LISTED,
      ...(this.deps.betweenPages && { betweenPages: this.deps.betweenPages }),
    });
    return {
      ok: true,
      problems,
      since,
      until,
      edited: replay.edited,
      inForce: replay.inForce,
      diff: replay.diff,
      loops,
    };
  }

  /**
   * Writes `text` as `name` when the whole directory loads with it (else `RULES_INVALID`, nothing
   * written), and the file has not changed since `baseModifiedAt` (else `RULE_FILE_CHANGED`). The
   * text it replaces is kept as a version; then the hub reloads its rules.
   */
  save(name: string, text: string, baseModifiedAt?: number): Promise<SaveResult> {
    const next = this.saving.then(() => this.saveNow(name, text, baseModifiedAt));
    this.saving = next.catch(() => undefined);
    return next;
  }

  /** Newest first. */
  versions(name: string): { versions: RuleFileVersionInfo[] } {
    this.requireDir();
    checkName(name);
    return { versions: this.deps.versions.list(name) };
  }

  version(name: string, version: number): RuleFileVersion {
    this.requireDir();
    checkName(name);
    const kept = this.deps.versions.get(name, version);
    if (!kept) {
      throw new EdgehubError('RULE_FILE_UNKNOWN', `no version ${version} of ${name} is kept`);
    }
    return kept;
  }

  /** Saves a kept version's text again (checked like any save; the text it replaces is kept in turn). */
  async restore(name: string, version: number): Promise<SaveResult> {
    const kept = this.version(name, version);
    return this.save(name, kept.text);
  }

  private async saveNow(name: string, text: string, baseModifiedAt: number | undefined): Promise<SaveResult> {
    const dir = this.requireDir();
    checkName(name);
    const file = join(dir, name);
    const current = await readCurrent(file);
    if (baseModifiedAt !== undefined && current?.modifiedAt !== baseModifiedAt) {
      throw new EdgehubError(
        'RULE_FILE_CHANGED',
        current
          ? `${name} was changed at ${new Date(current.modifiedAt).toISOString()}, after this edit began; load it again and redo the edit`
          : `${name} was removed after this edit began`,
      );
    }
    const { problems, result } = await this.compileEdited(name, text);
    if (!result.ok) {
      const errors = problems.filter((p) => p.severity === 'error');
      throw new RulesInvalidError(
        `the rules directory would not load with this ${name} (${errors.length} problem${errors.length === 1 ? '' : 's'}); nothing was saved`,
        problems,
      );
    }
    if (current?.text === text) {
      return { saved: true, name, modifiedAt: current.modifiedAt, version: null };
    }
    const { versions, clock, logger } = this.deps;
    const version = current ? versions.add(name, current.text, current.modifiedAt, clock.now()) : null;
    try {
      await writeFileAtomic(file, text);
    } catch (err) {
      if (version !== null) versions.remove(name, version);
      throw writeFailed(file, err);
    }
    const written = await readCurrent(file);
    logger.info('rule file saved', { file, version });
    const status = await this.deps.reload?.();
    return { saved: true, name, modifiedAt: written?.modifiedAt ?? clock.now(), version, status };
  }

  /** The directory as the watcher reads it, with `name` replaced by (or added as) `text`. */
  private async compileEdited(
    name: string,
    text: string,
  ): Promise<{ result: RuleLoadResult; problems: RuleFileProblem[] }> {
    const dir = this.requireDir();
    checkName(name);
    const edited = join(dir, name);
    let contents: RuleDirContents;
    try {
      contents = await readRuleDir(dir);
    } catch (err) {
      if (!(err instanceof EdgehubError)) throw err;
      const result: RuleLoadResult = { ok: false, errors: [err] };
      return { result, problems: [problemOf(err, 'error', dir)] };
    }
    const files = contents.files.filter((f) => f.file !== edited);
    files.push({ file: edited, text });
    // The loader's order (by name) decides rule order and which of two equal ids is reported.
    files.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
    const errors = contents.errors.filter((e) => e.location?.file !== edited);
    const result = compileRuleDir({ files, errors }, this.deps.loadOptions());
    const warnings = [...(result.ok ? result.warnings : []), ...findRuleLoops(files)];
    const problems = [
      ...(result.ok ? [] : result.errors.map((e) => problemOf(e, 'error', dir))),
      ...warnings.map((w) => problemOf(w, 'warning', dir)),
    ];
    return { result, problems };
  }

  private requireDir(): string {
    const { dir } = this.deps;
    if (dir === undefined) {
      throw new EdgehubError(
        'RULES_DIR_NONE',
        'no rules directory is configured: set hub.rules_dir in the config (or start with --rules DIR) to edit rule files',
      );
    }
    return dir;
  }
}

/** Refuses anything but a plain rule file name: no `/`, no `..`, no hidden or draft file. */
export function checkName(name: string): void {
  if (!RULE_FILE_NAME.test(name) || !isRuleFileName(name) || name.includes('..')) {
    throw new EdgehubError(
      'RULE_FILE_NAME',
      `"${name}" is not a rule file name: letters, digits, "_", "-" and "." ending in .yaml or .yml, not starting with "." or "_", no path`,
    );
  }
}

function problemOf(error: EdgehubError, severity: 'error' | 'warning', dir: string): RuleFileProblem {
  const p = toRuleProblem(error);
  const file = p.file === null ? null : dirname(p.file) === dir ? basename(p.file) : p.file;
  return {
    code: p.code,
    severity,
    file,
    line: p.line ?? 1,
    col: p.col ?? 1,
    path: p.path,
    message: p.message,
    text: formatProblem(error, severity === 'warning' ? 'warning' : undefined),
  };
}

async function readCurrent(file: string): Promise<Current | undefined> {
  try {
    const [text, info] = await Promise.all([readFile(file, 'utf8'), stat(file)]);
    return { text, modifiedAt: Math.floor(info.mtimeMs) };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new EdgehubError('RULE_FILE_UNKNOWN', `cannot read ${file}: ${errorMessage(err)}`, { cause: err });
  }
}

function unknownFile(name: string, dir: string): EdgehubError {
  return new EdgehubError('RULE_FILE_UNKNOWN', `no rule file ${name} in ${dir}`);
}

function writeFailed(file: string, err: unknown): EdgehubError {
  const code = (err as NodeJS.ErrnoException).code;
  const hint =
    code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
      ? ' (the hub may not write its rules directory: give its user write access, and under systemd add the directory to ReadWritePaths=)'
      : '';
  return new EdgehubError('RULE_FILE_WRITE_FAILED', `cannot write ${file}: ${errorMessage(err)}${hint}`, {
    cause: err,
  });
}

/** The ids under `rules:` as written; none when the file does not parse. */
function ruleIds(text: string): string[] {
  try {
    const doc = parseYaml(text) as unknown;
    const rules = (doc as { rules?: unknown } | null)?.rules;
    if (!Array.isArray(rules)) return [];
    return rules
      .map((r) => (r as { id?: unknown } | null)?.id)
      .filter((id): id is string => typeof id === 'string');
  } catch {
    return [];
  }
}
