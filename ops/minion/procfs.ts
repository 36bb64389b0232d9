/**
 * Reading process figures from Linux `/proc`. Every reader returns null when the process is
 * gone or the file is unreadable (another OS, a race with exit): samples are best-effort and
 * must never throw into the supervisor's timers.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

function getconf(name: string, fallback: number): number {
  try {
    const value = Number(execFileSync('getconf', [name], { encoding: 'utf8', timeout: 2000 }).trim());
    return Number.isInteger(value) && value > 0 ? value : fallback;
  } catch {
    return fallback;
  }
}

let clockTicks: number | undefined;
let pageSize: number | undefined;
/** USER_HZ: the unit of utime/stime in /proc/<pid>/stat (asked once; 100 on every mainstream Linux). */
export const clockTicksPerSecond = (): number => (clockTicks ??= getconf('CLK_TCK', 100));
export const pageSizeBytes = (): number => (pageSize ??= getconf('PAGESIZE', 4096));

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
