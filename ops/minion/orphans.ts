import { readdirSync, readFileSync } from 'node:fs';

/**
 * A minion that died (kill -9, OOM) leaves its managed processes running, reparented to init:
 * nobody reads their output or reports their exit. The next minion with the same id stops
 * them before it says hello, so the server, which then hears of no run, replaces each slot
 * once: exactly `numprocesses` afterwards, never the old ones beside new ones (ops/minion/README.md,
 * "When a minion dies"). Every run's environment names its minion, `CORRAL_MINION=<id>` and
 * `CORRAL_MINION_PID=<pid>`, and its children inherit both: a process is an orphan of this id
 * when the process that spawned it no longer runs. A run whose minion is alive, or whose
 * minion's pid was reused by another process, is never touched.
 */
export const MINION_ENV = 'CORRAL_MINION';
export const MINION_PID_ENV = 'CORRAL_MINION_PID';

export interface ProcessInfo {
  pid: number;
  pgid: number;
  /** the minion that spawned it (`CORRAL_MINION_PID`), when its environment names this id; else null */
  minionPid: number | null;
}

/** The processes of this machine that a minion of this id spawned, as /proc shows them (Linux; elsewhere none). */
export function readProcessTable(minionId: string): ProcessInfo[] {
  const found: ProcessInfo[] = [];
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return found;
  }
  const marker = `${MINION_ENV}=${minionId}`;
  const owner = `${MINION_PID_ENV}=`;
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    try {
      const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      if (!environ.includes(marker)) continue;
      const ownerEntry = environ.find((entry) => entry.startsWith(owner));
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // the command name is in parentheses and may contain spaces: the fields start after the last ')'
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      found.push({ pid, pgid: Number(fields[2]), minionPid: ownerEntry === undefined ? null : Number(ownerEntry.slice(owner.length)) });
    } catch {
      // exited while we looked, or another user's process: not one of ours
    }
  }
  return found;
}

/** The processes of `table` whose minion no longer runs (`self`, the sweeping minion, counts as running). */
export function orphansOf(table: readonly ProcessInfo[], self: number, alive: (pid: number) => boolean = isAlive): ProcessInfo[] {
  return table.filter((info) => info.pid !== self && info.minionPid !== null && info.minionPid !== self && !alive(info.minionPid));
}

/**
 * Stops the orphans of a dead minion with this id: SIGTERM to their process groups, SIGKILL
 * to what is left after `graceMs`. Resolves with the pids it found.
 */
export async function stopOrphans(minionId: string, options: { graceMs?: number; self?: number } = {}): Promise<number[]> {
  const self = options.self ?? process.pid;
  const orphans = orphansOf(readProcessTable(minionId), self);
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
