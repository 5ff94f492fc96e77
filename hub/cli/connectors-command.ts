import { Command, Option } from 'commander';
import { formatDuration, isDuration } from '../../kernel/index.js';
import type { ConnectorStatus } from '../connectors/index.js';
import type { DeadLetter } from '../store/index.js';
import { positiveInt } from './arguments.js';
import { DEFAULT_API_URL, HubApi } from './hub-api.js';

export interface ConnectorsCommandIo {
  out(line: string): void;
  err(line: string): void;
  /** Node's fetch unless a test gives another. */
  fetch?: typeof fetch;
}

export interface ConnectorsCommandOptions {
  /** Base URL of the running hub's HTTP API. */
  api: string;
  json: boolean;
}

export interface ReplayCommandOptions {
  api: string;
  id: string;
  /** A duration (`1h`, counted back on the hub's clock) or an ISO 8601 time. */
  since: string;
}

export interface DeadCommandOptions {
  api: string;
  id: string;
  limit: number;
  json: boolean;
  /** Send dead letters again instead of listing them: these ids, or all when empty. */
  retry?: readonly string[];
}

/** Longest last error shown in the table; `--json` has all of it. */
const ERROR_WIDTH = 60;

/**
 * `edgehub connectors`: each connector's state and counters, from the running hub's HTTP API.
 * Exit codes as the other commands: 0, 1 when the hub cannot be asked or refuses, 2 for bad options.
 */
export async function runConnectorsCommand(
  opts: ConnectorsCommandOptions,
  io: ConnectorsCommandIo,
): Promise<number> {
  const api = apiFor(opts.api, io);
  if (!api) return 2;
  const result = await api.get<{ connectors: ConnectorStatus[] }>('/api/connectors');
  if (!result.ok) return failed(result.message, io);
  const connectors = result.body.connectors;
  if (opts.json) {
    for (const c of connectors) io.out(JSON.stringify(c));
    return 0;
  }
  if (connectors.length === 0) {
    io.out('no connectors are configured');
    return 0;
  }
  const rows = connectors.map((c) => [
    c.id,
    c.type,
    c.state,
    String(c.backlog),
    c.backlogAgeMs === null ? '-' : formatDuration(Math.floor(c.backlogAgeMs / 1000) * 1000),
    String(c.deliveredPerSec),
    String(c.delivered),
    String(c.dropped),
    String(c.dead),
    shorten(c.lastError ?? '-', ERROR_WIDTH),
  ]);
  const header = ['ID', 'TYPE', 'STATE', 'BACKLOG', 'AGE', 'DELIVERED/S', 'DELIVERED', 'DROPPED', 'DEAD'];
  for (const line of table([...header, 'LAST ERROR'], rows, new Set([3, 4, 5, 6, 7, 8]))) io.out(line);
  return 0;
}

/** `edgehub connectors replay ID --since 1h`: stored events into the connector's outbox again. */
export async function runReplayCommand(opts: ReplayCommandOptions, io: ConnectorsCommandIo): Promise<number> {
  const api = apiFor(opts.api, io);
  if (!api) return 2;
  let body: { since: string } | { since_ms: number };
  if (isDuration(opts.since)) body = { since: opts.since };
  else {
    const ms = Date.parse(opts.since);
    if (!Number.isFinite(ms)) {
      io.err(
        `edgehub connectors: --since "${opts.since}" is neither a duration (1h, 30m) nor an ISO 8601 time`,
      );
      return 2;
    }
    body = { since_ms: ms };
  }
  const result = await api.post<{ replayed: number }>(`/api/connectors/${enc(opts.id)}/replay`, body);
  if (!result.ok) return failed(result.message, io);
  io.out(`queued ${count(result.body.replayed, 'stored event')} again for connector ${opts.id}`);
  return 0;
}

/** `edgehub connectors dead ID`: the dead letters, or with `--retry` sends them again. */
export async function runDeadCommand(opts: DeadCommandOptions, io: ConnectorsCommandIo): Promise<number> {
  const api = apiFor(opts.api, io);
  if (!api) return 2;
  const path = `/api/connectors/${enc(opts.id)}/dead`;
  if (opts.retry !== undefined) {
    const ids = opts.retry.map(Number);
    const badId = opts.retry.find((_text, i) => !Number.isInteger(ids[i]) || (ids[i] ?? 0) < 1);
    if (badId !== undefined) {
      io.err(`edgehub connectors: "${badId}" is not a dead letter id (the ID column of \`connectors dead\`)`);
      return 2;
    }
    const result = await api.post<{ revived: number }>(`${path}/retry`, { ids });
    if (!result.ok) return failed(result.message, io);
    io.out(`queued ${count(result.body.revived, 'dead letter')} again for connector ${opts.id}`);
    return 0;
  }
  const result = await api.get<{ dead: DeadLetter[] }>(`${path}?limit=${opts.limit}`);
  if (!result.ok) return failed(result.message, io);
  const dead = result.body.dead;
  if (opts.json) {
    for (const d of dead) io.out(JSON.stringify(d));
    return 0;
  }
  if (dead.length === 0) {
    io.out(`no dead letters for connector ${opts.id}`);
    return 0;
  }
  const rows = dead.map((d) => [
    String(d.id),
    d.eventId === null ? '(forward)' : String(d.eventId),
    new Date(d.failedAt).toISOString(),
    d.reason,
  ]);
  for (const line of table(['ID', 'EVENT', 'FAILED AT', 'REASON'], rows, new Set([0, 1]))) io.out(line);
  if (dead.length === opts.limit) io.out(`(the oldest ${opts.limit} shown; use --limit for more)`);
  return 0;
}

