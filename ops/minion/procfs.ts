/**
 * Reading process figures from Linux `/proc`. Every reader returns null when the process is
 * gone or the file is unreadable (another OS, a race with exit): samples are best-effort and
 * must never throw into the supervisor's timers.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { endianness } from 'node:os';

/**
 * A value from the kernel's auxiliary vector of this process (/proc/self/auxv: pairs of
 * native-endian machine words). Reading it costs microseconds, where asking `getconf` would
 * block the event loop on a child process.
 */
function auxv(type: number, fallback: number): number {
  try {
    const bytes = readFileSync('/proc/self/auxv');
    const word = (at: number): number => Number(endianness() === 'LE' ? bytes.readBigUInt64LE(at) : bytes.readBigUInt64BE(at));
    for (let offset = 0; offset + 16 <= bytes.length; offset += 16) {
      const entryType = word(offset);
      if (entryType === 0) break;
      if (entryType === type) {
        const value = word(offset + 8);
        return value > 0 ? value : fallback;
      }
    }
  } catch {}
  return fallback;
}
const AT_PAGESZ = 6;
const AT_CLKTCK = 17;

let clockTicks: number | undefined;
let pageSize: number | undefined;
/** USER_HZ: the unit of utime/stime in /proc/<pid>/stat (100 on every mainstream Linux). */
export const clockTicksPerSecond = (): number => (clockTicks ??= auxv(AT_CLKTCK, 100));
export const pageSizeBytes = (): number => (pageSize ??= auxv(AT_PAGESZ, 4096));

export interface CpuTimes {
  /** CPU time in user mode, ms */
  userMs: number;
  /** CPU time in kernel mode, ms */
  systemMs: number;
}

/** utime and stime of `pid` (the process itself, not its reaped children). */
export function readCpuTimes(pid: number): CpuTimes | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return null;
  }
  // The command name (field 2) is parenthesised and may contain spaces or ')': the fields we
  // need are counted from the LAST ')'.
  const close = stat.lastIndexOf(')');
  if (close < 0) return null;
  const fields = stat.slice(close + 2).split(' ');
  // fields[0] is field 3 (state); utime is field 14, stime field 15.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return null;
  const msPerTick = 1000 / clockTicksPerSecond();
  return { userMs: utime * msPerTick, systemMs: stime * msPerTick };
}

/** Resident set size in bytes, from /proc/<pid>/statm. */
export function readRssBytes(pid: number): number | null {
  try {
    const statm = readFileSync(`/proc/${pid}/statm`, 'latin1').split(' ');
    const pages = Number(statm[1]);
    return Number.isFinite(pages) ? pages * pageSizeBytes() : null;
  } catch {
    return null;
  }
}

/** Peak resident set size ("high water mark") in bytes, from /proc/<pid>/status. */
export function readPeakRssBytes(pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'latin1');
    const match = /^VmHWM:\s+(\d+)\s+kB/m.exec(status);
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** Whether any process of process group `pgid` still exists (zombies of the group included). */
export function processGroupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether process group `pgid` has a member that is not a zombie. Where nothing reaps
 * orphans (a container without an init), killed members stay zombies forever and
 * `processGroupAlive` would never turn false. Scans /proc: call it rarely.
 */
export function processGroupHasLiveMembers(pgid: number): boolean {
  if (!processGroupAlive(pgid)) return false;
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return true;
  }
  for (const name of names) {
    if (name.charCodeAt(0) < 48 || name.charCodeAt(0) > 57) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'latin1');
    } catch {
      continue;
    }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is the state (field 3), fields[2] the process group (field 5)
    if (Number(fields[2]) === pgid && fields[0] !== 'Z' && fields[0] !== 'X') return true;
  }
  return false;
}
