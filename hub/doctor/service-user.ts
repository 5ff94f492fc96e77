import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DoctorEnv } from './doctor-env.js';

/** The system user `edgehub install` creates; the service runs as it. */
export const SERVICE_USER = 'edgehub';

/** Who the hub runs as, for permission checks. */
export interface ServiceUser {
  name: string;
  uid: number;
  /** Primary group. */
  gid: number;
  /** Every group the user is in: primary, and supplementary as /etc/group lists them. */
  gids: readonly number[];
  /**
   * Groups /etc/group lists the user in that this login session does not have yet (added with
   * usermod since the last login); empty for the service user, whose groups systemd reads at start.
   */
  notInSession: readonly number[];
  /** True when it is the installed service's user rather than whoever runs `edgehub doctor`. */
  service: boolean;
}

export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

/** `/etc/group` under the env's root, parsed; empty when it cannot be read. */
export function readGroups(env: Pick<DoctorEnv, 'root'>): GroupEntry[] {
  return lines(join(env.root, '/etc/group')).flatMap((line) => {
    const [name, , gid, members] = line.split(':');
    if (name === undefined || gid === undefined || !/^\d+$/.test(gid)) return [];
    return [{ name, gid: Number(gid), members: (members ?? '').split(',').filter((m) => m !== '') }];
  });
}

export function groupName(groups: readonly GroupEntry[], gid: number): string {
  return groups.find((g) => g.gid === gid)?.name ?? String(gid);
}

/**
 * The installed service's user when this runs as root and that user exists (what the service will
 * be allowed to do is what matters), else the user running `edgehub doctor`.
 */
export function serviceUser(env: DoctorEnv): ServiceUser {
  const passwd = lines(join(env.root, '/etc/passwd')).map((line) => line.split(':'));
  const groups = readGroups(env);
  const memberOf = (name: string): number[] =>
    groups.filter((g) => g.members.includes(name)).map((g) => g.gid);
  if (env.uid === 0) {
    const entry = passwd.find((p) => p[0] === SERVICE_USER);
    if (entry?.[2] !== undefined && entry[3] !== undefined) {
      const gid = Number(entry[3]);
      return {
        name: SERVICE_USER,
        uid: Number(entry[2]),
        gid,
        gids: [...new Set([gid, ...memberOf(SERVICE_USER)])],
        notInSession: [],
        service: true,
      };
    }
  }
  const name = passwd.find((p) => p[2] === String(env.uid))?.[0] ?? String(env.uid);
  const session = new Set([env.gid, ...env.groups]);
  const listed = memberOf(name);
  return {
    name,
    uid: env.uid,
    gid: env.gid,
    gids: [...session],
    notInSession: listed.filter((gid) => !session.has(gid)),
    service: false,
  };
}

/** The bits of a file's mode and owner that decide access. */
export interface Ownership {
  mode: number;
  uid: number;
  gid: number;
}

/**
 * Whether `user` may read (4), write (2) or both (6) a file, by its mode bits as the kernel decides
 * (owner bits for the owner, group bits for a member, other bits for the rest; root may always).
 */
export function mayAccess(file: Ownership, user: Pick<ServiceUser, 'uid' | 'gids'>, want: number): boolean {
  if (user.uid === 0) return true;
  const shift = file.uid === user.uid ? 6 : user.gids.includes(file.gid) ? 3 : 0;
  return ((file.mode >> shift) & want) === want;
}

function lines(file: string): string[] {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('#'));
  } catch {
    return [];
  }
}
