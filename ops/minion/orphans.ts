import { readdirSync, readFileSync } from 'node:fs';

/**
 * A minion that died (kill -9, OOM) leaves its managed processes running, reparented to init:
 * nobody reads their output or reports their exit. The next minion with the same id stops
 * them before it says hello, so the server, which then hears of no run, replaces each slot
 * once: exactly `numprocesses` afterwards, never the old ones beside new ones (ops/minion/README.md,
 * "When a minion dies"). A process is one of ours when its environment carries
 * `CORRAL_MINION=<id>` (every run gets it, and its children inherit it), and orphaned when no
 * ancestor is a live `corral minion` process of that id (nor the sweeping process itself): the
 * runs of a minion that is alive are never touched.
 */
export const MINION_ENV = 'CORRAL_MINION';

export interface ProcessInfo {
  pid: number;
  ppid: number;
  pgid: number;
  /** argv joined by spaces ('' for kernel threads) */
  command: string;
  /** whether its environment carries `CORRAL_MINION=<id>` */
  marked: boolean;
}

/** The processes of this machine as /proc shows them (Linux; elsewhere none). */
export function readProcessTable(minionId: string): Map<number, ProcessInfo> {
  const table = new Map<number, ProcessInfo>();
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return table;
  }
  const marker = `${MINION_ENV}=${minionId}`;
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // the command name is in parentheses and may contain spaces: the fields start after the last ')'
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
      let marked = false;
      try {
        marked = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(marker);
      } catch {
        // another user's process: not one of ours
      }
      table.set(pid, { pid, ppid: Number(fields[1]), pgid: Number(fields[2]), command, marked });
    } catch {
      // exited while we looked
    }
  }
  return table;
}

const isMinion = (info: ProcessInfo | undefined, minionId: string): boolean =>
  info !== undefined && / minion( |$)/.test(` ${info.command}`) && info.command.includes(minionId);

/** The marked processes none of whose ancestors is a live minion of this id or `self`. */
export function orphansOf(table: ReadonlyMap<number, ProcessInfo>, minionId: string, self: number): ProcessInfo[] {
  const orphans: ProcessInfo[] = [];
  for (const info of table.values()) {
    if (!info.marked || info.pid === self) continue;
    let owned = false;
    const seen = new Set<number>();
    for (let parent = table.get(info.ppid); parent !== undefined && !seen.has(parent.pid); parent = table.get(parent.ppid)) {
      seen.add(parent.pid);
      // under this very process (an agent embedded in a test), or under a live minion of the id
      if (parent.pid === self || isMinion(parent, minionId)) {
        owned = true;
        break;
      }
    }
    if (!owned) orphans.push(info);
  }
  return orphans;
}

/**
 * Stops the orphans of a dead minion with this id: SIGTERM to their process groups, SIGKILL
 * to what is left after `graceMs`. Resolves with the pids it found.
 */
export async function stopOrphans(minionId: string, options: { graceMs?: number; self?: number } = {}): Promise<number[]> {
  const self = options.self ?? process.pid;
  const orphans = orphansOf(readProcessTable(minionId), minionId, self);
  if (orphans.length === 0) return [];
  const signal = (name: NodeJS.Signals): void => {
    for (const orphan of orphans) {
      try {
        process.kill(orphan.pgid === orphan.pid ? -orphan.pgid : orphan.pid, name);
      } catch {
        // gone already
      }
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + (options.graceMs ?? 5_000);
  const alive = (): boolean => orphans.some((orphan) => isAlive(orphan.pid));
  while (alive() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  if (alive()) signal('SIGKILL');
  return orphans.map((orphan) => orphan.pid);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
