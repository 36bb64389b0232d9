import type { ProcessView } from '../../projections/index.js';
import { CorralError } from '../../store/index.js';
import { requestJson, sleep, type ServerTarget } from './client.js';
import type { ProcessTarget } from './targets.js';

export type { ProcessView };

/** The processes view of a tenant (or one watcher, or one slot of it) and the log position it reflects. */
export interface ProcessSnapshot {
  position: number;
  processes: ProcessView[];
}

const POLL_MS = 100;

/** Rows in the order ps prints them: by tenant, watcher, then slot (numerically). */
export function compareProcesses(a: ProcessView, b: ProcessView): number {
  if (a.tenant !== b.tenant) return a.tenant < b.tenant ? -1 : 1;
  if (a.watcher !== b.watcher) return a.watcher < b.watcher ? -1 : 1;
  return a.slot - b.slot;
}

/** `GET .../processes`, narrowed on the server to the target's watcher and slot; sorted by watcher, then slot. */
export async function readProcesses(server: ServerTarget, target: ProcessTarget): Promise<ProcessSnapshot> {
  const clauses: string[] = [];
  if (target.watcher !== undefined) clauses.push(`watcher=Eq(${JSON.stringify(target.watcher)})`);
  if (target.slot !== undefined) clauses.push(`slot=Eq(${target.slot})`);
  const filter = clauses.length > 1 ? `And(${clauses.join(',')})` : clauses[0];
  const query = filter === undefined ? '' : `?${new URLSearchParams({ filter })}`;
  const page = (await requestJson(server, 'GET', `/api/v1/tenants/${target.tenant}/processes${query}`)) as { items: ProcessView[]; position: number };
  const processes = page.items.sort(compareProcesses);
  return { position: page.position, processes };
}

/**
 * Polls the processes view until it has folded `afterPosition` (the last position a command
 * appended: the server's views are built from the log, so before that they cannot show the
 * command's effect) and `settled` holds; resolves with that snapshot. On timeout the error
 * shows what each process was doing.
 */
export async function waitForProcesses(
  server: ServerTarget,
  target: ProcessTarget,
  settled: (snapshot: ProcessSnapshot) => boolean,
  options: { afterPosition: number | null; timeoutMs: number; waitingFor: string },
): Promise<ProcessSnapshot> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const snapshot = await readProcesses(server, target);
    if ((options.afterPosition === null || snapshot.position >= options.afterPosition) && settled(snapshot)) return snapshot;
    if (Date.now() > deadline) {
      const now = snapshot.processes.map((p) => `${p.key} ${describeProcess(p)}`).join(', ') || 'no processes';
      throw new CorralError('unavailable', `timed out after ${options.timeoutMs / 1000} s waiting for ${options.waitingFor} (now: ${now}); --timeout MS waits longer`);
    }
    await sleep(POLL_MS);
  }
}

/** `pid 123` while the process has one, else its state (`stopped`, `backoff`, ...). */
export function describeProcess(process: ProcessView | undefined): string {
  if (!process) return 'removed';
  return process.pid === null ? process.state : `pid ${process.pid}`;
}

/**
 * One line per slot of `before` and `after`: `acme:web:0: pid 123 → pid 456`, or
 * `(unchanged)`; slots that appeared or went away show `new` or `removed`.
 */
export function describeChanges(before: ProcessView[], after: ProcessView[]): string[] {
  const keys = [...new Set([...before, ...after].map((p) => p.key))];
  const old = new Map(before.map((p) => [p.key, p]));
  const now = new Map(after.map((p) => [p.key, p]));
  return keys.map((key) => {
    const from = old.has(key) ? describeProcess(old.get(key)) : 'new';
    const to = describeProcess(now.get(key));
    return from === to ? `${key}: ${to} (unchanged)` : `${key}: ${from} → ${to}`;
  });
}

/** `45s`, `12m3s`, `5h2m`, `3d4h`: how long ago `since` (epoch ms) was. */
export function formatUptime(since: number, now = Date.now()): string {
  let seconds = Math.max(0, Math.floor((now - since) / 1000));
  const days = Math.floor(seconds / 86_400);
  const hours = Math.floor((seconds %= 86_400) / 3600);
  const minutes = Math.floor((seconds %= 3600) / 60);
  seconds %= 60;
  if (days > 0) return `${days}d${hours}h`;
  if (hours > 0) return `${hours}h${minutes}m`;
  if (minutes > 0) return `${minutes}m${seconds}s`;
  return `${seconds}s`;
}

/** Bytes in binary units with one decimal (`1.7 MiB`). */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}
