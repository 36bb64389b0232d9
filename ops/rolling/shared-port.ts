import { createConnection } from 'node:net';
import { CorralError } from '../../store/index.js';
import { liveNodeRecords, type NodeRecord } from './node-registry.js';

/**
 * Port sharing (docs/operations.md "Rolling restart on one machine"): uSockets sets SO_REUSEPORT on every listen socket unless it
 * is asked for LIBUS_LISTEN_EXCLUSIVE_PORT, so a second `corral serve` on the same port binds
 * next to the first and the kernel spreads new connections over both; once the old one
 * closes its listen socket, every new connection reaches the new one. That is what makes a
 * rolling restart on one machine lossless.
 *
 * The same default would also let us bind next to any *other* program that set
 * SO_REUSEPORT under our user (another uWS or nginx `reuseport` server) and silently take
 * half of its traffic. So before binding a fixed port we look: a port nobody listens on is
 * free; a port held by a live corral server of this data directory is shared on purpose;
 * anything else is refused. (A program without SO_REUSEPORT makes the bind itself fail.)
 */
export type PortClaim = { kind: 'free' } | { kind: 'shared'; with: NodeRecord[] };

export async function claimPort(options: { host: string; port: number; dataDir: string; probeTimeoutMs?: number }): Promise<PortClaim> {
  const { host, port, dataDir } = options;
  if (port === 0) return { kind: 'free' };
  const listening = await somethingListens(probeHost(host), port, options.probeTimeoutMs ?? 1000);
  if (!listening) return { kind: 'free' };
  const holders = liveNodeRecords(dataDir).filter((record) => record.port === port && record.pid !== process.pid);
  if (holders.length > 0) return { kind: 'shared', with: holders };
  throw new CorralError(
    'unavailable',
    `port ${port} on ${host} is already in use by a program that is not a corral server of data directory ${dataDir}; ` +
      'corral shares its port only with servers on the same data directory (rolling restart). Stop that program or choose another --port.',
    { field: 'server.port' },
  );
}

function probeHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::' || host === '[::]') return '::1';
  return host.replace(/^\[|\]$/g, '');
}

/** true when a TCP connection to host:port is accepted (someone listens). */
function somethingListens(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (result: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