/** The `connectors` command and its `replay` and `dead` subcommands, writing to stdout and stderr. */
export function connectorsCommand(): Command {
  const io: ConnectorsCommandIo = {
    out: (line) => void process.stdout.write(line + '\n'),
    err: (line) => void process.stderr.write(line + '\n'),
  };
  const apiOption = (): Option =>
    new Option('--api <url>', `the running hub's HTTP API (default: ${DEFAULT_API_URL})`);
  /** `--api` may come before the subcommand or after it. */
  const apiOf = (cmd: Command): string =>
    cmd.opts<{ api?: string }>().api ?? cmd.parent?.opts<{ api?: string }>().api ?? DEFAULT_API_URL;

  const connectors = new Command('connectors')
    .description("each connector's state, backlog and counters (asks the running hub)")
    .showHelpAfterError()
    // `dead ID --json` is the subcommand's --json, not this one's (the program enables it too).
    .enablePositionalOptions()
    .addOption(apiOption())
    .option('--json', 'one JSON object per connector per line')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      process.exitCode = await runConnectorsCommand({ api: apiOf(cmd), json: opts.json === true }, io);
    });

  connectors
    .command('replay')
    .description("stored events since a time into a connector's outbox again, with their event ids")
    .argument('<id>', 'the connector')
    .requiredOption('--since <when>', 'a duration (1h) or an ISO 8601 time')
    .addOption(apiOption())
    .action(async (id: string, opts: { since: string }, cmd: Command) => {
      process.exitCode = await runReplayCommand({ api: apiOf(cmd), id, since: opts.since }, io);
    });

  connectors
    .command('dead')
    .description("the messages a connector's remote refused for good, oldest first; --retry sends them again")
    // Optional only to the parser: `dead --retry 17 cloud` hands the connector to --retry's list.
    .argument('[id]', 'the connector')
    .option('--retry [ids...]', 'send these dead letters again (all without ids)')
    .option('--limit <n>', 'at most this many dead letters', positiveInt, 100)
    .option('--json', 'one JSON object per line')
    .addOption(apiOption())
    .action(
      async (
        given: string | undefined,
        opts: { retry?: true | string[]; limit: number; json?: boolean },
        cmd: Command,
      ) => {
        let retry = opts.retry === true ? [] : opts.retry;
        let id = given;
        // The connector is the last word either way: `dead cloud --retry 17` or `dead --retry 17 cloud`.
        if (id === undefined && retry !== undefined && retry.length > 0) {
          id = retry[retry.length - 1];
          retry = retry.slice(0, -1);
        }
        if (id === undefined) cmd.error("error: missing required argument 'id'");
        process.exitCode = await runDeadCommand(
          {
            api: apiOf(cmd),
            id,
            limit: opts.limit,
            json: opts.json === true,
            ...(retry !== undefined && { retry }),
          },
          io,
        );
      },
    );

  return connectors;
}

function apiFor(url: string, io: ConnectorsCommandIo): HubApi | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    io.err(`edgehub connectors: --api "${url}" is not a URL; write it like ${DEFAULT_API_URL}`);
    return undefined;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    io.err(`edgehub connectors: --api "${url}" must be an http:// or https:// URL`);
    return undefined;
  }
  return new HubApi({ url, token: process.env.EDGEHUB_TOKEN, ...(io.fetch && { fetch: io.fetch }) });
}

function failed(message: string, io: ConnectorsCommandIo): number {
  io.err(`edgehub connectors: ${message}`);
  return 1;
}

const enc = encodeURIComponent;

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

function shorten(text: string, width: number): string {
  const line = text.replace(/\s+/g, ' ');
  return line.length <= width ? line : `${line.slice(0, width - 1)}…`;
}

/** Columns padded to their widest cell, numbers (`right`) aligned right; the last column is not padded. */
function table(header: readonly string[], rows: readonly string[][], right: ReadonlySet<number>): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => {
        if (i === cells.length - 1) return c;
        const width = widths[i] ?? 0;
        return right.has(i) ? c.padStart(width) : c.padEnd(width);
      })
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}
