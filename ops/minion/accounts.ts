/**
 * The OS account a managed process or a job function runs under (docs/security.md,
 * "Processes and jobs run under their own accounts"). The server sends the account it wants
 * (the watcher's `user`/`group`, else the tenant's, else none); the minion decides:
 *
 * - running as root, it never starts anything as root: without an account it uses the
 *   tenant's own default uid and gid (`tenantDefaultUid`, distinct per tenant, no passwd
 *   entry), and an account that resolves to uid 0 or gid 0 is refused with a message saying so;
 * - running as another user, it cannot switch: processes run as the minion's own user, and
 *   asking for a different account is refused (the data directory's 0700 is what keeps them
 *   out of the server's files then).
 *
 * Names are looked up in /etc/passwd and /etc/group (numeric ids are taken as they are).
 */
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { tenantDefaultUid } from '../../actors/index.js';

export interface RunAccount {
  uid: number;
  gid: number;
  /** the user's name (`nobody`), or its number when it has no passwd entry */
  user: string;
  /** the passwd home directory, or `/` */
  home: string;
}

/** Resolves the account of a run; throws an Error whose message says what is wrong. null: run as the minion. */
export type AccountResolver = (request: { tenant: string; user?: string | undefined; group?: string | undefined }) => RunAccount | null;

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

function readTable(file: string): string[][] {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => line && !line.startsWith('#'))
      .map((line) => line.split(':'));
  } catch {
    return [];
  }
}

const isNumeric = (value: string): boolean => /^\d{1,10}$/.test(value);

function lookupUser(user: string, passwdFile: string): PasswdEntry | null {
  for (const [name, , uid, gid, , home] of readTable(passwdFile)) {
    if (name === undefined || uid === undefined || gid === undefined) continue;
    if (name === user || (isNumeric(user) && Number(uid) === Number(user))) return { name, uid: Number(uid), gid: Number(gid), home: home || '/' };
  }
  return null;
}

function lookupGroup(group: string, groupFile: string): number | null {
  if (isNumeric(group)) return Number(group);
  for (const [name, , gid] of readTable(groupFile)) if (name === group && gid !== undefined) return Number(gid);
  return null;
}

export interface AccountResolverOptions {
  /** the minion's uid (default: process.getuid()) */
  uid?: number;
  passwdFile?: string;
  groupFile?: string;
}

export function createAccountResolver(options: AccountResolverOptions = {}): AccountResolver {
  const ownUid = options.uid ?? process.getuid?.() ?? -1;
  const passwdFile = options.passwdFile ?? '/etc/passwd';
  const groupFile = options.groupFile ?? '/etc/group';
  return ({ tenant, user, group }) => {
    if (ownUid !== 0) {
      if (user === undefined && group === undefined) return null;
      const self = userInfo();
      const sameUser = user === undefined || user === self.username || (isNumeric(user) && Number(user) === self.uid);
      const sameGroup = group === undefined || (isNumeric(group) ? Number(group) === self.gid : lookupGroup(group, groupFile) === self.gid);
      if (sameUser && sameGroup) return null;
      throw new Error(
        `cannot run as ${user ?? self.username}${group ? `:${group}` : ''}: the minion runs as ${self.username} (uid ${self.uid}), not root, ` +
          'so it can only run processes as itself (remove user/group, or run the minion as root)',
      );
    }
    if (user === undefined) {
      // the tenant's own uid; a named group replaces its gid
      const uid = tenantDefaultUid(tenant);
      const gid = group === undefined ? uid : lookupGroup(group, groupFile);
      if (gid === null) throw new Error(`cannot run as group ${group}: no such group in ${groupFile}`);
      if (gid === 0) throw new Error(`refusing to run as group ${group} (gid 0): managed processes and jobs never run as root; name an unprivileged group`);
      return { uid, gid, user: String(uid), home: '/' };
    }
    const wanted = user;
    const entry = lookupUser(wanted, passwdFile);
    if (!entry && !isNumeric(wanted)) throw new Error(`cannot run as user ${wanted}: no such user in ${passwdFile}`);
    const uid = entry ? entry.uid : Number(wanted);
    let gid: number;
    if (group !== undefined) {
      const found = lookupGroup(group, groupFile);
      if (found === null) throw new Error(`cannot run as group ${group}: no such group in ${groupFile}`);
      gid = found;
    } else if (entry) {
      gid = entry.gid;
    } else {
      throw new Error(`cannot run as uid ${wanted}: it has no entry in ${passwdFile}, so give a group too`);
    }
    if (uid === 0 || gid === 0) {
      throw new Error(
        `refusing to run as ${uid === 0 ? `user ${wanted} (uid 0)` : `group ${group ?? gid} (gid 0)`}: managed processes and jobs never run as root; ` +
          'name an unprivileged account in user/group',
      );
    }
    return { uid, gid, user: entry?.name ?? String(uid), home: entry?.home ?? '/' };
  };
}

/**
 * spawn() options for a run under `account` (null: as the minion, unchanged). The minion's
 * own HOME and working directory are root's: a run under another account gets the account's
 * HOME, USER and LOGNAME (the run's own `env` still wins) and starts in `/` unless it names
 * a directory (docs/security.md).
 */
export function accountSpawnOptions(account: RunAccount | null, cwd: string | null | undefined): { envDefaults: Record<string, string>; cwd: string | undefined; ids: { uid?: number; gid?: number } } {
  if (!account) return { envDefaults: {}, cwd: cwd ?? undefined, ids: {} };
  return { envDefaults: { HOME: account.home, USER: account.user, LOGNAME: account.user }, cwd: cwd ?? '/', ids: { uid: account.uid, gid: account.gid } };
}
