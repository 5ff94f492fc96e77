import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { loadConfig } from '../config/load.js';
import { ROLES, TokenFile, tokensPath, type Role } from '../http/index.js';

interface PathOptions {
  config?: string;
  data?: string;
}

export interface TokenCommandIo {
  out(line: string): void;
  /** What is said about the output rather than the output itself (stderr), so `$(edgehub token create …)` is the token alone. */
  note(line: string): void;
}

/** The tokens file of the hub that `--config`/`--data` name. */
function tokenFile(opts: PathOptions): TokenFile {
  const config = loadConfig(opts.config, opts.data !== undefined ? { dataDir: opts.data } : {});
  const dataDir = resolve(config.hub.data_dir);
  mkdirSync(dataDir, { recursive: true });
  return new TokenFile(tokensPath(dataDir));
}

/** `edgehub token create NAME --role R`: the token is printed once; only its hash is kept. */
export function runTokenCreate(
  file: TokenFile,
  name: string,
  role: Role,
  io: TokenCommandIo,
  now = Date.now(),
): void {
  const token = file.create(name, role, now);
  io.out(token);
  io.note(
    `token "${name}" (${role}) created: send it as "Authorization: Bearer <token>"; it is not shown again`,
  );
}

export function runTokenList(file: TokenFile, io: TokenCommandIo): void {
  const tokens = file.list();
  if (tokens.length === 0) io.out('no API tokens; create one with edgehub token create NAME --role viewer');
  for (const t of tokens) io.out(`${t.name}  ${t.role}  created ${new Date(t.createdAt).toISOString()}`);
}

/** Exit code 1 when there was no such token. */
export function runTokenRevoke(file: TokenFile, name: string, io: TokenCommandIo): number {
  if (!file.revoke(name)) {
    io.out(`no token named "${name}"`);
    return 1;
  }
  io.out(`token "${name}" revoked; the running hub refuses it from now on`);
  return 0;
}

/** `edgehub token`: API tokens for scripts and Prometheus, kept hashed in the data directory. */
export function tokenCommand(): Command {
  const io: TokenCommandIo = {
    out: (line) => void process.stdout.write(line + '\n'),
    note: (line) => void process.stderr.write(line + '\n'),
  };
  const paths = (cmd: Command): Command =>
    cmd
      .option('--config <file>', 'the config file the hub runs with (says where its data directory is)')
      .option('--data <dir>', 'data directory (default: hub.data_dir of the config)');
  const token = new Command('token').description('API tokens for the HTTP API (scripts, Prometheus)');
  paths(
    token
      .command('create')
      .description('makes a token and prints it once')
      .argument('<name>', 'who or what uses it (letters, digits, _ . -)')
      .addOption(new Option('--role <role>', 'what it may do').choices(ROLES).default('viewer')),
  ).action((name: string, opts: PathOptions & { role: Role }) =>
    runTokenCreate(tokenFile(opts), name, opts.role, io),
  );
  paths(token.command('list').description('the tokens by name and role (never the tokens)')).action(
    (opts: PathOptions) => runTokenList(tokenFile(opts), io),
  );
  paths(token.command('revoke').description('removes a token').argument('<name>', 'the token')).action(
    (name: string, opts: PathOptions) => {
      process.exitCode = runTokenRevoke(tokenFile(opts), name, io);
    },
  );
  return token;
}
