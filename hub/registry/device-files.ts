import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deviceFileSchema, deviceListIssues, type DeviceDefinition } from '../../devices/index.js';
import { EdgehubError, EdgehubErrors, YamlSource, type SourceLocation } from '../../kernel/index.js';

/** A definition and where it was written, so a problem found across files can point at it. */
interface Located {
  definition: DeviceDefinition;
  /** Locates a key path inside this definition; absent for definitions built in code. */
  locate?: (path: readonly (string | number)[]) => SourceLocation;
}

/**
 * The device definitions in force: the config's `devices:` list plus every `*.yaml` / `*.yml` file in
 * `dir` (files starting with `_` or `.` are skipped, as for rules), in file-name order. Every file is
 * validated by the same schema; every problem is reported at once, each with file:line:col and key
 * path, as one DEVICE_INVALID error.
 */
export function loadDeviceDefinitions(
  configured: readonly DeviceDefinition[],
  dir: string | undefined,
): DeviceDefinition[] {
  const located: Located[] = configured.map((definition) => ({ definition }));
  const errors: EdgehubError[] = [];
  if (dir !== undefined) {
    let names: string[];
    try {
      names = readdirSync(dir).filter(isDeviceFileName);
    } catch (err) {
      throw new EdgehubError(
        'DEVICE_INVALID',
        `cannot read devices directory ${dir}: ${(err as Error).message}`,
      );
    }
    for (const name of names.sort()) {
      const file = join(dir, name);
      try {
        located.push(...parseDeviceFile(file, readFileSync(file, 'utf8')));
      } catch (err) {
        if (err instanceof EdgehubErrors) errors.push(...err.errors);
        else if (err instanceof EdgehubError) errors.push(err);
        else throw err;
      }
    }
  }
  if (errors.length === 0) {
    for (const issue of deviceListIssues(located.map((l) => l.definition))) {
      const [index, ...rest] = issue.path;
      const where = located[index as number];
      const location = where?.locate?.(rest);
      errors.push(new EdgehubError('DEVICE_INVALID', issue.message, location ? { location } : {}));
    }
  }
  if (errors.length > 0) throw new EdgehubErrors('DEVICE_INVALID', errors);
  return located.map((l) => l.definition);
}

/** Whether a devices directory's file is read: `*.yaml` / `*.yml`, not starting with `_` or `.`. */
export function isDeviceFileName(name: string): boolean {
  return /\.ya?ml$/.test(name) && !/^[_.]/.test(name);
}

/** One devices file: a top-level `devices:` list. Throws DEVICE_INVALID with every problem located. */
export function parseDeviceFile(file: string, text: string): Located[] {
  const source = YamlSource.parse(file, text, 'DEVICE_INVALID');
  // An empty file (or one holding only comments) defines nothing, like an empty rules file.
  if (source.toJS() == null) return [];
  const result = source.validate(deviceFileSchema, 'DEVICE_INVALID');
  if ('errors' in result) throw new EdgehubErrors('DEVICE_INVALID', result.errors);
  return result.value.devices.map((definition, i) => ({
    definition,
    locate: (path) => source.locate(['devices', i, ...path]),
  }));
}
