import { Command } from 'commander';
import { doctorExitCode, formatDoctorReport, runDoctor, systemEnv, type DoctorEnv } from '../doctor/index.js';

export interface DoctorCommandIo {
  out(line: string): void;
  /** The machine unless a test gives another. */
  env?: DoctorEnv;
}

/** `edgehub doctor`: prints every verdict (or a JSON array of them); returns the exit status. */
export async function runDoctorCommand(
  opts: { config?: string; json: boolean },
  io: DoctorCommandIo,
): Promise<number> {
  const results = await runDoctor(
    opts.config !== undefined ? { configFile: opts.config } : {},
    io.env ?? systemEnv(),
  );
  if (opts.json) io.out(JSON.stringify(results, null, 2));
  else for (const line of formatDoctorReport(results)) io.out(line);
  return doctorExitCode(results);
}

export function doctorCommand(): Command {
  return new Command('doctor')
    .description('check this machine and config for what stops the hub, each OK, WARN or FAIL with a fix')
    .option('--config <file>', 'the config file the hub runs with')
    .option('--json', 'a JSON array of {check, status, message, fix?}')
    .action(async (opts: { config?: string; json?: boolean }) => {
      process.exitCode = await runDoctorCommand(
        { json: opts.json === true, ...(opts.config !== undefined && { config: opts.config }) },
        { out: (line) => void process.stdout.write(line + '\n') },
      );
    });
}
