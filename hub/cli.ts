// First: it must run before any dependency loads `debug` (see the module).
// eslint-disable-next-line no-restricted-imports -- a side effect that must run before kernel/index.ts loads anything
import '../kernel/quiet-debug.js';
import type * as FirmwareSimModule from '../firmware-sim/index.js';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Command, InvalidArgumentError, Option } from 'commander';
import { ConsoleLogger, EdgehubError, EdgehubErrors, type Logger } from '../kernel/index.js';
import {
  formatProblem,
  openEventPages,
  parseSince,
  runBacktestCommand,
  runCheckCommand,
  runTestCommand,
  runTraceCommand,
  type RuleLoadOptions,
} from '../rules/index.js';
import { port, positiveInt } from './cli/arguments.js';
import { backupCommand, restoreCommand } from './cli/backup-command.js';
import { connectorsCommand } from './cli/connectors-command.js';
import { tokenCommand } from './cli/token-command.js';
import { installCommand, uninstallCommand } from './cli/install-command.js';
import { doctorCommand } from './cli/doctor-command.js';
import { runNotificationTrace } from './cli/notifications-trace.js';
import { declaredDevices, ruleLoadOptions } from './rule-checks.js';
import { loadConfig, type ConfigOverrides } from './config/load.js';
import { Hub } from './hub.js';
import { pipedPassword, promptedPassword, runPasswdCommand } from './security/index.js';
import { eventsDbPath, runEventsCommand } from './store/index.js';

interface StartOptions {
  config?: string;
  rules?: string;
  data?: string;
  mqttPort?: number;
  wsPort?: number;
  httpPort?: number;
  host?: string;
  demo?: boolean;
}

type FirmwareSim = typeof FirmwareSimModule;

/** The simulators (and mqtt.js) load only for the commands that run them, keeping `start` lean. */
function loadSimulators(): Promise<FirmwareSim> {
  return import('../firmware-sim/index.js');
}

