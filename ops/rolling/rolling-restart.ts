import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CorralError } from '../../store/index.js';
import { callNode } from './node-client.js';
import type { NodeStatus } from './node-admin.js';
import { isProcessAlive, liveNodeRecords, nodeSocketPath, readNodeRecord, type NodeRecord } from './node-registry.js';

export interface RollingRestartOptions {
  dataDir: string;
  /** the successor's flags after `corral serve` (default: the running server's own) */
  serveArgs?: string[];
  /** path of the successor's `corral.js` (default: the running server's; for an upgrade installed elsewhere) */
  bin?: string;
  /** how long the successor may take to become ready (default 120 s: it may replay a long log) */
  readyTimeoutMs?: number;
  /** how long the old server may take to exit after the hand-over (default 60 s) */
  stopTimeoutMs?: number;
  /** progress lines (`corral ctl` prints them on stderr) */
  progress?: (message: string) => void;
}

export interface RollingRestartResult {
  old: { pid: number; version: string; modelApiMax: number };
  successor: { pid: number; version: string; modelApiMax: number; url: string };
  /** from the successor's start until it was ready */
  readyMs: number;
  /** from the hand-over request until the old process exited */
  handoverMs: number;
  totalMs: number;
}

/**
 * `corral ctl restart --rolling` (Instant's bg-restart, docs/operations.md "Rolling restart on one machine"): the running server
 * starts a successor with the same arguments on the same port and data directory; once the
 * successor is ready (it binds the shared port only then, so no client reaches a node that
 * is still catching up), the old server is told to hand over: it stops accepting, releases
 * the leader lease at once, closes websockets with 1012 after their last delivered event
 * (clients resume from their position on the successor), keeps the local minion and its
 * processes running, and exits. If the successor fails to become ready, it is stopped and
 * the old server keeps serving: a failed restart changes nothing.
 */
export async function rollingRestart(options: RollingRestartOptions): Promise<RollingRestartResult> {
  const { dataDir } = options;
  const progress = options.progress ?? (() => undefined);
  const started = Date.now();
  const old = await currentServer(dataDir);
  progress(`server ${old.pid} (corral ${old.version}, model API max ${old.modelApiMax}) serves ${old.url}`);

  const spawned = (await callNode(old.controlSocket, 'spawn-successor', {
    ...(options.serveArgs ? { serveArgs: options.serveArgs } : {}),
    ...(options.bin ? { bin: options.bin } : {}),
  })) as { pid: number; argv: string[] };
  const successorStarted = Date.now();
  progress(`started successor ${spawned.pid}: ${spawned.argv.join(' ')}`);

  let successor: { record: NodeRecord; status: NodeStatus };
  try {
    successor = await waitUntilReady(dataDir, spawned.pid, options.readyTimeoutMs ?? 120_000);
  } catch (error) {
    if (isProcessAlive(spawned.pid)) {
      progress(`successor ${spawned.pid} did not become ready: stopping it; server ${old.pid} keeps serving`);
      process.kill(spawned.pid, 'SIGTERM');
    }
    throw error;
  }
  const readyMs = Date.now() - successorStarted;
  progress(`successor ${spawned.pid} is ready after ${readyMs} ms`);

  const handoverStarted = Date.now();
  await callNode(old.controlSocket, 'handover', { closeCode: 1012, keepMinion: true });
  progress(`server ${old.pid} hands over (lease released, websockets closed with 1012, minion kept)`);
  await waitForExit(old.pid, options.stopTimeoutMs ?? 60_000);
  const handoverMs = Date.now() - handoverStarted;
  progress(`server ${old.pid} exited after ${handoverMs} ms; ${spawned.pid} serves ${successor.record.url}`);
  return {
    old: { pid: old.pid, version: old.version, modelApiMax: old.modelApiMax },
    successor: { pid: spawned.pid, version: successor.status.version, modelApiMax: successor.status.modelApiMax, url: successor.record.url },
    readyMs,
    handoverMs,
    totalMs: Date.now() - started,
  };
}

/** The one live server of the data directory (the one server.json names). */
async function currentServer(dataDir: string): Promise<NodeRecord> {
  const live = liveNodeRecords(dataDir);
  if (live.length === 0) throw new CorralError('unavailable', `no server is running on data directory ${dataDir} (no live entry in ${join(dataDir, 'nodes')})`);
  if (live.length > 1) {
    throw new CorralError(
      'unavailable',
      `${live.length} servers are running on data directory ${dataDir} (pids ${live.map((record) => record.pid).join(', ')}): ` +
        'a rolling restart is in progress or was interrupted; stop the one you do not want (kill -TERM <pid>) and try again',
    );
  }
  const record = live[0]!;
  let named: number | undefined;
  try {
    named = (JSON.parse(readFileSync(join(dataDir, 'server.json'), 'utf8')) as { pid?: number }).pid;
  } catch {
    // no server.json: the registry entry is enough
  }
  // (a server.json left by a crashed server names a dead pid: the live one is the server)
  if (named !== undefined && named !== record.pid && isProcessAlive(named)) {
    throw new CorralError('unavailable', `server.json names pid ${named} but the live server of ${dataDir} is ${record.pid}; is a server still starting?`);
  }
  // The socket answering proves the pid is really that server (not a stranger that reused it).
  const status = (await callNode(record.controlSocket, 'status')) as NodeStatus;
  if (status.pid !== record.pid) throw new CorralError('internal', `${record.controlSocket} answered for pid ${status.pid}, expected ${record.pid}`);
  if (status.stopping) throw new CorralError('unavailable', `server ${record.pid} is already stopping`);
  return record;
}

async function waitUntilReady(dataDir: string, pid: number, timeoutMs: number): Promise<{ record: NodeRecord; status: NodeStatus }> {
  const deadline = Date.now() + timeoutMs;
  let last = 'not started yet';
  for (;;) {
    if (!isProcessAlive(pid)) {
      throw new CorralError('unavailable', `the successor (pid ${pid}) exited before it was ready (last: ${last}); see the server log for why`);
    }
    const record = readNodeRecord(dataDir, pid);
    if (record) {
      try {
        const status = (await callNode(nodeSocketPath(dataDir, pid), 'status', {}, 5000)) as NodeStatus;
        if (status.ready) return { record, status };
        last = `state ${status.state}, waiting for ${status.waitingFor.join('; ')}`;
      } catch (error) {
        last = (error as Error).message;
      }
    }
    if (Date.now() >= deadline) throw new CorralError('unavailable', `the successor (pid ${pid}) was not ready within ${timeoutMs} ms (last: ${last})`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function waitForExit(pid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (isProcessAlive(pid) && !isZombie(pid)) {
    if (Date.now() >= deadline) throw new CorralError('unavailable', `server ${pid} did not exit within ${timeoutMs} ms of the hand-over (the successor serves already)`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** An exited child not yet reaped by its parent (a test runner) still answers kill(pid, 0). */
function isZombie(pid: number): boolean {
  try {
    return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}
