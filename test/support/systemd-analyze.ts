import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SYSTEMD_ANALYZE = '/usr/bin/systemd-analyze';

export interface AnalyzeResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs systemd-analyze on `unit` written to a temporary `edgehub.service`; fails saying what to install. */
export function systemdAnalyze(args: readonly string[], unit: string): AnalyzeResult {
  if (!existsSync(SYSTEMD_ANALYZE))
    throw new Error(
      `${SYSTEMD_ANALYZE} is missing: apt-get install systemd (it works without systemd running)`,
    );
  const dir = mkdtempSync(join(tmpdir(), 'edgehub-unit-'));
  try {
    const file = join(dir, 'edgehub.service');
    writeFileSync(file, unit);
    const run = spawnSync(SYSTEMD_ANALYZE, [...args, file], {
      encoding: 'utf8',
      // No pager, no colour, no man page lookups: the same output on a terminal and in CI.
      env: { ...process.env, SYSTEMD_PAGER: '', SYSTEMD_COLORS: '0', LC_ALL: 'C.UTF-8' },
    });
    if (run.error) throw run.error;
    return { code: run.status, stdout: run.stdout, stderr: run.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The figure of `systemd-analyze security`'s "Overall exposure level for X: 1.7 OK" line (0 safe, 10 exposed). */
export function exposureLevel(output: string): number {
  const m = /Overall exposure level for \S+: (\d+(?:\.\d+)?)/.exec(output);
  if (!m?.[1]) throw new Error(`no "Overall exposure level" line in:\n${output}`);
  return Number(m[1]);
}
