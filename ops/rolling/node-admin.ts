import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { CorralError } from '../../store/index.js';
import type { Gateway } from '../../gateway/index.js';
import { openControlSocket, type ControlHandler, type ControlSocket } from '../ctl/index.js';
import type { StopInfo } from '../node-module.js';
import { nodeSocketPath, removeDeadNodeEntries, removeNodeRecord, writeNodeRecord, type NodeRecord } from './node-registry.js';
import { spawnSuccessor, successorArgv, type ServeCommand } from './successor.js';

export interface NodeAdminOptions {
  dataDir: string;
  gateway: Gateway;
  host: string;
  /** the port bound */
  port: number;
  /** the port asked for (0: an ephemeral port, which is never shared) */
  requestedPort: number;
  url: string;
  version: string;
  modelApiMax: number;
  log: Logger;
  /** set when started by `corral serve` (then it can start its own successor) */
  command: ServeCommand | null;
  /** the node's graceful stop */
  stop(info: StopInfo): Promise<void>;
}

export interface NodeAdmin {
  record: NodeRecord;
  /** removes the record and the socket (on stop) */
  close(): Promise<void>;
}

/** What `status` answers on a per-node socket (the rolling restart waits on `ready`). */
export interface NodeStatus {
  pid: number;
  url: string;
  port: number;
  version: string;
  modelApiMax: number;
  state: string;
  /** exactly what `/health/ready` of this process answers */
  ready: boolean;
  waitingFor: string[];
  stopping: boolean;
  openWebSockets: number;
}

/**
 * Makes one server process addressable on its own while it shares its port and data
 * directory with another: `<dataDir>/nodes/<pid>.json` (how to reach it, how it was started)
 * and the command socket `<dataDir>/nodes/<pid>.sock` (mode 0600, owner only, like
 * `corral.sock`) with `status`, `metrics`, `handover` and `spawn-successor`.
 */
export async function openNodeAdmin(options: NodeAdminOptions): Promise<NodeAdmin> {
  const { dataDir, gateway, log } = options;
  const socketPath = nodeSocketPath(dataDir, process.pid);
  let stopping = false;
  const record: NodeRecord = {
    pid: process.pid,
    port: options.port,
    shareablePort: options.requestedPort !== 0,
    url: options.url,
    host: options.host,
    adminUrl: null,
    controlSocket: socketPath,
    version: options.version,
    modelApiMax: options.modelApiMax,
    startedAt: new Date().toISOString(),
    command: options.command,
  };

  const handlers: Record<string, ControlHandler> = {
    status: (): NodeStatus => {
      const readiness = gateway.readiness();
      return {
        pid: process.pid,
        url: options.url,
        port: options.port,
        version: options.version,
        modelApiMax: options.modelApiMax,
        state: readiness.state,
        ready: readiness.ready,
        waitingFor: readiness.waitingFor,
        stopping,
        openWebSockets: gateway.openWebSocketCount,
      };
    },
    metrics: async () => ({ contentType: gateway.metrics.contentType, text: await gateway.metrics.metrics() }),
    // The old half of a rolling restart: 1012 tells websocket clients to resume on the
    // node that now answers the port; the local minion and its processes stay up.
    handover: (args) => {
      const closeCode = args.closeCode ?? 1012;
      if (closeCode !== 1012 && closeCode !== 1001) throw new CorralError('bad-request', 'closeCode must be 1012 (restarting) or 1001 (going away)');
      const keepMinion = args.keepMinion ?? true;
      if (typeof keepMinion !== 'boolean') throw new CorralError('bad-request', 'keepMinion must be true or false');
      stopping = true;
      // answer first, then stop (the stop closes this socket)
      setImmediate(() => void options.stop({ closeCode, keepMinion }));
      return { stopping: true, pid: process.pid, closeCode, keepMinion };
    },
    'spawn-successor': (args) => {
      if (!options.command) throw new CorralError('unavailable', 'this server was not started by corral serve: it cannot start its own successor');
      if (stopping) throw new CorralError('unavailable', 'this server is stopping');
      if (!record.shareablePort) {
        throw new CorralError(
          'unavailable',
          `this server was started with port 0 (it got ${options.port}); an ephemeral port is never shared (uSockets sets SO_REUSEPORT only on fixed ports), so a rolling restart needs a server started with a fixed --port`,
        );
      }
      const serveArgs = args.serveArgs;
      if (serveArgs !== undefined && (!Array.isArray(serveArgs) || !serveArgs.every((arg) => typeof arg === 'string'))) {
        throw new CorralError('bad-request', 'serveArgs must be a list of strings (the flags after "corral serve")');
      }
      if (args.bin !== undefined && typeof args.bin !== 'string') throw new CorralError('bad-request', 'bin must be a path to corral.js');
      const argv = successorArgv(options.command, {
        port: options.port,
        dataDir,
        ...(serveArgs ? { serveArgs: serveArgs as string[] } : {}),
        ...(args.bin ? { bin: args.bin as string } : {}),
      });
      const pid = spawnSuccessor(options.command, argv, (error) => log.error({ err: error, argv }, 'the successor could not be started'));
      log.info({ successor: pid, argv }, 'rolling restart: started a successor on the same port and data directory');
      return { pid, argv };
    },
  };

  mkdirSync(dirname(socketPath), { recursive: true, mode: 0o700 });
  removeDeadNodeEntries(dataDir);
  const socket: ControlSocket = await openControlSocket(socketPath, handlers, log);
  writeNodeRecord(dataDir, record);
  return {
    record,
    async close() {
      stopping = true;
      removeNodeRecord(dataDir, process.pid);
      await socket.close();
    },
  };
}
