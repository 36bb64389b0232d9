import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomicSync } from '../../store/index.js';

/** `<dataDir>/nodes/`: one entry per live `corral serve` process on this data directory. */
export const NODES_DIR = 'nodes';

/**
 * What one server process on a data directory publishes about itself, so that each of
 * several servers sharing a port can be addressed on its own (the shared port reaches
 * whichever the kernel picks): its pid, a loopback-only admin URL with the full HTTP API
 * (`/health/ready` of exactly this process), and a per-process command socket.
 */
export interface NodeRecord {
  pid: number;
  /** the shared public port and URL */
  port: number;
  /**
   * false when the server was started with port 0: uSockets sets SO_REUSEPORT only when
   * binding a fixed port, so an ephemeral port can never be shared with a successor
   */
  shareablePort: boolean;
  url: string;
  host: string;
  /** `http://127.0.0.1:<ephemeral>`: the same API, reaching only this process */
  adminUrl: string | null;
  /** `<dataDir>/nodes/<pid>.sock`: status, handover, spawn-successor */
  controlSocket: string;
  version: string;
  modelApiMax: number;
  startedAt: string;
  /** how this process was started (for a successor with the same arguments) */
  command: { execPath: string; execArgv: string[]; argv: string[]; cwd: string } | null;
}

export const nodeRecordPath = (dataDir: string, pid: number): string => join(dataDir, NODES_DIR, `${pid}.json`);
export const nodeSocketPath = (dataDir: string, pid: number): string => join(dataDir, NODES_DIR, `${pid}.sock`);

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function writeNodeRecord(dataDir: string, record: NodeRecord): void {
  mkdirSync(join(dataDir, NODES_DIR), { recursive: true, mode: 0o700 });
  writeFileAtomicSync(nodeRecordPath(dataDir, record.pid), `${JSON.stringify(record, null, 2)}\n`, 0o600);
}

export function removeNodeRecord(dataDir: string, pid: number): void {
  rmSync(nodeRecordPath(dataDir, pid), { force: true });
}

export function readNodeRecord(dataDir: string, pid: number): NodeRecord | null {
  try {
    const record = JSON.parse(readFileSync(nodeRecordPath(dataDir, pid), 'utf8')) as NodeRecord;
    return Number.isInteger(record.pid) && record.pid === pid ? record : null;
  } catch {
    return null;
  }
}

/**
 * Removes every `nodes/<pid>.*` file (record, its temp file, command socket) of a pid that no
 * longer runs: a killed server cannot remove its own, and a half-written record is as dead
 * as a whole one. Runs when a server starts and whenever the records are listed.
 */
export function removeDeadNodeEntries(dataDir: string): void {
  const dir = join(dataDir, NODES_DIR);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  const alive = new Map<number, boolean>();
  for (const name of names) {
    const match = /^(\d+)\./.exec(name);
    if (!match) continue;
    const pid = Number(match[1]);
    if (!alive.has(pid)) alive.set(pid, isProcessAlive(pid));
    if (!alive.get(pid)) rmSync(join(dir, name), { force: true });
  }
}

/**
 * The records of live processes, oldest first. The entries of dead processes are removed
 * on the way; a pid reused by a stranger is ruled out by the command-socket check callers
 * do before trusting a record with anything.
 */
export function liveNodeRecords(dataDir: string): NodeRecord[] {
  removeDeadNodeEntries(dataDir);
  let names: string[];
  try {
    names = readdirSync(join(dataDir, NODES_DIR));
  } catch {
    return [];
  }
  const records: NodeRecord[] = [];
  for (const name of names) {
    const match = /^(\d+)\.json$/.exec(name);
    if (!match) continue;
    const record = readNodeRecord(dataDir, Number(match[1]));
    if (record) records.push(record);
  }
  return records.sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.pid - b.pid);
}

/**
 * The other live servers of this data directory, oldest first. A server that stops while
 * one remains leaves it the shared local minion and `server.json` (docs/operations.md).
 */
export function otherLiveNodes(dataDir: string, self = process.pid): NodeRecord[] {
  return liveNodeRecords(dataDir).filter((record) => record.pid !== self);
}
