import { readFile } from 'node:fs/promises';
import { EdgehubError, EdgehubErrors } from '../../kernel/index.js';
import { filterCovers, filtersOverlap, topicMatches } from '../../kernel/index.js';

export type AclAccess = 'read' | 'write' | 'readwrite' | 'deny';

export interface AclRule {
  filter: string;
  access: AclAccess;
  /** 1-based line in the ACL file, for logs. */
  line: number;
}

/**
 * A parsed ACL file in Mosquitto's format. `topic` lines before any `user` line apply to anonymous
 * clients (no username); `topic` lines after `user NAME` apply to that user; `pattern` lines apply to
 * every client, with `%c` replaced by its client id and `%u` by its username.
 */
export interface AclTable {
  readonly anonymous: readonly AclRule[];
  readonly users: ReadonlyMap<string, readonly AclRule[]>;
  readonly patterns: readonly AclRule[];
}

/** Who is asking: the username the client authenticated with (if any) and its client id. */
export interface AclSubject {
  username: string | undefined;
  clientId: string;
}

const ACCESS = new Set<string>(['read', 'write', 'readwrite', 'deny']);

function filterProblem(filter: string): string | null {
  if (filter === '') return 'empty topic filter';
  const levels = filter.split('/');
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i] ?? '';
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1))
      return `"#" must be a whole level and the last one (in ${filter})`;
    if (level.includes('+') && level !== '+') return `"+" must be a whole level (in ${filter})`;
  }
  return null;
}

/** Parses Mosquitto's ACL format; every bad line is reported with its `file:line:col`. */
export function parseAclFile(file: string, text: string): AclTable {
  const anonymous: AclRule[] = [];
  const users = new Map<string, AclRule[]>();
  const patterns: AclRule[] = [];
  const errors: EdgehubError[] = [];
  let user: string | undefined;
  const fail = (line: number, col: number, message: string): void => {
    errors.push(new EdgehubError('ACL_FILE_INVALID', message, { location: { file, line, col, path: '' } }));
  };
  text.split(/\r?\n/).forEach((raw, i) => {
    const lineNo = i + 1;
    const line = raw.trimEnd();
    const start = line.length - line.trimStart().length;
    const body = line.trimStart();
    if (body === '' || body.startsWith('#')) return;
    const m = /^(\S+)\s*(.*)$/.exec(body);
    const keyword = m?.[1] ?? '';
    const rest = (m?.[2] ?? '').trim();
    if (keyword === 'user') {
      if (rest === '') return fail(lineNo, start + 1, 'user needs a name');
      user = rest;
      if (!users.has(user)) users.set(user, []);
      return;
    }
    if (keyword !== 'topic' && keyword !== 'pattern') {
      return fail(lineNo, start + 1, `unknown keyword "${keyword}"; expected user, topic or pattern`);
    }
    if (rest === '') return fail(lineNo, start + 1, `${keyword} needs a topic filter`);
    // As in Mosquitto: `topic FILTER` alone means readwrite; `topic ACCESS FILTER` names the access.
    const am = /^(\S+)\s+(.+)$/.exec(rest);
    let access: AclAccess = 'readwrite';
    let filter = rest;
    if (am) {
      if (!ACCESS.has(am[1] ?? '')) {
        return fail(lineNo, start + 1, `unknown access "${am[1]}"; expected read, write, readwrite or deny`);
      }
      access = am[1] as AclAccess;
      filter = (am[2] ?? '').trim();
    }
    const problem = filterProblem(filter);
    if (problem !== null) return fail(lineNo, start + 1, problem);
    const rule: AclRule = { filter, access, line: lineNo };
    if (keyword === 'pattern') patterns.push(rule);
    else if (user === undefined) anonymous.push(rule);
    else users.get(user)?.push(rule);
  });
  if (errors.length === 1 && errors[0]) throw errors[0];
  if (errors.length > 1) throw new EdgehubErrors('ACL_FILE_INVALID', errors);
  return { anonymous, users, patterns };
}

export async function readAclFile(file: string): Promise<AclTable> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new EdgehubError('ACL_FILE_INVALID', `cannot read ACL file ${file}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return parseAclFile(file, text);
}

/**
 * The rules that apply to one client, with patterns already expanded: built once per connection
 * (and again after a reload) so the per-message checks only match filters.
 */
export class SubjectAcl {
  private readonly denies: string[] = [];
  private readonly reads: string[] = [];
  private readonly writes: string[] = [];

  constructor(table: AclTable, subject: AclSubject) {
    const { username, clientId } = subject;
    const own = username === undefined ? table.anonymous : (table.users.get(username) ?? []);
    for (const rule of own) this.add(rule.filter, rule.access);
    // A `+`, `#` or `/` in an id would let %c/%u widen a pattern, so such clients get no pattern rules.
    const unsafe = (s: string | undefined): boolean => s !== undefined && /[+#/]/.test(s);
    if (table.patterns.length > 0 && (unsafe(username) || unsafe(clientId))) return;
    for (const rule of table.patterns) {
      if (rule.filter.includes('%u') && username === undefined) continue;
      const filter = rule.filter.replaceAll('%c', clientId).replaceAll('%u', username ?? '');
      this.add(filter, rule.access);
    }
  }

  /** May the client publish to `topic`? A matching deny rule wins over any allow. */
  mayWrite(topic: string): boolean {
    return this.allowed(this.writes, topic);
  }

  /** May the client receive a message on `topic`? */
  mayRead(topic: string): boolean {
    return this.allowed(this.reads, topic);
  }

  /**
   * May the client subscribe to `filter`? Granted when some readable rule overlaps it and no deny
   * rule covers all of it; messages on denied topics inside a granted wildcard are still filtered
   * out one by one on delivery ({@link mayRead}).
   */
  maySubscribe(filter: string): boolean {
    if (this.denies.some((d) => filterCovers(d, filter))) return false;
    return this.reads.some((r) => filtersOverlap(r, filter));
  }

  private allowed(list: readonly string[], topic: string): boolean {
    for (const d of this.denies) if (topicMatches(d, topic)) return false;
    for (const f of list) if (topicMatches(f, topic)) return true;
    return false;
  }

  private add(filter: string, access: AclAccess): void {
    if (access === 'deny') this.denies.push(filter);
    if (access === 'read' || access === 'readwrite') this.reads.push(filter);
    if (access === 'write' || access === 'readwrite') this.writes.push(filter);
  }
}