/** Prints an error the way every command does: one line per problem, with its location. */
function report(err: unknown): void {
  if (err instanceof EdgehubErrors) {
    for (const e of err.errors) process.stderr.write(`edgehub: ${e.code}: ${e.message}\n`);
  } else if (err instanceof EdgehubError) {
    process.stderr.write(`edgehub: ${err.code}: ${err.message}\n`);
  } else {
    process.stderr.write(`edgehub: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  }
}

async function start(opts: StartOptions): Promise<void> {
  const overrides: ConfigOverrides = {};
  if (opts.rules !== undefined) overrides.rulesDir = opts.rules;
  if (opts.data !== undefined) overrides.dataDir = opts.data;
  if (opts.mqttPort !== undefined) overrides.mqttPort = opts.mqttPort;
  if (opts.wsPort !== undefined) overrides.wsPort = opts.wsPort;
  if (opts.httpPort !== undefined) overrides.httpPort = opts.httpPort;
  if (opts.host !== undefined) overrides.host = opts.host;
  if (opts.demo !== undefined) overrides.demo = opts.demo;
  const config = loadConfig(opts.config, overrides);
  const logger = new ConsoleLogger({
    level: config.hub.log_level,
    components: config.hub.log_components,
    json: config.hub.log_json,
  });
  const hub = new Hub({ config, logger });
  await hub.start();
  shutdownOn(hub, logger);
}

function shutdownOn(hub: Hub, logger: Logger): void {
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled) {
      logger.warn(`second ${signal}: exiting without waiting`);
      process.exit(1);
    }
    signalled = true;
    logger.info(`${signal}: stopping, flushing buffered events`);
    hub.stop().then(
      () => {
        const stats = hub.store?.stats();
        logger.info('stopped', stats ? { stored: stats.stored, dropped: stats.dropped } : {});
        process.exit(0);
      },
      (err: unknown) => {
        report(err);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // As Mosquitto: SIGHUP re-reads the password file, the ACL file and the TLS certificate.
  process.on('SIGHUP', () => {
    logger.info('SIGHUP: reloading password file, ACL file and TLS certificate');
    hub.reload().then(
      (ok) => logger.info(ok ? 'reload complete' : 'reload incomplete; see the errors above'),
      (err: unknown) => report(err),
    );
  });
}

function program(): Command {
  const cli = new Command('edgehub')
    .description('An IoT edge event hub: MQTT broker, event store, rules and simulated devices')
    .showHelpAfterError()
    // Needed for `connectors dead ID --json` to reach the subcommand (see cli/connectors-command.ts).
    .enablePositionalOptions();

  cli
    .command('start')
    .description('run the hub')
    .option('--config <file>', 'YAML config file (every setting has a default)')
    .option('--rules <dir>', 'directory of rule files')
    .option('--data <dir>', 'data directory (event store)')
    .option('--mqtt-port <n>', 'MQTT over TCP port', port)
    .option('--ws-port <n>', 'MQTT over WebSocket port', port)
    .option('--http-port <n>', 'HTTP API port (a free one with --mqtt-port 0)', port)
    .option('--host <addr>', 'address the listeners bind to')
    .addOption(new Option('--demo', 'run simulated devices and the example rules'))
    .addOption(new Option('--no-demo', 'no simulated devices'))
    .action(start);

  cli
    .command('events')
    .description('print stored events, newest first (works while the hub runs)')
    .option('--data <dir>', 'data directory', './data')
    .option('--device <id>', 'only this device')
    .option('--topic <filter>', 'only topics matching this MQTT filter')
    .option('--since <duration>', 'only events newer than this, e.g. 1h')
    .option('--limit <n>', 'at most this many events', positiveInt, 100)
    .option('--json', 'one JSON object per line')
    .action(
      (opts: {
        data: string;
        device?: string;
        topic?: string;
        since?: string;
        limit: number;
        json?: boolean;
      }) => {
        process.exitCode = runEventsCommand(
          {
            dataDir: opts.data,
            limit: opts.limit,
            json: opts.json === true,
            ...(opts.device !== undefined && { device: opts.device }),
            ...(opts.topic !== undefined && { topic: opts.topic }),
            ...(opts.since !== undefined && { since: opts.since }),
          },
          (line) => process.stdout.write(line + '\n'),
        );
      },
    );

  cli.addCommand(connectorsCommand());
  cli.addCommand(tokenCommand());
  cli.addCommand(installCommand());
  cli.addCommand(uninstallCommand());
  cli.addCommand(doctorCommand());
  cli.addCommand(backupCommand());
  cli.addCommand(restoreCommand());

  cli
    .command('check')
    .description('validate a rules directory exactly as the hub would load it')
    .argument('<dir>', 'rules directory')
    .option('--strict', 'possible loops (warnings) make the exit status non-zero too')
    .option('--config <file>', "check against this hub config's declared devices and location")
    .action((dir: string, opts: { strict?: boolean; config?: string }) => {
      const out = (line: string): void => void process.stdout.write(line + '\n');
      let load: RuleLoadOptions | undefined;
      if (opts.config !== undefined) {
        try {
          const config = loadConfig(opts.config);
          load = ruleLoadOptions(config, declaredDevices(config));
        } catch (err) {
          const errors =
            err instanceof EdgehubErrors ? err.errors : err instanceof EdgehubError ? [err] : null;
          if (!errors) throw err;
          for (const e of errors) out(formatProblem(e));
          out(`${opts.config}: the hub would not start with this config, so the rules were not checked`);
          process.exitCode = 1;
          return;
        }
      }
      process.exitCode = runCheckCommand(dir, out, { strict: opts.strict === true, ...(load && { load }) });
    });

  cli
    .command('test')
    .description('run scenario files against their rules on a virtual clock')
    .argument('<path>', 'a scenario file, or a directory of them')
    .action(async (path: string) => {
      process.exitCode = await runTestCommand(path, (line) => process.stdout.write(line + '\n'));
    });

  cli
    .command('backtest')
    .description('replay recorded events through a rule set and compare with the rules in force')
    .requiredOption('--rules <dir>', 'the rules to try')
    .option('--since <when>', 'how far back: a duration (24h) or an ISO 8601 time', '24h')
    .option('--against <dir>', "the rules to compare with (default: the config's hub.rules_dir)")
    .option('--config <file>', 'hub config file (for hub.data_dir and hub.rules_dir)')
    .option('--data <dir>', "data directory (default: the config's hub.data_dir)")
    .option('--json', 'the report as one JSON object')
    .action(
      async (opts: {
        rules: string;
        since: string;
        against?: string;
        config?: string;
        data?: string;
        json?: boolean;
      }) => {
        const config = loadConfig(opts.config, opts.data !== undefined ? { dataDir: opts.data } : {});
        const nowMs = Date.now();
        const sinceMs = parseSince(opts.since, nowMs);
        const againstDir = opts.against ?? config.hub.rules_dir;
        const reader = openEventPages(eventsDbPath(resolve(config.hub.data_dir)));
        try {
          process.exitCode = await runBacktestCommand(
            {
              rulesDir: opts.rules,
              ...(againstDir !== undefined && { againstDir }),
              history: reader,
              sinceMs,
              untilMs: nowMs,
              json: opts.json === true,
              progress: process.stderr,
              wallClock: () => performance.now(),
            },
            (line) => process.stdout.write(line + '\n'),
          );
        } finally {
          reader.close();
        }
      },
    );

  cli
    .command('trace')
    .description('why a rule did or did not fire: its stored runs, newest first (works while the hub runs)')
    .argument('[rule-id]', 'the rule (with --notifications: only its notifications)')
    .option('--data <dir>', 'data directory', './data')
    .option('--outcome <outcome>', 'only fired, blocked or error runs')
    .option('--limit <n>', 'at most this many runs', positiveInt, 10)
    .option('--json', 'one JSON object per line')
    .option('--notifications', 'the stored notifications and what became of each, instead of runs')
    .option('--notifier <name>', 'with --notifications: only this notifier')
    .action(
      (
        ruleId: string | undefined,
        opts: {
          data: string;
          outcome?: string;
          limit: number;
          json?: boolean;
          notifications?: boolean;
          notifier?: string;
        },
      ) => {
        const out = (line: string): boolean => process.stdout.write(line + '\n');
        if (opts.notifications === true) {
          process.exitCode = runNotificationTrace(
            {
              dataDir: opts.data,
              limit: opts.limit,
              json: opts.json === true,
              ...(ruleId !== undefined && { ruleId }),
              ...(opts.notifier !== undefined && { notifier: opts.notifier }),
            },
            out,
          );
          return;
        }
        if (ruleId === undefined) throw new EdgehubError('USAGE', 'name a rule, or pass --notifications');
        process.exitCode = runTraceCommand(
          {
            ruleId,
            dataDir: opts.data,
            limit: opts.limit,
            json: opts.json === true,
            ...(opts.outcome !== undefined && { outcome: opts.outcome }),
          },
          out,
        );
      },
    );

  cli
    .command('sim')
    .description('run simulated devices against an MQTT broker')
    .option('--url <url>', 'broker URL', 'mqtt://127.0.0.1:1883')
    .option('--devices <n>', 'number of greenhouse nodes', positiveInt, 2)
    .option('--interval <ms>', 'reading interval in ms', positiveInt, 2000)
    .option('--protocol <v>', 'MQTT protocol version: 4 (3.1.1) or 5', (v) => {
      if (v !== '4' && v !== '5') throw new InvalidArgumentError('4 or 5');
      return Number(v) as 4 | 5;
    })
    .option(
      '--fleet <file>',
      'YAML list of {profile, count, id_prefix, interval} instead of greenhouse nodes',
    )
    .option('--speed <n>', 'with --fleet: simulated time per real time (60 = an hour a minute)', (v) => {
      const n = Number(v);
      if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('a number above 0');
      return n;
    })
    .action(
      async (opts: {
        url: string;
        devices: number;
        interval: number;
        protocol?: 4 | 5;
        fleet?: string;
        speed?: number;
      }) => {
        if (opts.fleet !== undefined) {
          // Per-device logs would drown the summary line on stderr; warnings still show.
          const { runFleetCommand } = await loadSimulators();
          const run = await runFleetCommand(
            {
              url: opts.url,
              file: opts.fleet,
              summary: process.stderr,
              ...(opts.speed !== undefined && { speed: opts.speed }),
              ...(opts.protocol !== undefined && { protocol: opts.protocol }),
            },
            new ConsoleLogger({ level: 'warn' }),
          );
          const stopFleet = (): void => {
            run.stop().then(
              () => process.exit(0),
              () => process.exit(1),
            );
          };
          process.once('SIGINT', stopFleet);
          process.once('SIGTERM', stopFleet);
          return;
        }
        const logger = new ConsoleLogger();
        const { runSimCommand } = await loadSimulators();
        const fleet = await runSimCommand(
          {
            url: opts.url,
            devices: opts.devices,
            intervalMs: opts.interval,
            ...(opts.protocol !== undefined && { protocol: opts.protocol }),
          },
          logger,
        );
        const stop = (): void => {
          fleet.stop().then(
            () => process.exit(0),
            () => process.exit(1),
          );
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      },
    );

  cli
    .command('sim-board')
    .description(
      'simulated boards behind pseudo-terminals (needs socat): a Firmata Uno and/or a JSON-lines device',
    )
    .option('--firmata <path>', 'pty path for a simulated Uno running StandardFirmata (LM35 on A0)')
    .option('--serial <path>', 'pty path for a simulated JSON-lines device (temperature, humidity, relay)')
    .option('--interval <ms>', "the JSON-lines device's reading interval in ms", positiveInt, 2000)
    .action(async (opts: { firmata?: string; serial?: string; interval: number }) => {
      const { runSimBoardCommand } = await loadSimulators();
      const boards = await runSimBoardCommand(
        {
          intervalMs: opts.interval,
          ...(opts.firmata !== undefined && { firmata: resolve(opts.firmata) }),
          ...(opts.serial !== undefined && { serial: resolve(opts.serial) }),
        },
        new ConsoleLogger(),
      );
      const stop = (): void => {
        boards.stop().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });

  cli
    .command('passwd')
    .description(
      'add or update a user in a password file (asks twice on a terminal, else reads one line from stdin)',
    )
    .argument('<file>', 'password file (mqtt.security.password_file)')
    .argument('<user>', 'username, e.g. a device id')
    .option('-c, --create', 'start a new file holding only this user (replaces an existing file)')
    .option('-D, --delete', 'delete the user')
    .action(async (file: string, user: string, opts: { create?: boolean; delete?: boolean }) => {
      const source = process.stdin.isTTY
        ? promptedPassword(process.stdin, process.stderr)
        : pipedPassword(process.stdin);
      await runPasswdCommand(
        { file, user, create: opts.create === true, delete: opts.delete === true },
        { source, out: (line) => process.stdout.write(line + '\n') },
      );
    });

  return cli;
}

/** The `edgehub` command line; `argv` without the node and script paths. */
export async function main(argv: readonly string[]): Promise<void> {
  try {
    await program().parseAsync([...argv], { from: 'user' });
  } catch (err) {
    report(err);
    process.exitCode = 1;
  }
}
