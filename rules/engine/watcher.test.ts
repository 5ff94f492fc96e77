import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EdgehubErrors, MemoryLogger, type EdgehubError } from '../../kernel/index.js';
import { SignallingClock } from '../../test/support/signalling-clock.js';
import type { RuleSet } from '../language/rule.js';
import { RuleDirWatcher } from './watcher.js';

const rule = (id: string, threshold = 30) =>
  `rules:\n  - id: ${id}\n    when: { mqtt: sensors/+device/temperature }\n    if: payload.value > ${threshold}\n    then: []\n`;

const dirs: string[] = [];
const watchers: RuleDirWatcher[] = [];
afterEach(() => {
  for (const w of watchers.splice(0)) w.stop();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function setup(files: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'edgehub-watch-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const clock = new SignallingClock();
  const loaded: RuleSet[] = [];
  const rejected: (readonly EdgehubError[])[] = [];
  let loadWaiters: ((set: RuleSet) => void)[] = [];
  const watcher = new RuleDirWatcher({
    dir,
    clock,
    logger: new MemoryLogger(),
    onLoad: (set) => {
      loaded.push(set);
      for (const resolve of loadWaiters) resolve(set);
      loadWaiters = [];
    },
    onError: (errors) => rejected.push(errors),
  });
  watchers.push(watcher);
  /** The rule ids and first conditions of the set in force. */
  const inForce = () => loaded.at(-1)?.rules.map((r) => `${r.id}: ${r.conditions[0]?.source ?? ''}`);
  const nextLoad = () => new Promise<RuleSet>((resolve) => loadWaiters.push(resolve));
  return { dir, clock, watcher, loaded, rejected, inForce, nextLoad };
}

describe('RuleDirWatcher', () => {
  it('loads the directory on start and throws on an invalid one', async () => {
    const ok = setup({ 'a.yaml': rule('a') });
    const set = await ok.watcher.start();
    expect(set.rules.map((r) => r.id)).toEqual(['a']);
    expect(ok.loaded).toEqual([set]);

    const bad = setup({ 'a.yaml': 'rules:\n  - id: a\n' });
    const err = await bad.watcher.start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EdgehubErrors);
    expect((err as EdgehubErrors).errors[0]?.code).toBe('RULE_INVALID');
    expect(bad.loaded).toEqual([]);
  });

  it('a valid change swaps the set in', async () => {
    const { dir, watcher, inForce } = setup({ 'a.yaml': rule('a') });
    await watcher.start();
    writeFileSync(join(dir, 'a.yaml'), rule('a', 40));
    writeFileSync(join(dir, 'b.yaml'), rule('b'));
    const result = await watcher.reload();
    expect(result.ok).toBe(true);
    expect(inForce()).toEqual(['a: payload.value > 40', 'b: payload.value > 30']);
  });

  it('a broken file keeps the running set and reports file:line:col', async () => {
    const { dir, watcher, loaded, rejected, inForce } = setup({ 'a.yaml': rule('a') });
    await watcher.start();
    writeFileSync(join(dir, 'a.yaml'), rule('a', 40));
    writeFileSync(
      join(dir, 'broken.yaml'),
      'rules:\n  - id: broken\n    when: { mqtt: x }\n    if: "payload.value >"\n    then: []\n',
    );
    const result = await watcher.reload();
    expect(result.ok).toBe(false);
    expect(loaded).toHaveLength(1);
    expect(inForce()).toEqual(['a: payload.value > 30']);
    expect(rejected[0]?.map((e) => e.message)).toEqual([
      `${join(dir, 'broken.yaml')}:4:25 (rules[0].if): Expected expression after > (column 16 of expression "payload.value >")`,
    ]);

    rmSync(join(dir, 'broken.yaml'));
    expect((await watcher.reload()).ok).toBe(true);
    expect(inForce()).toEqual(['a: payload.value > 40']);
  });

  it('a deleted directory is reported and the running set stays', async () => {
    const { dir, watcher, loaded, rejected } = setup({ 'a.yaml': rule('a') });
    await watcher.start();
    rmSync(dir, { recursive: true, force: true });
    expect((await watcher.reload()).ok).toBe(false);
    expect(loaded).toHaveLength(1);
    expect(rejected[0]?.[0]?.code).toBe('RULES_DIR_NOT_FOUND');
  });

  it('reloads after a file event once the debounce time has passed on the clock', async () => {
    const { dir, clock, watcher, inForce, nextLoad } = setup({ 'a.yaml': rule('a') });
    await watcher.start();
    const armed = clock.nextTimer();
    const swapped = nextLoad();
    // Write beside the directory's rule files, then move into place, as editors do.
    writeFileSync(join(dir, '.b.yaml.tmp'), rule('b'));
    renameSync(join(dir, '.b.yaml.tmp'), join(dir, 'b.yaml'));
    await armed;
    expect(clock.pending()).toEqual(['rules.reload-debounce']);
    clock.advance(199);
    expect(clock.pending()).toEqual(['rules.reload-debounce']);
    clock.advance(1);
    const set = await swapped;
    expect(set.rules.map((r) => r.id)).toEqual(['a', 'b']);
    expect(inForce()).toEqual(['a: payload.value > 30', 'b: payload.value > 30']);
  });

  it('stop is idempotent and cancels a pending reload', async () => {
    const { dir, clock, watcher } = setup({ 'a.yaml': rule('a') });
    await watcher.start();
    const armed = clock.nextTimer();
    writeFileSync(join(dir, 'a.yaml'), rule('a', 50));
    await armed;
    watcher.stop();
    watcher.stop();
    expect(clock.pending()).toEqual([]);
  });
});
