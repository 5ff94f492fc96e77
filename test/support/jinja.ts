import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * Renders Home Assistant templates with Python's Jinja2, the engine Home Assistant itself runs
 * (pinned to the 3.1 line Home Assistant ships), in a sandboxed environment with StrictUndefined,
 * so a template that reads a key its message lacks fails here as it would log an error there.
 * Variables are Home Assistant's: `value` (the payload text) and `value_json` (when it parses).
 *
 * Jinja2 comes from a virtualenv cached under ~/.cache/edgehub-tests (made with pip from PyPI on
 * first use), else from the system Python when that has Jinja2 3.1 already.
 */
const JINJA_VERSION = '3.1.6';

const RENDER = `
import json, sys
from jinja2 import StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment
env = ImmutableSandboxedEnvironment(undefined=StrictUndefined)
out = []
for template, payload in json.load(sys.stdin):
    variables = {"value": payload}
    try:
        variables["value_json"] = json.loads(payload)
    except ValueError:
        pass
    try:
        out.append({"ok": env.from_string(template).render(**variables).strip()})
    except Exception as err:
        out.append({"error": type(err).__name__ + ": " + str(err)})
json.dump(out, sys.stdout)
`;

export type Rendered = { ok: string } | { error: string };

let python: string | undefined;

/** Renders each `[template, payload]` pair; one Python process for the lot. */
export function renderTemplates(pairs: readonly (readonly [string, string])[]): Rendered[] {
  python ??= findPython();
  const out = execFileSync(python, ['-c', RENDER], { input: JSON.stringify(pairs), encoding: 'utf8' });
  return JSON.parse(out) as Rendered[];
}

function hasJinja(bin: string): boolean {
  const probe = spawnSync(bin, ['-c', 'import jinja2; print(jinja2.__version__)'], { encoding: 'utf8' });
  return probe.status === 0 && probe.stdout.trim().startsWith('3.1.');
}

function findPython(): string {
  const cache = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'edgehub-tests');
  const venv = join(cache, `jinja2-${JINJA_VERSION}`);
  const venvPython = join(venv, 'bin', 'python');
  if (existsSync(venvPython) && hasJinja(venvPython)) return venvPython;
  if (hasJinja('python3')) return 'python3';
  mkdirSync(cache, { recursive: true });
  const steps: [string, string[]][] = [
    ['python3', ['-m', 'venv', venv]],
    [venvPython, ['-m', 'pip', 'install', '--quiet', `jinja2==${JINJA_VERSION}`]],
  ];
  for (const [bin, args] of steps) {
    const run = spawnSync(bin, args, { encoding: 'utf8' });
    if (run.status !== 0)
      throw new Error(
        `rendering Home Assistant templates needs Python 3 with venv and pip (apt-get install python3 python3-venv): ` +
          `${bin} ${args.join(' ')} failed: ${run.stderr || run.error?.message || `exit ${run.status}`}`,
      );
  }
  return venvPython;
}
